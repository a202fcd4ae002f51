"""Utilities: seeding for reproducible runs, label encoding (to_categorical), normalize
and plot_model, with Keras 3 names and arguments."""

from __future__ import annotations

from .seeding import set_global_seed


def set_random_seed(seed: int) -> None:
    """Seed every random choice stridenet makes (weights, shuffling, dropout, augmentation).

    The same seed gives the same weights and the same training run, bit for bit.
    """
    set_global_seed(seed)


def load_torch_state_dict(model, source, strict=True, torch_epsilon=1e-5):
    """Set ``model``'s weights from PyTorch ones, matched by layer order.

    ``source``: a state dict, or a ``.pt``/``.pth`` file (read without torch and without
    running code from it) or a ``.safetensors`` file. Conv kernels OIHW -> HWIO, Linear
    transposed, the first Dense after a Flatten reordered from (C, H, W) to (H, W, C);
    shapes are checked before anything is assigned. Returns the (module, layer) pairs.
    """
    from .interop import load_torch_state_dict as _load

    return _load(model, source, strict=strict, torch_epsilon=torch_epsilon)


def to_categorical(x, num_classes=None):
    """Class indices -> one-hot rows, as Keras: x of shape S (a trailing axis of size 1 is
    dropped) -> S + (num_classes,), float32 ones and zeros.

    ``num_classes`` defaults to max(x) + 1. Indices must be non-negative integers below it.
    """
    import numpy as np

    from .config import floatx

    arr = np.asarray(x)
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
            raise ValueError("to_categorical: x must hold integer class indices, got "
                             "non-integer floats")
    elif arr.dtype.kind not in "iub":
        raise ValueError(f"to_categorical: x must hold integer class indices, got dtype "
                         f"{arr.dtype}")
    labels = arr.astype(np.int64)
    shape = labels.shape
    if len(shape) > 1 and shape[-1] == 1:
        shape = shape[:-1]  # (N, 1) labels, as Keras: one-hot (N, C), not (N, 1, C)
    flat = labels.reshape(-1)
    if num_classes is None:
        if flat.size == 0:
            raise ValueError("to_categorical: give num_classes for an empty x")
        num_classes = int(flat.max()) + 1
    if isinstance(num_classes, bool) or not isinstance(num_classes, int | np.integer) or \
            num_classes <= 0:
        raise ValueError(f"to_categorical: num_classes must be a positive int, got "
                         f"{num_classes!r}")
    if flat.size and (flat.min() < 0 or flat.max() >= num_classes):
        raise ValueError(f"to_categorical: class indices must lie in [0, {num_classes}), got "
                         f"values from {flat.min()} to {flat.max()}")
    out = np.zeros((flat.size, int(num_classes)), dtype=floatx())
    out[np.arange(flat.size), flat] = 1
    return out.reshape(*shape, int(num_classes))  # S + (C,)


def normalize(x, axis=-1, order=2):
    """x divided by its ``order``-norm along ``axis`` (Keras): rows of norm 0 stay 0.

    Returns a float array of x's shape (float64 stays float64, other input float32).
    """
    import numpy as np

    from .config import floatx

    arr = np.asarray(x.numpy() if hasattr(x, "numpy") else x)
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"normalize: x must hold real numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64 if arr.dtype == np.float64 else floatx())
    if arr.ndim == 0 or not -arr.ndim <= axis < arr.ndim:
        raise ValueError(f"normalize: axis {axis} is out of range for x of shape {arr.shape}")
    if isinstance(order, bool) or not isinstance(order, int | float) or order < 1:
        raise ValueError(f"normalize: order must be a number >= 1, got {order!r}")
    norm = np.linalg.norm(arr, ord=order, axis=axis, keepdims=True)
    return arr / np.where(norm == 0, 1, norm)


def plot_model(model, to_file="model.png", show_shapes=False, show_dtype=False,
               show_layer_names=False, rankdir="TB", expand_nested=False, dpi=200,
               show_layer_activations=False, show_trainable=False, **kwargs):
    """Draw the model's layer graph to ``to_file`` with matplotlib (Keras 3 arguments; no
    pydot or graphviz needed). Returns the matplotlib Figure. See
    ``stridenet.viz.model_graph.plot_model``."""
    from .viz.model_graph import plot_model as _plot

    return _plot(model, to_file=to_file, show_shapes=show_shapes, show_dtype=show_dtype,
                 show_layer_names=show_layer_names, rankdir=rankdir,
                 expand_nested=expand_nested, dpi=dpi,
                 show_layer_activations=show_layer_activations,
                 show_trainable=show_trainable, **kwargs)
