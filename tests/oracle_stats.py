"""Counts of PyTorch comparisons and the largest differences, printed after the run."""

from __future__ import annotations

from collections import defaultdict

STATS: dict[str, list] = defaultdict(lambda: [0, 0.0])  # op -> [configs, max abs diff]


def record(op: str, *pairs) -> None:
    """Record one configuration of ``op``: pairs of (ours, torch's) arrays."""
    entry = STATS[op]
    entry[0] += 1
    for ours, theirs in pairs:
        if ours.size:
            diff = float(abs(ours.astype("float64") - theirs.astype("float64")).max())
            entry[1] = max(entry[1], diff)
