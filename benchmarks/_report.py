"""The results table of run.py: values, stridenet/PyTorch ratios and the targets of the
performance issue, as plain text or Markdown."""

from __future__ import annotations

import os
import statistics
from dataclasses import dataclass

from _common import render

TITLES = {"mnist_cnn": "SPEC CNN", "lenet5": "LeNet-5", "resnet20": "ResNet-20"}
TORCH = ("nchw", "nhwc")
QUIET_RUN = 0.2  # cores other processes may keep busy in a part of the run we call reliable

# (models, measure, ratio column, bound, sense, is_aim): the targets.
#   sense ">=": stridenet/torch must be at least bound; "<=": at most bound.
TARGETS = [
    (("mnist_cnn", "lenet5"), "train", "nchw", 1.0, ">=", False),
    (("mnist_cnn", "lenet5"), "train", "nhwc", 1.0, ">=", True),
    (("mnist_cnn", "lenet5"), "train_peak", "sn", 0.70, ">=", True),
    (("mnist_cnn", "lenet5", "resnet20"), "infer", "nchw", 1.0, ">=", False),
    (("mnist_cnn", "lenet5"), "latency", "nchw", 0.70, "<=", False),
    (("mnist_cnn", "lenet5", "resnet20"), "memory", "nchw", 1.0, "<=", False),
]

MEASURES = [  # key, label, unit, better
    ("train", "train b{batch}", "img/s", "higher"),
    ("train_peak", "train, of matmul peak", "%", "higher"),
    ("infer", "infer b{batch}", "img/s", "higher"),
    ("latency", "latency b1 (median)", "ms", "lower"),
    ("memory", "train step peak (RSS)", "MB", "lower"),
    ("tracemalloc", "train step, NumPy only", "MB", "lower"),
]


def values(result, peak: float) -> dict:
    """{measure: {impl: value}} in the table's units."""
    out = {m[0]: {} for m in MEASURES}
    for (kind, impl), s in result.seconds.items():
        if kind == "latency":
            out["latency"][impl] = s * 1e3
        else:
            out[kind][impl] = result.batch / s
            if kind == "train":
                out["train_peak"][impl] = out["train"][impl] * result.flops / 1e9 / peak
    for impl, mem in result.memory.items():
        if "rss_mb" in mem:
            out["memory"][impl] = mem["rss_mb"]
        if "tracemalloc_mb" in mem:
            out["tracemalloc"][impl] = mem["tracemalloc_mb"]
    return out


def _fmt(v, unit: str) -> str:
    if v is None:
        return "-"
    if unit == "%":
        return f"{100 * v:.0f}%"
    return f"{v:.2f}" if unit == "ms" and v < 10 else f"{v:.0f}" if v >= 100 else f"{v:.1f}"


def _verdicts(name: str, key: str, vals: dict, ratios: dict) -> list[tuple[str, str, bool]]:
    """(target text, "pass"/"MISS"/"?", is an aim) for each target of one row."""
    out = []
    for models, measure, col, bound, sense, aim in TARGETS:
        if name not in models or measure != key:
            continue
        value = vals.get("sn") if col == "sn" else ratios.get(col)
        what = f"{100 * bound:.0f}% peak" if col == "sn" else f"{bound:.2f}x {col.upper()}"
        ok = None if value is None else value >= bound if sense == ">=" else value <= bound
        out.append((f"{'aim ' if aim else ''}{sense} {what}",
                    "?" if ok is None else "pass" if ok else "MISS", aim))
    return out


def _ratios(key: str, row_vals: dict) -> dict:
    """{torch layout: stridenet's value / torch's} (none for the % of peak row)."""
    sn_v = row_vals.get("sn")
    if sn_v is None or key == "train_peak":
        return {}
    return {i: sn_v / row_vals[i] for i in TORCH if row_vals.get(i)}


def _marks(verdicts) -> tuple[str, str]:
    texts = "; ".join(t for t, _, _ in verdicts)
    marks = "; ".join((f"aim {'met' if m == 'pass' else 'missed'}" if aim and m != "?" else m)
                      for _, m, aim in verdicts)
    return texts, marks


def table(results, peak: float, has_torch: bool) -> tuple[list[str], list[list[str]]]:
    """Header and cells: one row per model and measure."""
    head = ["model", "measure", "unit", "better", "stridenet"]
    if has_torch:
        head += ["torch NCHW", "torch NHWC", "sn/NCHW", "sn/NHWC", "target", "met"]
    cells = []
    for result in results:
        vals = values(result, peak)
        for key, label, unit, better in MEASURES:
            row_vals = vals[key]
            if not row_vals:
                continue
            line = [TITLES.get(result.name, result.name), label.format(batch=result.batch),
                    unit, better, _fmt(row_vals.get("sn"), unit)]
            if has_torch:
                ratios = _ratios(key, row_vals)
                line += [_fmt(row_vals.get(i), unit) for i in TORCH]
                line += [f"{ratios[i]:.2f}x" if i in ratios else "-" for i in TORCH]
                line += list(_marks(_verdicts(result.name, key, row_vals, ratios)))
            cells.append(line)
    return head, cells


def misses(results, peak) -> tuple[int, list[str]]:
    """(number of targets, "model measure (target)" per missed one); aims not counted."""
    count, missed = 0, []
    for result in results:
        vals = values(result, peak)
        for key, label, _, _ in MEASURES:
            ratios = _ratios(key, vals[key])
            for text, mark, aim in _verdicts(result.name, key, vals[key], ratios):
                if not aim:
                    count += 1
                    if mark != "pass":
                        missed.append(f"{TITLES[result.name]} {label.format(batch=result.batch)}"
                                      f" ({text}: {mark})")
    return count, missed


def render_table(results, peak, has_torch, markdown=False) -> str:
    head, cells = table(results, peak, has_torch)
    return render(head, cells, markdown, left={0, 1, 2, 3, len(head) - 2, len(head) - 1})


def summary(results, peak, has_torch) -> list[str]:
    """The count of targets met, and the missed ones (aims aside)."""
    if not has_torch:
        return []
    count, missed = misses(results, peak)
    return [f"targets of the issue met: {count - len(missed)} of {count}"
            + (f"; missed: {', '.join(missed)}" if missed else "")]


LEGEND = [
    "sn/X = stridenet's number / torch's in layout X (NCHW = default, NHWC = "
    "channels_last), in the row's unit: for img/s and % peak higher is better (>1: "
    "stridenet faster); for ms and MB lower is better (<1: stridenet faster or smaller).",
    "train = one optimizer step (forward, loss, backward, Adam update); infer = forward "
    "in inference mode; latency = one image; peak memory = growth of the resident set "
    "during training steps over a warmed-up baseline, in a fresh process per framework "
    "and model; 'NumPy only' is tracemalloc's peak of stridenet's NumPy buffers in one step.",
    "% of matmul peak = training img/s x 3 x forward conv+dense flops per image / the best "
    "NumPy float32 2048x2048 matmul GFLOP/s of the run.",
]


def legend(has_torch: bool) -> list[str]:
    return LEGEND if has_torch else LEGEND[1:]


@dataclass
class Report:
    """Everything one run measured, rendered as text (stdout) or Markdown (RESULTS.md)."""

    machine: list[str]
    results: list
    peaks: list[float]
    layers: list | None  # ops.py's [head, cells] or None
    has_torch: bool
    rounds: int
    batch: int
    retaken: int
    noisy: int
    others: float | None  # cores other processes kept busy
    phases: list  # (part of the run, its others) pairs
    loadavg: tuple | None
    seconds: float
    command: str

    @property
    def peak(self) -> float:
        """The best matmul sample: other load only ever slows it down."""
        return max(self.peaks)

    def notes(self) -> list[str]:
        rounds = f"{self.rounds} round{'s' if self.rounds > 1 else ''}"
        out = [f"batch {self.batch}, float32; each number is the median of {rounds} after "
               "a warm-up",
               f"matmul peak (NumPy float32 2048x2048): {self.peak:.1f} GFLOP/s, the best of "
               f"{len(self.peaks)} sample{'s' if len(self.peaks) > 1 else ''} (median "
               f"{statistics.median(self.peaks):.0f}, lowest {min(self.peaks):.0f})"]
        if self.has_torch:
            out.append("same parameter counts in both frameworks (asserted): " + ", ".join(
                f"{TITLES[r.name]} {r.params:,}" for r in self.results))
            out.append("outputs, stridenet vs torch, max |difference| of the softmax: "
                       + ", ".join(f"{TITLES[r.name]} {r.max_err:.1e}" for r in self.results))
        methods = {m["method"] for r in self.results for m in r.memory.values() if "method" in m}
        if methods:
            out.append(f"memory: {', '.join(sorted(methods))} in a fresh process per "
                       "framework, layout and model (see README.md)")
        errors = [f"{r.name} {impl}: {m['error']}" for r in self.results
                  for impl, m in r.memory.items() if "error" in m]
        if errors:
            out.append("memory measurements that failed: " + "; ".join(errors))
        if self.others is not None:
            busy = (f"other processes kept {self.others:.2f} of {os.cpu_count()} cores busy "
                    "on average during the run")
            if self.loadavg:
                busy += f" (load average {self.loadavg[0]:.2f} at the start)"
            parts = [f"{name} {v:.2f}" for name, v in self.phases if v is not None]
            if parts:
                busy += f"; by part: {', '.join(parts)}"
            noisy = [name for name, v in self.phases if v is not None and v > QUIET_RUN]
            if noisy:
                busy += (f" (above {QUIET_RUN}: numbers of {', '.join(noisy)} unreliable, "
                         "rerun on a quiet machine)")
            out.append(busy)
        return out

    def tail(self) -> str:
        return (f"{self.retaken} samples retaken (slow spell, or other processes busy), "
                f"{self.noisy} kept although noisy; the run took {self.seconds:.0f} s")

    def _layers(self, markdown: bool) -> str:
        return render(*self.layers, markdown)

    def text(self) -> str:
        parts = [*self.machine, *self.notes(), "",
                 render_table(self.results, self.peak, self.has_torch), "",
                 *legend(self.has_torch), *summary(self.results, self.peak, self.has_torch)]
        if self.layers is not None:
            parts += ["", "SPEC model conv layers (ops.py)" + LAYER_NOTE[self.has_torch], "",
                      self._layers(False)]
        return "\n".join([*parts, "", self.tail()])

    def markdown(self) -> str:
        parts = [
            "# Benchmark results", "",
            f"Written by `{self.command}` (see `README.md` in this folder). Timings on a "
            "shared machine are noisy, and the numbers change as the kernels do.", "",
            "## Machine and run", "", *(f"- {line}" for line in self.machine + self.notes()),
            "", "## Models: stridenet against PyTorch", "",
            render_table(self.results, self.peak, self.has_torch, markdown=True), "",
            *(f"- {line}" for line in legend(self.has_torch)
              + summary(self.results, self.peak, self.has_torch)), "",
        ]
        if self.layers is not None:
            parts += ["## SPEC model conv layers (`ops.py`)", "",
                      "Forward, and backward (dx + dw), of each conv layer alone at batch "
                      f"{self.batch}" + LAYER_NOTE[self.has_torch], "",
                      self._layers(True), ""]
        return "\n".join([*parts, self.tail(), ""])


LAYER_NOTE = {
    True: "; sn/X = stridenet's time / torch's (>1: stridenet slower); %peak = GFLOP/s "
          "over the matmul peak",
    False: "; %peak = GFLOP/s over the matmul peak",
}
