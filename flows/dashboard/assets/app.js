// Draws the group page's charts from the JSON the server put in the page.
// window.qbCharts keeps the uPlot instances (the browser tests read them).
(function () {
  "use strict";
  window.qbCharts = [];
  var el = document.getElementById("series");
  if (!el || typeof uPlot === "undefined") return;
  var data = JSON.parse(el.textContent);
  var colors = ["#4a7bd0", "#d0784a", "#3a9d5d", "#9b59b6"];
  document.querySelectorAll("[data-chart]").forEach(function (div) {
    var labels = (div.dataset.labels || "").split(",");
    var cols = [data.days];
    var series = [{}];
    var names = div.dataset.layers ? div.dataset.layers.split(",") : div.dataset.series.split(",");
    names.forEach(function (n, i) {
      var src = div.dataset.layers ? data.layers[n] : data.values[n];
      if (!src) return;
      // a share not recorded that day is a gap, not a zero
      cols.push(src.map(function (v) { return v < 0 ? null : v; }));
      series.push({ label: labels[i] || n, stroke: colors[i % colors.length], width: 2, spanGaps: false });
    });
    var opts = {
      width: Math.max(320, div.clientWidth || 520), height: 220, series: series,
      axes: [{}, { size: 50 }], scales: { x: { time: true } }
    };
    if (div.dataset.layers && data.healthy) {
      // each tier's healthy range as a band of its colour behind its line
      opts.scales.y = { range: [0, 100] };
      opts.hooks = { drawClear: [function (u) {
        var ctx = u.ctx;
        names.forEach(function (n, i) {
          var h = data.healthy[n];
          if (!h) return;
          var top = u.valToPos(h[1], "y", true), bottom = u.valToPos(h[0], "y", true);
          ctx.save();
          ctx.globalAlpha = 0.15;
          ctx.fillStyle = colors[i % colors.length];
          ctx.fillRect(u.bbox.left, top, u.bbox.width, bottom - top);
          ctx.restore();
        });
      }] };
    }
    var u = new uPlot(opts, cols, div);
    u.qbName = div.dataset.chart;
    window.qbCharts.push(u);
  });
})();
