"""Losses with Keras argument order ``(y_true, y_pred)``; ``y_true`` is a constant.

Each cross-entropy is one fused Function (per-sample loss, reduction and gradient);
the logits paths are log-softmax / log-sigmoid + negative log-likelihood and stay
finite at logits of 1e4. Probability paths clip to [1e-7, 1 - 1e-7] as Keras does
(categorical ones first renormalise each row to sum to 1, also as Keras does).

``reduction``: "mean" (Keras "sum_over_batch_size"), "sum" or "none" (per-sample
losses: y_pred's shape without the class axis; binary cross-entropy and MSE average
over the last axis per sample, as Keras does).
"""

from __future__ import annotations

import numpy as np

from ..autograd import Function, Tensor
from ._checks import finite_number, float_input
from .kernels import softmax_xent as X

_REDUCTIONS = ("mean", "sum", "none")


class CategoricalXentFunction(Function):
    """Cross-entropy over class ``axis``; ``target``: labels or distributions (a constant)."""

    @staticmethod
    def forward(ctx, y_pred, target, axis, from_logits, reduction):
        z = np.moveaxis(y_pred, axis, -1)  # (..., C)
        batch = z.shape[:-1]
        z2 = z.reshape(-1, z.shape[-1])  # (M, C)
        t2 = target.reshape(-1) if target.ndim == len(batch) else target.reshape(z2.shape)
        kernel = X.softmax_xent_forward if from_logits else X.prob_xent_forward
        loss, cache = kernel(z2, t2)
        ctx.cache, ctx.batch, ctx.zshape = cache, batch, z.shape
        ctx.axis, ctx.from_logits, ctx.reduction = axis, from_logits, reduction
        return X.reduce_forward(loss.reshape(batch), reduction)

    @staticmethod
    def backward(ctx, dy):
        if not ctx.needs_input_grad[0]:
            return None
        dloss = X.reduce_backward(dy, ctx.batch, ctx.reduction, dy.dtype).reshape(-1)  # (M,)
        kernel = X.softmax_xent_backward if ctx.from_logits else X.prob_xent_backward
        dz = kernel(dloss, ctx.cache).reshape(ctx.zshape)  # (..., C)
        return np.moveaxis(dz, -1, ctx.axis)


class BinaryXentFunction(Function):
    """Elementwise binary cross-entropy averaged over the last axis, then reduced."""

    @staticmethod
    def forward(ctx, y_pred, target, from_logits, reduction):
        kernel = X.sigmoid_xent_forward if from_logits else X.prob_bce_forward
        elem, ctx.cache = kernel(y_pred, target)
        per = elem.mean(axis=-1) if y_pred.ndim else elem
        ctx.shape, ctx.reduction, ctx.from_logits = y_pred.shape, reduction, from_logits
        return X.reduce_forward(per, reduction)

    @staticmethod
    def backward(ctx, dy):
        if not ctx.needs_input_grad[0]:
            return None
        shape = ctx.shape
        per_shape = shape[:-1] if shape else ()
        dper = X.reduce_backward(dy, per_shape, ctx.reduction, dy.dtype)
        if shape:
            dper = dper[..., None] / dy.dtype.type(shape[-1])  # mean over the last axis
        kernel = X.sigmoid_xent_backward if ctx.from_logits else X.prob_bce_backward
        return kernel(np.broadcast_to(dper, shape), ctx.cache)


def _reduction(reduction, op):
    if reduction == "sum_over_batch_size":
        return "mean"
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    return reduction


def _target(y_true, op):
    """y_true as a plain ndarray (a constant: never differentiated)."""
    arr = y_true.data if isinstance(y_true, Tensor) else y_true
    try:
        arr = np.asarray(arr)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{op}: y_true could not be read as an array: {e}") from None
    if arr.dtype == np.bool_:
        arr = arr.astype(np.int64)
    if not np.issubdtype(arr.dtype, np.integer) and not np.issubdtype(arr.dtype, np.floating):
        raise TypeError(f"{op}: y_true must hold real numbers, got dtype {arr.dtype}")
    return arr


def _class_axis(axis, y_pred, op):
    if not isinstance(axis, int | np.integer) or isinstance(axis, bool):
        raise TypeError(f"{op}: axis must be an int, got {axis!r}")
    if y_pred.ndim == 0 or not -y_pred.ndim <= axis < y_pred.ndim:
        raise ValueError(f"{op}: axis {axis} is out of range for y_pred of shape "
                         f"{tuple(y_pred.shape)}")
    axis = int(axis) % y_pred.ndim
    if y_pred.shape[axis] == 0:
        raise ValueError(f"{op}: y_pred has no classes: shape {tuple(y_pred.shape)}")
    return axis


def _same_shape(target, y_pred, op):
    """Keras's rank fix-up: a trailing axis of size 1 on either side is squeezed or added."""
    ps = tuple(y_pred.shape)
    if target.ndim == len(ps) - 1 and ps and ps[-1] == 1:
        target = target[..., None]
    elif target.ndim == len(ps) + 1 and target.shape[-1] == 1:
        target = target[..., 0]
    if target.shape != ps:
        raise ValueError(f"{op}: y_true shape {target.shape} does not match y_pred shape {ps}")
    return target


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, axis=-1,
                                    reduction="mean"):
    """Cross-entropy of integer labels. y_true: batch shape (y_pred's shape without ``axis``),
    ints in [0, C); y_pred: (..., C) probabilities or logits -> reduced loss."""
    op = "sparse_categorical_crossentropy"
    reduction = _reduction(reduction, op)
    y_pred = float_input(y_pred, "y_pred", op)
    axis = _class_axis(axis, y_pred, op)
    labels = _target(y_true, op)
    batch = tuple(s for i, s in enumerate(y_pred.shape) if i != axis)
    if labels.shape != batch and labels.ndim == y_pred.ndim and labels.shape[-1] == 1:
        labels = labels[..., 0]  # (N, 1) labels, as Keras accepts
    if labels.shape != batch:
        raise ValueError(f"{op}: y_true shape {labels.shape} must equal y_pred's shape "
                         f"{tuple(y_pred.shape)} without the class axis {axis}: {batch}")
    c = y_pred.shape[axis]
    if np.issubdtype(labels.dtype, np.floating):
        if not np.all(np.isfinite(labels)) or np.any(labels != np.round(labels)):
            raise ValueError(f"{op}: y_true must hold integer class labels, got non-integral "
                             f"values such as {labels[labels != np.round(labels)][:3]}")
    if labels.size and (labels.min() < 0 or labels.max() >= c):
        raise ValueError(f"{op}: labels must be in [0, {c}) for y_pred {tuple(y_pred.shape)}, "
                         f"got values in [{labels.min()}, {labels.max()}]")
    labels = labels.astype(np.intp, copy=False)
    return CategoricalXentFunction.apply(y_pred, target=labels, axis=axis,
                                         from_logits=bool(from_logits), reduction=reduction)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1,
                             reduction="mean"):
    """Cross-entropy of target distributions (one-hot or soft) y_true, same shape as y_pred.

    ``label_smoothing`` s mixes the targets with the uniform distribution:
    t * (1 - s) + s / C.
    """
    op = "categorical_crossentropy"
    reduction = _reduction(reduction, op)
    y_pred = float_input(y_pred, "y_pred", op)
    axis = _class_axis(axis, y_pred, op)
    smoothing = finite_number(label_smoothing, "label_smoothing", op, lo=0.0, hi=1.0)
    target = _target(y_true, op)
    if target.shape != tuple(y_pred.shape):
        raise ValueError(f"{op}: y_true shape {target.shape} does not match y_pred shape "
                         f"{tuple(y_pred.shape)}")
    target = np.moveaxis(target.astype(y_pred.dtype), axis, -1)  # classes last, like z
    if smoothing:
        target = target * (1 - smoothing) + smoothing / y_pred.shape[axis]
    return CategoricalXentFunction.apply(y_pred, target=target, axis=axis,
                                         from_logits=bool(from_logits), reduction=reduction)


def binary_crossentropy(y_true, y_pred, from_logits=False, reduction="mean",
                        label_smoothing=0.0):
    """Binary cross-entropy, elementwise, averaged over the last axis per sample.

    y_true: targets in [0, 1], y_pred: probabilities or logits, same shape (a trailing
    axis of size 1 on one side is fixed up, as Keras does). ``label_smoothing`` s moves
    targets towards 1/2: t * (1 - s) + s / 2.
    """
    op = "binary_crossentropy"
    reduction = _reduction(reduction, op)
    y_pred = float_input(y_pred, "y_pred", op)
    smoothing = finite_number(label_smoothing, "label_smoothing", op, lo=0.0, hi=1.0)
    target = _same_shape(_target(y_true, op), y_pred, op).astype(y_pred.dtype)
    if smoothing:
        target = target * (1 - smoothing) + 0.5 * smoothing
    return BinaryXentFunction.apply(y_pred, target=target, from_logits=bool(from_logits),
                                    reduction=reduction)


def mean_squared_error(y_true, y_pred, reduction="mean"):
    """mean((y_pred - y_true)^2) over the last axis per sample, then reduced.

    Cheap elementwise math, so composed from autograd primitives.
    """
    op = "mean_squared_error"
    reduction = _reduction(reduction, op)
    y_pred = float_input(y_pred, "y_pred", op)
    target = _same_shape(_target(y_true, op), y_pred, op).astype(y_pred.dtype)
    if not isinstance(y_pred, Tensor):
        y_pred = Tensor._from_array(y_pred)
    diff = y_pred - target
    per = (diff * diff).mean(axis=-1) if y_pred.ndim else diff * diff
    if reduction == "none":
        return per
    return per.sum() if reduction == "sum" else per.mean()
