/* The console's overview charts (uPlot, served by the app). The same figures are in
 * the tables under the charts, for screen readers and without JavaScript. */
(function () {
  "use strict";
  var source = document.getElementById("overview-data");
  if (!source || !window.uPlot) { return; }
  var data = JSON.parse(source.textContent);
  var palette = ["#00589c", "#2e7d32", "#a4262c", "#8a6d00", "#6a1b9a", "#00838f", "#4a4a4a"];

  function draw(id, title, series) {
    var target = document.getElementById(id);
    if (!target || !data.weeks.length) { return; }
    var x = data.weeks.map(function (_, i) { return i; });
    var options = {
      title: title, width: Math.min(target.clientWidth || 900, 1100), height: 260,
      scales: { x: { time: false } },
      axes: [{ values: function (u, ticks) { return ticks.map(function (i) { return data.weeks[i] || ""; }); } }, {}],
      series: [{}].concat(series.map(function (s, i) {
        return { label: s.label, stroke: palette[i % palette.length], width: 2 };
      }))
    };
    new window.uPlot(options, [x].concat(series.map(function (s) { return s.values; })), target);
  }
  draw("chart-conversations", "", data.conversations);
  draw("chart-outcomes", "", data.outcomes);
})();
