"""How large a trace may be: checked before anything is allocated.

A trace keeps every product of every output cell as a Python object (about 300 bytes and
20 microseconds each): 100,000 of them take a few seconds and ~30 MB, far more than any
example worth reading step by step, while a padding of 100000 would ask for 10^10.
"""

from __future__ import annotations

import math

from ..ops.kernels.geometry import output_size

MAX_TERMS = 100_000


def check_trace_size(op, sizes, ksizes, steps, rates, pads, channels, padding,
                     pool=False, ceil_mode=False) -> None:
    """ValueError when the trace would hold more than MAX_TERMS products, or its padded
    input more than MAX_TERMS cells. sizes/ksizes/steps/rates: one per spatial axis;
    pads: (before, after) per axis; channels: the input's channel count."""
    padded = [n + p0 + p1 for n, (p0, p1) in zip(sizes, pads)]
    outs = [max(output_size(n, k, st, p0, p1, d, ceil_mode), 0)
            for n, k, st, (p0, p1), d in zip(sizes, ksizes, steps, pads, rates)]
    terms = math.prod(outs) * math.prod(ksizes) * channels
    cells = math.prod(padded) * channels
    if max(terms, cells) <= MAX_TERMS:
        return
    what = (f"{terms:,} window cells to show" if terms >= cells
            else f"a padded input of {cells:,} cells")
    raise ValueError(f"{op}: too large to trace step by step: input "
                     f"{'x'.join(map(str, sizes))}, {'pool' if pool else 'kernel'} "
                     f"{'x'.join(map(str, ksizes))}, padding {padding!r}, strides "
                     f"{tuple(steps)}{'' if pool else f', dilation {tuple(rates)}'} give "
                     f"{what}; explain traces at most {MAX_TERMS:,}")


__all__ = ["MAX_TERMS", "check_trace_size"]
