// The console's only script: live regions refreshed from server-rendered fragments, and the
// progress line of a sync. No framework, no inline script (the CSP forbids it).
"use strict";

(function () {
  var streams = {};

  function refresh(el) {
    fetch(el.dataset.liveUrl, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html === null) return;
        var target = document.getElementById(el.dataset.liveTarget);
        // The fragment is rendered and escaped by the server (Jinja2 autoescape).
        if (target) target.innerHTML = html;
      });
  }

  document.querySelectorAll("[data-live-source]").forEach(function (el) {
    var source = el.dataset.liveSource;
    if (!streams[source]) {
      streams[source] = new EventSource(source);
      streams[source].listeners = [];
      streams[source].addEventListener("change", function () {
        streams[source].listeners.forEach(refresh);
      });
    }
    streams[source].listeners.push(el);
  });

  var progress = document.getElementById("sync-progress");
  if (progress) {
    var poll = function () {
      fetch(progress.dataset.jobUrl, { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (job) {
          var text = "Sync of " + job.source_id + ": " + job.status;
          if (job.progress && job.progress.total) {
            text += " (" + job.progress.stage + " " + job.progress.done + "/" + job.progress.total + ")";
          }
          if (job.error) text += ": " + job.error;
          progress.textContent = text;
          progress.className = "card status " + job.status;
          if (job.finished) {
            var again = document.createElement("a");
            again.href = "/console/knowledge";
            again.textContent = " Reload the page to see the new state.";
            progress.appendChild(again);
          } else {
            setTimeout(poll, 400);
          }
        })
        .catch(function () { setTimeout(poll, 1000); });
    };
    poll();
  }
})();
