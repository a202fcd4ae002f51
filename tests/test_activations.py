"""Activations: the three-way proof, stability at |x| = 1e4, the erf, and input checks."""

from __future__ import annotations

import math

import numpy as np
import pytest

import stridenet as sn
from opcheck import check_op
from reference import nn as ref
from stridenet.ops import activations as A
from stridenet.ops.kernels.activations import erf, erfc, normal_cdf

pytestmark = pytest.mark.usefixtures("kernel_path")  # every test on both kernel paths

SHAPES = [(7,), (3, 4), (2, 3, 5)]

# (op, reference, abs tolerance of the float32 check)
ELEMENTWISE = {
    "relu": (A.relu, ref.relu),
    "leaky_relu": (A.leaky_relu, ref.leaky_relu),
    "leaky_relu_0.05": (lambda x: A.leaky_relu(x, negative_slope=0.05),
                        lambda x: ref.leaky_relu(x, 0.05)),
    "elu": (A.elu, ref.elu),
    "elu_2": (lambda x: A.elu(x, alpha=2.0), lambda x: ref.elu(x, 2.0)),
    "sigmoid": (A.sigmoid, ref.sigmoid),
    "tanh": (A.tanh, ref.tanh),
    "gelu": (A.gelu, ref.gelu),
    "gelu_tanh": (lambda x: A.gelu(x, approximate=True), ref.gelu_tanh),
    "linear": (A.linear, lambda x: x),
}


def _away_from_kinks(rng, shape):
    """Normal samples kept at least 1e-3 from 0, where relu-like slopes jump."""
    x = rng.standard_normal(shape) * 2
    return np.where(np.abs(x) < 1e-3, 0.5, x)


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
@pytest.mark.parametrize("shape", SHAPES)
def test_elementwise_three_ways(name, shape):
    op, naive = ELEMENTWISE[name]
    x = _away_from_kinks(np.random.default_rng(len(shape)), shape)
    check_op(op, naive, [x])


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("which", ["softmax", "log_softmax"])
def test_softmax_three_ways_every_axis(shape, which):
    rng = np.random.default_rng(3)
    x = rng.standard_normal(shape) * 3
    for axis in range(-len(shape), len(shape)):
        check_op(lambda a, ax=axis: getattr(A, which)(a, axis=ax),
                 lambda a, ax=axis: getattr(ref, which)(a, ax), [x])


def test_softmax_rows_sum_to_one_and_match_exp_of_log_softmax():
    x = np.random.default_rng(0).standard_normal((4, 6)) * 5
    s = A.softmax(x).numpy()
    np.testing.assert_allclose(s.sum(axis=-1), 1, rtol=1e-14)
    np.testing.assert_allclose(np.exp(A.log_softmax(x).numpy()), s, rtol=1e-13)


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "elu", "gelu", "gelu_tanh", "relu",
                                  "leaky_relu", "softmax", "log_softmax"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_stable_at_large_inputs(name, dtype):
    fn = {"softmax": A.softmax, "log_softmax": A.log_softmax}.get(name) or ELEMENTWISE[name][0]
    x = sn.Tensor(np.array([-1e4, -50.0, -1.0, 0.0, 1.0, 50.0, 1e4], dtype), requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # no inf / NaN on the way
        y = fn(x)
        y.backward(np.linspace(-1, 1, 7))
    assert y.dtype == dtype and x.grad.dtype == dtype
    assert np.all(np.isfinite(y.numpy())) and np.all(np.isfinite(x.grad))


def test_large_input_values():
    x = np.array([-1e4, 1e4])
    np.testing.assert_array_equal(A.sigmoid(x).numpy(), [0, 1])
    np.testing.assert_array_equal(A.elu(x).numpy(), [-1, 1e4])
    np.testing.assert_array_equal(A.gelu(x).numpy(), [0, 1e4])
    np.testing.assert_array_equal(A.gelu(x, approximate=True).numpy(), [0, 1e4])
    np.testing.assert_array_equal(A.softmax(x).numpy(), [0, 1])
    np.testing.assert_array_equal(A.log_softmax(x).numpy(), [-2e4, 0])
    # sigmoid far in the left tail keeps relative accuracy: e^-30 / (1 + e^-30)
    e = math.exp(-30)
    np.testing.assert_allclose(A.sigmoid(np.array([-30.0])).numpy(), [e / (1 + e)], rtol=1e-15)


def test_erf_agrees_with_math_erf():
    xs = np.concatenate([np.linspace(-8, 8, 40001), np.linspace(-30, 30, 6001),
                         np.geomspace(1e-300, 1, 600), -np.geomspace(1e-300, 1, 600),
                         [0.0, 1.0, 1.5, 2.5, 26.99, 27.0, 1e300]])
    expect = np.array([math.erf(v) for v in xs])
    got = erf(xs)
    assert np.abs(got - expect).max() <= 1e-15
    small = np.abs(xs) < 1  # relative accuracy near 0 too
    np.testing.assert_allclose(got[small], expect[small], rtol=1e-15, atol=0)
    expect_c = np.array([math.erfc(v) for v in xs])
    tail = expect_c > 1e-300  # erfc keeps relative accuracy in the right tail
    np.testing.assert_allclose(erfc(xs)[tail], expect_c[tail], rtol=3e-15, atol=0)


def test_erf_special_values():
    np.testing.assert_array_equal(erf(np.array([np.inf, -np.inf, 0.0])), [1, -1, 0])
    np.testing.assert_array_equal(erfc(np.array([np.inf, -np.inf])), [0, 2])
    assert np.isnan(erf(np.array([np.nan]))[0]) and np.isnan(erfc(np.array([np.nan]))[0])
    assert math.copysign(1, erf(np.array([-0.0]))[0]) == -1  # odd function: -0 stays -0
    np.testing.assert_allclose(normal_cdf(np.array([-1.0, 0.0, 1.96])),
                               [0.15865525393145707, 0.5, 0.9750021048517795], rtol=1e-15)


def test_gelu_exact_differs_from_tanh_form():
    x = np.array([-2.0, -0.5, 1.0, 3.0])
    exact = A.gelu(x).numpy()
    approx = A.gelu(x, approximate=True).numpy()
    assert 1e-5 < np.abs(exact - approx).max() < 1e-2  # the two forms are close, not equal
    np.testing.assert_allclose(exact, ref.gelu(x), rtol=1e-15, atol=1e-16)


def test_derivatives_at_zero():
    def grad(fn):
        x = sn.Tensor(np.zeros(1), requires_grad=True)
        fn(x).backward(np.ones(1))
        return x.grad[0]
    assert grad(A.relu) == 0  # as Keras and PyTorch
    assert grad(A.leaky_relu) == 0.2
    assert grad(A.elu) == 1  # Keras/TensorFlow: the x >= 0 branch
    assert grad(A.sigmoid) == 0.25 and grad(A.tanh) == 1 and grad(A.gelu) == 0.5


def test_linear_is_the_identity_and_records_nothing_new():
    t = sn.Tensor(np.ones(3), requires_grad=True)
    assert A.linear(t) is t
    y = A.linear(np.arange(3.0))
    assert isinstance(y, sn.Tensor) and y.numpy().tolist() == [0, 1, 2]


def test_losses_read_the_logits_behind_a_final_softmax_or_sigmoid():
    # Keras computes cross-entropy of a softmax/sigmoid output from its logits: exact and
    # finite even where the probabilities underflow to 0.
    logits = np.array([[1e4, -1e4, 0.0]])
    x = sn.Tensor(logits, requires_grad=True)
    loss = sn.losses.SparseCategoricalCrossentropy()(np.array([1]), A.softmax(x))
    assert loss.item() == pytest.approx(2e4)
    loss.backward()
    np.testing.assert_allclose(x.grad, [[1, -1, 0]], atol=1e-12)
    z = sn.Tensor(np.array([[-800.0]]), requires_grad=True)
    bce = sn.losses.BinaryCrossentropy()(np.array([[1.0]]), A.sigmoid(z))
    assert bce.item() == pytest.approx(800.0)
    # a softmax over another axis is not the class axis: probabilities are used as given
    p = A.softmax(sn.Tensor(np.log(np.array([[0.2, 0.5], [0.8, 0.5]]))), axis=0)
    got = sn.losses.SparseCategoricalCrossentropy()(np.array([0, 1]), p).item()
    assert got == pytest.approx(-(np.log(0.2 / 0.7) + np.log(0.5 / 1.3)) / 2)


def test_activation_input_checks():
    with pytest.raises(ValueError, match="negative_slope must be finite"):
        A.leaky_relu(np.ones(2), negative_slope=float("nan"))
    with pytest.raises(ValueError, match="negative_slope must be >= 0"):
        A.leaky_relu(np.ones(2), negative_slope=-1)
    with pytest.raises(ValueError, match="alpha must be finite"):
        A.elu(np.ones(2), alpha=float("inf"))
    with pytest.raises(TypeError, match="alpha must be a real number"):
        A.elu(np.ones(2), alpha="1")
    with pytest.raises(ValueError, match=r"axis 2 is out of range for x of shape \(2, 3\)"):
        A.softmax(np.ones((2, 3)), axis=2)
    with pytest.raises(TypeError, match="axis must be an int"):
        A.log_softmax(np.ones((2, 3)), axis=1.0)
    with pytest.raises(ValueError, match="out of range"):
        A.softmax(np.float64(1.0))
    with pytest.raises(TypeError, match="approximate must be a bool"):
        A.gelu(np.ones(2), approximate="tanh")
    with pytest.raises(TypeError, match="x must hold real numbers"):
        A.relu(np.array(["a", "b"]))


@pytest.mark.parametrize("name", ["relu", "tanh"])
def test_large_inputs_run_in_chunks_on_all_cores(name):
    """Arrays beyond one elementwise chunk take the threaded path: same numbers."""
    from stridenet.ops.kernels import parallel

    rng = np.random.default_rng(9)
    x = rng.standard_normal((3 * parallel.ELEMENT_CHUNK + 5,)).astype(np.float32)
    x[:4] = [0.0, -0.0, np.inf, -np.inf]
    t = sn.Tensor(x.reshape(-1, 1), requires_grad=True)
    y = getattr(sn.ops, name)(t)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    y.backward(dy)
    want = np.maximum(x, 0) if name == "relu" else np.tanh(x)
    np.testing.assert_array_equal(y.numpy().ravel(), want)
    grad = np.where(x > 0, dy.ravel(), 0) if name == "relu" else dy.ravel() * (1 - want * want)
    np.testing.assert_allclose(t.grad.ravel(), grad, rtol=1e-6, atol=0)


def test_relu_gradient_in_float16_and_big_endian():
    for dtype in (np.float16, np.dtype(">f4")):
        t = sn.Tensor(np.array([1.5, -2.0, 0.0, 3.0], dtype), requires_grad=True)
        sn.ops.relu(t).backward(np.array([1.0, 1.0, 1.0, 2.0]))
        np.testing.assert_array_equal(t.grad, [1.0, 0.0, 0.0, 2.0])
