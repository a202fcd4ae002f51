"""The steps of an inference plan (``plan.py``): plain NumPy on preallocated buffers.

A step reads the chunk's values of its input slots from ``env`` (arrays with the batch
axis first, n images) and writes its output slot. Steps that compute write into a buffer
(``Step.out``: allocated once per worker for the largest chunk, reused by every later
call, and shared with other steps whose values are dead by then -- see
``plan_compile.assign_buffers``), then run their epilogue in place: bias, a folded batch
norm and the activation, while the chunk is still in cache. No Tensor, no tape, no argument
check: the geometry was fixed when the plan was compiled.

Weights are read from the layers' Variables on every call (``var.data``), so a weight
replaced or edited in place is seen by the next call. What is derived from them is either
recomputed once per call in ``prepare`` (batch-norm scale, O(C)) or, for the Winograd
kernel transform (about 0.4-0.9 ms, too slow for every call), kept with a copy of the
kernel it came from and recomputed whenever the kernel differs from that copy.
"""

from __future__ import annotations

import math

import numpy as np

from ..autograd import Tensor, no_grad
from ..ops.kernels import parallel, winograd
from ..ops.kernels.conv import im2col_matrix
from .plan_epilogue import ACTIVATIONS, Act, BatchNorm, Bias

# -- steps ----------------------------------------------------------------------------------

class Step:
    """inputs: slots read; output: slot written; buf: index of the output buffer (None: the
    step returns a view or an array of its own); epilogue: in-place passes after it."""

    owns_output = True  # the output buffer is the step's own: later passes may run in place
    per_sample = True  # image i of the output depends on image i of the input only

    def __init__(self, inputs, output, shape, dtype):
        self.inputs, self.output = list(inputs), output
        self.shape, self.dtype = tuple(shape), np.dtype(dtype)  # per image
        self.size = int(np.prod(self.shape))
        self.buf = self.pad_buf = None  # buffer indices, set by assign_buffers
        self.epilogue: list = []

    def writes_buffer(self) -> bool:
        """Whether the output goes to a buffer of the plan (else: a view or a new array)."""
        return True

    def padded_input(self):
        """(per-image shape, pads) of a zero-bordered input buffer, or None."""
        return None

    def out(self, bufs, n) -> np.ndarray:
        """The output buffer for n images: (n, *shape), contiguous."""
        return bufs[self.buf][:n * self.size].reshape(n, *self.shape)

    def scratch_per_image(self) -> int:
        """Elements of workspace (``parallel.scratch``) one image needs."""
        return 0

    def prepare(self) -> None:
        for op in self.epilogue:
            op.prepare(self.dtype)

    def finish(self, out) -> None:
        for op in self.epilogue:
            op.apply(out)


class Conv(Step):
    """Conv1D / Conv2D (groups 1), channels last: x (n, [1,] W, C) -> (n, [1,] OW, F).

    The input is copied into the interior of a padded buffer whose border was zeroed when
    it was made (one copy per call, no border writes); Winograd where the conv kernel
    would use it, else im2col and one BLAS product straight into the output."""

    def __init__(self, inputs, output, shape, dtype, layer, in_shape):
        super().__init__(inputs, output, shape, dtype)
        self.layer = layer
        self.rank1 = layer.rank == 1
        in_hw = (1, in_shape[0]) if self.rank1 else tuple(in_shape[:2])
        out_hw = (1, shape[0]) if self.rank1 else tuple(shape[:2])
        self.c, self.f = in_shape[-1], shape[-1]
        kernel = layer.kernel.shape
        self.khw = (1, kernel[0]) if self.rank1 else tuple(kernel[:2])
        self.strides = (1, layer.strides[0]) if self.rank1 else tuple(layer.strides)
        self.dilation = (1, layer.dilation_rate[0]) if self.rank1 else tuple(layer.dilation_rate)
        from ..ops.kernels.geometry import resolve_padding

        pads = resolve_padding(layer.padding, in_hw[-len(layer.kernel_size):],
                               layer.kernel_size, layer.strides, layer.dilation_rate,
                               causal_ok=self.rank1)
        self.pads = ((0, 0), pads[0]) if self.rank1 else tuple(pads)
        self.in_hw, self.out_hw = in_hw, out_hw
        self.wino = winograd.usable(self.khw, self.strides, self.dilation, 1, self.c, self.f,
                                    out_hw)
        (pt, pb), (pl, pr) = self.pads
        if self.wino:  # Winograd reads whole tiles: more zeros bottom/right
            self.tiles, (hp, wp) = winograd.tiles_for(out_hw, self.khw[0])
            pb, pr = hp - in_hw[0] - pt, wp - in_hw[1] - pl
            self.pads = ((pt, pb), (pl, pr))
        self.padded = any(p for pair in self.pads for p in pair)
        self.xp_shape = (in_hw[0] + pt + pb, in_hw[1] + pl + pr, self.c)
        self._u = self._u_src = None
        self.epilogue = ([Bias(layer.bias)] if layer.bias is not None else [])

    def padded_input(self):
        return (self.xp_shape, self.pads) if self.padded else None

    def scratch_per_image(self):
        if self.wino:
            return winograd.workspace_per_image(self.tiles, self.khw[0], self.c, self.f)
        return self.out_hw[0] * self.out_hw[1] * self.khw[0] * self.khw[1] * self.c

    def prepare(self):
        w = self.layer.kernel.data
        if self.rank1:
            w = w[None]  # (1, K, C, F)
        if self.layer.flip_kernel:
            w = w[::-1, ::-1]  # true convolution: the kernel rotated 180 degrees
        w = np.ascontiguousarray(w, dtype=self.dtype)
        if self.wino:
            # the transform costs ~0.5 ms: kept while the kernel equals the copy it came from
            if self._u is None or self._u_src.shape != w.shape or \
                    not np.array_equal(w, self._u_src):
                self._u, self._u_src = winograd.kernel_transform(w), w.copy()
        else:
            self.wm = w.reshape(-1, self.f)  # (KH*KW*C, F)
        super().prepare()

    def run(self, env, bufs, n):
        x = env[self.inputs[0]]
        out = self.out(bufs, n)
        if self.rank1:
            x = x[:, None]  # (n, 1, L, C)
        if self.padded:
            (pt, _), (pl, _) = self.pads
            h, w = self.in_hw
            xp = bufs[self.pad_buf][:n * math.prod(self.xp_shape)].reshape(n, *self.xp_shape)
            xp[:, pt:pt + h, pl:pl + w] = x  # the border stays zero from allocation
        else:
            xp = x.astype(self.dtype, copy=False)
        out4 = out[:, None] if self.rank1 else out  # (n, OH, OW, F)
        rows = self.tiles[0] if self.wino else self.out_hw[0]  # of tiles, or of outputs
        if self.split_rows and n == 1:  # one image's rows shared by the cores
            parallel.run_chunks(lambda worker, r0, r1: self._rows(xp, out4, r0, r1), rows,
                                -(-rows // parallel.num_workers()))
        else:
            self._rows(xp, out4, 0, rows)
        env[self.output] = out

    split_rows = False  # set by the plan where a single image runs faster on all cores
    MIN_SPLIT_MACS = 2_000_000  # smaller convolutions never split (a hand-off costs more)

    def macs(self) -> int:
        """Multiply-adds of one image (the im2col product)."""
        return self.out_hw[0] * self.out_hw[1] * self.khw[0] * self.khw[1] * self.c * self.f

    def _rows(self, xp, out4, r0, r1):
        """Output rows r0..r1 (tile rows with Winograd) of xp: (n, Hp, Wp, C), epilogue
        included, into out4 (n, OH, OW, F)."""
        if self.wino:
            m, r = winograd.OUTPUT_TILE, self.khw[0]
            part = out4[:, r0 * m:r1 * m]
            winograd.forward_into(xp[:, r0 * m:r1 * m + r - 1], self._u, r,
                                  (r1 - r0, self.tiles[1]), part)
        else:
            (sh, _), (dh, _), kh = self.strides, self.dilation, self.khw[0]
            part = out4[:, r0:r1]
            cols = im2col_matrix(xp[:, r0 * sh:(r1 - 1) * sh + (kh - 1) * dh + 1], self.khw,
                                 self.strides, self.dilation, (r1 - r0, self.out_hw[1]))
            np.matmul(cols, self.wm, out=part.reshape(-1, self.f))
        self.finish(part)


class Dense(Step):
    """x (n, ..., I) -> (n, ..., U) = x @ W, then the epilogue (bias, activation)."""

    def __init__(self, inputs, output, shape, dtype, layer):
        super().__init__(inputs, output, shape, dtype)
        self.layer = layer
        self.epilogue = [Bias(layer.bias)] if layer.bias is not None else []

    def prepare(self):
        self.w = self.layer.kernel.data.astype(self.dtype, copy=False)
        super().prepare()

    def run(self, env, bufs, n):
        x = env[self.inputs[0]]
        out = self.out(bufs, n)
        np.matmul(x.reshape(-1, x.shape[-1]), self.w, out=out.reshape(-1, out.shape[-1]))
        self.finish(out)
        env[self.output] = out


class Pool(Step):
    """Max or average pooling 2D, 'valid': one strided slice per window tap, as the NumPy
    kernel does (``kernels/pool.py``); every window is whole, so the count is kh*kw."""

    def __init__(self, inputs, output, shape, dtype, layer):
        super().__init__(inputs, output, shape, dtype)
        (kh, kw), (sh, sw) = layer.pool_size, layer.strides
        oh, ow = shape[:2]
        self.taps = [(slice(None), slice(a, a + sh * (oh - 1) + 1, sh),
                      slice(b, b + sw * (ow - 1) + 1, sw)) for a in range(kh) for b in range(kw)]
        self.is_max = layer.kind == "max"
        self.count = self.dtype.type(kh * kw)
        # 2x2 windows, stride 2: row pairs first, then column pairs (2 passes, not 4)
        self.pairs = (kh, kw) == (sh, sw) == (2, 2)

    def run(self, env, bufs, n):
        x = env[self.inputs[0]]
        out = self.out(bufs, n)
        if self.pairs:
            oh, ow, c = self.shape
            rows = parallel.scratch("plan_pool_rows", (n, oh, 2 * ow, c), self.dtype)
            op = np.maximum if self.is_max else np.add
            op(x[:, 0:2 * oh:2, :2 * ow], x[:, 1:2 * oh:2, :2 * ow], out=rows)
            op(rows[:, :, 0::2], rows[:, :, 1::2], out=out)
            if not self.is_max:
                out /= self.count
            self.finish(out)
            env[self.output] = out
            return
        out[...] = x[self.taps[0]]
        for slc in self.taps[1:]:
            if self.is_max:
                np.maximum(out, x[slc], out=out)
            else:
                out += x[slc]
        if not self.is_max:
            out /= self.count
        self.finish(out)
        env[self.output] = out


class GlobalAverage(Step):
    """Mean over the spatial axes: (n, *S, C) -> (n, C) (or keepdims)."""

    def __init__(self, inputs, output, shape, dtype, layer):
        super().__init__(inputs, output, shape, dtype)
        self.axes = tuple(range(1, layer.rank + 1))
        self.keepdims = bool(layer.keepdims)

    def run(self, env, bufs, n):
        out = self.out(bufs, n)
        np.mean(env[self.inputs[0]], axis=self.axes, keepdims=self.keepdims, out=out)
        self.finish(out)
        env[self.output] = out


class Elementwise(Step):
    """A batch norm or an activation that could not run in place on its producer."""

    def __init__(self, inputs, output, shape, dtype, op):
        super().__init__(inputs, output, shape, dtype)
        self.epilogue = [op]

    def run(self, env, bufs, n):
        out = self.out(bufs, n)
        out[...] = env[self.inputs[0]]
        self.finish(out)
        env[self.output] = out


class Add(Step):
    def run(self, env, bufs, n):
        out = self.out(bufs, n)
        first, *rest = (env[i] for i in self.inputs)
        np.add(first, rest[0], out=out)
        for v in rest[1:]:
            out += v
        self.finish(out)
        env[self.output] = out


class Concatenate(Step):
    def __init__(self, inputs, output, shape, dtype, layer):
        super().__init__(inputs, output, shape, dtype)
        self.axis = layer.axis % (len(shape) + 1)

    def run(self, env, bufs, n):
        out = self.out(bufs, n)
        np.concatenate([env[i] for i in self.inputs], axis=self.axis, out=out)
        self.finish(out)
        env[self.output] = out


class View(Step):
    """Flatten / Reshape: the input seen with another shape (a copy only if it must)."""

    owns_output = False

    def writes_buffer(self):
        return False

    def run(self, env, bufs, n):
        env[self.output] = env[self.inputs[0]].reshape(n, *self.shape)


class Eager(Step):
    """A layer the planner does not know: its own forward pass, under no_grad (the tape is
    off in this thread). ``per_sample`` only for layer kinds known to treat images
    independently; otherwise the plan runs the whole batch as one chunk."""

    owns_output = False

    def __init__(self, inputs, output, shape, dtype, layer, kwargs, per_sample):
        super().__init__(inputs, output, shape, dtype)
        self.layer, self.kwargs, self.per_sample = layer, kwargs, per_sample

    def writes_buffer(self):
        return False

    def run(self, env, bufs, n):
        args = [Tensor._from_array(env[i]) for i in self.inputs]
        with no_grad():
            y = self.layer(args if len(args) > 1 else args[0], training=False, **self.kwargs)
        env[self.output] = np.asarray(y.data if isinstance(y, Tensor) else y)


__all__ = ["ACTIVATIONS", "Act", "Add", "BatchNorm", "Bias", "Concatenate", "Conv", "Dense",
           "Eager", "Elementwise", "GlobalAverage", "Pool", "Step", "View"]
