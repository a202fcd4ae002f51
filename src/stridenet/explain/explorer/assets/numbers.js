/* The numbers: the blob, the shapes, number formatting, the activations.
   Every number comes from the embedded blob (the model's own outputs and weights). */
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

