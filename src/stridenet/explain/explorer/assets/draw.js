/* Drawing: a column per layer (stacked by depth), the feature maps, the kernels, the
   image switcher, the highlights of a selected cell, and the start. */
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
function paintRGB(canvas, a, h, w) { // an (H, W, 3) image, its range stretched to 0..255
  const [lo, hi] = range(a);
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(w, h);
  for (let t = 0; t < h * w; t++) {
    for (let c = 0; c < 3; c++) img.data[4 * t + c] = 255 * (a[3 * t + c] - lo) / (hi - lo || 1);
    img.data[4 * t + 3] = 255;
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
      if (s.c === 3) paintRGB(cv, a, s.h, s.w);
      else paint(cv, (i, j) => a[(i * s.w + j) * s.c], s.h, s.w, ...range(a));
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
