// Home's charts: each canvas names the JSON element holding its data (the CSP allows no inline script).
// The data says its type ("bar", "line" or "doughnut") and whether bars stack; the page prints the same
// numbers as text beside each chart.
(function () {
  "use strict";
  function options(data) {
    var base = {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } }
    };
    if (data.type === "doughnut") {
      return base;
    }
    base.interaction = { mode: "index", intersect: false };
    // Points stay visible: a month with a single synced day is one point, which a line alone would not show.
    base.elements = { point: { radius: 2 } };
    base.scales = {
      x: { stacked: !!data.stacked, ticks: { maxTicksLimit: 6, autoSkip: true, maxRotation: 0 } },
      y: { stacked: !!data.stacked, beginAtZero: true, ticks: { precision: 0 } }
    };
    return base;
  }
  function draw() {
    if (typeof Chart === "undefined") { return; }
    document.querySelectorAll("canvas[data-dashboard-chart]").forEach(function (canvas) {
      var source = document.getElementById(canvas.dataset.dashboardChart);
      if (!source) { return; }
      var data = JSON.parse(source.textContent);
      var chart = new Chart(canvas, {
        type: data.type,
        data: { labels: data.labels, datasets: data.datasets },
        options: options(data)
      });
      canvas.dataset.drawn = chart ? "true" : "false";
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
