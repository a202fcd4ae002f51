"""Running a compiled inference plan (see ``plan.py``): chunks, buffers, and the ways a
batch is spread over the cores."""

from __future__ import annotations

import math
import threading
import time

import numpy as np

from ..autograd import Tensor
from ..ops.kernels import parallel, windows
from . import plan_compile as C
from . import plan_steps as S

CHUNK_BYTES = 4 << 20  # buffers + workspace of one chunk of images through all layers
# Fewer images than this per chunk (a large per-image working set: the SPEC CNN 3,
# ResNet-20 4, LeNet-5 39): layer by layer instead. Measured at batch 128, 2 workers
# (loaded machine, min of 8-45 interleaved runs): all layers per chunk took 0.7x the
# eager time on LeNet-5 but 1.0-1.25x on the SPEC CNN and ResNet-20.
DEPTH_FIRST_MIN = 8


class Plan:
    """The compiled steps for one per-image input shape and dtype of one model."""

    def __init__(self, model, xs):
        nodes, n_inputs, outputs = C.graph(model)
        self.layers = list({id(node.layer): node.layer for node in nodes}.values())
        self.in_shapes = C.input_shapes(model, [x.shape for x in xs])
        first = [x[:1].reshape(1, *s) for x, s in zip(xs, self.in_shapes)]
        info = C.trace(nodes, n_inputs, first)
        self.steps, where = C.compile_steps(nodes, info, outputs)
        self.out_specs = [info[o] for o in outputs]
        self.out_slots, self.logits = C.split_logits(self.steps,
                                                     [where.get(o, o) for o in outputs], info)
        self.single = not isinstance(getattr(model, "_nested_outputs", None), list | tuple)
        self.nslots = max(info) + 1  # after split_logits added its slots
        keep = set(self.out_slots) | {slot for _, slot in self.logits.values()}
        self.chunked = all(step.per_sample for step in self.steps)
        # The dense head (and what follows the last conv or pool) runs on the whole batch
        # after the chunks: one product per layer instead of one per chunk, each of which
        # would read the whole weight matrix again (SPEC: 1.6 MB per chunk of a few images)
        self.split = len(self.steps)
        while self.split and isinstance(self.steps[self.split - 1], TAIL):
            self.split -= 1
        head, tail = self.steps[:self.split], self.steps[self.split:]
        produced = {st.output for st in head}
        needed = {i for st in tail for i in st.inputs} | set(self.out_slots) | \
            {slot for _, slot in self.logits.values()}
        self.carry = sorted(produced & needed)  # values the tail reads from the chunks
        self.carry_specs = [info[slot] for slot in self.carry]
        self.specs = C.assign_buffers(self.steps, keep | set(self.carry))
        per_image = sum(self.specs[i][0] * self.specs[i][1].itemsize
                        for i in {i for st in head for i in _buffer_ids(st)})
        per_image += max([st.scratch_per_image() * st.dtype.itemsize for st in head] or [0])
        self.chunk_cap = max(1, CHUNK_BYTES // max(1, per_image))
        self.one_image_mode = None  # "blas threads" or "one thread", measured on first use
        self._bufs = {}
        self._busy = threading.Lock()
        self.calls = 0  # runs so far (tests check that the plan ran)

    def __call__(self, xs, tensors=False):
        # A layer whose ``call`` was replaced on the instance (a hook: viz's filter
        # captures, a user's probe) expects to be called: this call runs eagerly
        if any("call" in layer.__dict__ for layer in self.layers):
            return None
        if not self._busy.acquire(blocking=False):  # another thread is running this plan
            return None
        try:
            outs = self._run(xs, tensors)
            self.calls += 1
        finally:
            self._busy.release()
        if tensors:
            n = len(self.out_specs)
            found = outs[n:]
            outs = [Tensor._from_array(o) for o in outs[:n]]
            for (k, (kind, _)), logits in zip(self.logits.items(), found):
                outs[k]._logits = (kind, Tensor._from_array(logits),
                                   outs[k].ndim - 1 if kind == "softmax" else None)
        return outs[0] if self.single else outs

    def _run(self, xs, logits=False):
        """-> the outputs (new arrays), then (``logits``) the logits behind them."""
        n = xs[0].shape[0]
        xs = [x if x.shape[1:] == s else x.reshape(n, *s) for x, s in zip(xs, self.in_shapes)]
        for step in self.steps:
            step.prepare()
        specs, slots = self.out_specs, self.out_slots
        if logits:
            slots = slots + [slot for _, slot in self.logits.values()]
            specs = specs + [specs[k] for k in self.logits]
        outs = [np.empty((n, *shape), dtype) for shape, dtype in specs]
        self._slots = slots
        if n == 1 or not self.chunked or not self.split:
            self._whole(xs, outs, n)
            return outs
        if self.chunk_cap < DEPTH_FIRST_MIN:
            self._layerwise(xs, outs, n)
            return outs
        workers = parallel.num_workers()
        chunks = -(-n // self.chunk_cap)
        chunks = -(-chunks // workers) * workers  # a multiple of the workers: even shares
        step = -(-n // chunks)
        carry = [np.empty((n, *shape), dtype) for shape, dtype in self.carry_specs]
        head, tail = self.steps[:self.split], self.steps[self.split:]
        with parallel.blas_single_threaded():  # the chunks share the cores, not BLAS
            parallel.run_chunks(lambda worker, n0, n1: self._chunk(
                worker, n0, n1, xs, carry, head, self.carry), n, step)
            if tail:
                given = dict(zip(self.carry, carry))
                self._chunk("tail", 0, n, xs, outs, tail, self._slots, given)
            else:
                for out, slot in zip(outs, self._slots):
                    out[...] = carry[self.carry.index(slot)]
        return outs

    def _layerwise(self, xs, outs, n):
        """Layer by layer over the whole batch, each step's images cut into chunks of
        about ``windows.CHUNK_BYTES`` spread over the workers (as the eager kernels do, but
        without the tape, into reused buffers, with the epilogues fused)."""
        bufs = self._buffers("layers", n, self.steps)
        env = [None] * self.nslots
        for i, x in enumerate(xs):
            env[i] = x
        workers = parallel.num_workers()
        with parallel.blas_single_threaded():
            for st in self.steps:
                if not st.writes_buffer():  # a view, or a layer's own forward pass
                    st.run(env, bufs, n)
                    continue
                per_image = (st.size + st.scratch_per_image()) * st.dtype.itemsize
                chunks = -(-n // max(1, windows.CHUNK_BYTES // per_image))
                chunks = -(-chunks // workers) * workers

                def chunk(worker, n0, n1, st=st):
                    env_c, bufs_c = list(env), list(bufs)
                    for i in st.inputs:
                        env_c[i] = env[i][n0:n1]
                    bufs_c[st.buf] = bufs[st.buf][n0 * st.size:n1 * st.size]
                    if st.pad_buf is not None:
                        size = math.prod(st.padded_input()[0])
                        bufs_c[st.pad_buf] = bufs[st.pad_buf][n0 * size:n1 * size]
                    st.run(env_c, bufs_c, n1 - n0)

                parallel.run_chunks(chunk, n, -(-n // chunks))
                env[st.output] = st.out(bufs, n)
        for out, slot in zip(outs, self._slots):
            out[...] = env[slot]

    def _whole(self, xs, outs, n):
        """The batch as one chunk on this thread: BLAS on one thread, on its own threads,
        or the rows of the large convolutions split over the cores (one image), as
        measured on the first call (3 runs of each, interleaved)."""
        mode = self.one_image_mode
        if mode is None:
            mode = self.one_image_mode = self._measure(xs, outs, n)
        self._whole_as(mode, xs, outs, n)

    def _whole_as(self, mode, xs, outs, n):
        big = [st for st in self.steps if isinstance(st, S.Conv)
               and st.macs() >= S.Conv.MIN_SPLIT_MACS]
        for st in big:
            st.split_rows = mode == "split rows"
        if mode == "blas threads":
            self._chunk(0, 0, n, xs, outs, self.steps, self._slots)
        else:
            with parallel.blas_single_threaded():
                self._chunk(0, 0, n, xs, outs, self.steps, self._slots)

    def _measure(self, xs, outs, n) -> str:
        best = {"one thread": math.inf, "blas threads": math.inf}
        if n == 1 and parallel.num_workers() > 1 and any(
                isinstance(st, S.Conv) and st.macs() >= S.Conv.MIN_SPLIT_MACS
                for st in self.steps):
            best["split rows"] = math.inf
        for _ in range(3):
            for mode in best:
                start = time.perf_counter()
                self._whole_as(mode, xs, outs, n)
                best[mode] = min(best[mode], time.perf_counter() - start)
        return min(best, key=best.get)

    def _buffers(self, worker, n, steps):
        """This worker's buffers for chunks of up to n images (those ``steps`` use; the
        others None), made on first use and again, larger, for a larger chunk."""
        key = (worker, steps[0].output, len(steps))
        have = self._bufs.get(key)
        if have is None or have[0] < n:
            cap = max(n, have[0] if have else 0)
            bufs = [None] * len(self.specs)
            for i in {i for st in steps for i in _buffer_ids(st)}:
                size, dtype, fill = self.specs[i]
                bufs[i] = np.empty(cap * size, dtype) if fill is None else \
                    np.full(cap * size, fill, dtype)
            have = self._bufs[key] = (cap, bufs)
        return have[1]

    def _chunk(self, worker, n0, n1, xs, outs, steps, slots, given=None):
        """Images n0..n1 through ``steps``; the values of ``slots`` go to ``outs[k][n0:n1]``.
        ``given``: {slot: whole-batch array} computed by an earlier phase."""
        n = n1 - n0
        bufs = self._buffers(worker, n, steps)
        env = [None] * self.nslots
        for i, x in enumerate(xs):
            env[i] = x[n0:n1]
        for slot, value in (given or {}).items():
            env[slot] = value[n0:n1]
        for step in steps:
            step.run(env, bufs, n)
        for out, slot in zip(outs, slots):
            out[n0:n1] = env[slot]


def _buffer_ids(step) -> list:
    return [i for i in (step.buf, step.pad_buf) if i is not None]


TAIL = (S.Dense, S.View, S.Elementwise, S.GlobalAverage, S.Add, S.Concatenate)
