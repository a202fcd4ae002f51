"""The one helper every op test uses: fast kernel vs naive loops vs numerical gradient.

``check_op`` runs the three proofs of habit 1 for a single configuration:

1. float64 forward of the op equals the naive loop reference (to rounding);
2. float32 inputs give a float32 output close to the float64 reference;
3. the autograd gradient of ``sum(op(...) * r)`` (r random) equals central
   finite differences, in float64, for every differentiable input.

A test supplies the inputs (float64 arrays), the op, the naive reference and
which inputs are differentiable.
"""

from __future__ import annotations

import numpy as np

import stridenet as sn


def numerical_grad(f, arrays, index, eps=1e-6):
    """d f(arrays) / d arrays[index] by central differences (f returns a float)."""
    x = arrays[index]
    g = np.zeros_like(x)
    flat, gflat = x.reshape(-1), g.reshape(-1)  # views: perturb in place
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        fp = f(arrays)
        flat[i] = old - eps
        fm = f(arrays)
        flat[i] = old
        gflat[i] = (fp - fm) / (2 * eps)
    return g


def analytic_grads(op, arrays, grad_indices, upstream):
    tensors = [
        sn.Tensor(a, requires_grad=i in grad_indices) if isinstance(a, np.ndarray) else a
        for i, a in enumerate(arrays)
    ]
    y = op(*tensors)
    y.backward(upstream)
    return [tensors[i].grad for i in grad_indices]


def check_op(op, naive, arrays, grad_indices=None, *, seed=0, fwd_atol=1e-9, grad_atol=1e-6,
             f32_rtol=1e-4, f32_atol=1e-4, eps=1e-6, check_f32=True):
    """Prove one op configuration three ways (see the module docstring).

    op(*arrays) -> Tensor; naive(*arrays) -> ndarray. ``arrays`` are float64
    ndarrays (or None / non-array arguments passed through unchanged).
    ``grad_indices``: positions of the differentiable inputs (default: every ndarray).
    Returns the float64 output for further assertions.
    """
    arrays = [np.array(a, dtype=np.float64) if isinstance(a, np.ndarray) else a for a in arrays]
    if grad_indices is None:
        grad_indices = [i for i, a in enumerate(arrays) if isinstance(a, np.ndarray)]
    expected = np.asarray(naive(*arrays), dtype=np.float64)
    out = op(*arrays)
    assert isinstance(out, sn.Tensor), "ops must return a Tensor"
    got = out.numpy()
    assert got.dtype == np.float64, f"float64 in must give float64 out, got {got.dtype}"
    assert got.shape == expected.shape, f"shape {got.shape} != reference {expected.shape}"
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=fwd_atol,
                               err_msg="fast kernel differs from the naive loops")

    if check_f32:
        a32 = [a.astype(np.float32) if isinstance(a, np.ndarray) else a for a in arrays]
        got32 = op(*a32).numpy()
        assert got32.dtype == np.float32, f"float32 in must give float32 out, got {got32.dtype}"
        np.testing.assert_allclose(got32, expected, rtol=f32_rtol, atol=f32_atol,
                                   err_msg="float32 result drifts from the float64 reference")

    rng = np.random.default_rng(seed)
    upstream = rng.standard_normal(expected.shape)
    grads = analytic_grads(op, arrays, grad_indices, upstream)

    def loss(arrs):
        return float(np.sum(op(*arrs).numpy() * upstream))

    for i, g in zip(grad_indices, grads):
        assert g is not None, f"input {i} got no gradient"
        num = numerical_grad(loss, arrays, i, eps=eps)
        np.testing.assert_allclose(g, num, rtol=1e-5, atol=grad_atol,
                                   err_msg=f"analytic gradient of input {i} != numerical")
    return got
