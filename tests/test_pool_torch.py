"""Pooling against PyTorch over randomised configurations (outputs and input gradients).

Layouts are converted explicitly (NHWC -> NCHW, NLC -> NCL). PyTorch's own ``padding``
argument is used where it can express ours (symmetric and at most half the window);
otherwise, or when the draw asks for it, the padding is an explicit ``F.pad`` -- with
-inf for max pooling (a padded cell never wins) and zeros for average pooling, where
the divisor is then rebuilt from PyTorch ops:

* ``count_include_pad=True``: ``avg_pool`` of the padded input with no further padding
  divides by the window cells inside input + padding, clipped at the end in ceil mode,
  which is exactly the rule;
* ``count_include_pad=False`` (which PyTorch cannot say for asymmetric padding, e.g.
  'same' with an odd total): window sums (``divisor_override=1``) divided by the
  number of real cells, i.e. the same sums over a padded tensor of ones.

On an explicitly padded input PyTorch's ceil mode keeps a last window that starts in
the right padding, which ours (and PyTorch's own, with its ``padding`` argument) drops;
the PyTorch output is cropped to ours before comparing. Max pooling inputs are
either all distinct or small integers with many ties, which also proves that the
gradient goes to the same (first) maximum as PyTorch's.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import stridenet as sn
from oracle_stats import record
from stridenet.ops.kernels.geometry import output_size, resolve_padding
from stridenet.ops.pool import (
    avg_pool1d,
    avg_pool2d,
    global_avg_pool1d,
    global_avg_pool2d,
    global_max_pool1d,
    global_max_pool2d,
    max_pool1d,
    max_pool2d,
)


def _settings(n):
    return settings(max_examples=n, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


paddings_2d = st.one_of(
    st.sampled_from(["valid", "same"]),
    st.integers(0, 2),
    st.tuples(st.integers(0, 2), st.integers(0, 2)),
    st.tuples(st.tuples(st.integers(0, 3), st.integers(0, 3)),
              st.tuples(st.integers(0, 3), st.integers(0, 3))),
)
paddings_1d = st.one_of(st.sampled_from(["valid", "same", "causal"]), st.integers(0, 2),
                        st.tuples(st.integers(0, 3), st.integers(0, 3)))


def accepted(sizes, pool, strides, pads, ceil_mode):
    """The op's contract: the window fits the padded input and no window is all padding."""
    for n, k, s, (p0, p1) in zip(sizes, pool, strides, pads):
        if n + p0 + p1 < k or p0 >= k:
            return False
        if (output_size(n, k, s, p0, p1, ceil_mode=ceil_mode) - 1) * s >= p0 + n:
            return False
    return True


def make_input(rng, shape, ties):
    if ties:  # small integers: most windows have tied maxima
        return rng.integers(0, 3, shape).astype(np.float64)
    return rng.permutation(int(np.prod(shape))).reshape(shape) * 0.5 - 3.0


def run_ours(fn, x, **kw):
    tx = sn.Tensor(x, requires_grad=True)
    y = fn(tx, **kw)
    dy = np.random.default_rng(7).standard_normal(y.shape)
    y.backward(dy)
    return y.numpy(), dy, tx.grad


def torch_pool(torch, kind, tx, pool, strides, pads, ceil_mode, cip, native):
    """PyTorch pooling of tx (N, C, H, W) with our explicit pads; 1D callers use H = 1."""
    F = torch.nn.functional
    (pt, pb), (pl, pr) = pads
    if native:
        if kind == "max":
            return F.max_pool2d(tx, pool, strides, (pt, pl), ceil_mode=ceil_mode)
        return F.avg_pool2d(tx, pool, strides, (pt, pl), ceil_mode=ceil_mode,
                            count_include_pad=cip)
    torch_pads = (pl, pr, pt, pb)
    if kind == "max":
        return F.max_pool2d(F.pad(tx, torch_pads, value=-np.inf), pool, strides,
                            ceil_mode=ceil_mode)
    padded = F.pad(tx, torch_pads)
    if cip:
        return F.avg_pool2d(padded, pool, strides, ceil_mode=ceil_mode)
    sums = F.avg_pool2d(padded, pool, strides, ceil_mode=ceil_mode, divisor_override=1)
    ones = F.pad(torch.ones_like(tx), torch_pads)
    counts = F.avg_pool2d(ones, pool, strides, ceil_mode=ceil_mode, divisor_override=1)
    return sums / counts


def can_be_native(pool, pads):
    return all(p0 == p1 and 2 * p0 <= k for k, (p0, p1) in zip(pool, pads))


def compare(op, torch, ours, dy, dx, ty, tx):
    """ty: PyTorch's (N, C, OH', OW') output, cropped to ours; dy, dx NHWC arrays.

    tx: the PyTorch leaf, (N, C, H, W), or (N, C, L) for 1D (then H = 1 here)."""
    oh, ow = ours.shape[1:3]
    assert ty.shape[2] >= oh and ty.shape[3] >= ow, "PyTorch has fewer windows than we do"
    ty = ty[:, :, :oh, :ow]
    ty.backward(torch.tensor(dy.transpose(0, 3, 1, 2)))
    pairs = [(ours, ty.detach().numpy().transpose(0, 2, 3, 1)),
             (dx, tx.grad.numpy().reshape(dx.shape[0], dx.shape[3], *dx.shape[1:3])
              .transpose(0, 2, 3, 1))]  # (N, C, H, W) -> (N, H, W, C)
    record(op, *pairs)
    for a, b in pairs:
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


config_2d = dict(n=st.integers(1, 3), h=st.integers(1, 9), w_=st.integers(1, 9),
                 c=st.integers(1, 3), kh=st.integers(1, 4), kw=st.integers(1, 4),
                 sh=st.integers(1, 4), sw=st.integers(1, 4), padding=paddings_2d,
                 ceil_mode=st.booleans(), native=st.booleans(), seed=st.integers(0, 2**16))


def pool2d_case(torch, kind, n, h, w_, c, kh, kw, sh, sw, padding, ceil_mode, native, seed,
                cip=False, ties=False):
    pads = resolve_padding(padding, (h, w_), (kh, kw), (sh, sw), (1, 1))
    assume(accepted((h, w_), (kh, kw), (sh, sw), pads, ceil_mode))
    x = make_input(np.random.default_rng(seed), (n, h, w_, c), ties)
    if kind == "max":
        y, dy, dx = run_ours(max_pool2d, x, pool_size=(kh, kw), strides=(sh, sw),
                             padding=padding, ceil_mode=ceil_mode)
    else:
        y, dy, dx = run_ours(avg_pool2d, x, pool_size=(kh, kw), strides=(sh, sw),
                             padding=padding, count_include_pad=cip, ceil_mode=ceil_mode)
    tx = torch.tensor(x.transpose(0, 3, 1, 2), requires_grad=True)  # (N, C, H, W)
    ty = torch_pool(torch, kind, tx, (kh, kw), (sh, sw), pads, ceil_mode, cip,
                    native and can_be_native((kh, kw), pads))
    compare(f"{kind}_pool2d", torch, y, dy, dx, ty, tx)


@_settings(60)
@given(ties=st.booleans(), **config_2d)
def test_max_pool2d_matches_torch(torch, ties, **cfg):
    pool2d_case(torch, "max", ties=ties, **cfg)


@_settings(60)
@given(cip=st.booleans(), **config_2d)
def test_avg_pool2d_matches_torch(torch, cip, **cfg):
    pool2d_case(torch, "avg", cip=cip, **cfg)


@st.composite
def native_2d(draw):
    """Padding PyTorch's own ``padding`` argument expresses (symmetric, at most k // 2),
    non-zero at least on the height axis."""
    kh, kw = draw(st.integers(2, 4)), draw(st.integers(1, 4))
    return (kh, kw), (draw(st.integers(1, kh // 2)), draw(st.integers(0, kw // 2)))


@_settings(30)
@given(window=native_2d(), ties=st.booleans(),
       **{k: v for k, v in config_2d.items() if k not in ("kh", "kw", "padding", "native")})
def test_pool2d_matches_torch_own_padding(torch, window, ties, **cfg):
    """PyTorch's own padded pooling: its ceil rule and both count_include_pad rules."""
    (kh, kw), padding = window
    pool2d_case(torch, "max", kh=kh, kw=kw, padding=padding, native=True, ties=ties, **cfg)
    for cip in (False, True):
        pool2d_case(torch, "avg", kh=kh, kw=kw, padding=padding, native=True, cip=cip, **cfg)


config_1d = dict(n=st.integers(1, 3), length=st.integers(1, 12), c=st.integers(1, 3),
                 k=st.integers(1, 5), s=st.integers(1, 4), padding=paddings_1d,
                 ceil_mode=st.booleans(), native=st.booleans(), seed=st.integers(0, 2**16))


def pool1d_case(torch, kind, n, length, c, k, s, padding, ceil_mode, native, seed, cip=False,
                ties=False):
    ((p0, p1),) = resolve_padding(padding, (length,), (k,), (s,), (1,), causal_ok=True)
    assume(accepted((length,), (k,), (s,), ((p0, p1),), ceil_mode))
    x = make_input(np.random.default_rng(seed), (n, length, c), ties)
    if kind == "max":
        y, dy, dx = run_ours(max_pool1d, x, pool_size=k, strides=s, padding=padding,
                             ceil_mode=ceil_mode)
    else:
        y, dy, dx = run_ours(avg_pool1d, x, pool_size=k, strides=s, padding=padding,
                             count_include_pad=cip, ceil_mode=ceil_mode)
    F = torch.nn.functional
    tx = torch.tensor(x.transpose(0, 2, 1), requires_grad=True)  # (N, C, L)
    if native and p0 == p1 and 2 * p0 <= k:  # PyTorch's own 1D ops
        if kind == "max":
            ty = F.max_pool1d(tx, k, s, p0, ceil_mode=ceil_mode)
        else:
            ty = F.avg_pool1d(tx, k, s, p0, ceil_mode=ceil_mode, count_include_pad=cip)
        ty = ty[:, :, None, :]  # (N, C, 1, OL)
    else:  # avg_pool1d has no divisor_override: a height-1 2D pool
        ty = torch_pool(torch, kind, tx[:, :, None, :], (1, k), (1, s), ((0, 0), (p0, p1)),
                        ceil_mode, cip, native=False)
    compare(f"{kind}_pool1d", torch, y[:, None], dy[:, None], dx[:, None], ty, tx)


@_settings(40)
@given(ties=st.booleans(), **config_1d)
def test_max_pool1d_matches_torch(torch, ties, **cfg):
    pool1d_case(torch, "max", ties=ties, **cfg)


@_settings(40)
@given(cip=st.booleans(), **config_1d)
def test_avg_pool1d_matches_torch(torch, cip, **cfg):
    pool1d_case(torch, "avg", cip=cip, **cfg)


@_settings(10)
@given(seed=st.integers(0, 2**16), kind=st.sampled_from(["max", "avg"]),
       s=st.integers(1, 3), padding=st.sampled_from(["valid", "same"]))
def test_pool2d_float32_matches_torch(torch, seed, kind, s, padding):
    x = np.random.default_rng(seed).standard_normal((4, 12, 11, 8)).astype(np.float32)
    fn = max_pool2d if kind == "max" else avg_pool2d
    y, dy, dx = run_ours(fn, x, pool_size=3, strides=s, padding=padding)
    assert y.dtype == dx.dtype == np.float32
    pads = resolve_padding(padding, (12, 11), (3, 3), (s, s), (1, 1))
    tx = torch.tensor(x.transpose(0, 3, 1, 2), requires_grad=True)
    ty = torch_pool(torch, kind, tx, (3, 3), (s, s), pads, False, False, native=False)
    ty.backward(torch.tensor(dy.transpose(0, 3, 1, 2).astype(np.float32)))
    pairs = [(y, ty.detach().numpy().transpose(0, 2, 3, 1)),
             (dx, tx.grad.numpy().transpose(0, 2, 3, 1))]
    record(f"{kind}_pool2d float32", *pairs)
    for a, b in pairs:
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


@_settings(20)
@given(seed=st.integers(0, 2**16), rank=st.sampled_from([1, 2]), keepdims=st.booleans(),
       shape=st.tuples(st.integers(1, 3), st.integers(1, 5), st.integers(1, 5),
                       st.integers(1, 3)))
def test_global_pools_match_torch(torch, seed, rank, keepdims, shape):
    shape = shape if rank == 2 else shape[:1] + shape[2:]
    axes = tuple(range(1, rank + 1))
    x = make_input(np.random.default_rng(seed), shape, ties=False)
    ops = ((global_avg_pool2d, global_max_pool2d) if rank == 2
           else (global_avg_pool1d, global_max_pool1d))
    for fn, reduce in zip(ops, ("mean", "amax")):
        y, dy, dx = run_ours(fn, x, keepdims=keepdims)
        tx = torch.tensor(x, requires_grad=True)  # reducing over axes needs no layout change
        ty = getattr(torch, reduce)(tx, dim=axes, keepdim=keepdims)
        ty.backward(torch.tensor(dy))
        pairs = [(y, ty.detach().numpy()), (dx, tx.grad.numpy())]
        record(f"global_{reduce}_pool", *pairs)
        for a, b in pairs:
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
