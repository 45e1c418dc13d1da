// Live previews of the synthesis forms (no inline scripts; CSP allows 'self' only).
// A form with data-preview-url sends its fields (GET, no CSRF token) to that JSON endpoint as you type; the answer
// {"ok", "lines": [...], "error", "fields": {name: {"text", "bad"}}} fills the element named by
// data-preview-target and the <output data-preview-field="name"> next to each field.
(function () {
  "use strict";
  function debounce(fn, ms) { var t; return function () { clearTimeout(t); t = setTimeout(fn, ms); }; }
  function attach(form) {
    var target = form.dataset.previewTarget ? document.getElementById(form.dataset.previewTarget) : null;
    var run = debounce(function () {
      var params = new URLSearchParams();
      new FormData(form).forEach(function (value, key) {
        if (key !== "csrfmiddlewaretoken" && typeof value === "string") { params.append(key, value); }
      });
      fetch(form.dataset.previewUrl + "?" + params.toString(), { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (d) {
          if (target) {
            target.textContent = "";
            var list = document.createElement("ul");
            (d.ok ? d.lines || [] : [d.error]).forEach(function (line) {
              var li = document.createElement("li"); li.textContent = line;
              if (!d.ok) { li.className = "error"; }
              list.appendChild(li);
            });
            target.appendChild(list);
          }
          form.querySelectorAll("output[data-preview-field]").forEach(function (out) {
            var f = (d.fields || {})[out.dataset.previewField];
            out.textContent = f ? f.text : "";
            out.classList.toggle("bad", !!(f && f.bad));
          });
        }).catch(function () { /* a preview is a convenience; the server checks on save */ });
    }, 300);
    form.addEventListener("input", run);
    form.addEventListener("change", run);
    run();
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-preview-url]").forEach(attach);
  });
})();
