"""The results of run.py: values, ratios of stridenet to PyTorch and Keras, the verdicts on
the performance issue's targets, the start-up and layer sections, as text or Markdown."""

from __future__ import annotations

import os
import statistics
from dataclasses import dataclass, field

from _common import render
from _targets import ISSUE_TEXT, PEER_NAMES, Tally, marks, verdicts

TITLES = {"mnist_cnn": "SPEC CNN", "lenet5": "LeNet-5", "resnet20": "ResNet-20",
          "fcn1d": "Conv1D FCN", "c3d_small": "Conv3D c3d_small"}
PEERS = ("nchw", "nhwc", "keras")  # torch default layout, torch channels_last, Keras/TF
PEER_HEADS = {"nchw": "torch NCHW", "nhwc": "torch NHWC"}
QUIET_RUN = 0.2  # cores other processes may keep busy in a part of the run we call reliable

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


def fmt(v, unit: str) -> str:
    if v is None:
        return "-"
    if unit == "%":
        return f"{100 * v:.0f}%"
    if unit == "s":
        return f"{v:.2f}" if v < 10 else f"{v:.1f}"
    return f"{v:.2f}" if unit == "ms" and v < 10 else f"{v:.0f}" if v >= 100 else f"{v:.1f}"


def ratios(key: str, row_vals: dict) -> dict:
    """{peer: stridenet's value / the peer's} (none for the % of peak row)."""
    sn_v = row_vals.get("sn")
    if sn_v is None or key == "train_peak":
        return {}
    return {i: sn_v / row_vals[i] for i in PEERS if row_vals.get(i)}


def counted(result, row_ratios: dict) -> dict:
    """The ratios the issue's targets read: Keras counts only on TensorFlow."""
    if result.keras_backend in (None, "tensorflow"):
        return row_ratios
    return {k: v for k, v in row_ratios.items() if k != "keras"}


def keras_short(results) -> str:
    """"TF", or the other backend Keras ran on in this run (named in the headers)."""
    backend = next((r.keras_backend for r in results if r.keras_backend), "tensorflow")
    return "TF" if backend == "tensorflow" else backend


def table(results, peak: float, has_peers: bool) -> tuple[list[str], list[list[str]]]:
    """Header and cells: one row per model and measure."""
    head = ["model", "measure", "unit", "better", "stridenet"]
    if has_peers:
        short = keras_short(results)
        head += [PEER_HEADS[p] for p in PEERS[:2]] + [f"Keras/{short}"]
        head += [f"sn/{PEER_NAMES[p]}" for p in PEERS[:2]] + [f"sn/{short}", "target", "met"]
    cells = []
    for result in results:
        vals = values(result, peak)
        for key, label, unit, better in MEASURES:
            row_vals = vals[key]
            if not row_vals:
                continue
            line = [TITLES.get(result.name, result.name), label.format(batch=result.batch),
                    unit, better, fmt(row_vals.get("sn"), unit)]
            if has_peers:
                r = ratios(key, row_vals)
                line += [fmt(row_vals.get(i), unit) for i in PEERS]
                line += [f"{r[i]:.2f}x" if i in r else "-" for i in PEERS]
                line += list(marks(verdicts(result.name, key, counted(result, r))))
            cells.append(line)
    return head, cells


def tally(results, peak, tally_=None) -> Tally:
    """The issue's targets over the model rows (aims aside)."""
    out = tally_ or Tally()
    for result in results:
        vals = values(result, peak)
        for key, label, _, _ in MEASURES:
            row_ratios = counted(result, ratios(key, vals[key]))
            for target, mark in verdicts(result.name, key, row_ratios):
                if not target.aim:
                    out.add(f"{TITLES[result.name]} {label.format(batch=result.batch)}",
                            target.text(), mark)
    return out


def render_table(results, peak, has_peers, markdown=False) -> str:
    head, cells = table(results, peak, has_peers)
    return render(head, cells, markdown, left={0, 1, 2, 3, len(head) - 2, len(head) - 1})


LEGEND = [
    "sn/X = stridenet's number / the peer's (NCHW = torch's default layout, NHWC = "
    "channels_last (NCDHW / NDHWC for Conv3D; the 1D FCN has no channels-last layout in "
    "torch), TF = Keras 3 on TensorFlow), in the row's unit: for img/s higher is better "
    "(>1: stridenet faster); for ms and MB lower is better (<1: stridenet faster or "
    "smaller).",
    "train = one optimizer step (forward, loss, backward, Adam update); infer = forward "
    "in inference mode; latency = one image; peak memory = growth of the resident set "
    "during training steps over a warmed-up baseline, in a fresh process per framework "
    "and model (torch only: Keras's is not measured); 'NumPy only' is tracemalloc's peak "
    "of stridenet's NumPy buffers in one step.",
    "% of matmul peak = training img/s x 3 x forward conv+dense flops per image / the best "
    "NumPy float32 2048x2048 matmul GFLOP/s of the run.",
    "Conv3D c3d_small is timed at batch 32 (the moving-digits recipe's batch; a training "
    "step at 128 takes seconds, too long for the rounds of every framework); its inference "
    "target is read at that batch.",
]


def legend(results, has_peers: bool) -> list[str]:
    """The notes under the model table (the batch note only when c3d_small ran)."""
    out = LEGEND[:3] if has_peers else LEGEND[1:3]
    return out + (LEGEND[3:] if any(r.name == "c3d_small" for r in results) else [])


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
    keras_note: str = ""  # Keras's version, or why it is not a peer in this run
    startup: object = None  # _startup.Startup or None
    durations: list = field(default_factory=list)  # (part of the run, its seconds)

    @property
    def peak(self) -> float:
        """The best matmul sample: other load only ever slows it down."""
        return max(self.peaks)

    @property
    def has_peers(self) -> bool:
        return self.has_torch or any(r.keras_err is not None for r in self.results)

    def tally_lines(self) -> list[str]:
        t = tally(self.results, self.peak) if self.has_peers else Tally()
        if self.startup is not None:
            self.startup.tally(t)
        return t.lines() if t.met or t.missed or t.unmeasured else []

    def notes(self) -> list[str]:
        rounds = f"{self.rounds} round{'s' if self.rounds > 1 else ''}"
        out = [f"batch {self.batch}, float32; each number is the median of {rounds} after "
               "a warm-up",
               f"matmul peak (NumPy float32 2048x2048): {self.peak:.1f} GFLOP/s, the best of "
               f"{len(self.peaks)} sample{'s' if len(self.peaks) > 1 else ''} (median "
               f"{statistics.median(self.peaks):.0f}, lowest {min(self.peaks):.0f})"]
        if self.has_peers:
            out.append("same parameter counts in every framework (asserted): " + ", ".join(
                f"{TITLES[r.name]} {r.params:,}" for r in self.results))
        for peer, attr in (("torch", "max_err"), ("Keras", "keras_err")):
            errs = [f"{TITLES[r.name]} {getattr(r, attr):.1e}" for r in self.results
                    if getattr(r, attr) is not None]
            if errs:
                out.append(f"outputs, stridenet vs {peer}, max |difference| of the softmax "
                           f"(inference and training mode): {', '.join(errs)}")
        if self.keras_note:
            out.append(self.keras_note)
        methods = {m["method"] for r in self.results for m in r.memory.values() if "method" in m}
        if methods:
            out.append(f"memory: {', '.join(sorted(methods))} in a fresh process per "
                       "framework, layout and model (see README.md)")
        errors = [f"{r.name} {impl}: {m['error']}" for r in self.results
                  for impl, m in r.memory.items() if "error" in m]
        if errors:
            out.append("memory measurements that failed: " + "; ".join(errors))
        if self.others is not None:
            out.append(self._load_note())
        return out

    def _load_note(self) -> str:
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
        return busy

    def _noisy_warning(self) -> str:
        """Why the run's numbers are unreliable, or ""."""
        noisy = [name for name, v in self.phases if v is not None and v > QUIET_RUN]
        if not noisy:
            return ""
        return (f"other processes kept more than {QUIET_RUN} cores busy while timing "
                f"{', '.join(noisy)}; rerun on a quiet machine")

    def tail(self) -> str:
        parts = ", ".join(f"{name} {s:.0f} s" for name, s in self.durations)
        return (f"{self.retaken} samples retaken (slow spell, or other processes busy), "
                f"{self.noisy} kept although noisy; the run took {self.seconds:.0f} s"
                + (f" ({parts})" if parts else ""))

    def _layers(self, markdown: bool) -> str:
        return render(*self.layers, markdown)

    def _machine_short(self) -> str:
        cpu = next((m[len("CPU: "):] for m in self.machine if m.startswith("CPU: ")), "")
        return cpu.split(";")[0] or "this machine"

    def text(self) -> str:
        parts = [*self.machine, *self.notes(), "",
                 render_table(self.results, self.peak, self.has_peers), "",
                 *legend(self.results, self.has_peers), *self.tally_lines()]
        if self.startup is not None:
            parts += ["", "Start-up: import and first step", "", *self.startup.render(False)]
        if self.layers is not None:
            parts += ["", "SPEC model conv layers (ops.py)" + LAYER_NOTE[self.has_torch], "",
                      self._layers(False)]
        if self.has_peers:
            from _summary import table as speed_table

            parts += ["", "Summary for the README", "", speed_table(self.results, self.peak,
                                                                   markdown=False)]
        return "\n".join([*parts, "", self.tail()])

    def markdown(self) -> str:
        parts = [
            "# Benchmark results", "",
            f"Written by `{self.command}` (see `README.md` in this folder). Timings on a "
            "shared machine are noisy, and the numbers change as the kernels do.", "",
            "## Machine and run", "", *(f"- {line}" for line in self.machine + self.notes()),
            "", "## Targets of the performance issue", "",
            *(f"- {line}" for line in ISSUE_TEXT), "",
            "## Models: stridenet against PyTorch and Keras on TensorFlow", "",
            render_table(self.results, self.peak, self.has_peers, markdown=True), "",
            *(f"- {line}" for line in legend(self.results, self.has_peers)
              + self.tally_lines()), "",
        ]
        if self.startup is not None:
            parts += ["## Start-up: import and first step", "", *self.startup.render(True)]
        if self.layers is not None:
            parts += ["## SPEC model conv layers (`ops.py`)", "",
                      "Forward, and backward (dx + dw), of each conv layer alone at batch "
                      f"{self.batch}" + LAYER_NOTE[self.has_torch], "",
                      self._layers(True), ""]
        if self.has_peers:
            from _summary import section

            parts += ["## Summary for the README", "",
                      *section(self.results, self.peak, self.startup, self.tally_lines(),
                               self._machine_short(), self._noisy_warning()), ""]
        return "\n".join([*parts, self.tail(), ""])


LAYER_NOTE = {
    True: "; sn/X = stridenet's time / torch's (>1: stridenet slower); %peak = GFLOP/s "
          "over the matmul peak",
    False: "; %peak = GFLOP/s over the matmul peak",
}
