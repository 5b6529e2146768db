/* Scenario plan charts: for each series, one median line and a shaded 5–95 % band per scenario. */
(function () {
  "use strict";
  var palette = ["#0b57d0", "#b3261e", "#188038", "#e37400", "#8430ce", "#00796b", "#5f6368", "#c2185b"];
  function draw() {
    var node = document.getElementById("plan-data");
    if (!node || !window.echarts) return;
    var plan = JSON.parse(node.textContent);
    var days = []; for (var d = 0; d < plan.days; d++) days.push(d + 1);
    document.querySelectorAll(".plan-chart").forEach(function (el) {
      var key = el.dataset.series, series = [];
      plan.scenarios.forEach(function (scenario, i) {
        var band = plan.bands[scenario.name][key], colour = palette[i % palette.length], stack = "band" + i;
        series.push({type: "line", name: scenario.title, data: band.p50, showSymbol: false, lineStyle: {color: colour},
                     itemStyle: {color: colour}});
        series.push({type: "line", data: band.p05, stack: stack, lineStyle: {opacity: 0}, showSymbol: false,
                     tooltip: {show: false}, silent: true});
        series.push({type: "line", data: band.p95.map(function (v, j) { return v - band.p05[j]; }), stack: stack,
                     lineStyle: {opacity: 0}, showSymbol: false, areaStyle: {color: colour, opacity: 0.15},
                     tooltip: {show: false}, silent: true});
      });
      var chart = echarts.getInstanceByDom(el) || echarts.init(el);
      chart.on("finished", function () { el.dataset.rendered = "1"; });
      chart.setOption({tooltip: {trigger: "axis"}, legend: {top: 0, data: plan.scenarios.map(function (s) { return s.title; })},
                       grid: {left: 60, right: 20, top: 40, bottom: 30},
                       xAxis: {type: "category", data: days}, yAxis: {type: "value"}, series: series}, true);
    });
  }
  document.addEventListener("DOMContentLoaded", draw);
  document.addEventListener("htmx:afterSwap", draw);
})();
