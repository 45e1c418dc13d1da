// Inventory forms: preview an amount in the lot's unit as you type (no inline scripts; CSP allows 'self' only).
// <input class="lot-amount" data-convert-url="/api/v1/lots/7/convert/"> asks the lot how much that is;
// <input class="lot-amount" data-receive="1"> checks a received quantity is a mass or a volume.
(function () {
  "use strict";
  function debounce(fn, ms) { var t; return function () { var a = arguments; clearTimeout(t); t = setTimeout(function () { fn.apply(null, a); }, ms); }; }
  function show(out, ok, text) { out.textContent = text; out.classList.toggle("bad", !ok); }
  function parse(text, dimension, unit) {
    var url = "/api/v1/units/parse/?dimension=" + dimension + "&unit=" + encodeURIComponent(unit) + "&text=" + encodeURIComponent(text);
    return fetch(url, { credentials: "same-origin" }).then(function (r) { return r.json(); });
  }
  function attach(input) {
    var out = document.createElement("span");
    out.className = "unit-preview"; out.setAttribute("aria-live", "polite");
    input.insertAdjacentElement("afterend", out);
    var check = debounce(function () {
      var text = input.value.trim();
      if (!text) { show(out, true, ""); return; }
      if (input.dataset.convertUrl) {
        fetch(input.dataset.convertUrl + "?amount=" + encodeURIComponent(text), { credentials: "same-origin" })
          .then(function (r) { return r.json(); })
          .then(function (d) {
            if (d.ok) {
              var left = d.on_hand - d.magnitude;
              show(out, left >= 0, "= " + Number(d.magnitude.toPrecision(6)) + " " + d.unit + " of " + Number(d.on_hand.toPrecision(6)) + " " + d.unit + " on hand");
            } else { show(out, false, d.error); }
          }).catch(function () { show(out, true, ""); });
      } else if (input.dataset.receive) {
        parse(text, "mass", "g").then(function (d) {
          if (d.ok) { show(out, true, "= " + Number(d.magnitude.toPrecision(6)) + " g (kept by mass)"); return; }
          return parse(text, "volume", "mL").then(function (v) {
            if (v.ok) { show(out, true, "= " + Number(v.magnitude.toPrecision(6)) + " mL (kept by volume)"); }
            else { show(out, false, "expected a mass or a volume, e.g. 500 g or 250 mL"); }
          });
        }).catch(function () { show(out, true, ""); });
      }
    }, 250);
    input.addEventListener("input", check);
    if (input.value) { check(); }
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("input.lot-amount").forEach(attach);
  });
})();
