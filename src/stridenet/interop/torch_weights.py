"""``load_torch_state_dict``: PyTorch weights onto a stridenet model of the same architecture.

Modules are matched by order: the state dict's entries, grouped by module prefix
("features.0.weight" -> "features.0"), pair up with the model's layers that have
weights, in execution order. Layouts differ (SPEC section 7):

    Conv weight (O, I/g, k1..kr)          -> kernel (k1..kr, I/g, O)   transpose(2.., 1, 0)
    depthwise Conv (C*M, 1, kh, kw)       -> kernel (kh, kw, C, M)
    ConvTranspose weight (I, O/g, k1..kr) -> kernel (k1..kr, O, I)     transpose(2.., 1, 0)
    Linear weight (out, in)               -> kernel (in, out)           transposed
    the first Linear after a Flatten of (N, H, W, C) maps: rows from PyTorch's (C, H, W)
        order to (H, W, C): W.T.reshape(C, H, W, out).transpose(1, 2, 0, 3).reshape(-1, out)
    PReLU weight (1,) or (C,)              -> alpha broadcast over (..., C)
    BatchNorm weight, bias, running_mean, running_var -> gamma, beta, moving_mean,
        moving_variance (num_batches_tracked has no counterpart; PyTorch's epsilon is
        1e-5, Keras's 1e-3: a warning when the layer's differs)

Every pair's shapes are checked before any weight is assigned, so a misfit leaves the
model untouched.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping

import numpy as np

_SKIP = ("num_batches_tracked",)


def _to_numpy(value, key: str) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch.Tensor handed over directly
        value = value.detach().cpu().numpy()
    arr = np.asarray(value)
    if arr.dtype == object:
        raise TypeError(f"state dict entry {key!r} is not a tensor or array "
                        f"({type(value).__name__})")
    return arr


def _natural(key: str) -> list:
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in key.split(".")]


def _read_source(source) -> tuple[dict, str]:
    """(flat name -> array dict, a description for messages)."""
    if isinstance(source, Mapping):
        sd, where = source, "the state dict"  # kept in its own (module) order
    elif isinstance(source, str | os.PathLike):
        path = os.fspath(source)
        where = f"file {path}"
        if path.lower().endswith(".safetensors"):
            try:
                import safetensors.numpy as st
            except ImportError as err:
                raise ImportError('reading .safetensors needs the safetensors package: pip '
                                  'install "stridenet[io]"') from err
            if not os.path.isfile(path):
                raise FileNotFoundError(f"no such safetensors file: {path}")
            try:
                sd = st.load_file(path)
            except Exception as err:  # the library's own errors for a bad header or size
                raise ValueError(f"file {path} is not a readable safetensors file: {err}"
                                 ) from None
            # safetensors keeps no order: sort names with their numbers as numbers
            # ("features.10" after "features.9"), which is nn.Sequential's order
            sd = {k: sd[k] for k in sorted(sd, key=_natural)}
        else:
            from .torch_pickle import read_torch_file

            sd = read_torch_file(path)
    else:
        raise TypeError(f"source must be a state dict or a .pt/.pth/.safetensors path, got "
                        f"{type(source).__name__}")
    for key in ("state_dict", "model_state_dict", "model"):  # common checkpoint layouts
        if isinstance(sd, Mapping) and isinstance(sd.get(key), Mapping):
            sd = sd[key]
            break
    if not isinstance(sd, Mapping):
        raise ValueError(f"{where} does not hold a state dict (a mapping of names to tensors), "
                         f"but a {type(sd).__name__}")
    return {str(k): _to_numpy(v, str(k)) for k, v in sd.items()}, where


def _group(sd: dict) -> list[tuple[str, dict]]:
    """[(module prefix, {param name: array})] in the state dict's order."""
    groups: dict[str, dict] = {}
    for key, arr in sd.items():
        prefix, _, leaf = key.rpartition(".")
        if leaf in _SKIP:
            continue
        groups.setdefault(prefix, {})[leaf] = arr
    return list(groups.items())


def _flow(model, shape=None) -> list:
    """[(layer, input shape)] in execution order, nested models opened."""
    out = []
    if hasattr(model, "_stack"):
        shape = model._input_shape if model._input_shape is not None else shape
        for layer in model.layers:
            if hasattr(layer, "_stack") or getattr(layer, "_functional", False):
                out += _flow(layer, shape)
            else:
                out.append((layer, shape))
            shape = None if shape is None else layer.compute_output_shape(shape)
    elif getattr(model, "_functional", False):
        for node in model._nodes:
            ins = [p.shape for p in node.inputs]
            if hasattr(node.layer, "_stack") or getattr(node.layer, "_functional", False):
                out += _flow(node.layer, ins[0])
            else:
                out.append((node.layer, ins[0] if len(ins) == 1 else ins))
    else:  # subclassed: its layers in creation order, shapes unknown
        out = [(layer, None) for layer in model._all_layers()[1:]]
    return out


def _conv_kernel(w: np.ndarray) -> np.ndarray:
    return w.transpose(*range(2, w.ndim), 1, 0)  # (O, I, k..) -> (k.., I, O)


def _convert(layer, params: dict, flatten_shape, torch_eps) -> list:
    """The layer's weights (stridenet order) made from one PyTorch module's tensors."""
    kind = type(layer).__name__
    p = dict(params)
    w, b = p.pop("weight", None), p.pop("bias", None)
    if kind.startswith("Depthwise"):
        c, m = layer.kernel.shape[-2:]
        k = w.reshape(c, m, *w.shape[2:])  # (C*M, 1, k..) -> (C, M, k..)
        out = [k.transpose(*range(2, k.ndim), 0, 1)]
    elif kind in ("Conv1D", "Conv2D", "Conv3D") or kind.endswith("Transpose"):
        out = [_conv_kernel(w)]
    elif kind == "Dense":
        kernel = w.T  # (in, out)
        if flatten_shape is not None and len(flatten_shape) >= 3:
            *sp, c = flatten_shape[1:]
            units = kernel.shape[1]
            if kernel.shape[0] == c * int(np.prod(sp)):
                k = kernel.reshape(c, *sp, units)  # PyTorch flattened (C, H, W)
                kernel = k.transpose(*range(1, len(sp) + 1), 0, len(sp) + 1).reshape(-1, units)
        out = [kernel]
    elif kind == "BatchNormalization":
        if not np.isclose(layer.epsilon, torch_eps):
            warnings.warn(f"{layer.name}: BatchNormalization epsilon {layer.epsilon:g} differs "
                          f"from PyTorch's {torch_eps:g}; outputs will differ slightly (build "
                          f"the layer with epsilon={torch_eps:g})", stacklevel=4)
        out = [a for a, on in ((w, layer.gamma is not None), (b, layer.beta is not None)) if on]
        out += [p.pop("running_mean", None), p.pop("running_var", None)]
        return out + [p] if p else out
    elif kind == "PReLU":  # PyTorch: one slope, or one per channel (axis 1 of NCHW)
        shape = tuple(layer._own_weights[0].shape)
        fits = w is not None and (w.size == 1 or w.ndim == 1 and w.shape[0] == shape[-1])
        out = [np.broadcast_to(w.reshape(-1), shape).copy() if fits else w]
        return out + [p] if p else out
    elif kind == "LayerNormalization":
        out = [a for a, on in ((w, layer.gamma is not None), (b, layer.beta is not None)) if on]
        return out + [p] if p else out
    else:
        raise ValueError(f"layer {layer.name} ({kind}) has weights but no PyTorch mapping")
    if getattr(layer, "use_bias", True) and b is not None:
        out.append(b)
    return out + [p] if p else out


def load_torch_state_dict(model, source, strict=True, torch_epsilon=1e-5):
    """Set ``model``'s weights from a PyTorch state dict (or .pt/.pth/.safetensors file).

    Returns [(PyTorch module prefix, stridenet layer name)] as they were paired.
    """
    sd, where = _read_source(source)
    groups = _group(sd)
    flow, flat = [], None
    for layer, shape in _flow(model):
        if type(layer).__name__ == "Flatten":
            flat = shape
        elif layer._own_weights:
            flow.append((layer, flat if type(layer).__name__ == "Dense" else None))
            if type(layer).__name__ == "Dense":
                flat = None
    if len(groups) != len(flow) and (strict or len(groups) < len(flow)):
        raise ValueError(f"{where} has {len(groups)} modules with weights "
                         f"({[g for g, _ in groups]}) but model {model.name!r} has "
                         f"{len(flow)} layers with weights ({[l.name for l, _ in flow]})")
    plan = []
    for (prefix, params), (layer, flat_shape) in zip(groups, flow):
        shapes = ", ".join(f"{k} {tuple(v.shape)}" for k, v in params.items())
        desc = f"PyTorch {prefix!r} ({shapes})"
        values = _convert(layer, params, flat_shape, torch_epsilon)
        if values and isinstance(values[-1], dict):
            raise ValueError(f"{desc} has tensors {sorted(values[-1])} that stridenet layer "
                             f"{layer.name!r} ({type(layer).__name__}) has no place for")
        own = layer._own_weights
        ok = len(values) == len(own) and all(
            v is not None and tuple(v.shape) == tuple(var.shape) for v, var in zip(values, own))
        if not ok:
            got = [None if v is None else tuple(v.shape) for v in values]
            raise ValueError(f"{desc} does not fit stridenet layer {layer.name!r} "
                             f"({type(layer).__name__}, weights "
                             f"{[(var.name, var.shape) for var in own]}); converted shapes "
                             f"{got}")
        plan.append((prefix, layer, values))
    for _, layer, values in plan:
        for var, v in zip(layer._own_weights, values):
            var.assign(np.asarray(v, dtype=var.data.dtype))
    return [(prefix, layer.name) for prefix, layer, _ in plan]
