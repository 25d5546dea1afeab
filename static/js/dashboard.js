/* The operators' dashboard: draws each <canvas data-chart> from the JSON in #dashboard-data
   (json_script: data, not script, so the CSP allows it). Chart.js is vendored (static/vendor). */
(function () {
  "use strict";
  var PALETTE = ["#e8442e", "#2f7ed8", "#f5a623", "#27ae60", "#8e44ad", "#16a085", "#c0392b", "#7f8c8d"];

  function draw() {
    var source = document.getElementById("dashboard-data");
    if (!source || typeof window.Chart === "undefined") return;
    var data = JSON.parse(source.textContent);
    var locale = document.documentElement.lang || undefined;
    var number = new Intl.NumberFormat(locale);
    window.dashboardCharts = {};
    data.charts.forEach(function (spec) {
      var canvas = document.querySelector('canvas[data-chart="' + spec.key + '"]');
      if (!canvas) return;
      var line = spec.kind === "line";
      var horizontal = spec.kind === "hbar";
      var stacked = spec.kind === "stacked";
      var datasets = spec.series.map(function (s, i) {
        var colour = PALETTE[i % PALETTE.length];
        return {
          label: s.label,
          data: s.values,
          borderColor: colour,
          backgroundColor: line ? colour + "22" : colour,
          fill: line && i === 0,
          tension: 0.3,
          pointRadius: spec.labels.length > 31 ? 0 : 2,
          borderWidth: line ? 2 : 0,
          stack: s.stack || undefined,
        };
      });
      window.dashboardCharts[spec.key] = new window.Chart(canvas, {
        type: line ? "line" : "bar",
        data: { labels: spec.labels, datasets: datasets },
        options: {
          locale: locale,
          animation: false,
          responsive: true,
          maintainAspectRatio: false,
          indexAxis: horizontal ? "y" : "x",
          interaction: { mode: "index", intersect: false },
          plugins: {
            legend: { position: "bottom", labels: { boxWidth: 12 } },
            tooltip: {
              callbacks: {
                label: function (ctx) {
                  return ctx.dataset.label + ": " + number.format(horizontal ? ctx.parsed.x : ctx.parsed.y);
                },
              },
            },
          },
          scales: {
            x: { stacked: stacked, beginAtZero: horizontal, ticks: { maxRotation: 0, autoSkip: true, precision: horizontal ? 0 : undefined } },
            y: { stacked: stacked, beginAtZero: true, ticks: { precision: 0 } },
          },
        },
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
