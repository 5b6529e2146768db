/* Dashboard charts: people by division (bar), the jurisdiction map, and the outbreak curve. Each chart marks
   its element with data-rendered="1" once ECharts has finished drawing (browser tests wait on it). */
(function () {
  "use strict";
  function json(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }
  function chartFor(el) {
    var chart = echarts.getInstanceByDom(el) || echarts.init(el);
    chart.off("finished");
    chart.on("finished", function () { el.dataset.rendered = "1"; });
    return chart;
  }
  function drawBars(byDivision) {
    var el = document.getElementById("by-division-chart");
    if (!el) return;
    chartFor(el).setOption({
      tooltip: {}, grid: {left: 60, right: 20, bottom: 90, top: 20},
      xAxis: {type: "category", data: byDivision.map(function (d) { return d.name; }), axisLabel: {rotate: 40}},
      yAxis: {type: "value"},
      series: [{type: "bar", name: el.dataset.seriesName, data: byDivision.map(function (d) { return d.people; }),
                itemStyle: {color: "#0b57d0"}}]
    });
  }
  function drawMap(byDivision) {
    var el = document.getElementById("map-chart");
    if (!el) return;
    fetch(el.dataset.url, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (geo) {
      if (!geo.features.length) { el.textContent = "—"; el.dataset.rendered = "1"; return; }
      echarts.registerMap("jurisdiction", geo);
      var values = byDivision.map(function (d) { return {name: d.name, value: d.people}; });
      var max = Math.max.apply(null, values.map(function (v) { return v.value; }).concat([1]));
      chartFor(el).setOption({
        tooltip: {trigger: "item"},
        visualMap: {min: 0, max: max, left: 10, bottom: 10, calculable: true,
                    inRange: {color: ["#e8f0fe", "#0b57d0"]}},
        series: [{type: "map", map: "jurisdiction", name: el.dataset.seriesName, roam: true,
                  label: {show: true, fontSize: 10}, data: values}]
      });
    });
  }
  function drawOutbreak(outbreak) {
    var el = document.getElementById("outbreak-chart");
    if (!el || !outbreak || !outbreak.dates) return;
    var labels = JSON.parse(el.dataset.labels);
    var lines = ["in_quarantine_rooms", "beds_used"].map(function (name) {
      return {type: "line", name: labels[name], data: outbreak.series[name], showSymbol: false, yAxisIndex: 1};
    });
    chartFor(el).setOption({
      tooltip: {trigger: "axis"}, legend: {top: 0},
      grid: {left: 60, right: 60, bottom: 40, top: 40},
      xAxis: {type: "category", data: outbreak.dates},
      yAxis: [{type: "value", name: labels.new_cases}, {type: "value"}],
      series: [{type: "bar", name: labels.new_cases, data: outbreak.series.new_cases, itemStyle: {color: "#b3261e"}}]
        .concat(lines)
    });
  }
  function drawTurnaround(figures) {
    var el = document.getElementById("turnaround-chart");
    if (!el || !figures || !figures.labs.length) return;
    var labels = JSON.parse(el.dataset.labels);
    var target = figures.result_target;
    chartFor(el).setOption({
      tooltip: {trigger: "axis"}, legend: {top: 0},
      grid: {left: 60, right: 20, bottom: 60, top: 40},
      xAxis: {type: "category", data: figures.labs.map(function (name) { return name || labels.unassigned; }),
              axisLabel: {rotate: 20}},
      yAxis: {type: "value", name: labels.hours,
              max: function (value) { return Math.ceil(Math.max(value.max, (target || 0) * 1.1)); }},
      series: [
        {type: "bar", name: labels.receipt_median, data: figures.receipt_median, itemStyle: {color: "#8ab4f8"}},
        {type: "bar", name: labels.result_median, data: figures.result_median, itemStyle: {color: "#0b57d0"},
         markLine: target ? {symbol: "none", data: [{yAxis: target, name: labels.target}],
                             lineStyle: {color: "#b3261e", type: "dashed"}, label: {formatter: labels.target + " {c} h"}} : undefined},
        {type: "bar", name: labels.result_p90, data: figures.result_p90, itemStyle: {color: "#174ea6"}}
      ]
    });
  }
  function drawAll() {
    if (!window.echarts) return;
    var byDivision = json("by-division-data") || [];
    drawBars(byDivision);
    drawMap(byDivision);
    drawOutbreak(json("outbreak-data"));
    drawTurnaround(json("turnaround-data"));
  }
  document.addEventListener("DOMContentLoaded", drawAll);
  document.body && document.body.addEventListener("htmx:afterSwap", drawAll);
})();
