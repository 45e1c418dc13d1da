// Upload detail page: while the upload is in progress, poll its status URL and update the fields in place.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("upload-status");
    if (!box || box.dataset.inProgress !== "true") { return; }
    function field(name) { return box.querySelector("[data-field=" + name + "]"); }
    function tick() {
      fetch(box.dataset.statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (s) {
          field("stage").textContent = s.stage; field("stage").className = "badge " + s.stage;
          field("progress").value = s.stage === "done" ? 1 : s.progress;
          field("error").textContent = s.error || "";
          field("detected_format").textContent = s.detected_format || "–";
          field("technique").textContent = s.technique || "–";
          if (s.stage === "done" || s.stage === "failed") { window.location.reload(); return; }
          setTimeout(tick, 1000);
        })
        .catch(function () { setTimeout(tick, 5000); });
    }
    setTimeout(tick, 1000);
  });
})();
