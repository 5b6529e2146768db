/* Care pages (floor readings, test list): a refused submission (HTTP 400) carries the form again with the error
   and what was typed, so HTMX swaps it in like a success instead of dropping it. */
(function () {
  "use strict";
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.xhr.status === 400) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
})();
