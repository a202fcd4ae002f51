"""conv2d / conv1d against PyTorch over randomised configurations (outputs and all gradients).

Layouts are converted explicitly: NHWC -> NCHW for inputs, (KH, KW, Cg, F) -> (F, Cg, KH, KW)
for kernels. Every padding (including 'same' with stride > 1, which PyTorch refuses) is given to
PyTorch as an explicit F.pad, and flip_kernel as a kernel rotated by 180 degrees.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import stridenet as sn
from oracle_stats import record
from stridenet.ops.kernels.geometry import effective_kernel, resolve_padding

SETTINGS = settings(max_examples=120, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

paddings_2d = st.one_of(
    st.sampled_from(["valid", "same"]),
    st.integers(0, 2),
    st.tuples(st.integers(0, 2), st.integers(0, 2)),
    st.tuples(st.tuples(st.integers(0, 3), st.integers(0, 3)),
              st.tuples(st.integers(0, 3), st.integers(0, 3))),
)


def run_ours(fn, x, w, b, **kw):
    tx, tw, tb = (sn.Tensor(a, requires_grad=True) for a in (x, w, b))
    y = fn(tx, tw, tb, **kw)
    dy = np.random.default_rng(7).standard_normal(y.shape)
    y.backward(dy)
    return y.numpy(), dy, tx.grad, tw.grad, tb.grad


def torch_conv2d_pairs(torch, x, k, b, pads, strides, dilation, groups, flip, relu, dy, ours):
    """PyTorch's (y, dx, dk, db) in our layouts, paired with ours; padding made explicit."""
    F = torch.nn.functional
    tx = torch.tensor(x.transpose(0, 3, 1, 2), requires_grad=True)  # (N, C, H, W)
    kk = k[::-1, ::-1] if flip else k
    tk = torch.tensor(kk.transpose(3, 2, 0, 1).copy(), requires_grad=True)  # (F, Cg, KH, KW)
    tb = torch.tensor(b, requires_grad=True)
    (pt, pb), (pl, pr) = pads
    ty = F.conv2d(F.pad(tx, (pl, pr, pt, pb)), tk, tb, stride=strides, dilation=dilation,
                  groups=groups)
    if relu:  # the fused relu of ours against a separate one in PyTorch
        ty = F.relu(ty)
    ty.backward(torch.tensor(dy.transpose(0, 3, 1, 2)))
    tdk = tk.grad.numpy().transpose(2, 3, 1, 0)  # (F, Cg, KH, KW) -> (KH, KW, Cg, F)
    if flip:
        tdk = tdk[::-1, ::-1]
    theirs = [ty.detach().numpy().transpose(0, 2, 3, 1), tx.grad.numpy().transpose(0, 2, 3, 1),
              tdk, tb.grad.numpy()]
    return list(zip(ours, theirs))


@SETTINGS
@given(n=st.integers(1, 3), h=st.integers(1, 9), w_=st.integers(1, 9), cg=st.integers(1, 3),
       groups=st.integers(1, 3), fg=st.integers(1, 3), kh=st.integers(1, 4), kw=st.integers(1, 4),
       sh=st.integers(1, 3), sw=st.integers(1, 3), dh=st.integers(1, 2), dw=st.integers(1, 2),
       padding=paddings_2d, flip=st.booleans(), relu=st.booleans(), seed=st.integers(0, 2**16))
def test_conv2d_matches_torch(torch, n, h, w_, cg, groups, fg, kh, kw, sh, sw, dh, dw, padding,
                              flip, relu, seed):
    pads = resolve_padding(padding, (h, w_), (kh, kw), (sh, sw), (dh, dw))
    assume(h + sum(pads[0]) >= effective_kernel(kh, dh))
    assume(w_ + sum(pads[1]) >= effective_kernel(kw, dw))
    rng = np.random.default_rng(seed)
    c, f = cg * groups, fg * groups
    x, k, b = rng.standard_normal((n, h, w_, c)), rng.standard_normal((kh, kw, cg, f)), \
        rng.standard_normal(f)
    y, dy, dx, dk, db = run_ours(sn.ops.conv2d, x, k, b, strides=(sh, sw), padding=padding,
                                 dilation_rate=(dh, dw), groups=groups, flip_kernel=flip,
                                 activation="relu" if relu else None)

    pairs = torch_conv2d_pairs(torch, x, k, b, pads, (sh, sw), (dh, dw), groups, flip, relu,
                               dy, (y, dx, dk, db))
    record("conv2d", *pairs)
    for ours, theirs in pairs:
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-10)


@SETTINGS
@given(n=st.integers(1, 3), length=st.integers(1, 12), cg=st.integers(1, 3),
       groups=st.integers(1, 3), fg=st.integers(1, 3), k=st.integers(1, 5), s=st.integers(1, 3),
       d=st.integers(1, 3),
       padding=st.one_of(st.sampled_from(["valid", "same", "causal"]), st.integers(0, 3),
                         st.tuples(st.integers(0, 3), st.integers(0, 3))),
       flip=st.booleans(), seed=st.integers(0, 2**16))
def test_conv1d_matches_torch(torch, n, length, cg, groups, fg, k, s, d, padding, flip, seed):
    ((p0, p1),) = resolve_padding(padding, (length,), (k,), (s,), (d,), causal_ok=True)
    assume(length + p0 + p1 >= effective_kernel(k, d))
    rng = np.random.default_rng(seed)
    c, f = cg * groups, fg * groups
    x, w, b = rng.standard_normal((n, length, c)), rng.standard_normal((k, cg, f)), \
        rng.standard_normal(f)
    y, dy, dx, dw, db = run_ours(sn.ops.conv1d, x, w, b, strides=s, padding=padding,
                                 dilation_rate=d, groups=groups, flip_kernel=flip)

    F = torch.nn.functional
    tx = torch.tensor(x.transpose(0, 2, 1), requires_grad=True)  # (N, C, L)
    ww = w[::-1] if flip else w
    tw = torch.tensor(ww.transpose(2, 1, 0).copy(), requires_grad=True)
    tb = torch.tensor(b, requires_grad=True)
    ty = F.conv1d(F.pad(tx, (p0, p1)), tw, tb, stride=s, dilation=d, groups=groups)
    ty.backward(torch.tensor(dy.transpose(0, 2, 1)))
    tdw = tw.grad.numpy().transpose(2, 1, 0)  # (F, Cg, K) -> (K, Cg, F)
    if flip:
        tdw = tdw[::-1]
    pairs = [(y, ty.detach().numpy().transpose(0, 2, 1)),
             (dx, tx.grad.numpy().transpose(0, 2, 1)), (dw, tdw), (db, tb.grad.numpy())]
    record("conv1d", *pairs)
    for ours, theirs in pairs:
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-10)


@settings(max_examples=20, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**16), s=st.integers(1, 2))
def test_conv2d_float32_matches_torch(torch, seed, s):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((4, 12, 12, 8)).astype(np.float32)
    k = rng.standard_normal((3, 3, 8, 16)).astype(np.float32)
    b = rng.standard_normal(16).astype(np.float32)
    y, dy, dx, dk, db = run_ours(sn.ops.conv2d, x, k, b, strides=s, padding="same")
    assert y.dtype == dx.dtype == dk.dtype == np.float32
    F = torch.nn.functional
    (pt, pb), (pl, pr) = resolve_padding("same", (12, 12), (3, 3), (s, s), (1, 1))
    tx = torch.tensor(x.transpose(0, 3, 1, 2), requires_grad=True)
    tk = torch.tensor(k.transpose(3, 2, 0, 1).copy(), requires_grad=True)
    tb = torch.tensor(b, requires_grad=True)
    ty = F.conv2d(F.pad(tx, (pl, pr, pt, pb)), tk, tb, stride=s)
    ty.backward(torch.tensor(dy.transpose(0, 3, 1, 2).astype(np.float32)))
    pairs = [(y, ty.detach().numpy().transpose(0, 2, 3, 1)),
             (dx, tx.grad.numpy().transpose(0, 2, 3, 1)),
             (dk, tk.grad.numpy().transpose(2, 3, 1, 0)), (db, tb.grad.numpy())]
    record("conv2d float32", *pairs)
    for ours, theirs in pairs:
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=2e-4)


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(1, 2), h=st.integers(3, 11), w_=st.integers(3, 11), c=st.integers(1, 4),
       f=st.integers(1, 4), r=st.sampled_from([3, 5]), padding=paddings_2d,
       relu=st.booleans(), seed=st.integers(0, 2**16))
def test_conv2d_winograd_matches_torch(torch, n, h, w_, c, f, r, padding, relu, seed):
    """Stride-1 3x3 / 5x5 convolutions forced onto the Winograd path (any channel count)."""
    from stridenet.ops.kernels import winograd

    pads = resolve_padding(padding, (h, w_), (r, r), (1, 1), (1, 1))
    assume(h + sum(pads[0]) >= r and w_ + sum(pads[1]) >= r)
    rng = np.random.default_rng(seed)
    x, k, b = rng.standard_normal((n, h, w_, c)), rng.standard_normal((r, r, c, f)), \
        rng.standard_normal(f)
    saved, winograd.FORCE = winograd.FORCE, True
    try:
        assert winograd.usable((r, r), (1, 1), (1, 1), 1, c, f, (h, w_))
        ours = run_ours(sn.ops.conv2d, x, k, b, padding=padding,
                        activation="relu" if relu else None)
    finally:
        winograd.FORCE = saved
    y, dy, dx, dk, db = ours
    pairs = torch_conv2d_pairs(torch, x, k, b, pads, (1, 1), (1, 1), 1, False, relu, dy,
                               (y, dx, dk, db))
    record("conv2d winograd", *pairs)
    for ours_, theirs in pairs:
        np.testing.assert_allclose(ours_, theirs, rtol=1e-9, atol=1e-9)


@settings(max_examples=10, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**16), r=st.sampled_from([3, 5]))
def test_conv2d_winograd_float32_matches_torch(torch, seed, r):
    """The default Winograd path of a 3x3 / 5x5 layer with the fewest channels it takes, in
    float32."""
    from stridenet.ops.kernels import winograd

    rng = np.random.default_rng(seed)
    c = winograd.MIN_CHANNELS[r]
    x = rng.standard_normal((3, 12, 8, c)).astype(np.float32)
    k = (rng.standard_normal((r, r, c, c)) / (4 * r)).astype(np.float32)
    b = rng.standard_normal(c).astype(np.float32)
    assert winograd.usable((r, r), (1, 1), (1, 1), 1, c, c, (12, 8))
    y, dy, dx, dk, db = run_ours(sn.ops.conv2d, x, k, b, padding="same", activation="relu")
    dy = dy.astype(np.float32)
    pads = resolve_padding("same", (12, 8), (r, r), (1, 1), (1, 1))
    pairs = torch_conv2d_pairs(torch, x, k, b, pads, (1, 1), (1, 1), 1, False, True, dy,
                               (y, dx, dk, db))
    record("conv2d winograd float32", *pairs)
    for ours_, theirs in pairs:
        assert ours_.dtype == np.float32
        np.testing.assert_allclose(ours_, theirs, rtol=1e-4, atol=1e-4 * np.abs(theirs).max())
