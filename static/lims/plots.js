// Every plot on the site: <div class="plot" data-figure-url="/...json" data-csv-url="/...csv" aria-label="...">.
// The server builds the Plotly figure (traces + layout) as JSON; this script only draws it and adds the
// downloads (PNG and SVG of the figure, CSV of its data). Plotly is vendored under static/vendor (no CDN).
(function () {
  "use strict";
  function button(label, onClick) {
    var b = document.createElement("button"); b.type = "button"; b.textContent = label; b.addEventListener("click", onClick); return b;
  }
  function draw(el) {
    fetch(el.dataset.figureUrl, { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
      .then(function (fig) {
        var layout = Object.assign({ margin: { t: 40, r: 20, b: 50, l: 70 }, hovermode: "closest" }, fig.layout || {});
        window.Plotly.newPlot(el, fig.data, layout, { responsive: true, displaylogo: false });
        el.dataset.rendered = "true";
        var bar = document.createElement("div"); bar.className = "plot-downloads no-print";
        var name = el.dataset.name || "plot";
        bar.appendChild(button("PNG", function () { window.Plotly.downloadImage(el, { format: "png", filename: name }); }));
        bar.appendChild(button("SVG", function () { window.Plotly.downloadImage(el, { format: "svg", filename: name }); }));
        if (el.dataset.csvUrl) {
          var a = document.createElement("a"); a.href = el.dataset.csvUrl; a.className = "button"; a.textContent = "CSV"; a.setAttribute("download", name + ".csv");
          bar.appendChild(a);
        }
        el.insertAdjacentElement("afterend", bar);
      })
      .catch(function (e) { el.textContent = "Plot unavailable: " + e.message; el.classList.add("error"); });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".plot[data-figure-url]").forEach(draw);
  });
})();
