"""The compiled (numba) kernel twins: equal to their NumPy twins, chosen as documented.

Each compiled kernel is checked against its NumPy twin on the same inputs, float32 and
float64: bit for bit where both do the same operations in the same order (scatters,
masks, max pooling, the elementwise batch-norm passes, optimizer updates), within
rounding where the summation order differs (batch-norm channel sums, Winograd transforms).
The existing kernel test modules also run every reference check on both paths (the
``kernel_path`` fixture). Under CI a missing numba fails these tests instead of skipping.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import stridenet as sn
from stridenet import optimizers
from stridenet.ops.kernels import activations, backend, batchnorm, conv_backward, parallel, pool

DTYPES = [np.float32, np.float64]


@pytest.fixture
def numba_twins():
    """The compiled twins in force for the test (numba required, CI or not)."""
    if importlib.util.find_spec("numba") is None:  # pragma: no cover - environment
        if os.environ.get("CI"):
            pytest.fail("numba is not installed: the compiled kernels must be tested in CI")
        pytest.skip("numba is not installed")
    backend.set_kernel_mode("numba")
    yield
    backend.set_kernel_mode(None)


def both(fn):
    """fn() on the NumPy twins, then on the compiled ones: (numpy result, numba result)."""
    out = []
    for mode in ("numpy", "numba"):
        backend.set_kernel_mode(mode)
        out.append(fn())
    return out


def run_python(code: str, **env_changes) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("STRIDENET_KERNELS",
                                                           "NUMBA_CACHE_DIR")}
    env.update(env_changes)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=600)


# --- choosing the twins ---------------------------------------------------------------------

def test_import_does_not_load_numba():
    done = run_python("import sys, stridenet; print('numba' in sys.modules)")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_environment_variable_forces_the_numpy_twins(numba_twins):
    code = ("import sys, numpy as np, stridenet as sn\n"
            "from stridenet.ops.kernels import backend\n"
            "x = sn.Tensor(np.linspace(-1, 1, 50).reshape(2, 5, 5, 1), requires_grad=True)\n"
            "sn.ops.max_pool2d(sn.ops.relu(x), 2).sum().backward()\n"
            "print(backend.kernel_mode(), 'numba' in sys.modules)")
    done = run_python(code, STRIDENET_KERNELS="numpy")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["numpy", "False"]
    done = run_python(code)  # unset: numba is installed here, so it is used
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["numba", "True"]


def test_bad_kernel_mode_is_a_clear_error(monkeypatch):
    with pytest.raises(ValueError, match="STRIDENET_KERNELS must be one of auto, numba, numpy"):
        backend.set_kernel_mode("fast")
    with pytest.raises(TypeError, match="kernel mode"):
        backend.set_kernel_mode(1)
    monkeypatch.setenv("STRIDENET_KERNELS", "gpu")
    backend.set_kernel_mode(None)
    try:
        with pytest.raises(ValueError, match="'gpu'"):
            backend.kernel_mode()
    finally:
        monkeypatch.delenv("STRIDENET_KERNELS")
        backend.set_kernel_mode(None)


def test_without_numba_auto_runs_numpy_and_numba_is_an_import_error(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "numba" else real(name, *a))
    try:
        backend.set_kernel_mode("auto")
        assert backend.kernel_mode() == "numpy"
        assert backend.compiled("pool") is None
        with pytest.raises(ImportError, match=r"STRIDENET_KERNELS=numba .* numba is not"):
            backend.set_kernel_mode("numba")
    finally:
        backend.set_kernel_mode(None)


def test_misspelt_environment_variable_fails_at_import():
    done = run_python("import stridenet", STRIDENET_KERNELS="fast")
    assert done.returncode != 0
    assert "STRIDENET_KERNELS must be one of auto, numba, numpy, got 'fast'" in done.stderr
    done = run_python("import stridenet", STRIDENET_KERNELS=" NumPy ")
    assert done.returncode == 0, done.stderr


_CACHE_CODE = ("import numpy as np\n"
               "from stridenet.ops.kernels import activations, backend\n"
               "y = np.array([-1.0, 0.0, 2.0, np.nan, 3.0], np.float32)\n"
               "dx = activations.relu_backward(np.full(5, 7.0, np.float32), y)\n"
               "print(backend.kernel_mode(), backend.caching(), dx.tolist())")


def test_compiled_code_is_cached_in_the_user_cache_directory(numba_twins, tmp_path):
    done = run_python(_CACHE_CODE, XDG_CACHE_HOME=str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[:2] == ["numba", "True"]
    cached = [f for _, _, files in os.walk(tmp_path / "stridenet" / "numba") for f in files]
    assert any(f.endswith(".nbi") for f in cached) and any(f.endswith(".nbc") for f in cached)


def test_unwritable_cache_directory_falls_back_to_compiling(numba_twins, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the cache directory would go")  # unwritable even as root
    done = run_python(_CACHE_CODE, XDG_CACHE_HOME=str(blocker))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "numba False [0.0, 0.0, 7.0, 0.0, 7.0]"
    assert "Error" not in done.stderr and "Warning" not in done.stderr


def test_other_dtypes_run_the_numpy_twin(numba_twins):
    def numpy_fn(*a):
        return None

    assert backend.twin(numpy_fn, "activations.relu_grad", np.zeros(2, np.float16)) is numpy_fn
    assert backend.twin(numpy_fn, "activations.relu_grad", np.zeros(2, ">f4")) is numpy_fn
    assert backend.twin(numpy_fn, "activations.relu_grad", np.zeros(2, np.float32)) \
        is not numpy_fn


# --- col2im -----------------------------------------------------------------------------------

COL2IM = [((1, 1), (1, 1), ((1, 1), (1, 1))), ((2, 2), (1, 1), ((0, 1), (1, 0))),
          ((2, 1), (2, 1), ((2, 2), (0, 0))), ((3, 3), (1, 1), ((0, 0), (0, 0))),
          ((1, 2), (1, 3), ((2, 0), (3, 3))), ((1, 1), (1, 1), ((0, 2), (2, 1))),
          ((1, 1), (2, 1), ((1, 1), (0, 3)))]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("strides,dilation,pads", COL2IM)
def test_col2im_twins_agree_bit_for_bit(numba_twins, dtype, strides, dilation, pads):
    from stridenet.ops.kernels.compiled import col2im as compiled

    rng = np.random.default_rng(1)
    n, h, w, c, kh, kw = 3, 9, 8, 5, 3, 2
    oh = (h + sum(pads[0]) - (kh - 1) * dilation[0] - 1) // strides[0] + 1
    ow = (w + sum(pads[1]) - (kw - 1) * dilation[1] - 1) // strides[1] + 1
    back = rng.standard_normal((n, oh, ow, kh, kw, c)).astype(dtype)
    expected, got = np.full((n, h, w, c), np.nan, dtype), np.full((n, h, w, c), np.nan, dtype)
    conv_backward.col2im(back, expected, strides, dilation, pads)
    compiled.col2im(back, got, strides, dilation, pads)
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", [None, "relu"])
def test_conv_gradients_by_col2im_equal_on_both_paths(numba_twins, dtype, activation):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 11, 10, 3)).astype(dtype)
    w = rng.standard_normal((3, 3, 3, 8)).astype(dtype)  # C < F: the col2im path

    def grads():
        xt, wt = sn.Tensor(x, requires_grad=True), sn.Tensor(w, requires_grad=True)
        y = sn.ops.conv2d(xt, wt, strides=2, padding=1, activation=activation)
        (y * y).sum().backward()
        return xt.grad.copy(), wt.grad.copy()

    (dx0, dw0), (dx1, dw1) = both(grads)
    np.testing.assert_array_equal(dx1, dx0)
    np.testing.assert_array_equal(dw1, dw0)  # the fused relu's mask feeds dw too


# --- max pooling with stored winning taps ---------------------------------------------------

POOLS = [((2, 2), (2, 2), ((0, 0), (0, 0)), False), ((3, 3), (2, 2), ((1, 1), (1, 1)), False),
         ((3, 3), (1, 1), ((1, 1), (1, 1)), False), ((2, 3), (2, 2), ((0, 0), (1, 0)), True),
         ((3, 3), (2, 2), ((0, 0), (0, 0)), True), ((2, 2), (3, 3), ((1, 0), (0, 1)), False)]


def _awkward(shape, dtype, seed):
    """Small integers (many ties), a NaN, a window of -inf and an inf."""
    rng = np.random.default_rng(seed)
    x = rng.integers(-3, 3, shape).astype(dtype)
    x[0, 0, 0, 0] = np.nan
    x[1, 2:5, 2:5, 1] = -np.inf
    x[2, 3, 3, 2] = np.inf
    return x


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("pool_size,strides,pads,ceil_mode", POOLS)
def test_max_pool_twins_agree_bit_for_bit(numba_twins, dtype, pool_size, strides, pads,
                                          ceil_mode):
    x = _awkward((4, 9, 7, 5), dtype, 3)
    dy = np.random.default_rng(4).standard_normal((4, 9, 7, 5)).astype(dtype)

    def run():
        y, cache = pool.max_pool2d_forward(x, pool_size, strides, pads, ceil_mode)
        stored = getattr(cache, "argmax", None) is not None
        return y, pool.max_pool2d_backward(dy[:, :y.shape[1], :y.shape[2]], cache), stored

    (y0, dx0, stored0), (y1, dx1, stored1) = both(run)
    assert not stored0 and stored1  # the compiled forward keeps the winning taps
    np.testing.assert_array_equal(y1, y0)
    np.testing.assert_array_equal(dx1, dx0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("count_include_pad", [False, True])
@pytest.mark.parametrize("pool_size,strides,pads,ceil_mode", POOLS)
def test_avg_pool_twins_agree_bit_for_bit(numba_twins, dtype, pool_size, strides, pads,
                                          ceil_mode, count_include_pad):
    x = _awkward((4, 9, 7, 5), dtype, 6)
    x[3, :4, :4] = -0.0  # windows summing to -0.0: padding's +0.0 turns them to +0.0
    dy = np.random.default_rng(7).standard_normal((4, 9, 7, 5)).astype(dtype)
    dy[2, :2, :2] = -0.0

    def run():
        y, cache = pool.avg_pool2d_forward(x, pool_size, strides, pads, count_include_pad,
                                           ceil_mode)
        return y, pool.avg_pool2d_backward(dy[:, :y.shape[1], :y.shape[2]], cache)

    (y0, dx0), (y1, dx1) = both(run)
    np.testing.assert_array_equal(y1.view(np.uint8), y0.view(np.uint8))  # signs of zero too
    np.testing.assert_array_equal(dx1.view(np.uint8), dx0.view(np.uint8))


def test_avg_pool_tiling_windows_on_both_paths(numba_twins):
    x = np.random.default_rng(8).standard_normal((3, 8, 6, 4)).astype(np.float32)
    x[0, :2, :2] = -0.0
    dy = np.full((3, 4, 3, 4), -0.0, np.float32)

    def run():
        y, cache = pool.avg_pool2d_forward(x, (2, 2), (2, 2), ((0, 0), (0, 0)))
        return y, pool.avg_pool2d_backward(dy, cache)

    (y0, dx0), (y1, dx1) = both(run)
    np.testing.assert_array_equal(y1.view(np.uint8), y0.view(np.uint8))
    np.testing.assert_array_equal(dx1.view(np.uint8), dx0.view(np.uint8))
    assert np.signbit(dx1).all()  # assigned, not added onto +0.0


def test_max_pool_backward_follows_its_forward_when_the_mode_changes(numba_twins):
    x = _awkward((3, 8, 8, 4), np.float32, 5)
    y, cache = pool.max_pool2d_forward(x, (3, 3), (2, 2), ((1, 1), (1, 1)))
    backend.set_kernel_mode("numpy")
    dx = pool.max_pool2d_backward(np.ones_like(y), cache)
    expected = pool.max_pool2d_backward(np.ones_like(y), pool.max_pool2d_forward(
        x, (3, 3), (2, 2), ((1, 1), (1, 1)))[1])
    np.testing.assert_array_equal(dx, expected)


# --- activation gradients -------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["relu", "tanh"])
@pytest.mark.parametrize("size", [7, 3 * parallel.ELEMENT_CHUNK + 5])  # one call; chunks
def test_activation_gradient_twins_agree_bit_for_bit(numba_twins, dtype, name, size):
    rng = np.random.default_rng(6)
    x = rng.standard_normal(size).astype(dtype) * 3
    x[:4] = [0.0, -0.0, np.inf, np.nan]
    dy = rng.standard_normal(size).astype(dtype)
    dy[4:7] = [np.inf, -np.inf, np.nan]
    forward = getattr(activations, f"{name}_forward")
    backward = getattr(activations, f"{name}_backward")

    def run():
        y, cache = forward(x)
        return y, backward(dy, cache)

    (y0, dx0), (y1, dx1) = both(run)
    np.testing.assert_array_equal(y1, y0)
    np.testing.assert_array_equal(dx1.view(np.uint8), dx0.view(np.uint8))  # signs of zero too


# --- batch normalisation ----------------------------------------------------------------------

def _bn_case(dtype, axis, seed=7):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((8, 5, 6, 7)) * 3 + 10).astype(dtype)
    c = x.shape[axis]
    return (x, rng.standard_normal(c).astype(dtype), rng.standard_normal(c).astype(dtype),
            rng.standard_normal(x.shape).astype(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("axis", [3, 1])
@pytest.mark.parametrize("affine", [True, False])
def test_batchnorm_twins_agree_within_rounding(numba_twins, dtype, axis, affine):
    x, gamma, beta, dy = _bn_case(dtype, axis)
    gamma, beta = (gamma, beta) if affine else (None, None)

    def run():
        y, cache = batchnorm.batchnorm_train_forward(x, gamma, beta, axis, 1e-3)
        grads = batchnorm.batchnorm_train_backward(dy, cache)
        yi, ci = batchnorm.batchnorm_infer_forward(x, gamma, beta, cache["mean"], cache["var"],
                                                   axis, 1e-3)
        return [y, cache["mean"], cache["var"], *grads, yi,
                *batchnorm.batchnorm_infer_backward(dy, ci)]

    expected, got = both(run)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    for e, g in zip(expected, got):
        assert (e is None) == (g is None)
        if e is not None:
            assert g.dtype == e.dtype
            np.testing.assert_allclose(g, e, rtol=rtol, atol=rtol * np.abs(e).max())


@pytest.mark.parametrize("dtype", DTYPES)
def test_batchnorm_elementwise_passes_agree_bit_for_bit(numba_twins, dtype):
    from stridenet.ops.kernels.compiled import batchnorm as compiled

    rng = np.random.default_rng(8)
    x2, dy2 = rng.standard_normal((2, 300, 6)).astype(dtype)
    mean, inv_sigma, scale, beta, m_dy, m_dyxhat = rng.standard_normal((6, 6)).astype(dtype)
    for b in (beta, None):
        out = [np.empty_like(x2), np.empty_like(x2)]
        batchnorm.normalise_into(x2, mean, scale, b, out[0])
        compiled.normalise_into(x2, mean, scale, b, out[1])
        np.testing.assert_array_equal(out[1], out[0])
    batchnorm.input_grad_into(x2, dy2, mean, inv_sigma, m_dy, m_dyxhat, scale, out[0])
    compiled.input_grad_into(x2, dy2, mean, inv_sigma, m_dy, m_dyxhat, scale, out[1])
    np.testing.assert_array_equal(out[1], out[0])


class _ThreadRanks:
    """A stand-in for the MPI reducer: two ranks as two threads summing through a barrier."""

    def __init__(self, weights):
        self.weights, self.barrier, self.parts = weights, threading.Barrier(len(weights)), {}

    def for_rank(self, rank):
        ranks = self

        class Reducer:
            weight = ranks.weights[rank]

            def sum(self, arrays):
                ranks.parts[rank] = [np.array(a, np.float64) for a in arrays]
                ranks.barrier.wait()
                total = [sum(ranks.parts[r][i] for r in sorted(ranks.parts))
                         for i in range(len(arrays))]
                ranks.barrier.wait()  # everyone has read before the next call writes
                return total

        return Reducer()


@pytest.mark.parametrize("dtype", DTYPES)
def test_synchronised_batchnorm_pools_statistics_on_both_paths(dtype):
    x, gamma, beta, dy = _bn_case(dtype, 3, seed=9)
    split, n = 3, x.shape[0]
    weights = [split / n, (n - split) / n]

    def run():
        y, cache = batchnorm.batchnorm_train_forward(x, gamma, beta, 3, 1e-3)
        dx_full = batchnorm.batchnorm_train_backward(dy, cache)[0]
        ranks, out = _ThreadRanks(weights), {}

        def rank(r, rows):
            # each rank's loss is the mean over its rows: its dy is the global one / weight
            yr, cr = batchnorm.batchnorm_train_forward(x[rows], gamma, beta, 3, 1e-3,
                                                       reducer=ranks.for_rank(r))
            out[r] = yr, batchnorm.batchnorm_train_backward(dy[rows] / weights[r], cr)[0]

        threads = [threading.Thread(target=rank, args=(r, rows))
                   for r, rows in enumerate([slice(0, split), slice(split, n)])]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        y_ranks = np.concatenate([out[0][0], out[1][0]])
        dx_ranks = np.concatenate([out[0][1] * weights[0], out[1][1] * weights[1]])
        return y, dx_full, y_ranks, dx_ranks

    tol = 2e-5 if dtype == np.float32 else 1e-12
    for y, dx_full, y_ranks, dx_ranks in both(run):
        np.testing.assert_allclose(y_ranks, y, rtol=tol, atol=tol)
        np.testing.assert_allclose(dx_ranks, dx_full, rtol=tol, atol=tol * np.abs(dx_full).max())


# --- optimizer updates ------------------------------------------------------------------------

OPTIMIZERS = [(optimizers.Adam, {}), (optimizers.Adam, {"amsgrad": True}),
              (optimizers.AdamW, {}), (optimizers.SGD, {}), (optimizers.SGD, {"momentum": 0.9}),
              (optimizers.SGD, {"momentum": 0.9, "nesterov": True}), (optimizers.RMSprop, {}),
              (optimizers.RMSprop, {"centered": True, "momentum": 0.5})]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cls,kwargs", OPTIMIZERS)
@pytest.mark.parametrize("contiguous", [True, False])
def test_optimizer_update_twins_agree_bit_for_bit(numba_twins, dtype, cls, kwargs, contiguous):
    rng = np.random.default_rng(10)
    p0 = rng.standard_normal((7, 5)).astype(dtype)
    grads = [rng.standard_normal((5, 7)).astype(dtype).T for _ in range(4)]  # strided
    if contiguous:
        grads = [np.ascontiguousarray(g) for g in grads]
    grads[2][0, 0] = 0.0

    def run():
        v = sn.Tensor(p0.copy())
        opt = cls(learning_rate=0.01, **kwargs)
        for g in grads:
            opt.apply([g], [v])
        return v.data, opt.get_state() if hasattr(opt, "get_state") else {}

    (p_np, state_np), (p_nb, state_nb) = both(run)
    assert not np.array_equal(p_np, p0)
    np.testing.assert_array_equal(p_nb, p_np)
    for key in state_np:
        np.testing.assert_array_equal(np.asarray(state_nb[key]), np.asarray(state_np[key]))


# --- Winograd transforms ----------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("r", [3, 5])
def test_winograd_transform_twins_agree_within_rounding(numba_twins, monkeypatch, dtype, r):
    from stridenet.ops.kernels import winograd
    from stridenet.ops.kernels.compiled import winograd as compiled

    monkeypatch.setattr(compiled, "COMPILED_R", (3, 5))  # the loops, for every size
    rng = np.random.default_rng(11)
    m, tiles, n, c, f = winograd.OUTPUT_TILE, (3, 2), 2, 5, 6
    a = m + r - 1
    tol = 1e-6 if dtype == np.float32 else 1e-14
    xp = rng.standard_normal((n, tiles[0] * m + r - 1, tiles[1] * m + r - 1, c)).astype(dtype)
    g = rng.standard_normal((n, tiles[0] * m, tiles[1] * m, f)).astype(dtype)
    prod = rng.standard_normal((a * a, n * tiles[0] * tiles[1], f)).astype(dtype)
    pairs = [(winograd._input_transform(xp, r, tiles).copy(),
              compiled.input_transform(xp, r, tiles).copy()),
             (winograd._gradient_transform(g, r, tiles).copy(),
              compiled.gradient_transform(g, r, tiles).copy())]
    out = [np.full((n, tiles[0] * m, tiles[1] * m, f), np.nan, dtype) for _ in range(2)]
    winograd._output_transform(prod, r, tiles, out[0])
    compiled.output_transform(prod, r, tiles, out[1])
    for expected, got in [*pairs, out]:
        assert got.dtype == expected.dtype and got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=0, atol=tol * np.abs(expected).max())


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("r", [3, 5])
def test_winograd_convolution_equal_on_both_paths(monkeypatch, dtype, r):
    from stridenet.ops.kernels import winograd

    monkeypatch.setattr(winograd, "FORCE", True)
    rng = np.random.default_rng(12)
    x = rng.standard_normal((3, 10, 9, 4)).astype(dtype)
    w = rng.standard_normal((r, r, 4, 6)).astype(dtype)

    def run():
        xt, wt = sn.Tensor(x, requires_grad=True), sn.Tensor(w, requires_grad=True)
        y = sn.ops.conv2d(xt, wt, padding="same")
        (y * y).sum().backward()
        return y.data.copy(), xt.grad.copy(), wt.grad.copy()

    expected, got = both(run)
    backend.set_kernel_mode(None)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for e, g in zip(expected, got):
        np.testing.assert_allclose(g, e, rtol=0, atol=tol * np.abs(e).max())


def test_winograd_on_partial_tiles_from_64_channels_with_the_compiled_transforms():
    from stridenet.ops.kernels import winograd

    geometry = ((3, 3), (1, 1), (1, 1), 1)
    modes = ("numpy", "numba") if importlib.util.find_spec("numba") else ("numpy",)
    try:
        for mode in modes:
            backend.set_kernel_mode(mode)
            assert winograd.usable(*geometry, 64, 64, (14, 14)) == (mode == "numba")
            assert not winograd.usable(*geometry, 32, 64, (14, 14))  # im2col is faster
            assert winograd.usable(*geometry, 32, 32, (16, 16))  # whole tiles: both paths
    finally:
        backend.set_kernel_mode(None)
