/* The round page's "plan against progress" chart: people sampled by each hour of the round, planned (the
   capacity planner's line) and actual. Marks the element with data-rendered="1" once drawn (browser tests). */
(function () {
  "use strict";
  function draw() {
    var el = document.getElementById("round-plan-chart");
    var data = document.getElementById("round-plan-data");
    if (!el || !data || !window.echarts) return;
    var series = JSON.parse(data.textContent);
    var chart = echarts.getInstanceByDom(el) || echarts.init(el);
    chart.off("finished");
    chart.on("finished", function () { el.dataset.rendered = "1"; });
    chart.setOption({
      tooltip: {trigger: "axis"}, legend: {top: 0},
      grid: {left: 70, right: 20, bottom: 40, top: 40},
      xAxis: {type: "category", name: el.dataset.hour, data: series.hours},
      yAxis: {type: "value"},
      series: [
        {type: "line", name: el.dataset.planned, data: series.planned, showSymbol: false,
         lineStyle: {type: "dashed"}, itemStyle: {color: "#5f6368"}},
        {type: "line", name: el.dataset.actual, data: series.actual, showSymbol: false, itemStyle: {color: "#0b57d0"}}
      ]
    });
  }
  document.addEventListener("DOMContentLoaded", draw);
  document.body && document.body.addEventListener("htmx:afterSwap", draw);
})();
