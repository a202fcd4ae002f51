"""The ``explain`` sub-command: ``stridenet explain conv2d|conv1d|maxpool|avgpool|backward|
output-size|edges ...``. Matrices are JSON (``--input "[[1, 2], [3, 4]]"``), never eval'd.

The main CLI wires it with ``add_explain_parser(subparsers)`` and dispatches to
``run_explain(args)``, which prints the trace (or writes it with ``--out``) and
returns the exit status: 0, or 2 with a message on stderr for bad arguments.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys

from ..io import atomic_writer
from .limits import check_trace_size


def _json(text: str, name: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"{name} must be JSON (e.g. \"[[1, 2], [3, 4]]\"): {e}") from None


def _tuples(v):
    return tuple(_tuples(e) for e in v) if isinstance(v, list) else v


def _geometry(text: str, name: str, words=("valid", "same", "causal")):
    """An int, a padding word, or a JSON list such as [1, 2] / [[1, 0], [2, 2]]."""
    if text.lower() in words:
        return text.lower()
    try:
        return int(text)
    except ValueError:
        pass
    value = _json(text, name)
    if not isinstance(value, int | list) or isinstance(value, bool):
        raise ValueError(f"{name} must be an int{', ' + ', '.join(words) if words else ''} or "
                         f"a JSON list, got {text!r}")
    return _tuples(value)


def _number(text: str, name: str):
    value = _json(text, name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number, got {text!r}")
    return value


def _common(p, window_name: str, conv: bool) -> None:
    p.add_argument("--input", required=True, help="the input as a JSON matrix (or list in 1D)")
    if conv:
        p.add_argument("--kernel", required=True, help="the kernel as a JSON matrix")
        p.add_argument("--dilation", default="1", help="dilation rate: int or JSON pair")
        p.add_argument("--flip", action="store_true", help="rotate the kernel 180 degrees "
                       "(true convolution)")
        p.add_argument("--bias", default=None, help="a bias added to every output cell")
    else:
        p.add_argument("--pool-size", required=True, help=f"{window_name}: int or JSON pair")
        p.add_argument("--ceil-mode", action="store_true", help="round the output size up")
    p.add_argument("--strides", default=None, help="int or JSON pair (default: 1 for "
                   "convolution, the pool size for pooling)")
    p.add_argument("--padding", default="valid",
                   help="valid, same, causal (1D), an int, or JSON pairs such as [[1, 0], [0, 1]]")
    p.add_argument("--format", choices=("text", "markdown", "html"), default="text")
    p.add_argument("--max-cells", type=int, default=24,
                   help="output cells written in full (0 = all)")
    p.add_argument("--out", default=None, help="write the rendering to this file")
    p.add_argument("--gif", default=None, help="also write an animated GIF of the window")
    p.add_argument("--png", default=None, help="also write a figure of one cell (--cell)")
    p.add_argument("--cell", default="0", help="the cell of --png: its number or JSON [i, j]")


def add_explain_parser(subparsers):
    """Add ``explain`` (with its own sub-commands) to an argparse sub-parser set."""
    ex = subparsers.add_parser("explain", help="show the math of convolution and pooling "
                               "step by step", description="Show the math of convolution and "
                               "pooling step by step. Matrices are JSON, e.g. "
                               "--input \"[[1, 2], [3, 4]]\".")
    sub = ex.add_subparsers(dest="explain_command", metavar="WHAT")
    sub.required = True
    for name, helptext in (("conv2d", "trace a 2D convolution"),
                           ("conv1d", "trace a 1D convolution")):
        _common(sub.add_parser(name, help=helptext), "kernel", conv=True)
    bw = sub.add_parser("backward", help="trace the gradients of a 2D convolution")
    _common(bw, "kernel", conv=True)
    bw.add_argument("--dy", required=True, help="the output gradient as a JSON matrix")
    for name, helptext in (("maxpool", "trace 2D max pooling"),
                           ("avgpool", "trace 2D average pooling")):
        p = sub.add_parser(name, help=helptext)
        _common(p, "window size", conv=False)
        if name == "avgpool":
            p.add_argument("--count-include-pad", action="store_true",
                           help="divide by the window size including padding (PyTorch)")
    os_ = sub.add_parser("output-size", help="the output-size formula with numbers filled in")
    os_.add_argument("--n", type=int, default=None, help="input size along one axis (or "
                     "--sizes)")
    os_.add_argument("--kernel", type=int, required=True, help="kernel (window) size")
    os_.add_argument("--strides", type=int, default=1)
    os_.add_argument("--padding", default="valid", help="valid, same, causal, an int or "
                     "a JSON pair [before, after]")
    os_.add_argument("--dilation", type=int, default=1)
    os_.add_argument("--ceil-mode", action="store_true")
    from .cli_nd import add_nd_parsers  # conv-transpose, conv3d, output-size --transpose

    add_nd_parsers(sub, os_)
    ed = sub.add_parser("edges", help="edge kernels (vertical, horizontal, Sobel) on a photo")
    ed.add_argument("--out", default="edges.png", help="the PNG grid to write")
    ed.add_argument("--image", default=None, help="a photograph (default: the one matplotlib "
                    "ships, grace_hopper.jpg)")
    ex.set_defaults(func=run_explain)
    return ex


def _spatial(value, rank: int, image: bool):
    """``(sizes, channels)`` of a JSON input (``image``) or kernel as the trace functions
    read them: 2D x (H, W), (H, W, C), (1, H, W, C); 1D x (L,), (L, C), (1, L, C); a kernel
    leads with its spatial sizes. None when the shape is not one of those (the trace
    function then says what is wrong)."""
    import numpy as np

    try:
        shape = np.shape(value)
    except (TypeError, ValueError):  # ragged lists
        return None
    if image:
        if len(shape) not in (rank, rank + 1, rank + 2):
            return None
        lead = 1 if len(shape) == rank + 2 else 0
        return shape[lead:lead + rank], (shape[-1] if len(shape) > rank else 1)
    return (shape[:rank], 1) if len(shape) >= rank else None


def _check_size(cmd: str, x, window, strides, padding, dilation, ceil_mode=False) -> None:
    """Refuse a trace of more than limits.MAX_TERMS products (or padded input cells)
    before the JSON becomes arrays (the trace functions check it again). ``window``: the
    kernel (conv) or the pool size; geometry the trace function cannot read is left for
    it to report."""
    from ..ops.kernels.geometry import as_tuple, resolve_padding

    rank = 1 if cmd == "conv1d" else 2
    op = {"backward": "conv2d_backward", "maxpool": "max_pool2d",
          "avgpool": "avg_pool2d"}.get(cmd, cmd)
    x_parts = _spatial(x, rank, image=True)
    if x_parts is None:
        return
    sizes, channels = x_parts
    try:
        if cmd in ("maxpool", "avgpool"):
            ksizes = as_tuple(_tuples(window), rank, "pool_size")
            steps = ksizes if strides is None else as_tuple(_tuples(strides), rank, "strides")
            rates = (1,) * rank
        else:
            k_parts = _spatial(window, rank, image=False)
            if k_parts is None:
                return
            ksizes = k_parts[0]
            steps = as_tuple(_tuples(strides or 1), rank, "strides")
            rates = as_tuple(_tuples(dilation), rank, "dilation_rate")
        pads = resolve_padding(padding, sizes, ksizes, steps, rates, causal_ok=rank == 1)
    except (TypeError, ValueError):
        return
    check_trace_size(op, sizes, ksizes, steps, rates, pads, channels, padding,
                     pool=cmd in ("maxpool", "avgpool"), ceil_mode=ceil_mode)


def _trace(args):
    from . import avg_pool2d, conv1d, conv2d, conv2d_backward, max_pool2d

    x = _json(args.input, "--input")
    strides = None if args.strides is None else _geometry(args.strides, "--strides", ())
    padding = _geometry(args.padding, "--padding")
    cmd = args.explain_command
    if cmd in ("conv2d", "conv1d", "backward"):
        kw = dict(strides=1 if strides is None else strides, padding=padding,
                  dilation_rate=_geometry(args.dilation, "--dilation", ()),
                  flip_kernel=args.flip,
                  bias=None if args.bias is None else _number(args.bias, "--bias"))
        kernel = _json(args.kernel, "--kernel")
        _check_size(cmd, x, kernel, kw["strides"], padding, kw["dilation_rate"])
        if cmd == "backward":
            return conv2d_backward(x, kernel, _json(args.dy, "--dy"), **kw)
        return (conv2d if cmd == "conv2d" else conv1d)(x, kernel, **kw)
    pool = _geometry(args.pool_size, "--pool-size", ())
    _check_size(cmd, x, pool, strides, padding, 1, ceil_mode=args.ceil_mode)
    if cmd == "maxpool":
        return max_pool2d(x, pool, strides, padding, ceil_mode=args.ceil_mode)
    return avg_pool2d(x, pool, strides, padding, count_include_pad=args.count_include_pad,
                      ceil_mode=args.ceil_mode)


def _write(path: str, text: str) -> None:
    with _writing(path), atomic_writer(path, "w") as f:
        f.write(text)


@contextlib.contextmanager
def _writing(path):
    """An OSError while writing ``path`` names ``path`` and the reason, not the temporary
    file the atomic write went through or an errno."""
    try:
        yield
    except OSError as err:
        if str(err).startswith("cannot write"):  # already says which file and why
            raise
        raise OSError(f"cannot write {path}: {err.strerror or err}") from None


def _run(args, out) -> None:
    cmd = args.explain_command
    from .cli_nd import run_nd

    if run_nd(args, out):  # conv-transpose, conv3d, output-size --transpose / --sizes
        return
    if cmd == "output-size":
        from .shapes import output_size

        padding = _geometry(args.padding, "--padding")
        size = output_size(args.n, args.kernel, args.strides, padding, args.dilation,
                           args.ceil_mode)
        print(f"out = {size.formula}", file=out)
        if size.note:
            print(f"padding {size.note}", file=out)
        return
    if cmd == "edges":
        from .edges import edge_demo, save_grid

        demo = edge_demo(path=args.image)  # read first: its errors are not write errors
        with _writing(args.out):
            demo.out = save_grid(demo, args.out)
        h, w = demo.image.shape
        print(f"wrote {demo.out}: the {h}x{w} photograph and its {len(demo.responses)} edge "
              f"responses ({', '.join(demo.responses)}) + the Sobel magnitude", file=out)
        if demo.source:
            print(f"photo: {demo.source}", file=out)
        return
    if args.max_cells < 0:
        raise ValueError(f"--max-cells must be >= 0 (0 = all), got {args.max_cells}")
    trace = _trace(args)
    opts = {"max_cells": args.max_cells or None}
    fmt = args.format
    text = (trace.to_text(**opts) if fmt == "text" else trace.to_markdown(**opts)
            if fmt == "markdown" else trace.to_html(full_page=True, **opts))
    if args.out:
        _write(args.out, text if text.endswith("\n") else text + "\n")
        print(f"wrote {args.out}", file=out)
    else:
        print(text, file=out)
    if args.gif:
        with _writing(args.gif):
            trace.save_gif(args.gif)
        print(f"wrote {args.gif}", file=out)
    if args.png:
        from .figures import save_figure

        cell = _json(args.cell, "--cell")
        with _writing(args.png):
            save_figure(trace, args.png, cell=cell if isinstance(cell, int) else tuple(cell))
        print(f"wrote {args.png}", file=out)


def run_explain(args, out=None) -> int:
    """Run a parsed ``explain`` command; 0 on success, 2 (message on stderr) on bad input."""
    try:
        _run(args, out or sys.stdout)
    except (ValueError, TypeError, OSError) as e:
        print(f"stridenet explain: error: {e}", file=sys.stderr)
        return 2
    except MemoryError:  # a size the bound above did not foresee
        print("stridenet explain: error: out of memory: the trace is too large; use "
              "smaller sizes", file=sys.stderr)
        return 2
    return 0


def main(argv=None) -> int:
    """``python -m stridenet.explain.cli explain ...`` (what the main CLI will dispatch)."""
    parser = argparse.ArgumentParser(prog="stridenet")
    add_explain_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())


__all__ = ["add_explain_parser", "main", "run_explain"]
