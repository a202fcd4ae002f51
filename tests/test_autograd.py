"""The tape: recording, topological backward, accumulation, un-broadcasting, no_grad."""

from __future__ import annotations

import numpy as np
import pytest

import stridenet as sn
from opcheck import numerical_grad
from stridenet import autograd as ag


def grad_of(f, *arrays):
    ts = [sn.Tensor(a, requires_grad=True) for a in arrays]
    f(*ts).backward()
    return [t.grad for t in ts]


def num_grads(f, *arrays):
    arrays = [np.array(a, dtype=np.float64) for a in arrays]

    def scalar(arrs):
        return float(f(*[sn.Tensor(a) for a in arrs]).numpy())

    return [numerical_grad(scalar, arrays, i) for i in range(len(arrays))]


CASES = {
    "add_broadcast": (lambda a, b: (a + b).sum(), [(3, 4), (4,)]),
    "sub_broadcast": (lambda a, b: ((a - b) * (a - b)).sum(), [(2, 3, 1), (1, 5)]),
    "mul_div": (lambda a, b: (a * b / (b * b + 1.0)).sum(), [(3, 4), (3, 4)]),
    "pow_exp_log": (lambda a, b: ((a * a + 1.0) ** 1.5 + (b * 0.3).exp() + (b * b + 1).log())
                    .mean(), [(5,), (5,)]),
    "matmul_2d": (lambda a, b: (a @ b).sum(), [(3, 4), (4, 2)]),
    "matmul_batched_bcast": (lambda a, b: ((a @ b) ** 2).sum(), [(2, 3, 4), (4, 5)]),
    "matmul_vec": (lambda a, b: ((a @ b) ** 2).sum(), [(4,), (4, 3)]),
    "matmul_vec_right": (lambda a, b: ((a @ b) ** 2).sum(), [(2, 4), (4,)]),
    "sum_axis": (lambda a, b: (a.sum(axis=1) * b).sum(), [(3, 4), (3,)]),
    "mean_keepdims": (lambda a, b: (a.mean(axis=(0, 2), keepdims=True) * b).sum(),
                      [(2, 3, 4), (1, 3, 1)]),
    "max_axis": (lambda a, b: (a.max(axis=0) * b).sum(), [(4, 3), (3,)]),
    "reshape_transpose": (lambda a, b: (a.reshape(3, 4).T @ b).sum(), [(12,), (3, 2)]),
    "getitem_slices": (lambda a, b: (a[1:, ::2] * b).sum(), [(3, 4), (2, 2)]),
    "getitem_fancy_repeat": (lambda a, b: (a[np.array([0, 0, 2])] * b).sum(), [(3, 2), (3, 2)]),
    "concat_stack": (lambda a, b: (ag.concatenate([a, b], axis=1) ** 2).sum()
                     + (ag.stack([a, a], axis=0) * 3).sum(), [(2, 3), (2, 1)]),
    "maximum_where": (lambda a, b: (ag.maximum(a, b) + ag.where(a.data > 0, a, b * 2)).sum(),
                      [(6,), (6,)]),
    "sqrt_abs_clip": (lambda a, b: ((a * a + 1).sqrt() + b.abs() + a.clip(-0.5, 0.5)).sum(),
                      [(7,), (7,)]),
    "reused_input": (lambda a, b: (a * a * a + a * b).sum(), [(4,), (4,)]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradients_match_finite_differences(name):
    f, shapes = CASES[name]
    rng = np.random.default_rng(abs(hash(name)) % 2**32)
    arrays = [rng.uniform(-1.5, 1.5, s) for s in shapes]
    # keep values away from the kinks of abs/clip/maximum
    arrays = [np.where(np.abs(a) < 0.1, a + 0.3, a) for a in arrays]
    arrays = [np.where(np.abs(np.abs(a) - 0.5) < 0.05, a + 0.2, a) for a in arrays]
    analytic = grad_of(f, *arrays)
    numeric = num_grads(f, *arrays)
    for g, n in zip(analytic, numeric):
        assert g.shape == n.shape
        np.testing.assert_allclose(g, n, rtol=1e-6, atol=1e-7)


def test_gradients_accumulate_across_backward_calls():
    x = sn.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [3 + 2, 3 + 4])


def test_shared_subgraph_is_backpropagated_once_with_summed_gradient():
    calls = []

    class Spy(sn.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, dy):
            calls.append(dy.copy())
            return dy * 2

    x = sn.Tensor(np.ones(3), requires_grad=True)
    h = Spy.apply(x)
    (h * 1 + h * 4).sum().backward()
    assert len(calls) == 1
    np.testing.assert_array_equal(calls[0], [5, 5, 5])
    np.testing.assert_array_equal(x.grad, [10, 10, 10])


def test_needs_input_grad_skips_unneeded_gradients():
    seen = {}

    class Probe(sn.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            seen["needs"] = ctx.needs_input_grad
            return a * b

        @staticmethod
        def backward(ctx, dy):
            return dy, None

    a = sn.Tensor(np.ones(2), requires_grad=True)
    b = np.ones(2)
    Probe.apply(a, b).sum().backward()
    assert seen["needs"] == (True, False)


def test_no_grad_records_nothing_and_restores():
    x = sn.Tensor(np.ones(3), requires_grad=True)
    with sn.no_grad():
        y = x * 2
        assert not sn.is_grad_enabled()
        with sn.enable_grad():
            z = x * 2
    assert sn.is_grad_enabled()
    assert not y.requires_grad and y.is_leaf
    assert z.requires_grad and not z.is_leaf


def test_backward_twice_needs_retain_graph():
    x = sn.Tensor(np.ones(3), requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_array_equal(x.grad, [4, 4, 4])
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_backward_argument_checks():
    x = sn.Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(ValueError, match="one-element"):
        (x * 2).backward()
    with pytest.raises(ValueError, match=r"\(2,\).*\(3,\)"):
        (x * 2).backward(np.ones(2))
    with pytest.raises(RuntimeError, match="does not require grad"):
        sn.Tensor(np.ones(2)).backward()
    with pytest.raises(TypeError, match="floating"):
        sn.Tensor(np.arange(3), requires_grad=True)


def test_dtype_rules():
    assert sn.Tensor([1.0, 2.0]).dtype == np.float32  # Python floats -> floatx
    assert sn.Tensor(np.ones(2)).dtype == np.float64  # ndarrays keep their dtype
    assert sn.Tensor([1, 2]).dtype.kind == "i"
    t = sn.Tensor(np.ones(2, np.float32), requires_grad=True)
    y = t * 2 + 1.5
    assert y.dtype == np.float32  # Python scalars do not promote
    y.sum().backward()
    assert t.grad.dtype == np.float32


def test_array_protocol_and_reflected_ops():
    t = sn.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    assert np.asarray(t) is t.numpy()
    r = np.array([10.0, 20.0]) - t  # ndarray on the left defers to Tensor.__rsub__
    assert isinstance(r, sn.Tensor)
    r.sum().backward()
    np.testing.assert_array_equal(t.grad, [-1, -1])
    assert "requires_grad=True" in repr(t)
    assert t.shape == (2,) and t.ndim == 1 and t.size == 2 and len(t) == 2


def test_retain_grad_on_intermediate():
    x = sn.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    h = x * 3
    h.retain_grad()
    (h * h).sum().backward()
    np.testing.assert_array_equal(h.grad, [6, 12])
    np.testing.assert_array_equal(x.grad, [18, 36])


def test_deep_chain_does_not_hit_recursion_limit():
    x = sn.Tensor(np.ones(2), requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [1, 1])
