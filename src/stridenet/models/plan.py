"""Inference plans: ``predict``, ``predict_on_batch`` and ``model(x)`` under ``no_grad``
without the tape.

The first call with a given per-image input shape and dtype (and kernel path) runs the
ordinary eager forward pass -- its checks, errors and building included -- and returns its
result. The second call does the same, then compiles the plan for that key
(``plan_compile.py``: one step per layer, batch norms and activations fused into the conv
or dense step before them), runs it on the same batch and compares it with the eager
result (a plan that disagrees is dropped and that key stays eager, with a warning).
Later calls with the key run the plan (``plan_runtime.py``):

* the batch is cut into chunks of images that fit in cache (about ``CHUNK_BYTES`` of
  buffers and workspace per chunk) and each chunk runs through *all* the conv and pool
  steps on one core, the chunks spread over the cores (``parallel.run_chunks``) -- one
  thread hand-off per call instead of one per layer, and each layer's output read by the
  next while it is still in cache; the dense head then runs on the whole batch. Where
  fewer than ``DEPTH_FIRST_MIN`` images fit such a chunk, the plan runs layer by layer
  instead, each layer's images in chunks over the cores (as the eager kernels do);
* a batch of one image runs on the calling thread with BLAS on one thread, or on BLAS's
  own threads, or with the rows of each large convolution split over the cores,
  whichever was fastest when measured on the plan's first single-image call (3 runs of
  each, interleaved);
* every buffer is allocated once per worker, for the largest chunk seen, and reused; the
  arrays returned are new on every call (never a buffer the next call overwrites).

A model holds at most ``MAX_PLANS`` plans (least recently used dropped). Plans are off
with ``STRIDENET_INFERENCE_PLAN=0`` in the environment, or ``model.inference_plan =
False``; layers the planner does not know run eagerly inside the plan, and a model with
its own ``call()`` (subclassed) always runs eagerly.
"""

from __future__ import annotations

import collections
import os
import threading
import warnings
import weakref

import numpy as np

from .. import config
from ..autograd import Tensor, no_grad
from ..ops.kernels import backend, parallel
from . import plan_compile as C
from .plan_runtime import CHUNK_BYTES, DEPTH_FIRST_MIN, Plan

ENV = "STRIDENET_INFERENCE_PLAN"
MAX_PLANS = 4  # per model: a few input shapes, least recently used dropped
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


__all__ = ["CHUNK_BYTES", "DEPTH_FIRST_MIN", "ENV", "MAX_PLANS", "Plan", "enabled", "plans_of",
           "predict_arrays"]
