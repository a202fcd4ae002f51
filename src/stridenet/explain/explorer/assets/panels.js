/* The panels: how a selected cell was computed. Where this script adds numbers up
   (a conv sum, a mean, a BN step) it shows the model's value beside its own, and the
   tests compare the two. */
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

