// Unit-aware inputs: show the normalised value as you type (no inline scripts; CSP allows 'self' only).
// <input class="quantity" data-dimension="mass" data-unit="g"> asks /api/v1/units/parse/ what the text means in
// the field's unit. Several dimensions separated by "|" (data-dimension="mass|volume|amount",
// data-unit="g|mL|mol") are tried in order: "5 mL" of a recipe line is a volume, "3.74 g" a mass.
// data-room-temperature="25" accepts "RT" as that many degC (as the services do).
(function () {
  "use strict";
  var UNITS = { um: "µm", uL: "µL", degC: "°C", ohm: "Ω", dimensionless: "" };
  var NOUNS = { mass: "a mass", volume: "a volume", amount: "an amount of substance (mol)" };
  function debounce(fn, ms) { var t; return function () { var a = arguments; clearTimeout(t); t = setTimeout(function () { fn.apply(null, a); }, ms); }; }
  function parse(text, dimension, unit) {
    var url = "/api/v1/units/parse/?dimension=" + encodeURIComponent(dimension) +
      "&unit=" + encodeURIComponent(unit) + "&text=" + encodeURIComponent(text);
    return fetch(url, { credentials: "same-origin" }).then(function (r) { return r.json(); });
  }
  function show(out, d) {
    var unit = d.ok ? (Object.prototype.hasOwnProperty.call(UNITS, d.unit) ? UNITS[d.unit] : String(d.unit).replace(/\*\*2/g, "²").replace(/\*\*3/g, "³")) : "";
    out.textContent = d.ok ? "= " + Number(d.magnitude.toPrecision(6)) + " " + unit : d.error;
    out.classList.toggle("bad", !d.ok);
  }
  function attach(input) {
    var out = document.createElement("span");
    out.className = "unit-preview"; out.setAttribute("aria-live", "polite");
    if (input.id) { out.id = input.id + "-preview"; input.setAttribute("aria-describedby", ((input.getAttribute("aria-describedby") || "") + " " + out.id).trim()); }
    input.insertAdjacentElement("afterend", out);
    var dims = (input.dataset.dimension || "").split("|");
    var units = (input.dataset.unit || "").split("|");
    var check = debounce(function () {
      var text = input.value.trim();
      if (!text) { out.textContent = ""; out.classList.remove("bad"); return; }
      var rt = input.dataset.roomTemperature;
      if (rt && /^(rt|room temperature)$/i.test(text)) {
        show(out, { ok: true, magnitude: Number(rt), unit: "degC (room temperature)" }); return;
      }
      var k = 0, first = null;
      (function next() {
        parse(text, dims[k], units[k] || "").then(function (d) {
          if (first === null) { first = d; }
          if (d.ok || k === dims.length - 1) {
            var nouns = dims.map(function (x) { return NOUNS[x] || x; });
            var shown = d.ok ? d : (dims.length > 1 ? { ok: false, error: "expected " + nouns.join(", ").replace(/, ([^,]*)$/, " or $1") } : first);
            show(out, shown);
            input.dispatchEvent(new CustomEvent("quantity-parsed", { detail: shown, bubbles: true }));
            return;
          }
          k += 1; next();
        }).catch(function () { out.textContent = ""; });
      })();
    }, 250);
    input.addEventListener("input", check);
    if (input.value) { check(); }
  }
  function confirmForms() {
    document.querySelectorAll("form[data-confirm]").forEach(function (f) {
      f.addEventListener("submit", function (e) { if (!window.confirm(f.dataset.confirm)) { e.preventDefault(); } });
    });
  }
  // a table wider than its card scrolls sideways: make it reachable with the keyboard (Tab, then arrow keys)
  // and name it for screen readers; a table that fits gets no extra tab stop
  function scrollableTables() {
    document.querySelectorAll(".table-scroll").forEach(function (box) {
      var wide = box.scrollWidth > box.clientWidth + 1;
      if (wide && !box.hasAttribute("tabindex")) {
        box.setAttribute("tabindex", "0");
        box.setAttribute("role", "region");
        var caption = box.querySelector("caption");
        var heading = box.closest("section, .card") && box.closest("section, .card").querySelector("h2, h3");
        box.setAttribute("aria-label", ((caption || heading || {}).textContent || "table").trim() + " (scrolls sideways)");
      } else if (!wide && box.getAttribute("tabindex") === "0" && box.getAttribute("role") === "region") {
        box.removeAttribute("tabindex"); box.removeAttribute("role"); box.removeAttribute("aria-label");
      }
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("input.quantity").forEach(attach);
    confirmForms();
    scrollableTables();
    window.addEventListener("resize", debounce(scrollableTables, 200));
  });
})();
