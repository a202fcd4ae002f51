"""layer_norm: naive loops, float64 numerical gradients, and PyTorch over random configs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opcheck import check_op
from reference.layer_norm import layer_norm as naive_layer_norm
from stridenet.ops.layer_norm import layer_norm


@pytest.mark.parametrize("shape, axes, center, scale", [
    ((3, 5), (-1,), True, True),
    ((2, 3, 4), (-1,), True, True),
    ((2, 3, 4), (1, 2), True, True),
    ((2, 3, 2, 4), (1, 3), False, True),
    ((2, 4, 3), (1,), True, False),
    ((4, 1), (-1,), False, False),  # one feature: the output is beta
])
def test_layer_norm_three_ways(shape, axes, center, scale):
    rng = np.random.default_rng(len(shape) + sum(axes))
    x = rng.standard_normal(shape) * 3 + 1
    fshape = tuple(shape[a] for a in sorted(a % len(shape) for a in axes))
    gamma = rng.standard_normal(fshape) if scale else None
    beta = rng.standard_normal(fshape) if center else None

    def op(x, g, b):
        return layer_norm(x, g, b, axis=list(axes), epsilon=1e-3)

    def naive(x, g, b):
        return naive_layer_norm(x, g, b, axes, 1e-3)

    check_op(op, naive, [x, gamma, beta])


@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(lead=st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple),
       feat=st.lists(st.integers(1, 5), min_size=1, max_size=2).map(tuple),
       affine=st.booleans(), eps=st.sampled_from([1e-5, 1e-3, 0.1]),
       scale=st.sampled_from([0.01, 1.0, 100.0]), seed=st.integers(0, 2**16))
def test_layer_norm_matches_torch(torch, lead, feat, affine, eps, scale, seed):
    # PyTorch normalises the trailing ``normalized_shape`` axes: ours with axis = those axes
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(lead + feat) * scale
    g = rng.standard_normal(feat) if affine else None
    b = rng.standard_normal(feat) if affine else None
    dy = rng.standard_normal(x.shape)
    axes = list(range(len(lead), len(lead) + len(feat)))
    import stridenet as sn

    ts = [None if a is None else sn.Tensor(a, requires_grad=True) for a in (x, g, b)]
    y = layer_norm(*ts, axis=axes, epsilon=eps)
    y.backward(dy)
    tt = [None if a is None else torch.tensor(a, requires_grad=True) for a in (x, g, b)]
    ty = torch.nn.functional.layer_norm(tt[0], feat, tt[1], tt[2], eps=eps)
    ty.backward(torch.tensor(dy))
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-9, atol=1e-9)
    for ours, theirs in zip(ts, tt):
        if ours is not None:
            np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-7, atol=1e-8)


def test_layer_norm_float32_stays_float32_and_bad_input():
    x = np.ones((2, 3), np.float32)
    assert layer_norm(x).numpy().dtype == np.float32
    np.testing.assert_array_equal(layer_norm(x).numpy(), 0)  # constant rows: zero, not NaN
    with pytest.raises(ValueError, match="gamma must have shape"):
        layer_norm(x, np.ones(4))
    with pytest.raises(ValueError, match="out of range"):
        layer_norm(x, axis=2)
    with pytest.raises(ValueError, match="epsilon"):
        layer_norm(x, epsilon=0)
