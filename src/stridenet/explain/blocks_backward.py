"""The document of a backward trace (both gradients, cell by cell) for the renderers."""

from __future__ import annotations

from .blocks import cell_blocks, fmt, grids, header_blocks, pad_mask
from .trace import BackwardTrace


def backward_document(t: BackwardTrace, o) -> dict:
    """The sections of the text / Markdown / HTML renderings of a backward trace."""
    f = t.forward
    flip = (" With flip_kernel the taps are read from the rotated kernel and dw is given for "
            "the kernel as passed (rotated back).") if f.flip else ""
    dk = [("para", "Kernel gradient: dw[a,b] = sum over outputs (i,j) of dy[i,j] * "
           f"xp[i*s + a*d, j*s + b*d] -- the padded input correlated with dy.{flip}")]
    dk += cell_blocks(f, t.dkernel_cells, o, "dw cells", "dw")
    dk += grids("dw", t.dkernel)
    dx = [("para", "Input gradient: the full correlation of dy with the kernel rotated "
           "180 degrees")] + [("para", n) for n in t.notes]
    dx += [("grid", "dy spread by the stride", t.dy_dilated, None),
           ("grid", "dy_full (padded)", t.dy_full, None)] + grids("Rotated kernel", t.rotated)
    dx += cell_blocks(f, t.dx_cells, o, "dx cells", "dx")
    dx += grids("dx", t.dx)
    doc = {"header": [("title", "conv2d backward")] + header_blocks(f)[1:],
           "input": grids("Padded input", f.padded, pad_mask(f)), "kernel": grids(
               "Kernel (applied)", f.applied), "dy": [("grid", "Output gradient dy", t.dy, None)],
           "dkernel": dk, "dx": dx}
    if t.dbias is not None:
        doc["dbias"] = [("para", f"Bias gradient: sum(dy) = {fmt(t.dbias, o['precision'])}")]
    return doc


__all__ = ["backward_document"]
