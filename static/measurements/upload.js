// Upload page: drag and drop several files; each is POSTed to the API on its own (XHR, so the bytes sent can
// be shown), then its status URL is polled until the parse is done or failed. One progress bar per file:
// 0-50 % while the bytes travel, 50-100 % while the worker parses and analyses. The "Recent uploads" list is
// fetched again (this page's own URL, its filters kept) when a file is accepted and when it is done or failed.
// No inline script (CSP).
(function () {
  "use strict";
  var POLL_MS = 1000;

  function csrfToken(form) {
    var input = form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function row(list, file) {
    var li = document.createElement("li");
    var name = document.createElement("span"); name.textContent = file.name;
    var bar = document.createElement("progress"); bar.max = 100; bar.value = 0;
    bar.setAttribute("aria-label", "progress of " + file.name);
    var stage = document.createElement("span"); stage.className = "badge"; stage.textContent = "sending";
    var reason = document.createElement("span"); reason.className = "reason";
    li.appendChild(name); li.appendChild(bar); li.appendChild(stage); li.appendChild(reason);
    list.appendChild(li);
    return { li: li, bar: bar, stage: stage, reason: reason, name: name };
  }

  var refreshTimer = null;
  function refreshRecent() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(function () {
      var section = document.getElementById("recent-uploads");
      if (!section || !window.DOMParser) { return; }
      fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) {
          var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("recent-uploads");
          if (fresh) { section.replaceWith(document.importNode(fresh, true)); }
        })
        .catch(function () { /* the list stays as it was; the rows above still show each file's status */ });
    }, 400);
  }

  function show(ui, status) {
    ui.stage.textContent = status.stage;
    ui.stage.className = "badge " + status.stage;
    ui.bar.value = 50 + 50 * (status.stage === "done" ? 1 : (status.progress || 0));
    if (status.stage === "failed") { ui.reason.textContent = status.error || "failed"; ui.bar.value = 100; }
    if (status.stage === "done" || status.stage === "failed") { refreshRecent(); }
    if (status.stage === "done" && status.measurement) {
      var a = document.createElement("a");
      a.href = "/measurements/" + status.measurement + "/"; a.textContent = ui.name.textContent;
      ui.name.textContent = ""; ui.name.appendChild(a);
      var results = document.createElement("a");
      results.href = a.href; results.className = "results-link"; results.textContent = "parsed and analysed: see the results";
      ui.reason.textContent = ""; ui.reason.className = "reason"; ui.reason.appendChild(results);
    }
  }

  function poll(url, ui) {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (status) {
        show(ui, status);
        if (status.stage !== "done" && status.stage !== "failed") { setTimeout(function () { poll(url, ui); }, POLL_MS); }
      })
      .catch(function () { setTimeout(function () { poll(url, ui); }, 5 * POLL_MS); });
  }

  function send(form, file, list) {
    var ui = row(list, file);
    var max = Number(form.dataset.maxBytes || 0);
    if (max && file.size > max) {
      ui.stage.textContent = "refused"; ui.stage.className = "badge failed";
      ui.reason.textContent = "larger than the upload limit"; return;
    }
    var data = new FormData();
    data.append("file", file, file.name);
    ["cell", "technique", "temperature", "notes", "mapping"].forEach(function (name) {
      var el = form.elements[name];
      if (el && el.value) { data.append(name, el.value); }
    });
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.dataset.apiUrl);
    xhr.setRequestHeader("X-CSRFToken", csrfToken(form));
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) { ui.bar.value = 50 * e.loaded / e.total; }
    });
    xhr.addEventListener("load", function () {
      var body = {};
      try { body = JSON.parse(xhr.responseText); } catch (err) { body = {}; }
      if (xhr.status === 200 || xhr.status === 202) {
        if (xhr.status === 200) { ui.reason.textContent = "these bytes were uploaded before: showing that upload"; ui.reason.className = "muted"; }
        show(ui, body);
        if (body.stage !== "done" && body.stage !== "failed") { refreshRecent(); poll(body.status_url, ui); }
      } else {
        ui.stage.textContent = "refused (" + xhr.status + ")"; ui.stage.className = "badge failed";
        ui.reason.textContent = (body.error && body.error.message) || xhr.statusText;
        ui.bar.value = 100;
      }
    });
    xhr.addEventListener("error", function () { ui.stage.textContent = "network error"; ui.stage.className = "badge failed"; });
    xhr.send(data);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("upload-form");
    if (!form) { return; }
    var list = document.getElementById("upload-progress");
    var zone = document.getElementById("dropzone");
    var input = document.getElementById("id_files");
    function sendAll(files) {
      if (!form.elements.cell.value) { form.elements.cell.focus(); form.elements.cell.setCustomValidity("Say which cell the files belong to"); form.elements.cell.reportValidity(); return; }
      form.elements.cell.setCustomValidity("");
      Array.prototype.forEach.call(files, function (f) { send(form, f, list); });
    }
    ["dragenter", "dragover"].forEach(function (ev) {
      zone.addEventListener(ev, function (e) { e.preventDefault(); zone.classList.add("dragover"); });
    });
    ["dragleave", "drop"].forEach(function (ev) {
      zone.addEventListener(ev, function (e) { e.preventDefault(); zone.classList.remove("dragover"); });
    });
    zone.addEventListener("drop", function (e) { if (e.dataTransfer && e.dataTransfer.files.length) { sendAll(e.dataTransfer.files); } });
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      if (input.files.length) { sendAll(input.files); input.value = ""; }
    });
    input.removeAttribute("required");
  });
})();
