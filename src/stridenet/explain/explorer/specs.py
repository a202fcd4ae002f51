"""What the page needs to explain one layer: its geometry and its weights, as plain data.

``layer_spec(node, nodes, add)`` returns a JSON-ready dict; ``add(array)`` stores an array
in the page's number blob and returns its reference. Numbers are the layer's own weights
(kernels as the conv kernel applies them, i.e. rotated when ``flip_kernel``); the page
recomputes a cell from them and shows it next to the model's value. A layer the page
cannot explain gets ``{"type": "opaque"}`` and a note: its output is still drawn.
"""

from __future__ import annotations

import numpy as np

from ...ops.kernels.geometry import resolve_padding

ACTIVATIONS = ("linear", "relu", "tanh", "sigmoid", "softmax", "elu", "selu", "softplus",
               "softsign", "swish", "silu", "gelu", "relu6", "leaky_relu", "exponential",
               "hard_sigmoid")
DENSE_TOP = 8  # contributing terms kept per dense output


def activation_name(fn) -> str:
    from ... import activations

    try:
        name = activations.serialize(fn)
    except (TypeError, ValueError):
        return "unknown"
    return name if isinstance(name, str) else "unknown"


def _hw(shape) -> tuple:
    """A per-image (H, W, C) or (L, C) shape -> (H, W); 1D maps are one row."""
    return (1, shape[0]) if len(shape) == 2 else tuple(shape[:2])


def _weight(v) -> np.ndarray:
    return np.asarray(v.numpy() if hasattr(v, "numpy") else v)


def conv_spec(layer, in_shape, add) -> dict:
    rank = 1 if len(in_shape) == 2 else 2
    kernel = _weight(layer.kernel)
    if type(layer).__name__ == "DepthwiseConv2D":
        kh, kw, c, m = kernel.shape
        kernel = kernel.reshape(kh, kw, 1, c * m)  # as the layer runs it: groups = C
        groups, flip = c, False
        ksize, strides, dil = kernel.shape[:2], layer.strides, layer.dilation_rate
    else:
        groups, flip = layer.groups, bool(layer.flip_kernel)
        ksize, strides, dil = layer.kernel_size, layer.strides, layer.dilation_rate
        if rank == 1:
            kernel = kernel[None]  # (K, Cg, F) -> (1, K, Cg, F)
    if rank == 1:
        ksize, strides, dil = (1, *ksize), (1, *strides), (1, *dil)
        (pads,) = resolve_padding(layer.padding, in_shape[:1], ksize[1:], strides[1:],
                                  dil[1:], causal_ok=True)
        pads = ((0, 0), pads)
    else:
        pads = resolve_padding(layer.padding, in_shape[:2], ksize, strides, dil)
    if flip:
        kernel = kernel[::-1, ::-1]  # the kernel the window meets: rotated 180 degrees
    kh, kw, cg, f = kernel.shape
    bias = getattr(layer, "bias", None)
    return {"type": "conv", "kh": kh, "kw": kw, "cg": cg, "f": f, "groups": groups,
            "sh": strides[0], "sw": strides[1], "dh": dil[0], "dw": dil[1],
            "pt": pads[0][0], "pl": pads[1][0], "flip": flip, "rank": rank,
            "act": activation_name(layer.activation),
            "kernel": add(kernel), "bias": None if bias is None else add(_weight(bias))}


def pool_spec(layer, in_shape) -> dict:
    rank = layer.rank
    pool, strides = tuple(layer.pool_size), tuple(layer.strides)
    sizes = in_shape[:rank]
    pads = resolve_padding(layer.padding, sizes, pool, strides, (1,) * rank,
                           causal_ok=rank == 1)
    if rank == 1:
        pool, strides, pads = (1, *pool), (1, *strides), ((0, 0), *pads)
    return {"type": "pool", "kind": layer.kind, "kh": pool[0], "kw": pool[1],
            "sh": strides[0], "sw": strides[1], "pt": pads[0][0], "pl": pads[1][0]}


def bn_spec(layer, add) -> dict | None:
    if layer.axis not in (-1,):
        return None
    c = _weight(layer.moving_mean).shape[0]
    gamma = np.ones(c, np.float32) if layer.gamma is None else _weight(layer.gamma)
    beta = np.zeros(c, np.float32) if layer.beta is None else _weight(layer.beta)
    return {"type": "bn", "eps": float(layer.epsilon), "gamma": add(gamma), "beta": add(beta),
            "mean": add(_weight(layer.moving_mean)), "var": add(_weight(layer.moving_variance))}


def dense_spec(node, x, add) -> dict:
    """x: (N, D) the dense input. Per image and output unit: the DENSE_TOP largest |w*x|
    terms (input index, weight, value), the sum of the other terms, and z = x @ W + b."""
    layer = node.layer
    w = _weight(layer.kernel)  # (D, U)
    b = None if layer.bias is None else _weight(layer.bias)
    n, d = x.shape
    u = w.shape[1]
    k = min(DENSE_TOP, d)
    terms = np.empty((n, u, k, 3))  # index, weight, value of the largest |w*x| terms
    rest = np.empty((n, u))  # the sum of the other terms
    step = max(1, 2**22 // d)  # units per chunk: a (D, units) float64 block of <= 32 MB
    for i in range(n):
        for u0 in range(0, u, step):
            wc = w[:, u0:u0 + step].astype(np.float64)  # (D, Uc)
            prod = x[i, :, None].astype(np.float64) * wc  # (D, Uc)
            top = np.argsort(-np.abs(prod), axis=0, kind="stable")[:k]  # (K, Uc)
            cols = np.arange(wc.shape[1])[None, :]
            terms[i, u0:u0 + step] = np.stack(
                [top, wc[top, cols], x[i, top].astype(np.float64)], axis=-1).transpose(1, 0, 2)
            rest[i, u0:u0 + step] = prod.sum(axis=0) - prod[top, cols].sum(axis=0)
    z = x.astype(np.float64) @ w.astype(np.float64) + (0 if b is None else b)  # (N, U)
    return {"type": "dense", "units": u, "inputs": d, "k": k,
            "act": activation_name(layer.activation),
            "terms": [add(t) for t in terms], "rest": [add(r) for r in rest],
            "z": [add(v) for v in z], "bias": None if b is None else add(b)}


def layer_spec(node, nodes, add) -> dict:
    """The explanation data of one node (see the module docstring)."""
    kind, layer = node.kind, node.layer
    parents = [nodes[p] for p in node.parents]
    in_shape = tuple(parents[0].out.shape[1:]) if parents else None
    spatial = in_shape is not None and len(in_shape) in (2, 3)
    if kind == "Input":
        return {"type": "input"}
    if kind in ("Conv1D", "Conv2D", "DepthwiseConv2D") and spatial:
        return conv_spec(layer, in_shape, add)
    if kind in ("MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D") \
            and spatial:
        return pool_spec(layer, in_shape)
    if kind.startswith("Global") and spatial:
        return {"type": "gpool", "kind": layer.kind}
    if kind == "BatchNormalization":
        spec = bn_spec(layer, add)
        if spec:
            return spec
    if kind == "Dense" and in_shape is not None and len(in_shape) == 1:
        return dense_spec(node, parents[0].out.reshape(len(parents[0].out), -1), add)
    if kind == "Add":
        return {"type": "add"}
    if kind == "Concatenate" and layer.axis in (-1, len(in_shape)):
        return {"type": "concat", "sizes": [p.out.shape[-1] for p in parents]}
    if kind == "Activation":
        return {"type": "act", "act": activation_name(layer.activation)}
    if kind == "ReLU" and layer.max_value is None and layer.threshold == 0:
        return {"type": "act", "act": "leaky_relu" if layer.negative_slope else "relu",
                "slope": float(layer.negative_slope)}
    if kind == "LeakyReLU":
        return {"type": "act", "act": "leaky_relu", "slope": float(layer.negative_slope)}
    if kind in ("Flatten", "Reshape"):
        return {"type": "reshape"}
    if kind in ("Dropout", "GaussianNoise") or kind.startswith("Random"):
        return {"type": "identity"}
    node.notes.append(f"{kind} layers are drawn but not explained cell by cell")
    return {"type": "opaque"}


__all__ = ["ACTIVATIONS", "DENSE_TOP", "activation_name", "layer_spec"]
