"""``validation_data`` checked against the model before ``fit`` trains anything.

Without these checks a wrong image size, feature count or target width in the validation
data surfaced only when the first epoch ended, after all its training. Here, before the
first batch: the sample counts agree; each input's shape matches the model's declared
input shape (None: any size); and one validation sample goes through the model and the
loss (no gradient, ``training=False``), which finds what no declared shape can tell --
targets that cannot meet the outputs, or a model that learns its input shape from data.
"""

from __future__ import annotations

from ..autograd import no_grad
from ..ops.kernels.parallel import blas_single_threaded
from . import data_adapter as D
from . import functional as G

WHAT = "validation_data"


def check_shapes(model, x, what: str = WHAT) -> None:
    """Every input of ``x`` against the model's declared shape (rank, and each
    dimension after the batch axis that is not None)."""
    declared = model._declared_input_shapes()
    if not declared:
        return
    arrays = x if isinstance(x, list) else [x]
    for i, (a, expected) in enumerate(zip(arrays, declared)):
        shape = G.adjusted_shape(expected, a.shape)  # (N, 28, 28) fits (None, 28, 28, 1)
        if len(shape) != len(expected) or any(
                e is not None and e != g for e, g in zip(expected[1:], shape[1:])):
            label = f"x[{i}]" if len(arrays) > 1 else "x"
            raise ValueError(f"{what}: {label} has shape {a.shape}; the model expects "
                             f"{tuple(expected)} (None: any size)")


def probe(model, x, y, what: str = WHAT) -> None:
    """One sample of ``(x, y)`` through the model and the loss; any failure is a
    ValueError naming ``what``. Draws no random numbers and updates nothing."""
    first = slice(0, 1)
    try:
        with no_grad(), blas_single_threaded():
            y_pred = model(D.take(x, first), training=False)
            model._loss(y[first], y_pred, None)
    except (ValueError, TypeError, IndexError) as e:
        raise ValueError(f"{what} does not fit the model: {e}") from None


def validation_arrays(model, data, x_train, what: str = WHAT):
    """``validation_data`` -- ``(x, y)`` or ``(x, y, sample_weight)`` of arrays -- as a
    checked triple of arrays, after all of the above. ``x_train`` builds a model that
    learns its input shape from data (one sample, as the first batch would) first."""
    vx, vy, vw = D.unpack_validation(data)
    try:
        vx = D.as_inputs(vx, model._n_inputs(), "x")
        vy, vw = D.as_optional(vy, "y"), D.as_optional(vw, "sample_weight")
        D.check(vx, vy, vw)
    except (ValueError, TypeError) as e:
        raise type(e)(f"{what}: {e}") from None
    check_shapes(model, vx, what)
    if not model.built and x_train is not None:
        with no_grad(), blas_single_threaded():
            model(D.take(x_train, slice(0, 1)), training=False)
    probe(model, vx, vy, what)
    return vx, vy, vw
