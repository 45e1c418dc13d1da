// Unit-aware inputs: show the normalised value as you type (no inline scripts; CSP allows 'self' only).
(function () {
  "use strict";
  function debounce(fn, ms) { var t; return function () { var a = arguments; clearTimeout(t); t = setTimeout(function () { fn.apply(null, a); }, ms); }; }
  function attach(input) {
    var out = document.createElement("span");
    out.className = "unit-preview"; out.setAttribute("aria-live", "polite");
    input.insertAdjacentElement("afterend", out);
    var check = debounce(function () {
      var text = input.value.trim();
      if (!text) { out.textContent = ""; return; }
      var url = "/api/v1/units/parse/?dimension=" + encodeURIComponent(input.dataset.dimension) +
        "&unit=" + encodeURIComponent(input.dataset.unit) + "&text=" + encodeURIComponent(text);
      fetch(url, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (d) {
        if (d.ok) { out.textContent = "= " + Number(d.magnitude.toPrecision(6)) + " " + d.unit; out.classList.remove("bad"); }
        else { out.textContent = d.error; out.classList.add("bad"); }
        input.dispatchEvent(new CustomEvent("quantity-parsed", { detail: d, bubbles: true }));
      }).catch(function () { out.textContent = ""; });
    }, 250);
    input.addEventListener("input", check);
    if (input.value) { check(); }
  }
  function confirmForms() {
    document.querySelectorAll("form[data-confirm]").forEach(function (f) {
      f.addEventListener("submit", function (e) { if (!window.confirm(f.dataset.confirm)) { e.preventDefault(); } });
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("input.quantity").forEach(attach);
    confirmForms();
  });
})();
