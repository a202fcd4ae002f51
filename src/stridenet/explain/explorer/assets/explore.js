/* stridenet explorer. Every number comes from the embedded blob (the model's own outputs
   and weights); where this script adds numbers up (a conv sum, a mean, a BN step) it shows
   the model's value beside its own, and the tests compare the two. */
(function () {
  "use strict";
  const META = JSON.parse(document.getElementById("sn-meta").textContent);
  const NODES = META.nodes;
  const state = { img: 0, sel: null, pinned: false, full: {} };
  let F = null; // Float32Array: the blob
  const tiles = {}; // node -> [{canvas, box}] per channel (or the vector rows)
  let marks = []; // highlight elements now shown
  const firstConv = NODES.findIndex((n) => n.op.type === "conv");
  const SHOWN = 16; // feature maps shown per layer before "show all"

  // ------------------------------------------------------------------ numbers
  function b64bytes(s) {
    const bin = atob(s.trim());
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  async function inflate(bytes) {
    if (typeof DecompressionStream === "undefined") {
      throw new Error("this browser cannot unpack the numbers (no DecompressionStream: " +
        "use Chrome 80+, Firefox 113+ or Safari 16.4+)");
    }
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  }
  const arr = (ref) => F.subarray(ref[0], ref[0] + ref[1]);
  function source(k) { // the node whose numbers node k shows (aliases share numbers)
    while (NODES[k].alias !== undefined) k = NODES[k].alias;
    return k;
  }
  const data = (k, img) => arr(NODES[source(k)].out[img === undefined ? state.img : img]);
  function dims(k) { // drawn shape as {h, w, c, vec}
    const d = NODES[k].draw;
    if (d.length === 3) return { h: d[0], w: d[1], c: d[2], vec: false };
    if (d.length === 2) return { h: 1, w: d[0], c: d[1], vec: false };
    return { h: 1, w: 1, c: d[0], vec: true };
  }
  function value(k, i, j, c) { // NaN outside the map; undefined for a channel not embedded
    const s = dims(k);
    if (i < 0 || j < 0 || i >= s.h || j >= s.w) return NaN;
    if (c >= s.c) return undefined;
    return data(k)[(i * s.w + j) * s.c + c];
  }
  function fmt(v) {
    if (v === undefined) return "?";
    if (Number.isNaN(v)) return "nan";
    if (!Number.isFinite(v)) return v < 0 ? "-inf" : "inf";
    if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
    return String(parseFloat(v.toPrecision(5)));
  }
  const paren = (v) => (fmt(v).startsWith("-") ? "(" + fmt(v) + ")" : fmt(v));
  const esc = (s) => String(s).replace(/[&<>"]/g, (ch) => ({ "&": "&amp;", "<": "&lt;",
    ">": "&gt;", '"': "&quot;" }[ch]));

  const sigmoid = (x) => 1 / (1 + Math.exp(-x));
  const ACT = {
    linear: (x) => x, relu: (x) => Math.max(x, 0), tanh: Math.tanh, sigmoid: sigmoid,
    elu: (x) => (x > 0 ? x : Math.expm1(x)), softsign: (x) => x / (1 + Math.abs(x)),
    selu: (x) => 1.0507009873554805 * (x > 0 ? x : 1.6732632423543772 * Math.expm1(x)),
    softplus: (x) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x))),
    swish: (x) => x * sigmoid(x), silu: (x) => x * sigmoid(x),
    relu6: (x) => Math.min(Math.max(x, 0), 6), exponential: Math.exp,
    hard_sigmoid: (x) => Math.min(Math.max(x + 3, 0), 6) / 6,
  };
  function activate(op, z) { // -> [value or undefined, text]
    const name = op.act;
    if (name === "leaky_relu") {
      const a = op.slope === undefined ? 0.2 : op.slope;
      return [z >= 0 ? z : a * z, "leaky_relu(z) with slope " + fmt(a)];
    }
    if (ACT[name]) return [ACT[name](z), name + "(z)"];
    return [undefined, name + "(z) (not recomputed here)"];
  }
  function agree(mine, model, scale) {
    if (mine === undefined || model === undefined) return "";
    const tol = 2e-6 * (scale || 0) + 1e-6 * Math.max(1, Math.abs(model));
    const d = Math.abs(mine - model);
    return d <= tol || (Number.isNaN(mine) && Number.isNaN(model))
      ? '<span class="ok">= the model\'s value (to float32 rounding)</span>'
      : '<span class="bad">differs from the model by ' + fmt(d) + "</span>";
  }
  const num = (cls, v) => '<span class="' + cls + '" data-value="' + v + '">' + fmt(v) +
    "</span>";

  // ------------------------------------------------------------------ drawing
  function color(v, lo, hi) {
    if (!Number.isFinite(v)) return [255, 0, 255];
    if (lo < 0) { // diverging: blue - white - red
      const m = Math.max(-lo, hi) || 1;
      const t = Math.max(-1, Math.min(1, v / m));
      return t < 0 ? [255 * (1 + t), 255 * (1 + t), 255] : [255, 255 * (1 - t), 255 * (1 - t)];
    }
    const t = hi > lo ? (v - lo) / (hi - lo) : 0;
    return [255 - 247 * t, 255 - 207 * t, 255 - 148 * t];
  }
  function paint(canvas, get, h, w, lo, hi) {
    const ctx = canvas.getContext("2d");
    const img = ctx.createImageData(w, h);
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        const rgb = color(get(i, j), lo, hi);
        const o = (i * w + j) * 4;
        img.data[o] = rgb[0]; img.data[o + 1] = rgb[1]; img.data[o + 2] = rgb[2];
        img.data[o + 3] = 255;
      }
    }
    ctx.putImageData(img, 0, 0);
  }
  function range(a) {
    let lo = Infinity, hi = -Infinity;
    for (let t = 0; t < a.length; t++) {
      if (a[t] < lo) lo = a[t];
      if (a[t] > hi) hi = a[t];
    }
    return [Math.min(lo, 0), Math.max(hi, 0)];
  }
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function scaleOf(s) { return Math.max(1, Math.min(8, Math.floor(64 / Math.max(s.h, s.w)))); }

  function opText(n) {
    const op = n.op;
    if (op.type === "conv") {
      const k = op.rank === 1 ? op.kw : op.kh + "x" + op.kw;
      return k + " conv, " + op.f + " filters, stride " + (op.rank === 1 ? op.sw : op.sh +
        "x" + op.sw) + (op.groups > 1 ? ", groups " + op.groups : "") + ", " + op.act;
    }
    if (op.type === "pool") return op.kind + " pool " + (op.kh > 1 ? op.kh + "x" : "") + op.kw;
    if (op.type === "dense") return op.units + " units, " + op.act;
    if (op.type === "act") return op.act;
    return "";
  }

  function buildColumn(k) {
    const n = NODES[k];
    const col = el("div", "col");
    col.dataset.node = k;
    col.appendChild(el("h2", "", n.name));
    col.appendChild(el("div", "kind", n.kind + " (" + n.shape.join("x") + ")"));
    const ot = opText(n);
    if (ot) col.appendChild(el("div", "kind", ot));
    if (n.parents.length > 1 || (n.parents.length === 1 && n.parents[0] !== k - 1)) {
      col.appendChild(el("div", "from", "from " + n.parents.map((p) => NODES[p].name)
        .join(" + ")));
    }
    for (const t of n.notes) col.appendChild(el("div", "note", t));
    const s = dims(k);
    tiles[k] = [];
    if (s.vec) {
      if (n.alias !== undefined && !dims(source(k)).vec) {
        col.appendChild(el("div", "flat", "the numbers of " + NODES[source(k)].name +
          " in one row (" + s.c + " values)"));
        return col;
      }
      const box = el("div", "vec");
      const names = k === NODES.length - 1 ? META.class_names : null;
      const shown = Math.min(s.c, 512);
      for (let u = 0; u < shown; u++) {
        const row = el("div", "unit");
        row.dataset.node = k; row.dataset.unit = u;
        const lab = el("span", "k", names && names[u] !== undefined ? names[u] : String(u));
        const v = el("span", "v");
        const bar = el("span", "bar");
        row.append(lab, v, bar);
        row.addEventListener("mouseenter", () => hover({ node: k, i: 0, j: 0, c: u }));
        row.addEventListener("click", () => pin({ node: k, i: 0, j: 0, c: u }));
        box.appendChild(row);
        tiles[k].push({ row: row, v: v, bar: bar });
      }
      if (shown < s.c) box.appendChild(el("div", "note", (s.c - shown) + " more units"));
      col.appendChild(box);
      return col;
    }
    const sc = scaleOf(s);
    const grid = el("div", "tiles");
    grid.style.gridTemplateColumns = "repeat(" + (s.c <= 8 ? 1 : s.c <= 32 ? 2 : 4) +
      ", auto)";
    for (let c = 0; c < s.c; c++) {
      const t = el("div", c < SHOWN ? "tile" : "tile extra");
      const cv = el("canvas", "map");
      cv.width = s.w; cv.height = s.h;
      cv.style.width = s.w * sc + "px";
      cv.style.height = Math.max(s.h * sc, 8) + "px";
      cv.dataset.node = k; cv.dataset.ch = c;
      const at = (ev) => {
        const r = cv.getBoundingClientRect();
        const i = Math.min(s.h - 1, Math.floor((ev.clientY - r.top) / r.height * s.h));
        const j = Math.min(s.w - 1, Math.floor((ev.clientX - r.left) / r.width * s.w));
        return { node: k, i: Math.max(i, 0), j: Math.max(j, 0), c: c };
      };
      cv.addEventListener("mousemove", (ev) => hover(at(ev)));
      cv.addEventListener("click", (ev) => pin(at(ev)));
      const box = el("div", "hlbox");
      box.style.position = "absolute"; box.style.left = "0"; box.style.top = "0";
      box.style.width = cv.style.width; box.style.height = cv.style.height;
      box.style.pointerEvents = "none";
      t.append(cv, box);
      const lab = el("div", "lab", "ch " + c);
      if (n.op.type === "conv" && n.op.cg <= 3) {
        for (let cl = 0; cl < n.op.cg; cl++) lab.appendChild(kernelCanvas(n.op, c, cl, 3));
      }
      t.appendChild(lab);
      grid.appendChild(t);
      tiles[k].push({ canvas: cv, box: box });
    }
    col.appendChild(grid);
    if (s.c > SHOWN) { // the first maps only, until asked: long columns hide the branches
      grid.classList.add("folded");
      const more = el("button", "more", "show all " + s.c + " maps");
      more.dataset.node = k;
      more.addEventListener("click", () => {
        const folded = grid.classList.toggle("folded");
        more.textContent = folded ? "show all " + s.c + " maps" : "show " + SHOWN + " maps";
      });
      col.appendChild(more);
    }
    return col;
  }

  function kernelTap(op, a, b, cl, f) {
    return arr(op.kernel)[((a * op.kw + b) * op.cg + cl) * op.f + f];
  }
  function kernelCanvas(op, f, cl, px) {
    const cv = el("canvas");
    cv.width = op.kw; cv.height = op.kh;
    cv.style.width = op.kw * px + "px"; cv.style.height = op.kh * px + "px";
    const k = arr(op.kernel);
    paint(cv, (a, b) => kernelTap(op, a, b, cl, f), op.kh, op.kw, ...range(k));
    cv.title = "kernel of filter " + f + ", input channel " + cl;
    return cv;
  }

  function drawNode(k) {
    const s = dims(k);
    if (!tiles[k] || !tiles[k].length) return;
    const a = data(k);
    const [lo, hi] = range(a);
    if (s.vec) {
      const m = Math.max(-lo, hi) || 1;
      tiles[k].forEach((t, u) => {
        t.v.textContent = fmt(a[u]);
        t.bar.style.width = Math.round(60 * Math.abs(a[u]) / m) + "px";
        t.bar.style.background = a[u] < 0 ? "#d62828" : "#1d6fa5";
      });
      return;
    }
    tiles[k].forEach((t, c) => paint(t.canvas, (i, j) => a[(i * s.w + j) * s.c + c], s.h,
      s.w, lo, hi));
  }

  function drawImages() {
    const bar = document.getElementById("images");
    bar.textContent = "";
    const s = dims(0);
    for (let m = 0; m < META.images; m++) {
      const btn = el("button");
      btn.dataset.image = m;
      if (!s.vec) {
        const cv = el("canvas");
        cv.width = s.w; cv.height = s.h;
        const a = data(0, m);
        paint(cv, (i, j) => a[(i * s.w + j) * s.c], s.h, s.w, ...range(a));
        btn.appendChild(cv);
      }
      let text = "image " + m;
      if (META.labels) text += ": label " + className(META.labels[m]);
      if (META.predictions) {
        const p = META.predictions[m];
        text += ", predicted " + className(p[0]) + " (" + fmt(p[1]) + ")";
      }
      btn.appendChild(el("span", "", text));
      btn.addEventListener("click", () => setImage(m));
      bar.appendChild(btn);
    }
  }
  const className = (i) => (META.class_names && META.class_names[i] !== undefined
    ? META.class_names[i] : String(i));

  function setImage(m) {
    state.img = m;
    document.querySelectorAll("#images button").forEach((b) =>
      b.classList.toggle("on", Number(b.dataset.image) === m));
    for (let k = 0; k < NODES.length; k++) drawNode(k);
    if (state.sel) select(state.sel);
  }

  // ------------------------------------------------------------------ highlights
  function mark(k, c, i0, j0, i1, j1, cls) {
    const s = dims(k);
    if (!tiles[k] || !tiles[k][c]) return;
    const t = tiles[k][c];
    if (s.vec) {
      if (t.row) { t.row.classList.add(cls === "hl-cell" ? "on" : "rf"); marks.push(t.row); }
      return;
    }
    i0 = Math.max(i0, 0); j0 = Math.max(j0, 0);
    i1 = Math.min(i1, s.h - 1); j1 = Math.min(j1, s.w - 1);
    if (i1 < i0 || j1 < j0) return;
    const b = el("div", "hl " + cls);
    b.style.left = (100 * j0 / s.w) + "%"; b.style.top = (100 * i0 / s.h) + "%";
    b.style.width = (100 * (j1 - j0 + 1) / s.w) + "%";
    b.style.height = (100 * (i1 - i0 + 1) / s.h) + "%";
    t.box.appendChild(b);
    marks.push(b);
  }
  function markFlat(k, t, cls) { // flat index t of node k's numbers, on the node drawing them
    let d = k;
    while (NODES[d].alias !== undefined && !tiles[d].length) d = NODES[d].alias;
    const s = dims(d);
    const c = t % s.c, j = Math.floor(t / s.c) % s.w, i = Math.floor(t / (s.c * s.w));
    mark(d, c, i, j, i, j, cls);
  }
  function clearMarks() {
    for (const m of marks) {
      if (m.classList.contains("hl")) m.remove();
      else m.classList.remove("on", "rf");
    }
    marks = [];
    document.querySelectorAll(".col.sel").forEach((c) => c.classList.remove("sel"));
  }

  // ------------------------------------------------------------------ selection
  function hover(sel) { if (!state.pinned) select(sel); }
  function pin(sel) { state.pinned = true; select(sel); }
  function select(sel) {
    state.sel = sel;
    clearMarks();
    const k = sel.node;
    const col = document.querySelector('.col[data-node="' + k + '"]');
    if (col) col.classList.add("sel");
    if (dims(k).vec) markFlat(k, sel.c, "hl-cell");
    else mark(k, sel.c, sel.i, sel.j, sel.i, sel.j, "hl-cell");
    let html;
    try {
      html = explain(sel);
    } catch (err) {
      html = '<p class="bad">could not explain this cell: ' + esc(err.message) + "</p>";
    }
    const panel = document.getElementById("panel");
    panel.innerHTML = html;
    panel.querySelectorAll("button[data-full]").forEach((b) => b.addEventListener("click",
      () => { state.full[k] = !state.full[k]; select(state.sel); }));
    const kb = panel.querySelector(".kernels");
    if (kb && NODES[k].op.type === "conv") {
      const op = NODES[k].op;
      for (let cl = 0; cl < op.cg; cl++) {
        const fig = el("figure");
        fig.appendChild(kernelCanvas(op, sel.c, cl, Math.max(4, Math.floor(48 / op.kw))));
        fig.appendChild(el("figcaption", "", "in " + (Math.floor(sel.c / (op.f / op.groups)) *
          op.cg + cl)));
        kb.appendChild(fig);
      }
    }
  }

  function head(sel, what) {
    const n = NODES[sel.node];
    return "<h3>" + esc(n.name) + " <span class=muted>(" + esc(n.kind) + ")</span></h3><p>" +
      "image " + state.img + ", " + what + "</p>";
  }
  function cellName(k, sel) {
    const s = dims(k);
    if (s.vec) return "out[" + sel.c + "]";
    return "out[" + (s.h === 1 ? sel.j : sel.i + "," + sel.j) + "," + sel.c + "]";
  }

  function explain(sel) {
    const k = sel.node, n = NODES[k], op = n.op;
    const model = dims(k).vec ? data(k)[sel.c] : value(k, sel.i, sel.j, sel.c);
    const label = cellName(k, sel);
    const fn = { conv: explainConv, pool: explainPool, gpool: explainGlobal, bn: explainBN,
      act: explainAct, add: explainAdd, concat: explainConcat, dense: explainDense }[op.type];
    if (fn) return fn(sel, n, op, model, label);
    let html = head(sel, label + " = " + num("model-value", model));
    if (op.type === "input") html += "<p>a pixel of the input image</p>";
    else if (op.type === "reshape" || op.type === "identity") {
      html += "<p>the same number as in " + esc(NODES[n.parents[0]].name) +
        (op.type === "identity" ? " (this layer does nothing at inference)" : " (reshaped)") +
        "</p>";
      if (op.type === "identity" && !dims(k).vec) mark(n.parents[0], sel.c, sel.i, sel.j,
        sel.i, sel.j, "hl-rf");
    } else html += '<p class="muted">' + esc(n.kind) + " is drawn, not explained cell by " +
      "cell.</p>";
    return html;
  }

  function explainConv(sel, n, op, model, label) {
    const p = n.parents[0];
    const per = op.f / op.groups, g = Math.floor(sel.c / per);
    const r0 = sel.i * op.sh - op.pt, q0 = sel.j * op.sw - op.pl;
    const rows = [], terms = [];
    let total = 0, mag = 0, partial = false;
    for (let cl = 0; cl < op.cg; cl++) {
      const c = g * op.cg + cl;
      let s = 0;
      const mine = [];
      for (let a = 0; a < op.kh; a++) {
        for (let b = 0; b < op.kw; b++) {
          const w = kernelTap(op, a, b, cl, sel.c);
          let x = value(p, r0 + a * op.dh, q0 + b * op.dw, c);
          if (x === undefined) { partial = true; continue; }
          if (Number.isNaN(x)) x = 0; // padding
          s += w * x; mag += Math.abs(w * x);
          mine.push(paren(w) + "*" + paren(x));
        }
      }
      total += s;
      terms.push(...mine);
      rows.push("<tr><th>" + c + "</th><td>" + fmt(s) + "</td></tr>");
      mark(p, c, r0, q0, r0 + (op.kh - 1) * op.dh, q0 + (op.kw - 1) * op.dw, "hl-rf");
    }
    const bias = op.bias ? arr(op.bias)[sel.c] : 0;
    const z = total + bias;
    const [y, actText] = activate(op, z);
    const where = op.rank === 1 ? "positions " + q0 + ".." + (q0 + (op.kw - 1) * op.dw)
      : "rows " + r0 + ".." + (r0 + (op.kh - 1) * op.dh) + ", cols " + q0 + ".." +
        (q0 + (op.kw - 1) * op.dw);
    let html = head(sel, "filter " + sel.c + ", " + label);
    html += "<p>window: " + where + " of <b>" + esc(NODES[p].name) + "</b> (outside the map: " +
      "padding zeros)" + (op.flip ? "; flip_kernel: the kernel is rotated 180 degrees" : "") +
      "</p>";
    html += "<table><tr><th>input channel</th><th>sum of w*x over the " + op.kh * op.kw +
      " taps</th></tr>" + rows.join("") + "</table>";
    html += "<p>sum over channels " + fmt(total) + " + bias " + paren(bias) + " = z = " +
      num("js-sum", z) + "</p>";
    html += "<p>" + esc(actText) + " = " + (y === undefined ? "?" : num("js-out", y)) + "</p>";
    html += "<p>model: " + num("model-value", model) + " " + agree(y, model, mag) + "</p>";
    if (partial) html += '<p class="bad">some input channels are not embedded: the sums ' +
      "cover the embedded channels only</p>";
    const full = sel.node === firstConv || state.full[sel.node];
    if (full) {
      html += '<div class="eq">' + esc(label + " = " + terms.join(" + ") + " + " + paren(bias) +
        " (bias) = " + fmt(z)) + "</div>";
    }
    html += '<p><button data-full="1">' + (full ? "hide the terms" : "show every term (" +
      terms.length + ")") + "</button></p>";
    html += '<p>kernel of filter ' + sel.c + ' per input channel:</p><div class="kernels"></div>';
    return html;
  }

  function explainPool(sel, n, op, model, label) {
    const p = n.parents[0];
    const r0 = sel.i * op.sh - op.pt, q0 = sel.j * op.sw - op.pl;
    let best = -Infinity, bi = -1, bj = -1, sum = 0, count = 0;
    const grid = [];
    for (let a = 0; a < op.kh; a++) {
      const row = [];
      for (let b = 0; b < op.kw; b++) {
        const x = value(p, r0 + a, q0 + b, sel.c);
        row.push(x);
        if (Number.isNaN(x) || x === undefined) continue;
        sum += x; count += 1;
        if (x > best || bi < 0) { best = x; bi = a; bj = b; }
      }
      grid.push(row);
    }
    mark(p, sel.c, r0, q0, r0 + op.kh - 1, q0 + op.kw - 1, "hl-rf");
    const mine = op.kind === "max" ? best : sum / count;
    if (op.kind === "max") mark(p, sel.c, r0 + bi, q0 + bj, r0 + bi, q0 + bj, "hl-win");
    let html = head(sel, "channel " + sel.c + ", " + label);
    html += "<p>the " + op.kh + "x" + op.kw + " window of <b>" + esc(NODES[p].name) +
      "</b>, channel " + sel.c + (op.kind === "max" ? " (orange: the largest value)" :
      " (padding cells are not counted)") + ":</p><table>";
    grid.forEach((row, a) => {
      html += "<tr>" + row.map((x, b) => (Number.isNaN(x) ? '<td class="pad">pad</td>' :
        "<td" + (op.kind === "max" && a === bi && b === bj ? ' class="win"' : "") + ">" +
        fmt(x) + "</td>")).join("") + "</tr>";
    });
    html += "</table><p>" + (op.kind === "max" ? "max = " : "(" + fmt(sum) + ") / " + count +
      " = ") + num("js-out", mine) + "</p>";
    html += "<p>model: " + num("model-value", model) + " " + agree(mine, model, Math.abs(sum)) +
      "</p>";
    return html;
  }

  function explainGlobal(sel, n, op, model, label) {
    const p = n.parents[0], s = dims(p);
    let sum = 0, best = -Infinity, mag = 0;
    for (let i = 0; i < s.h; i++) {
      for (let j = 0; j < s.w; j++) {
        const x = value(p, i, j, sel.c);
        sum += x; mag += Math.abs(x); best = Math.max(best, x);
      }
    }
    mark(p, sel.c, 0, 0, s.h - 1, s.w - 1, "hl-rf");
    const mine = op.kind === "max" ? best : sum / (s.h * s.w);
    return head(sel, label) + "<p>" + (op.kind === "max" ? "the largest" : "the mean") +
      " of the " + s.h + "x" + s.w + " map of " + esc(NODES[p].name) + ", channel " + sel.c +
      ": " + (op.kind === "max" ? "" : "(" + fmt(sum) + ") / " + s.h * s.w + " = ") +
      num("js-out", mine) + "</p><p>model: " + num("model-value", model) + " " +
      agree(mine, model, mag) + "</p>";
  }

  function explainBN(sel, n, op, model, label) {
    const p = n.parents[0];
    const x = dims(p).vec ? data(p)[sel.c] : value(p, sel.i, sel.j, sel.c);
    const g = arr(op.gamma)[sel.c], b = arr(op.beta)[sel.c];
    const mu = arr(op.mean)[sel.c], v = arr(op.var)[sel.c];
    const y = g * (x - mu) / Math.sqrt(v + op.eps) + b;
    if (dims(p).vec) markFlat(p, sel.c, "hl-rf");
    else mark(p, sel.c, sel.i, sel.j, sel.i, sel.j, "hl-rf");
    return head(sel, label) + '<div class="eq">gamma * (x - moving_mean) / sqrt(' +
      "moving_variance + epsilon) + beta\n= " + esc(paren(g) + " * (" + fmt(x) + " - " +
      paren(mu) + ") / sqrt(" + fmt(v) + " + " + fmt(op.eps) + ") + " + paren(b)) +
      "</div><p>= " + num("js-out", y) + "</p><p>model: " + num("model-value", model) + " " +
      agree(y, model, Math.abs(x) + Math.abs(mu) + Math.abs(b)) + "</p>";
  }

  function explainAct(sel, n, op, model, label) {
    const p = n.parents[0];
    const vec = dims(p).vec;
    const x = vec ? data(p)[sel.c] : value(p, sel.i, sel.j, sel.c);
    if (vec) markFlat(p, sel.c, "hl-rf");
    else mark(p, sel.c, sel.i, sel.j, sel.i, sel.j, "hl-rf");
    let y, text;
    if (op.act === "softmax") {
      const s = dims(p), base = vec ? 0 : (sel.i * s.w + sel.j) * s.c;
      const a = data(p);
      let m = -Infinity, tot = 0;
      for (let c = 0; c < s.c; c++) m = Math.max(m, a[base + c]);
      for (let c = 0; c < s.c; c++) tot += Math.exp(a[base + c] - m);
      y = Math.exp(x - m) / tot; text = "softmax over the " + s.c + " channels: exp(x - max) / sum";
    } else [y, text] = activate(op, x);
    return head(sel, label) + "<p>x = " + fmt(x) + " from " + esc(NODES[p].name) + "</p><p>" +
      esc(text.replace("(z)", "(x)")) + " = " + (y === undefined ? "?" : num("js-out", y)) +
      "</p><p>model: " + num("model-value", model) + " " + agree(y, model, Math.abs(x)) + "</p>";
  }

  function explainAdd(sel, n, op, model, label) {
    let sum = 0, mag = 0;
    const parts = n.parents.map((p) => {
      const x = dims(p).vec ? data(p)[sel.c] : value(p, sel.i, sel.j, sel.c);
      if (dims(p).vec) markFlat(p, sel.c, "hl-rf");
      else mark(p, sel.c, sel.i, sel.j, sel.i, sel.j, "hl-rf");
      sum += x; mag += Math.abs(x);
      return esc(NODES[p].name) + " " + paren(x);
    });
    return head(sel, label) + "<p>" + parts.join(" + ") + " = " + num("js-out", sum) +
      "</p><p>model: " + num("model-value", model) + " " + agree(sum, model, mag) + "</p>";
  }

  function explainConcat(sel, n, op, model, label) {
    let c = sel.c, t = 0;
    while (t < op.sizes.length - 1 && c >= op.sizes[t]) { c -= op.sizes[t]; t += 1; }
    const p = n.parents[t];
    const x = value(p, sel.i, sel.j, c);
    mark(p, c, sel.i, sel.j, sel.i, sel.j, "hl-rf");
    return head(sel, label) + "<p>channel " + sel.c + " is channel " + c + " of input " +
      (t + 1) + " of " + op.sizes.length + ", <b>" + esc(NODES[p].name) + "</b>: " +
      num("js-out", x) + "</p><p>model: " + num("model-value", model) + " " +
      agree(x, model, 0) + "</p>";
  }

  function explainDense(sel, n, op, model, label) {
    const p = n.parents[0], u = sel.c, img = state.img;
    const T = arr(op.terms[img]), K = op.k;
    const rest = arr(op.rest[img])[u];
    const zs = arr(op.z[img]);
    const bias = op.bias ? arr(op.bias)[u] : 0;
    let html = head(sel, "unit " + u + ", " + label) + "<p>the " + K + " largest terms " +
      "w*x of " + op.inputs + " (from <b>" + esc(NODES[p].name) + "</b>):</p><table><tr>" +
      "<th>input</th><th>w</th><th>x</th><th>w*x</th></tr>";
    let sum = 0, mag = Math.abs(rest) + Math.abs(bias);
    for (let t = 0; t < K; t++) {
      const o = (u * K + t) * 3;
      const idx = T[o], w = T[o + 1], x = T[o + 2];
      sum += w * x; mag += Math.abs(w * x);
      markFlat(p, idx, "hl-rf");
      html += "<tr><td>" + idx + "</td><td>" + fmt(w) + "</td><td>" + fmt(x) + "</td><td>" +
        fmt(w * x) + "</td></tr>";
    }
    const z = sum + rest + bias;
    html += "</table><p>" + fmt(sum) + " + the other " + (op.inputs - K) + " terms " +
      paren(rest) + " + bias " + paren(bias) + " = z = " + num("js-sum", z) + " " +
      agree(z, zs[u], mag) + "</p>";
    let y, text;
    if (op.act === "softmax") {
      let m = -Infinity, tot = 0;
      for (let v = 0; v < zs.length; v++) m = Math.max(m, zs[v]);
      for (let v = 0; v < zs.length; v++) tot += Math.exp(zs[v] - m);
      y = Math.exp(zs[u] - m) / tot;
      text = "softmax(z) over the " + zs.length + " units: exp(z - max) / sum";
    } else [y, text] = activate(op, zs[u]);
    html += "<p>" + esc(text) + " = " + (y === undefined ? "?" : num("js-out", y)) + "</p>";
    html += "<p>model: " + num("model-value", model) + " " + agree(y, model, 1) + "</p>";
    return html;
  }

  // ------------------------------------------------------------------ start
  async function start() {
    const status = document.getElementById("status");
    try {
      const bytes = b64bytes(document.getElementById("sn-blob").textContent);
      const raw = META.compressed ? await inflate(bytes) : bytes;
      F = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
      if (F.length !== META.values) throw new Error("the embedded numbers are incomplete");
      // a column per depth (longest path from the input): parallel branches stack up
      const net = document.getElementById("net");
      const depth = [];
      NODES.forEach((n, k) => {
        depth[k] = n.parents.length ? 1 + Math.max(...n.parents.map((p) => depth[p])) : 0;
      });
      const stages = [];
      NODES.forEach((n, k) => {
        if (!stages[depth[k]]) {
          stages[depth[k]] = el("div", "stage");
          net.appendChild(stages[depth[k]]);
        }
        stages[depth[k]].appendChild(buildColumn(k));
      });
      drawImages();
      setImage(0);
      document.addEventListener("keydown", (ev) => { if (ev.key === "Escape") state.pinned = false; });
      status.textContent = "";
      document.body.dataset.ready = "1";
    } catch (err) {
      status.textContent = "The explorer could not start: " + err.message;
      document.body.dataset.ready = "error";
      throw err;
    }
  }
  start();
})();
