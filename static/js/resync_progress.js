// The resync run page's live progress: poll the run's JSON progress while it is queued or running, update the
// bar and the counts, and reload once it finishes (to show the report, failures and the right buttons).
// A static file, not an inline script: the Content-Security-Policy allows no inline script.
(function () {
  "use strict";
  var panel = document.getElementById("run-progress-panel");
  if (!panel) return;
  var url = panel.getAttribute("data-progress-url");
  var active = ["queued", "running"];
  if (active.indexOf(panel.getAttribute("data-status")) < 0) return;
  var bar = document.getElementById("run-progress");
  var text = document.getElementById("run-progress-text");
  var statusLabel = document.querySelector("#run-status .badge");
  var delay = 1000;

  function show(p) {
    var processed = p.done + p.failed + p.skipped;
    bar.max = Math.max(p.total, 1);
    bar.value = processed;
    text.textContent = p.listing
      ? "Waiting for a worker to list the contacts it selected…"
      : processed + " of " + p.total + " processed";
    if (statusLabel) statusLabel.textContent = p.status.charAt(0).toUpperCase() + p.status.slice(1);
    panel.querySelectorAll("[data-count]").forEach(function (cell) {
      var name = cell.getAttribute("data-count");
      var value = p[name];
      if (name === "contacts_per_second") value = value == null ? "—" : value.toFixed(1);
      else if (name === "eta_seconds") value = value == null ? "—" : Math.round(value) + " s";
      cell.textContent = value;
    });
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error(response.status);
        return response.json();
      })
      .then(function (p) {
        show(p);
        if (active.indexOf(p.status) < 0) {
          window.location.reload();
          return;
        }
        delay = Math.min(delay * 1.2, 5000);
        window.setTimeout(poll, delay);
      })
      .catch(function () {
        window.setTimeout(poll, 5000);
      });
  }

  window.setTimeout(poll, delay);
})();
