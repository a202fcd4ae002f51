"""Benchmark stridenet's convolutions against PyTorch: the conv layers of the MNIST CNN, a
Conv3D layer of a small video model and a Conv2DTranspose of a small decoder.

Run from the repository root (stridenet installed, torch optional)::

    python benchmarks/ops.py                     # all six layers, batch 128
    python benchmarks/ops.py --layers conv2 conv4 --repeats 9 --markdown
    python benchmarks/ops.py --layers c3d_conv2 dec_tconv2

The two extra layers: ``c3d_conv2``, the second Conv3D(32, 3, padding="same") of a C3D-style
model on clips of 16 frames of 32x32 (after MaxPool3D(2): x (N, 8, 16, 16, 16)), run on
batch / 8 clips; ``dec_tconv2``, the second Conv2DTranspose(32, 3, strides=2, padding="same")
of the keras-io MNIST convolutional autoencoder's decoder, (N, 14, 14, 32) -> (N, 28, 28, 32).
PyTorch runs them with ``conv3d`` (NCDHW and ``channels_last_3d``) and ``conv_transpose2d``
(padding 1, output_padding 1: the same work; its output is shifted by one cell against
Keras' 'same', so the output check compares with the uncropped PyTorch result instead).

What is timed is the op-level path a user gets, float32, stride 1, "same" padding:

* forward: ``sn.ops.conv2d(x, w, b, padding="same")`` (conv3d, conv_transpose2d) on Tensors with
  ``requires_grad=True`` (so the autograd node and its cache are built too);
* backward: ``y.backward(dy)`` on a freshly recorded graph, which produces the input,
  kernel and bias gradients; the forward that records the graph is not timed.

PyTorch runs the same layer with ``torch.nn.functional.conv2d`` in its default NCHW
layout and in ``channels_last`` (x, kernel and dy all in that memory format), with
``torch.set_num_threads(os.cpu_count())`` and ``requires_grad`` on x, kernel and bias.

Each time is the median of ``--repeats`` rounds after a warm-up. This 2-core VM has
spells of a few seconds in which multi-threaded code runs several times slower, so the
layers and implementations take turns (one sample each per round), and a sample is taken
again when a small matmul probe run just after it shows such a spell, or when other
processes kept the cores busy (see ``_common.Sampler``).
GFLOP/s counts multiply-adds as two flops: forward ``2*N*OH*OW*KH*KW*Cin*F`` (3D: times OD*KD;
transposed: the input's cells in place of the output's), backward twice that (dx and dw; the
bias gradient is not counted). The peak is NumPy's float32
matmul rate on 2048 x 2048 matrices (the BLAS that stridenet's kernels run on).
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from dataclasses import dataclass

import numpy as np
from _common import Matmul, Sampler, import_torch, render, timed

import stridenet as sn


@dataclass(frozen=True)
class ConvLayer:
    """One conv layer: x (N, [D,] H, W, cin) -> (N, [D,] H*s, W*s, filters), 'same' padding.

    ``kind``: "conv2d" (the SPEC section 3 model), "conv3d" (``depth`` frames) or
    "tconv2d" (transposed, strides ``s``); ``batch_div`` divides the batch (video clips).
    """

    name: str
    hw: int
    cin: int
    filters: int
    k: int
    kind: str = "conv2d"
    depth: int = 1
    s: int = 1
    batch_div: int = 1

    def batch(self, batch: int) -> int:
        return max(1, batch // self.batch_div)

    def flops(self, batch: int) -> float:
        """Forward flops: per input cell (transposed) or output cell, K^r * Cin * F."""
        taps = self.k ** (3 if self.kind == "conv3d" else 2)
        return 2.0 * self.batch(batch) * self.depth * self.hw * self.hw * taps * self.cin * \
            self.filters


LAYERS = {
    layer.name: layer
    for layer in (
        ConvLayer("conv1", 28, 1, 32, 5),
        ConvLayer("conv2", 28, 32, 32, 5),
        ConvLayer("conv3", 14, 32, 64, 3),
        ConvLayer("conv4", 14, 64, 64, 3),
    )
}
EXTRA_LAYERS = {
    layer.name: layer
    for layer in (
        ConvLayer("c3d_conv2", 16, 16, 32, 3, kind="conv3d", depth=8, batch_div=8),
        ConvLayer("dec_tconv2", 14, 32, 32, 3, kind="tconv2d", s=2),
    )
}
ALL_LAYERS = {**LAYERS, **EXTRA_LAYERS}


def layer_data(layer: ConvLayer, batch: int):
    """Seeded float32 arrays: x (N, [D,] H, W, C), w (K, K, [K,] C, F) -- (K, K, F, C) when
    transposed --, b (F,), dy (N, [D,] OH, OW, F)."""
    rng = np.random.default_rng(1234)
    n = layer.batch(batch)
    space = (layer.depth,) * (layer.kind == "conv3d") + (layer.hw, layer.hw)
    out_space = tuple(v * layer.s for v in space)
    x = rng.standard_normal((n, *space, layer.cin), dtype=np.float32)
    taps = (layer.k,) * (len(space))
    w_shape = (*taps, layer.filters, layer.cin) if layer.kind == "tconv2d" else \
        (*taps, layer.cin, layer.filters)
    w = rng.standard_normal(w_shape, dtype=np.float32)
    w *= np.float32(1.0 / np.sqrt(np.prod(taps) * layer.cin))
    b = rng.standard_normal(layer.filters, dtype=np.float32)
    dy = rng.standard_normal((n, *out_space, layer.filters), dtype=np.float32)
    return x, w, b, dy


class Conv:
    """One implementation of a conv layer: ``forward()`` and ``record()`` -> y,
    ``backward(y)`` -> gradients of x, kernel and bias, ``output()`` -> NHWC ndarray."""

    def record(self):
        """Clear the gradients and run a forward that records the graph for backward."""
        for t in self.leaves:
            t.grad = None
        return self.forward()

    def turn(self) -> tuple[float, float]:
        """(forward s, backward s): the best of 3 timed forwards, then the best of 2 timed
        backwards of freshly recorded graphs, each after an untimed one.

        Back-to-back calls, as in training: after the sampler's pause the cores of this
        virtual machine run the first tens of milliseconds slower (measured: a stridenet
        forward of conv2 took 18 ms right after another call, 33 ms after half a second
        idle), which a single timed call would charge to whichever library comes first.
        """
        self.forward()
        gc.collect()
        t_fwd = min(timed(self.forward) for _ in range(3))
        self.backward(self.record())
        t_bwd = []
        for _ in range(2):
            y = self.record()
            t_bwd.append(timed(self.backward, y))
        return t_fwd, min(t_bwd)


class StridenetConv(Conv):
    """sn.ops.conv2d (conv3d, conv_transpose2d) on Tensors that require grad, backward
    through autograd."""

    def __init__(self, x, w, b, dy, layer: ConvLayer = LAYERS["conv1"]):
        self.leaves = [sn.Tensor(a, requires_grad=True) for a in (x, w, b)]
        self.dy = dy
        self.layer = layer

    def forward(self):
        x, w, b = self.leaves
        if self.layer.kind == "conv3d":
            return sn.ops.conv3d(x, w, b, padding="same")
        if self.layer.kind == "tconv2d":
            return sn.ops.conv_transpose2d(x, w, b, strides=self.layer.s, padding="same")
        return sn.ops.conv2d(x, w, b, padding="same")

    def backward(self, y):
        y.backward(self.dy)

    def output(self):
        return self.forward().numpy()


class TorchConv(Conv):
    """torch.nn.functional.conv2d (conv3d, conv_transpose2d) in NCHW or channels_last memory
    format."""

    def __init__(self, torch, x, w, b, dy, channels_last: bool,
                 layer: ConvLayer = LAYERS["conv1"]):
        self.torch = torch
        self.layer = layer
        three_d = layer.kind == "conv3d"
        fmt = (torch.channels_last_3d if three_d else torch.channels_last) if channels_last \
            else torch.contiguous_format

        def tensor(a, perm):
            t = torch.from_numpy(np.ascontiguousarray(a.transpose(perm)))
            return t.contiguous(memory_format=fmt) if t.dim() == x.ndim else t

        first = (0, x.ndim - 1, *range(1, x.ndim - 1))  # (N, S..., C) -> (N, C, S...)
        r = x.ndim - 2
        # (K..., C, F) -> (F, C, K...); transposed (K..., F, C) -> (C, F, K...): the same perm
        self.leaves = [
            tensor(x, first).requires_grad_(),
            tensor(w, (r + 1, r, *range(r))).requires_grad_(),
            tensor(b, (0,)).requires_grad_(),
        ]
        self.dy = tensor(dy, first)

    def forward(self):
        x, w, b = self.leaves
        F = self.torch.nn.functional
        if self.layer.kind == "conv3d":
            return F.conv3d(x, w, b, padding="same")
        if self.layer.kind == "tconv2d":  # n -> n * s, as Keras' 'same' (one cell shifted)
            k, s = self.layer.k, self.layer.s
            p = -(-(k - s) // 2)
            return F.conv_transpose2d(x, w, b, stride=s, padding=p, output_padding=s - k + 2 * p)
        return F.conv2d(x, w, b, padding="same")

    def backward(self, y):
        y.backward(self.dy)

    def output(self):
        """The output channels last; transposed: Keras' 'same' cells of the full result."""
        with self.torch.no_grad():
            if self.layer.kind == "tconv2d":
                x, w, b = self.leaves
                n = x.shape[2] * self.layer.s
                y = self.torch.nn.functional.conv_transpose2d(x, w, b, stride=self.layer.s)
                y = y[:, :, self.crop():self.crop() + n, self.crop():self.crop() + n]
            else:
                y = self.forward()
            return np.moveaxis(y.numpy(), 1, -1)  # (N, C, S...) -> (N, S..., C)

    def crop(self) -> int:
        """Cells Keras' 'same' drops before the output (the conv's 'same' padding before)."""
        k, s = self.layer.k, self.layer.s
        return max(k - s, 0) // 2


def measure(impls: dict, repeats: int, pause: float,
            wait_budget: float | None = None) -> tuple[dict, list, Sampler]:
    """Median (forward s, backward s) per ``impls[layer][implementation]``, and the
    2048 x 2048 matmul GFLOP/s samples (one per layer and round)."""
    sampler = Sampler(pause, wait_budget=wait_budget)
    matmul = Matmul(2048)
    samples = {(lay, k): [] for lay, group in impls.items() for k in group}
    peak = []
    for group in impls.values():  # warm-up: caches, allocator, thread pools
        for impl in group.values():
            impl.backward(impl.record())
    for _ in range(repeats):
        for lay, group in impls.items():
            for key, impl in group.items():
                samples[lay, key].append(sampler.take(impl.turn))
            peak.append(sampler.take(matmul.turn)[0])
    medians = {lay: {} for lay in impls}
    for (lay, key), pairs in samples.items():
        medians[lay][key] = tuple(statistics.median(p[i] for p in pairs) for i in (0, 1))
    return medians, peak, sampler


def run(args, torch) -> tuple[list[dict], list[float], Sampler]:
    """Measure every selected layer: one row per (layer, pass), peak samples, sampler."""
    impls = {}
    for name in args.layers:
        layer = ALL_LAYERS[name]
        x, w, b, dy = layer_data(layer, args.batch)
        group = impls[name] = {"sn": StridenetConv(x, w, b, dy, layer)}
        if torch is not None:
            group["nchw"] = TorchConv(torch, x, w, b, dy, channels_last=False, layer=layer)
            group["nhwc"] = TorchConv(torch, x, w, b, dy, channels_last=True, layer=layer)
            # Guard against timing two different computations.
            y_sn, y_t = group["sn"].output(), group["nchw"].output()
            err = float(np.max(np.abs(y_sn - y_t)) / max(1.0, float(np.max(np.abs(y_t)))))
            if err > 1e-4:
                raise RuntimeError(f"{name}: stridenet and torch outputs differ (rel {err:.2e})")
    times, peak, sampler = measure(impls, args.repeats, args.pause, args.wait_budget)
    rows = []
    for name in args.layers:
        fwd_flops = ALL_LAYERS[name].flops(args.batch)
        for i, (pss, flops) in enumerate((("fwd", fwd_flops), ("bwd", 2 * fwd_flops))):
            rows.append({"layer": name, "pass": pss, "flops": flops,
                         **{k: v[i] for k, v in times[name].items()}})
    return rows, peak, sampler


def with_totals(rows: list[dict]) -> list[dict]:
    """Append one 'total' row per pass: the sum over the selected layers."""
    out = list(rows)
    keys = [k for k in ("sn", "nchw", "nhwc") if k in rows[0]]
    for pss in ("fwd", "bwd"):
        sel = [r for r in rows if r["pass"] == pss]
        if len(sel) > 1:
            out.append({"layer": "total", "pass": pss, "flops": sum(r["flops"] for r in sel),
                        **{k: sum(r[k] for r in sel) for k in keys}})
    return out


def table(rows: list[dict], peak: float, has_torch: bool) -> tuple[list[str], list[list[str]]]:
    """Header and formatted cells."""
    head = ["layer", "pass", "GFLOP", "sn ms", "sn GF/s", "sn %peak"]
    if has_torch:
        head += ["NCHW ms", "NCHW GF/s", "sn/NCHW", "NHWC ms", "NHWC GF/s", "sn/NHWC",
                 "torch best %peak"]
    cells = []
    for r in rows:
        gf = r["flops"] / 1e9
        line = [r["layer"], r["pass"], f"{gf:.2f}", f"{r['sn'] * 1e3:.1f}",
                f"{gf / r['sn']:.1f}", f"{100 * gf / r['sn'] / peak:.0f}%"]
        if has_torch:
            for k in ("nchw", "nhwc"):
                line += [f"{r[k] * 1e3:.1f}", f"{gf / r[k]:.1f}", f"{r['sn'] / r[k]:.2f}x"]
            line.append(f"{100 * gf / min(r['nchw'], r['nhwc']) / peak:.0f}%")
        cells.append(line)
    return head, cells


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--batch", type=int, default=128, help="images per batch (default 128)")
    p.add_argument("--repeats", type=int, default=7, help="timed rounds per layer, after one "
                   "warm-up; medians are reported (default 7)")
    p.add_argument("--layers", nargs="+", choices=list(ALL_LAYERS), default=list(ALL_LAYERS),
                   metavar="LAYER", help=f"subset of {', '.join(ALL_LAYERS)} (default all)")
    p.add_argument("--markdown", action="store_true", help="print a Markdown table")
    p.add_argument("--pause", type=float, default=0.1,
                   help="seconds of idle before each sample (default 0.1)")
    p.add_argument("--wait-budget", type=float, default=None,
                   help="most seconds spent in all waiting for calm and retaking samples "
                   "(default no limit)")
    args = p.parse_args(argv)
    if args.batch < 1 or args.repeats < 1 or args.pause < 0:
        p.error("--batch and --repeats must be positive, --pause not negative")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    torch = import_torch()
    t_start = time.perf_counter()
    rows, peaks, sampler = run(args, torch)
    peak = statistics.median(peaks)
    head, cells = table(with_totals(rows), peak, torch is not None)
    print(f"conv2d, float32, batch {args.batch} (c3d_conv2: {max(1, args.batch // 8)} clips), "
          f"'same' padding, stride 1 (dec_tconv2: 2); median of {args.repeats} rounds after "
          f"1 warm-up; {os.cpu_count()} CPU cores")
    print(f"numpy {np.__version__}, stridenet {sn.__version__}, "
          + (f"torch {torch.__version__} ({torch.get_num_threads()} threads)" if torch
             else "torch not installed: stridenet numbers only"))
    print(f"peak = NumPy float32 2048x2048 matmul: {peak:.1f} GFLOP/s (median of "
          f"{len(peaks)}, range {min(peaks):.0f}..{max(peaks):.0f})")
    print("fwd = forward; bwd = y.backward(dy) -> dx, dw, db (flops counted: dx + dw)"
          + ("; sn/X = stridenet time / torch time (>1: stridenet is slower)" if torch else ""))
    print()
    print(render(head, cells, args.markdown))
    print(f"\n{sampler.retaken} samples retaken (slow spell, or other processes busy), "
          f"{sampler.kept_noisy} kept although noisy; {time.perf_counter() - t_start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
