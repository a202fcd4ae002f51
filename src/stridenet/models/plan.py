"""Inference plans: ``predict``, ``predict_on_batch`` and ``model(x)`` under ``no_grad``
without the tape.

The first call with a given per-image input shape and dtype (and kernel path) runs the
ordinary eager forward pass -- its checks, errors and building included -- and returns its
result; the plan for that key is then compiled (``plan_compile.py``: one step per layer,
batch norms and activations fused into the conv or dense step before them), run once on
the same batch and compared with the eager result (a plan that disagrees is dropped and
that key stays eager, with a warning). Later calls with the key run the plan:

* the batch is cut into chunks of images that fit in cache (about ``CHUNK_BYTES`` of
  buffers and workspace per chunk) and each chunk runs through *all* the conv and pool
  steps on one core, the chunks spread over the cores (``parallel.run_chunks``) -- one
  thread hand-off per call instead of one per layer, and each layer's output read by the
  next while it is still in cache; the dense head then runs on the whole batch. Where
  fewer than ``DEPTH_FIRST_MIN`` images fit such a chunk, the plan runs layer by layer
  instead, each layer's images in chunks over the cores (as the eager kernels do);
* a batch of one image runs on the calling thread, either with BLAS on one thread or with
  BLAS's own threads splitting the products, whichever was faster when measured on the
  plan's first single-image call (3 runs of each, interleaved);
* every buffer is allocated once per worker, for the largest chunk seen, and reused; the
  arrays returned are new on every call (never a buffer the next call overwrites).

A model holds at most ``MAX_PLANS`` plans (least recently used dropped). Plans are off
with ``STRIDENET_INFERENCE_PLAN=0`` in the environment, or ``model.inference_plan =
False``; layers the planner does not know run eagerly inside the plan, and a model with
its own ``call()`` (subclassed) always runs eagerly.
"""

from __future__ import annotations

import collections
import math
import os
import threading
import time
import warnings
import weakref

import numpy as np

from .. import config
from ..autograd import Tensor, no_grad
from ..ops.kernels import backend, parallel, windows
from . import plan_compile as C
from . import plan_steps as S

ENV = "STRIDENET_INFERENCE_PLAN"
MAX_PLANS = 4  # per model: a few input shapes, least recently used dropped
CHUNK_BYTES = 4 << 20  # buffers + workspace of one chunk of images through all layers
# Fewer images than this per chunk (a large per-image working set: the SPEC CNN 3,
# ResNet-20 4, LeNet-5 39): layer by layer instead. Measured at batch 128, 2 workers
# (loaded machine, min of 8-45 interleaved runs): all layers per chunk took 0.7x the
# eager time on LeNet-5 but 1.0-1.25x on the SPEC CNN and ResNet-20.
DEPTH_FIRST_MIN = 8
_EAGER = "eager"  # a key whose plan failed its check: that key runs eagerly
_plans: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def enabled(model) -> bool:
    """Whether ``model`` may run inference plans (``STRIDENET_INFERENCE_PLAN``, default on;
    ``model.inference_plan``, default True)."""
    if not getattr(model, "inference_plan", True):
        return False
    value = os.environ.get(ENV)
    return value is None or value.strip().lower() not in ("0", "false", "off", "no")


def _arrays(inputs):
    """Inputs (array, Tensor, or a list/tuple of them) as float arrays, or None."""
    items = inputs if isinstance(inputs, list | tuple) else [inputs]
    out = []
    for x in items:
        if isinstance(x, Tensor):
            x = x.data
        elif not isinstance(x, np.ndarray):
            return None
        if x.dtype not in (np.float32, np.float64):
            if not (np.issubdtype(x.dtype, np.number) or x.dtype == np.bool_):
                return None
            x = x.astype(config.floatx())
        out.append(x)
    return out


def _structure(model):
    stack = getattr(model, "_stack", None)
    return () if stack is None else tuple(map(id, stack))


def _eager(model, inputs):
    """The ordinary forward pass (checks and building included): Tensor(s)."""
    from ..layers.base import Layer

    with no_grad(), parallel.blas_single_threaded():
        return Layer.__call__(model, inputs, training=False)


def _numpy(out):
    return [o.numpy() for o in out] if isinstance(out, list | tuple) else out.numpy()


def predict_arrays(model, inputs, tensors=False):
    """The model's inference output for ``inputs``: arrays in the structure ``predict``
    returns (``tensors=True``: the Tensor(s) ``model(x)`` returns, a final softmax or
    sigmoid carrying its logits for the losses), from its plan; None when no plan applies
    (the caller runs eagerly). The first call with a key runs eagerly; the second compiles
    the plan (and still returns the eager result it checks the plan against)."""
    if not enabled(model) or not C.plannable(model):
        return None
    xs = _arrays(inputs)
    if xs is None or any(x.ndim == 0 for x in xs):
        return None
    n = xs[0].shape[0]
    if n == 0 or any(x.shape[0] != n for x in xs):
        return None
    key = (tuple((x.shape[1:], x.dtype.char) for x in xs), backend.kernel_mode(),
           _structure(model))
    with _lock:
        table = _plans.get(model)
        if table is None:
            table = _plans[model] = collections.OrderedDict()
        plan = table.get(key)
        if plan is None or plan is _SEEN:
            table[key] = _BUILDING if plan is _SEEN else _SEEN
            while len(table) > MAX_PLANS:
                table.popitem(last=False)
        else:
            table.move_to_end(key)
    if plan is None or plan is _SEEN:  # eager: checks, building, and the plan's reference
        ref = _eager(model, inputs)
        if plan is _SEEN:
            built = _build(model, xs, _numpy(ref))
            with _lock:
                if table.get(key) is _BUILDING:
                    table[key] = built
        return ref if tensors else _numpy(ref)
    if plan is _EAGER or plan is _BUILDING:
        return None
    return plan(xs, tensors)


_SEEN, _BUILDING = "seen", "building"  # a key called once; a plan being compiled


def plans_of(model) -> list:
    """The model's plans, least recently used first (for tests and inspection)."""
    table = _plans.get(model)
    return [] if table is None else [p for p in table.values() if isinstance(p, Plan)]


def _build(model, xs, ref):
    """Compile, run and check the plan for ``xs``; _EAGER when it cannot be trusted."""
    try:
        plan = Plan(model, xs)
        got = plan(xs)
        plan.calls = 0
        if got is None:  # a hooked layer (see Plan.__call__): compile again next time
            return _SEEN
    except Exception as error:  # noqa: BLE001 - the eager path stays correct
        warnings.warn(f"{model.name}: inference plan not used ({type(error).__name__}: "
                      f"{error}); running eagerly", RuntimeWarning, stacklevel=3)
        return _EAGER
    refs, gots = (ref, got) if isinstance(ref, list) else ([ref], [got])
    for r, g in zip(refs, gots):
        scale = float(np.nanmax(np.abs(r))) if r.size else 0.0
        if r.shape != g.shape or r.dtype != g.dtype or not np.allclose(
                g, r, rtol=1e-3, atol=1e-4 * max(1.0, scale), equal_nan=True):
            warnings.warn(f"{model.name}: inference plan disagrees with the eager pass; "
                          f"running eagerly", RuntimeWarning, stacklevel=3)
            return _EAGER
    return plan


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
