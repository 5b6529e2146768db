/* The checkpoint verifier: a hand-held scanner types the QR code's text and presses Enter. In the text box Enter
   would start a new line, so Enter submits once the box holds text (Shift+Enter still breaks a line). Without
   JavaScript the Verify button does the same. */
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.querySelector("textarea[name=certificate]");
    if (!box) return;
    box.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && box.value.trim()) {
        event.preventDefault();
        box.form.requestSubmit ? box.form.requestSubmit() : box.form.submit();
      }
    });
  });
})();
