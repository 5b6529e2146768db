/* Transmission chains: cases (large), close contacts and secondary contacts in a force-directed graph. */
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var el = document.getElementById("chain-graph");
  var graph = JSON.parse(document.getElementById("graph-data").textContent);
  if (!el || !window.echarts) return;
  var names = JSON.parse(el.dataset.categories);
  var chart = echarts.init(el);
  chart.on("finished", function () { el.dataset.rendered = "1"; });
  chart.setOption({
    tooltip: {}, legend: [{data: names}],
    color: ["#b3261e", "#e37400", "#0b57d0"],
    series: [{
      type: "graph", layout: "force", roam: true, draggable: true,
      categories: names.map(function (n) { return {name: n}; }),
      data: graph.nodes, links: graph.links, label: {show: true, position: "right", fontSize: 10},
      force: {repulsion: 120, edgeLength: 60}, edgeSymbol: ["none", "arrow"], lineStyle: {opacity: 0.6}
    }]
  });
});
