// Live progress of a broadcast: the page's numbers follow the server-sent events of
// /console/broadcasts/ID/events (the same tally as `meedoen broadcast`). Without JavaScript
// the page refreshes itself instead (<noscript> meta refresh).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var live = document.getElementById("live");
  if (!live || !window.EventSource) return;
  var source = new EventSource(live.getAttribute("data-events"));
  function show(event) {
    var state = JSON.parse(event.data);
    document.getElementById("bar").value = state.percent;
    document.getElementById("bar").textContent = state.percent + " %";
    document.getElementById("percent").textContent = state.percent + " %";
    document.getElementById("recipients").textContent = state.recipients;
    document.getElementById("cancelled").textContent = state.cancelled;
    ["delivered", "waiting", "failed", "blocked", "skipped"].forEach(function (key) {
      document.getElementById(key).textContent = state.tally[key];
    });
    if (state.finished) {
      document.getElementById("final").textContent = document.getElementById("final-text").textContent;
      var cancel = document.getElementById("cancel");
      if (cancel) cancel.hidden = true;  // nothing is left to cancel
    }
  }
  source.addEventListener("progress", show);
  source.addEventListener("done", function (event) { show(event); source.close(); });
});
