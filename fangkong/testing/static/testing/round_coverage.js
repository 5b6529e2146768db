/* Round coverage: cumulative residents tested per county, by hour (local time). */
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var el = document.getElementById("coverage-hourly");
  var data = document.getElementById("hourly-data");
  if (!el || !data || !window.echarts) return;
  var series = JSON.parse(data.textContent);
  var chart = echarts.init(el);
  chart.on("finished", function () { el.dataset.rendered = "1"; });
  chart.setOption({
    tooltip: {trigger: "axis"},
    legend: {data: series.map(function (s) { return s.name; })},
    xAxis: {type: "time"},
    yAxis: {type: "value", name: el.dataset.labelTested},
    series: series.map(function (s) {
      return {name: s.name, type: "line", step: "end", showSymbol: false,
              data: s.points.map(function (p) { return [new Date(p[0]), p[1]]; })};
    })
  });
  window.addEventListener("resize", function () { chart.resize(); });
});
