/* Quarantine rooms: the 14-day forecast (rooms held now + rooms for the pipeline, against capacity) and the last
   14 days in use. The chart element gets data-rendered="1" once ECharts has drawn (browser tests wait on it). */
(function () {
  "use strict";
  function draw() {
    var el = document.getElementById("forecast-chart");
    var node = document.getElementById("forecast-data");
    if (!el || !node || !window.echarts) return;
    var data = JSON.parse(node.textContent);
    var labels = JSON.parse(el.dataset.labels);
    var chart = echarts.getInstanceByDom(el) || echarts.init(el);
    chart.off("finished");
    chart.on("finished", function () { el.dataset.rendered = "1"; });
    chart.setOption({
      tooltip: {trigger: "axis"}, legend: {top: 0},
      grid: {left: 50, right: 20, bottom: 40, top: 40},
      xAxis: {type: "category", data: data.history_dates.concat(data.dates)},
      yAxis: {type: "value"},
      series: [
        {type: "line", name: labels.history, showSymbol: false, itemStyle: {color: "#5f6368"},
         data: data.history.concat(data.dates.map(function () { return null; }))},
        {type: "bar", stack: "need", name: labels.held, itemStyle: {color: "#0b57d0"},
         data: data.history_dates.map(function () { return null; }).concat(data.held)},
        {type: "bar", stack: "need", name: labels.pipeline, itemStyle: {color: "#f29900"},
         data: data.history_dates.map(function () { return null; }).concat(data.pipeline)},
        {type: "line", name: labels.capacity, showSymbol: false, lineStyle: {type: "dashed", color: "#b3261e"},
         itemStyle: {color: "#b3261e"},
         data: data.history_dates.map(function () { return data.capacity[0] || 0; }).concat(data.capacity)}
      ]
    });
  }
  document.addEventListener("DOMContentLoaded", draw);
})();
