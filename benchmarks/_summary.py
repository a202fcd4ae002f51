"""The compact speed table the project README quotes: one row per model, ratios only.

Each cell is stridenet against PyTorch in its default layout (NCHW) in the same run:
training and inference as speed ratios (images/s over images/s: above 1x stridenet is
faster), batch-1 latency and training memory as ratios of time and bytes (below 1x
stridenet is faster or smaller); a last column holds training against Keras on
TensorFlow when it ran. A trailing mark says whether the issue's target for that cell
was met (pass / MISS; none where the issue sets no target).
"""

from __future__ import annotations

from _common import render
from _report import MEASURES, TITLES, counted, keras_short, ratios, values
from _targets import verdicts

COLUMNS = [  # (row key of the model table, peer, header)
    ("train", "nchw", "train (x torch speed)"),
    ("infer", "nchw", "infer (x torch speed)"),
    ("latency", "nchw", "latency b1 (x torch time)"),
    ("memory", "nchw", "train memory (x torch)"),
    ("train", "keras", "train (x Keras/TF speed)"),
]


def _cell(result, key: str, peer: str, row_ratios: dict) -> str:
    if peer not in row_ratios:
        return "-"
    marks = [m for t, m in verdicts(result.name, key, counted(result, row_ratios))
             if t.column == peer and not t.aim]
    return f"{row_ratios[peer]:.2f}x" + (f" {marks[0]}" if marks else "")


def table(results, peak: float, markdown: bool = True) -> str:
    """The speed table (Markdown by default)."""
    head = ["model", "batch"] + [h.replace("/TF", f"/{keras_short(results)}")
                                 for _, _, h in COLUMNS]
    cells = []
    for result in results:
        vals = values(result, peak)
        by_key = {key: ratios(key, vals[key]) for key, _, _, _ in MEASURES}
        cells.append([TITLES[result.name], str(result.batch)]
                     + [_cell(result, key, peer, by_key[key]) for key, peer, _ in COLUMNS])
    return render(head, cells, markdown, left=1)


def section(results, peak: float, startup, tally_lines: list[str], machine: str,
            warning: str = "") -> list[str]:
    """The Markdown lines of the results file's "Summary for the README" section
    (``warning``: a line saying the run was too noisy to quote)."""
    lines = [f"**Do not quote this run: {warning}**", ""] if warning else []
    lines += [f"Measured on {machine}; stridenet / PyTorch (default NCHW layout) in the same "
             "run, batch 128 unless said. Speed ratios above 1x: stridenet faster; time and "
             "memory ratios below 1x: stridenet faster or smaller. pass / MISS: the target "
             "of the performance issue for that cell.", "",
             table(results, peak), ""]
    if startup is not None and startup.imports is not None:
        lines.append(f"- `import stridenet`: {startup.imports['stridenet']:.2f} s in a fresh "
                     f"process (target <= 0.3 s)"
                     + (f"; {startup.context()}" if startup.context() else ""))
    if startup is not None and startup.first is not None:
        lines.append(f"- {startup.first_line()}")
    lines += [f"- {line}" for line in tally_lines]
    return lines
