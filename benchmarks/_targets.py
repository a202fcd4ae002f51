"""The targets of the performance issue (issue 13), and the verdict on each.

Ratios are stridenet's number over the peer's, in the same run, at batch 128 unless said
(c3d_small runs at batch 32, see ``_measure.MAX_BATCH``):

* Training: SPEC CNN >= 0.95x PyTorch default layout (aim: above 1.0x, and above
  PyTorch channels_last); LeNet-5 >= 0.8x; ResNet-20 >= 0.8x; Conv1D FCN >= 1.0x; every
  model ahead of Keras on TensorFlow.
* Inference: >= 1.0x PyTorch on every model; batch-1 latency <= 0.5x PyTorch eager on
  LeNet-5 and the SPEC model.
* Memory: a training step's peak no more than PyTorch's; ``import stridenet`` <= 0.3 s.

A target whose value was not measured (no TensorFlow, no torch, a failed memory process)
is neither met nor missed: the summary counts it as not measured.
"""

from __future__ import annotations

from dataclasses import dataclass

ALL = ("mnist_cnn", "lenet5", "resnet20", "fcn1d", "c3d_small")
PEER_NAMES = {"nchw": "NCHW", "nhwc": "NHWC", "keras": "TF"}

# The issue's words, quoted in the results.
ISSUE_TEXT = [
    "Training: SPEC CNN >= 0.95x PyTorch default layout (aim: above 1.0x and PyTorch "
    "channels_last); LeNet-5 >= 0.8x; ResNet-20 >= 0.8x; Conv1D FCN >= 1.0x; every model "
    "ahead of Keras on TensorFlow.",
    "Inference: >= 1.0x PyTorch on every model; batch-1 latency <= 0.5x PyTorch eager on "
    "LeNet-5 and the SPEC model.",
    "Memory: a training step's peak no more than PyTorch's; import stridenet <= 0.3 s.",
]


@dataclass(frozen=True)
class Target:
    models: tuple
    measure: str  # a row key of _report.MEASURES
    column: str  # the peer: "nchw", "nhwc" or "keras"
    bound: float
    sense: str  # ">=": the ratio must be at least bound; "<=": at most; ">": above
    aim: bool = False  # an aim of the issue, reported but not counted

    def text(self) -> str:
        return f"{'aim ' if self.aim else ''}{self.sense} {self.bound:.2f}x " \
               f"{PEER_NAMES[self.column]}"

    def holds(self, ratio: float) -> bool:
        if self.sense == ">=":
            return ratio >= self.bound
        if self.sense == ">":
            return ratio > self.bound
        return ratio <= self.bound


TARGETS = [
    Target(("mnist_cnn",), "train", "nchw", 0.95, ">="),
    Target(("mnist_cnn",), "train", "nchw", 1.0, ">", aim=True),
    Target(("mnist_cnn",), "train", "nhwc", 1.0, ">", aim=True),
    Target(("lenet5", "resnet20"), "train", "nchw", 0.8, ">="),
    Target(("fcn1d",), "train", "nchw", 1.0, ">="),
    Target(ALL, "train", "keras", 1.0, ">"),
    Target(ALL, "infer", "nchw", 1.0, ">="),
    Target(("mnist_cnn", "lenet5"), "latency", "nchw", 0.5, "<="),
    Target(ALL, "memory", "nchw", 1.0, "<="),
]
IMPORT_BOUND = 0.3  # s: import stridenet in a fresh process


def verdicts(name: str, key: str, ratios: dict) -> list[tuple[Target, str]]:
    """(target, "pass" / "MISS" / "-" (not measured)) for each target of one table row."""
    out = []
    for t in TARGETS:
        if name in t.models and t.measure == key:
            ratio = ratios.get(t.column)
            out.append((t, "-" if ratio is None else "pass" if t.holds(ratio) else "MISS"))
    return out


def marks(found: list[tuple[Target, str]]) -> tuple[str, str]:
    """The row's "target" and "met" cells."""
    texts = "; ".join(t.text() for t, _ in found)
    cells = []
    for t, mark in found:
        if t.aim and mark != "-":
            cells.append(f"aim {'met' if mark == 'pass' else 'missed'}")
        else:
            cells.append(mark)
    return texts, "; ".join(cells)


class Tally:
    """Counts of the issue's targets (aims aside): met, missed, not measured."""

    def __init__(self):
        self.met, self.missed, self.unmeasured = [], [], []

    def add(self, label: str, target_text: str, mark: str) -> None:
        entry = f"{label} ({target_text})"
        {"pass": self.met, "MISS": self.missed}.get(mark, self.unmeasured).append(entry)

    def lines(self) -> list[str]:
        total = len(self.met) + len(self.missed)
        out = [f"targets of the issue met: {len(self.met)} of {total} measured"
               + (f"; missed: {', '.join(self.missed)}" if self.missed else "")]
        if self.unmeasured:
            out.append(f"targets not measured in this run ({len(self.unmeasured)}): "
                       + ", ".join(self.unmeasured))
        return out
