// Every plot on the site: <div class="plot" data-figure-url="/...json" data-csv-url="/...csv" aria-label="...">.
// The server builds the Plotly figure (traces + layout) as JSON; this script only draws it and adds the
// downloads (PNG and SVG of the figure, CSV of its data). Plotly is vendored under static/vendor (no CDN).
//
// Text never sits on the data: the title (and its <sub> subtitle lines, e.g. the fitted parameters) is pinned to
// the top of the figure with a top margin sized for it; a note the server placed inside the plot area (the label
// of a marker line: "hard short at ...", "onset ...") moves into rows above the plot, packed so that notes do not
// cover each other; axis titles get a standoff and automargin, so they clear their tick labels.
(function () {
  "use strict";
  var TITLE_LINE_PX = 22;    // first guesses at a title line (17 px font x 1.3); fitTop measures the real text
  var SUB_LINE_PX = 16;      // and at a <sub> line below it
  var NOTE_LINE_PX = 16;     // 12 px annotation font x 1.3
  var SUB_CHAR_PX = 7;       // mean glyph width of <sub> text (70 % of the title font), rounded up
  var GAP_PX = 8;

  function button(label, onClick) {
    var b = document.createElement("button"); b.type = "button"; b.textContent = label; b.addEventListener("click", onClick); return b;
  }
  function lineCount(text) { return String(text || "").split(/<br\s*\/?>/i).length; }

  // Breaks the <sub>...</sub> lines of a title at ", " so that each fits in width_px (a long circuit's parameters).
  function wrapSubtitles(text, widthPx) {
    var maxChars = Math.max(20, Math.floor((widthPx - 40) / SUB_CHAR_PX));
    return String(text).replace(/<sub>([^<]*)<\/sub>/g, function (whole, inner) {
      if (inner.length <= maxChars) { return whole; }
      var lines = [], line = "";
      inner.split(", ").forEach(function (part) {
        var next = line ? line + ", " + part : part;
        if (line && next.length > maxChars) { lines.push(line + ","); line = part; } else { line = next; }
      });
      lines.push(line);
      return lines.map(function (l) { return "<sub>" + l + "</sub>"; }).join("<br>");
    });
  }

  // A note drawn inside the plot area, at the top (yref paper, y <= 1, no arrow): the server's marker labels.
  function isInsideNote(a) { return a && a.yref === "paper" && !a.showarrow && typeof a.y === "number" && a.y <= 1; }

  function tidyLayout(given, widthPx) {
    var layout = Object.assign({ hovermode: "closest" }, given);
    if (typeof layout.title === "string") { layout.title = { text: layout.title }; }
    var noteRow = 0;
    layout.annotations = (layout.annotations || []).map(function (a) {
      if (!isInsideNote(a)) { return a; }
      noteRow = Math.max(noteRow, lineCount(a.text) * NOTE_LINE_PX + 6);
      // one row of notes until they are drawn and measured (fitTop)
      return Object.assign({}, a, { y: 1, yanchor: "bottom", yshift: 2 });
    });
    if (layout.title && layout.title.text) {
      // above the plot area and its notes' rows; fitTop makes the top margin as tall as the title once drawn
      layout.title = Object.assign({}, layout.title, {
        text: wrapSubtitles(layout.title.text, widthPx), yref: "paper", y: 1, yanchor: "bottom",
        pad: { b: noteRow + GAP_PX + (lineCount(layout.title.text) - 1) * SUB_LINE_PX },
      });
    }
    Object.keys(layout).forEach(function (key) {
      if (!/^[xy]axis\d*$/.test(key)) { return; }
      var axis = Object.assign({ automargin: true }, layout[key]);
      if (axis.title) { axis.title = Object.assign({ standoff: 12 }, typeof axis.title === "string" ? { text: axis.title } : axis.title); }
      layout[key] = axis;
    });
    var titleLines = layout.title && layout.title.text ? lineCount(layout.title.text) : 0;
    layout.margin = Object.assign({ t: GAP_PX * 2 + titleLines * TITLE_LINE_PX + noteRow, r: 20, b: 50, l: 70 }, given.margin || {});
    return { layout: layout, moved: (given.annotations || []).map(isInsideNote) };
  }

  // The layout value at a relayout path such as "annotations[2].yshift" (NaN when unset).
  function current(layout, path) {
    var v = path.replace(/\[(\d+)\]/g, ".$1").split(".").reduce(function (o, k) { return o == null ? o : o[k]; }, layout);
    return typeof v === "number" ? v : NaN;
  }

  // After drawing: put the moved notes into as few rows as keep them apart (measured on screen), and make the
  // top margin exactly hold the title (measured too) and those rows.
  function fitTop(el, given, moved) {
    if (given.margin && given.margin.t !== undefined) { return; }
    var update = {}, shift = 2;
    if (moved.some(Boolean)) {
      var boxes = [];
      el.querySelectorAll(".annotation[data-index]").forEach(function (g) {
        var i = Number(g.getAttribute("data-index"));
        if (moved[i]) { var r = g.getBoundingClientRect(); boxes.push({ i: i, left: r.left, right: r.right, height: r.height }); }
      });
      boxes.sort(function (a, b) { return a.left - b.left; });
      var rows = [];  // {right, height, members}
      boxes.forEach(function (b) {
        var row = rows.find(function (r) { return r.right + GAP_PX <= b.left; });
        if (!row) { row = { right: -Infinity, height: 0, members: [] }; rows.push(row); }
        row.right = b.right; row.height = Math.max(row.height, b.height); row.members.push(b.i);
      });
      rows.forEach(function (row) {
        row.members.forEach(function (i) { update["annotations[" + i + "].yshift"] = shift; });
        shift += row.height + 2;
      });
    }
    var notes = shift > 2 ? shift : 0;
    var title = el.querySelector(".gtitle");
    if (title) {
      // Plotly anchors a title by its first line (the <sub> lines hang below the anchor), so measure where the
      // whole text falls around the anchor and choose the padding that puts its bottom just above the notes.
      var svgTop = el.querySelector(".main-svg").getBoundingClientRect().top;
      var box = title.getBoundingClientRect();
      var anchor = el.layout.margin.t - el.layout.title.pad.b;
      var below = box.bottom - svgTop - anchor;
      update["title.pad.b"] = Math.ceil(notes + GAP_PX + below);
      update["margin.t"] = Math.ceil(GAP_PX + box.height + GAP_PX + notes);
    } else {
      update["margin.t"] = GAP_PX * 2 + notes;
    }
    // relayout only what differs from the drawn figure (usually nothing after a zoom)
    Object.keys(update).forEach(function (k) { if (Math.abs(current(el.layout, k) - update[k]) < 1) { delete update[k]; } });
    if (!Object.keys(update).length) { return; }
    el._packing = true;
    return window.Plotly.relayout(el, update).then(function () { el._packing = false; });
  }

  function draw(el) {
    fetch(el.dataset.figureUrl, { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
      .then(function (fig) {
        var given = fig.layout || {};
        var tidy = tidyLayout(given, el.clientWidth || 600);
        return window.Plotly.newPlot(el, fig.data, tidy.layout, { responsive: true, displaylogo: false }).then(function () {
          el.dataset.rendered = "true";
          addDownloads(el);
          // a zoom or pan moves the notes along x: pack them again
          el.on("plotly_relayout", function (change) {
            if (el._packing || !Object.keys(change || {}).some(function (k) { return /axis/.test(k); })) { return; }
            fitTop(el, given, tidy.moved);
          });
          // a narrower or wider window (a tablet turned): wrap the subtitle again and refit the top margin
          var resizing;
          window.addEventListener("resize", function () {
            clearTimeout(resizing);
            resizing = setTimeout(function () {
              var text = typeof given.title === "string" ? given.title : given.title && given.title.text;
              var wrapped = text && wrapSubtitles(text, el.clientWidth);
              var redrawn = wrapped && wrapped !== el.layout.title.text ? window.Plotly.relayout(el, { "title.text": wrapped }) : Promise.resolve();
              redrawn.then(function () { return fitTop(el, given, tidy.moved); });
            }, 300);
          });
          return fitTop(el, given, tidy.moved);
        });
      })
      .catch(function (e) { el.textContent = "Plot unavailable: " + e.message; el.classList.add("error"); });
  }

  function addDownloads(el) {
    var bar = document.createElement("div"); bar.className = "plot-downloads no-print";
    var name = el.dataset.name || "plot";
    bar.appendChild(button("PNG", function () { window.Plotly.downloadImage(el, { format: "png", filename: name }); }));
    bar.appendChild(button("SVG", function () { window.Plotly.downloadImage(el, { format: "svg", filename: name }); }));
    if (el.dataset.csvUrl) {
      var a = document.createElement("a"); a.href = el.dataset.csvUrl; a.className = "button"; a.textContent = "CSV"; a.setAttribute("download", name + ".csv");
      bar.appendChild(a);
    }
    el.insertAdjacentElement("afterend", bar);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".plot[data-figure-url]").forEach(draw);
  });
})();
