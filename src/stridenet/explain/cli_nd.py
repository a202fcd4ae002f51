"""``stridenet explain conv-transpose|conv3d`` and ``output-size --transpose / --sizes``.

Registered by ``cli.add_explain_parser`` (``add_nd_parsers``) and run first by its
``_run`` (``run_nd``): True when the command was one of these.
"""

from __future__ import annotations

from .limits import MAX_TERMS  # the same bound as the 2D traces


def add_nd_parsers(sub, output_size_parser) -> None:
    """Add the conv-transpose and conv3d sub-commands, and the transposed / multi-axis
    options of ``output-size``."""
    ct = sub.add_parser("conv-transpose", help="trace a 1D/2D transposed convolution in both "
                        "views (patch spreading; zero insertion + rotated kernel)")
    ct.add_argument("--input", required=True, help="the input as a JSON matrix (or list: 1D)")
    ct.add_argument("--kernel", required=True, help="the kernel as a JSON matrix (or list)")
    ct.add_argument("--strides", default="1", help="int or JSON pair")
    ct.add_argument("--padding", default="valid", choices=("valid", "same"))
    ct.add_argument("--output-padding", default=None, help="int or JSON pair, each smaller "
                    "than the stride (default: Keras' rule)")
    ct.add_argument("--dilation", default="1", help="dilation rate: int or JSON pair")
    ct.add_argument("--rank", type=int, choices=(1, 2), default=None,
                    help="1 or 2 (default: 1 for a JSON list, 2 for a matrix)")
    c3 = sub.add_parser("conv3d", help="trace one output cell of a 3D convolution")
    c3.add_argument("--input", required=True, help="the (D, H, W) input as nested JSON lists")
    c3.add_argument("--kernel", required=True, help="the (KD, KH, KW) kernel as nested JSON")
    c3.add_argument("--cell", default="[0, 0, 0]", help="the output cell, JSON [d, h, w]")
    c3.add_argument("--strides", default="1", help="int or JSON triple")
    c3.add_argument("--padding", default="valid",
                    help="valid, same, an int or JSON pairs")
    c3.add_argument("--dilation", default="1", help="dilation rate: int or JSON triple")
    for p in (ct, c3):
        p.add_argument("--bias", default=None, help="a bias added to every output cell")
        p.add_argument("--format", choices=("text", "markdown", "html"), default="text")
        p.add_argument("--max-cells", type=int, default=24,
                       help="output cells (patches) written in full (0 = all)")
        p.add_argument("--out", default=None, help="write the rendering to this file")
    o = output_size_parser
    o.add_argument("--sizes", default=None, help="several spatial axes at once, JSON list "
                   "such as [7, 9, 10] (3D: depth, rows, cols)")
    o.add_argument("--transpose", action="store_true", help="a transposed convolution "
                   "(padding valid or same)")
    o.add_argument("--output-padding", type=int, default=None,
                   help="transposed only: smaller than --strides (default: Keras' rule)")


def _count(value) -> int:
    import numpy as np

    try:
        return int(np.asarray(value, dtype=object).size)
    except (TypeError, ValueError):
        return 0


def _output_size(args, out) -> None:
    from .cli import _geometry, _json
    from .shapes import output_size
    from .sizes_nd import conv_output_sizes, transpose_output_size, transpose_output_sizes

    if args.n is None and args.sizes is None:
        raise ValueError("output-size: give --n (one axis) or --sizes (e.g. [7, 9, 10])")
    if args.output_padding is not None and not args.transpose:
        raise ValueError("--output-padding is for transposed convolutions: add --transpose")
    padding = _geometry(args.padding, "--padding")
    if args.transpose and padding not in ("valid", "same"):
        raise ValueError(f"--padding of a transposed convolution must be valid or same, got "
                         f"{args.padding!r}")
    if args.transpose and args.ceil_mode:
        raise ValueError("--ceil-mode is for convolution and pooling, not --transpose")
    if args.sizes is None:
        if args.transpose:
            size = transpose_output_size(args.n, args.kernel, args.strides, padding,
                                         args.output_padding, args.dilation)
        else:
            size = output_size(args.n, args.kernel, args.strides, padding, args.dilation,
                               args.ceil_mode)
        print(f"out = {size.formula}", file=out)
        if size.note:
            print(size.note if args.transpose else f"padding {size.note}", file=out)
        return
    sizes = _json(args.sizes, "--sizes")
    if not isinstance(sizes, list) or not sizes or not all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in sizes):
        raise ValueError(f"--sizes must be a JSON list of positive ints, got {args.sizes!r}")
    if args.transpose:
        forms = transpose_output_sizes(tuple(sizes), args.kernel, args.strides, padding,
                                       args.output_padding, args.dilation)
    else:
        if args.ceil_mode:
            raise ValueError("--ceil-mode works with --n (one axis), not --sizes")
        forms = conv_output_sizes(tuple(sizes), args.kernel, args.strides, padding,
                                  args.dilation)
    for f in forms:
        print(f"{f.axis}: {f.formula}", file=out)
        if f.note:
            print(f"  {f.note}", file=out)
    print("output " + "x".join(str(f.value) for f in forms), file=out)


def _trace(args):
    from . import conv3d, conv_transpose_trace
    from .cli import _geometry, _json, _number

    x, kernel = _json(args.input, "--input"), _json(args.kernel, "--kernel")
    strides = _geometry(args.strides, "--strides", ())
    dilation = _geometry(args.dilation, "--dilation", ())
    bias = None if args.bias is None else _number(args.bias, "--bias")
    if _count(x) * max(_count(kernel), 1) > MAX_TERMS:
        raise ValueError(f"too large to trace step by step: input of {_count(x):,} numbers "
                         f"times a kernel of {_count(kernel):,}; explain traces at most "
                         f"{MAX_TERMS:,} products")
    if args.explain_command == "conv3d":
        cell = _json(args.cell, "--cell")
        if not isinstance(cell, list) or not all(isinstance(v, int) for v in cell):
            raise ValueError(f"--cell must be a JSON list [d, h, w], got {args.cell!r}")
        return conv3d(x, kernel, strides, _geometry(args.padding, "--padding"), dilation,
                      bias, tuple(cell))
    op = None if args.output_padding is None else _geometry(args.output_padding,
                                                            "--output-padding", ())
    return conv_transpose_trace(x, kernel, strides, args.padding, op, dilation, bias,
                                args.rank)


def run_nd(args, out) -> bool:
    """Run the command if it is one of this module's; False otherwise."""
    cmd = args.explain_command
    if cmd == "output-size":
        if not (args.transpose or args.sizes is not None or args.n is None
                or args.output_padding is not None):
            return False
        _output_size(args, out)
        return True
    if cmd not in ("conv-transpose", "conv3d"):
        return False
    from .cli import _write

    if args.max_cells < 0:
        raise ValueError(f"--max-cells must be >= 0 (0 = all), got {args.max_cells}")
    trace = _trace(args)
    opts = {"max_cells": args.max_cells or None}
    text = (trace.to_text(**opts) if args.format == "text" else trace.to_markdown(**opts)
            if args.format == "markdown" else trace.to_html(full_page=True, **opts))
    if args.out:
        _write(args.out, text if text.endswith("\n") else text + "\n")
        print(f"wrote {args.out}", file=out)
    else:
        print(text, file=out)
    return True


__all__ = ["MAX_TERMS", "add_nd_parsers", "run_nd"]
