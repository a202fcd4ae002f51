"""conv3d and the transposed convolutions against PyTorch over randomised configurations.

Layouts are converted explicitly: channels last -> channels first for inputs, (K..., Cg, F) ->
(F, Cg, K...) for conv kernels and (K..., F_out, C_in) -> (C_in, F_out, K...) for transposed
ones. Every padding is given to PyTorch as an explicit F.pad; a transposed convolution runs in
PyTorch unpadded (every patch whole) and is then cropped / zero-extended to Keras' output by
F.pad with negative / positive amounts, the bias added after, as Keras does.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import stridenet as sn
from oracle_stats import record
from reference.conv_nd import keras_left_pad, transposed_size
from stridenet.ops.kernels.geometry import effective_kernel, output_size, resolve_padding

SETTINGS = settings(max_examples=80, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def to_first(a):
    """(N, S..., C) -> (N, C, S...)."""
    return np.moveaxis(a, -1, 1).copy()


def to_last(a):
    return np.moveaxis(a, 1, -1)


def run_ours(fn, x, w, b, **kw):
    tx, tw, tb = (sn.Tensor(a, requires_grad=True) for a in (x, w, b))
    y = fn(tx, tw, tb, **kw)
    dy = np.random.default_rng(7).standard_normal(y.shape)
    y.backward(dy)
    return y.numpy(), dy, tx.grad, tw.grad, tb.grad


def torch_pad_arg(pads):
    """((before, after) per spatial axis) -> F.pad's flat tuple, last axis first."""
    return tuple(v for p in reversed(pads) for v in p)


triples = st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3))
paddings_3d = st.one_of(
    st.sampled_from(["valid", "same"]),
    st.integers(0, 2),
    st.tuples(*[st.tuples(st.integers(0, 2), st.integers(0, 2))] * 3),
)


@SETTINGS
@given(n=st.integers(1, 2), size=st.tuples(st.integers(1, 6), st.integers(1, 6),
                                           st.integers(1, 6)),
       cg=st.integers(1, 3), groups=st.integers(1, 2), fg=st.integers(1, 3), ks=triples,
       strides=triples, dilation=st.tuples(*[st.integers(1, 2)] * 3), padding=paddings_3d,
       flip=st.booleans(), relu=st.booleans(), seed=st.integers(0, 2**16))
def test_conv3d_matches_torch(torch, n, size, cg, groups, fg, ks, strides, dilation, padding,
                              flip, relu, seed):
    pads = resolve_padding(padding, size, ks, strides, dilation)
    for s, k, d, (p0, p1) in zip(size, ks, dilation, pads):
        assume(s + p0 + p1 >= effective_kernel(k, d))
    rng = np.random.default_rng(seed)
    c, f = cg * groups, fg * groups
    x, w, b = rng.standard_normal((n, *size, c)), rng.standard_normal((*ks, cg, f)), \
        rng.standard_normal(f)
    y, dy, dx, dw, db = run_ours(sn.ops.conv3d, x, w, b, strides=strides, padding=padding,
                                 dilation_rate=dilation, groups=groups, flip_kernel=flip,
                                 activation="relu" if relu else None)
    F = torch.nn.functional
    tx = torch.tensor(to_first(x), requires_grad=True)
    ww = w[::-1, ::-1, ::-1] if flip else w
    tw = torch.tensor(np.transpose(ww, (4, 3, 0, 1, 2)).copy(), requires_grad=True)
    tb = torch.tensor(b, requires_grad=True)
    ty = F.conv3d(F.pad(tx, torch_pad_arg(pads)), tw, tb, stride=strides, dilation=dilation,
                  groups=groups)
    if relu:
        ty = F.relu(ty)
    ty.backward(torch.tensor(to_first(dy)))
    tdw = np.transpose(tw.grad.numpy(), (2, 3, 4, 1, 0))  # (F, Cg, K...) -> (K..., Cg, F)
    if flip:
        tdw = tdw[::-1, ::-1, ::-1]
    pairs = [(y, to_last(ty.detach().numpy())), (dx, to_last(tx.grad.numpy())), (dw, tdw),
             (db, tb.grad.numpy())]
    record("conv3d", *pairs)
    for ours, theirs in pairs:
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-10)


def check_transpose_against_torch(torch, rank, n, size, cin, f, ks, strides, dilation, padding,
                                  op_given, seed):
    op = tuple(min(o, s - 1) for o, s in zip(op_given, strides)) if op_given else None
    sizes = [transposed_size(m, k, s, d, padding, None if op is None else o)
             for m, k, s, d, o in zip(size, ks, strides, dilation, op or (0,) * rank)]
    assume(min(sizes) > 0)
    rng = np.random.default_rng(seed)
    x, w, b = rng.standard_normal((n, *size, cin)), rng.standard_normal((*ks, f, cin)), \
        rng.standard_normal(f)
    if rank == 2:  # the op with its own bias
        y, dy, dx, dw, db = run_ours(sn.ops.conv_transpose2d, x, w, b, strides=strides,
                                     padding=padding, output_padding=op, dilation_rate=dilation)
    else:  # keras.ops.conv_transpose's signature
        y, dy, dx, dw, db = _run_keras_style(x, w, b, strides, padding, op, dilation)
    F = torch.nn.functional
    conv_t = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}[rank]
    tx = torch.tensor(to_first(x), requires_grad=True)
    perm = (rank + 1, rank, *range(rank))  # (K..., F_out, C_in) -> (C_in, F_out, K...)
    tw = torch.tensor(np.transpose(w, perm).copy(), requires_grad=True)
    tb = torch.tensor(b, requires_grad=True)
    full = conv_t(tx, tw, None, stride=strides, dilation=dilation)  # every patch whole
    pads = []
    for m, k, s, d, o, out in zip(size, ks, strides, dilation, op or (None,) * rank, sizes):
        crop = effective_kernel(k, d) - 1 - keras_left_pad(k, s, d, padding, o)
        full_len = (m - 1) * s + effective_kernel(k, d)
        pads.append((-crop, out - (full_len - crop)))
    ty = F.pad(full, torch_pad_arg(pads)) + tb.reshape(1, f, *(1,) * rank)
    ty.backward(torch.tensor(to_first(dy)))
    tdw = np.transpose(tw.grad.numpy(), (*range(2, rank + 2), 1, 0))
    pairs = [(y, to_last(ty.detach().numpy())), (dx, to_last(tx.grad.numpy())), (dw, tdw),
             (db, tb.grad.numpy())]
    record(f"conv_transpose{rank}d", *pairs)
    for ours, theirs in pairs:
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-10)


def _run_keras_style(x, w, b, strides, padding, op, dilation):
    """ops.conv_transpose has no bias (as in Keras): add it as a separate op."""
    tx, tw, tb = (sn.Tensor(a, requires_grad=True) for a in (x, w, b))
    y = sn.ops.conv_transpose(tx, tw, strides, padding, op, None, dilation) + tb
    dy = np.random.default_rng(7).standard_normal(y.shape)
    y.backward(dy)
    return y.numpy(), dy, tx.grad, tw.grad, tb.grad


def _transpose_strategy(rank, max_size):
    ints = st.tuples(*[st.integers(1, 3)] * rank)
    return dict(n=st.integers(1, 2), size=st.tuples(*[st.integers(1, max_size)] * rank),
                cin=st.integers(1, 3), f=st.integers(1, 3), ks=ints, strides=ints,
                dilation=st.tuples(*[st.integers(1, 2)] * rank),
                padding=st.sampled_from(["valid", "same"]),
                op_given=st.one_of(st.none(), st.tuples(*[st.integers(0, 2)] * rank)),
                seed=st.integers(0, 2**16))


@SETTINGS
@given(**_transpose_strategy(1, 8))
def test_conv_transpose1d_matches_torch(torch, n, size, cin, f, ks, strides, dilation, padding,
                                        op_given, seed):
    check_transpose_against_torch(torch, 1, n, size, cin, f, ks, strides, dilation, padding,
                                  op_given, seed)


@SETTINGS
@given(**_transpose_strategy(2, 6))
def test_conv_transpose2d_matches_torch(torch, n, size, cin, f, ks, strides, dilation, padding,
                                        op_given, seed):
    check_transpose_against_torch(torch, 2, n, size, cin, f, ks, strides, dilation, padding,
                                  op_given, seed)


@SETTINGS
@given(**_transpose_strategy(3, 4))
def test_conv_transpose3d_matches_torch(torch, n, size, cin, f, ks, strides, dilation, padding,
                                        op_given, seed):
    check_transpose_against_torch(torch, 3, n, size, cin, f, ks, strides, dilation, padding,
                                  op_given, seed)


@settings(max_examples=10, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**16), s=st.integers(1, 2))
def test_conv3d_and_transpose_float32_match_torch(torch, seed, s):
    """A C3D-like layer and a decoder's transposed conv in float32, the default dtype."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, 6, 10, 10, 8)).astype(np.float32)
    w = (rng.standard_normal((3, 3, 3, 8, 16)) / 15).astype(np.float32)
    b = rng.standard_normal(16).astype(np.float32)
    y, dy, dx, dw, db = run_ours(sn.ops.conv3d, x, w, b, strides=s, padding="same")
    assert y.dtype == dx.dtype == dw.dtype == np.float32
    F = torch.nn.functional
    pads = resolve_padding("same", (6, 10, 10), (3, 3, 3), (s,) * 3, (1,) * 3)
    tx = torch.tensor(to_first(x), requires_grad=True)
    tw = torch.tensor(np.transpose(w, (4, 3, 0, 1, 2)).copy(), requires_grad=True)
    tb = torch.tensor(b, requires_grad=True)
    ty = F.conv3d(F.pad(tx, torch_pad_arg(pads)), tw, tb, stride=s)
    ty.backward(torch.tensor(to_first(dy.astype(np.float32))))
    pairs = [(y, to_last(ty.detach().numpy())), (dx, to_last(tx.grad.numpy())),
             (dw, np.transpose(tw.grad.numpy(), (2, 3, 4, 1, 0))), (db, tb.grad.numpy())]
    record("conv3d float32", *pairs)
    for ours, theirs in pairs:
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=2e-4 * np.abs(theirs).max())


def _pool_accepted(sizes, pool, strides, pads, ceil_mode):
    """The op's contract: the window fits the padded input and no window is all padding."""
    for n, k, s, (p0, p1) in zip(sizes, pool, strides, pads):
        if n + p0 + p1 < k or p0 >= k:
            return False
        if (output_size(n, k, s, p0, p1, ceil_mode=ceil_mode) - 1) * s >= p0 + n:
            return False
    return True


@settings(SETTINGS, max_examples=150)
@given(n=st.integers(1, 2), size=st.tuples(*[st.integers(1, 6)] * 3), c=st.integers(1, 3),
       pool=triples, strides=st.one_of(st.none(), triples), padding=paddings_3d,
       ceil_mode=st.booleans(), kind=st.sampled_from(["max", "avg", "avg_cip"]),
       ties=st.booleans(), seed=st.integers(0, 2**16))
def test_pool3d_matches_torch(torch, n, size, c, pool, strides, padding, ceil_mode, kind, ties,
                              seed):
    st_ = pool if strides is None else strides
    pads = resolve_padding(padding, size, pool, st_, (1, 1, 1))
    assume(_pool_accepted(size, pool, st_, pads, ceil_mode))
    rng = np.random.default_rng(seed)
    shape = (n, *size, c)
    x = rng.integers(0, 3, shape).astype(np.float64) if ties else \
        rng.permutation(int(np.prod(shape))).reshape(shape) * 0.5 - 3.0
    tx_ours = sn.Tensor(x, requires_grad=True)
    if kind == "max":
        y = sn.ops.max_pool3d(tx_ours, pool, strides, padding, ceil_mode)
    else:
        y = sn.ops.avg_pool3d(tx_ours, pool, strides, padding, kind == "avg_cip", ceil_mode)
    dy = np.random.default_rng(7).standard_normal(y.shape)
    y.backward(dy)

    F = torch.nn.functional
    tx = torch.tensor(to_first(x), requires_grad=True)
    tp = torch_pad_arg(pads)
    if kind == "max":  # a padded cell never wins the max
        ty = F.max_pool3d(F.pad(tx, tp, value=-np.inf), pool, st_, ceil_mode=ceil_mode)
    elif kind == "avg_cip":  # divide by the window cells inside input + padding
        ty = F.avg_pool3d(F.pad(tx, tp), pool, st_, ceil_mode=ceil_mode)
    else:  # window sums over the number of real cells
        sums = F.avg_pool3d(F.pad(tx, tp), pool, st_, ceil_mode=ceil_mode, divisor_override=1)
        counts = F.avg_pool3d(F.pad(torch.ones_like(tx), tp), pool, st_, ceil_mode=ceil_mode,
                              divisor_override=1)
        ty = sums / counts
    # PyTorch's ceil mode on an explicitly padded input may keep a last window starting in
    # the right padding, which ours drops: crop to ours
    od, oh, ow = y.shape[1:4]
    ty = ty[:, :, :od, :oh, :ow]
    ty.backward(torch.tensor(to_first(dy)))
    pairs = [(y.numpy(), to_last(ty.detach().numpy())), (tx_ours.grad, to_last(tx.grad.numpy()))]
    record(f"{kind}_pool3d", *pairs)
    for ours, theirs in pairs:
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


@settings(SETTINGS, max_examples=160)
@given(rank=st.integers(1, 3), n=st.integers(1, 2), size=st.tuples(*[st.integers(1, 5)] * 3),
       c=st.integers(1, 3), factor=st.tuples(*[st.integers(1, 4)] * 3),
       bilinear=st.booleans(), seed=st.integers(0, 2**16))
def test_upsampling_matches_torch(torch, rank, n, size, c, factor, bilinear, seed):
    """Nearest against interpolate(mode="nearest"); bilinear (2D only) against
    interpolate(mode="bilinear", align_corners=False), the same half-pixel rule as Keras."""
    bilinear = bilinear and rank == 2
    size, factor = size[:rank], factor[:rank]
    x = np.random.default_rng(seed).standard_normal((n, *size, c))
    tx_ours = sn.Tensor(x, requires_grad=True)
    if rank == 1:
        y = sn.ops.upsample1d(tx_ours, factor[0])
    elif rank == 2:
        y = sn.ops.upsample2d(tx_ours, factor, "bilinear" if bilinear else "nearest")
    else:
        y = sn.ops.upsample3d(tx_ours, factor)
    dy = np.random.default_rng(7).standard_normal(y.shape)
    y.backward(dy)
    tx = torch.tensor(to_first(x), requires_grad=True)
    out_size = tuple(m * f for m, f in zip(size, factor))
    if bilinear:
        ty = torch.nn.functional.interpolate(tx, size=out_size, mode="bilinear",
                                             align_corners=False)
    else:
        ty = torch.nn.functional.interpolate(tx, size=out_size, mode="nearest")
    ty.backward(torch.tensor(to_first(dy)))
    pairs = [(y.numpy(), to_last(ty.detach().numpy())), (tx_ours.grad, to_last(tx.grad.numpy()))]
    record(f"upsample{rank}d {'bilinear' if bilinear else 'nearest'}", *pairs)
    for ours, theirs in pairs:
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


@SETTINGS
@given(n=st.integers(1, 2), h=st.integers(1, 7), w=st.integers(1, 7), c=st.integers(1, 3),
       sh=st.integers(1, 5), sw=st.integers(1, 5), seed=st.integers(0, 2**16))
def test_bilinear_upsampling_matches_torch(torch, n, h, w, c, sh, sw, seed):
    x = np.random.default_rng(seed).standard_normal((n, h, w, c))
    tx_ours = sn.Tensor(x, requires_grad=True)
    y = sn.ops.upsample2d(tx_ours, (sh, sw), "bilinear")
    dy = np.random.default_rng(7).standard_normal(y.shape)
    y.backward(dy)
    tx = torch.tensor(to_first(x), requires_grad=True)
    ty = torch.nn.functional.interpolate(tx, size=(h * sh, w * sw), mode="bilinear",
                                         align_corners=False)
    ty.backward(torch.tensor(to_first(dy)))
    pairs = [(y.numpy(), to_last(ty.detach().numpy())), (tx_ours.grad, to_last(tx.grad.numpy()))]
    record("upsample2d bilinear", *pairs)
    for ours, theirs in pairs:
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


@settings(SETTINGS, max_examples=200)
@given(kind=st.sampled_from(["crop1d", "crop2d", "crop3d", "pad3d"]), n=st.integers(1, 2),
       size=st.tuples(*[st.integers(1, 6)] * 3), c=st.integers(1, 3),
       amounts=st.tuples(*[st.tuples(st.integers(0, 3), st.integers(0, 3))] * 3),
       seed=st.integers(0, 2**16))
def test_cropping_and_pad3d_match_torch(torch, kind, n, size, c, amounts, seed):
    """Cropping against F.pad with negative amounts; pad3d against F.pad with positive ones."""
    pad, rank = kind == "pad3d", int(kind[-2])
    size, amounts = size[:rank], amounts[:rank]
    if not pad:  # keep at least one cell per axis
        amounts = tuple((min(a, m - 1), min(b, m - 1 - min(a, m - 1)))
                        for m, (a, b) in zip(size, amounts))
    x = np.random.default_rng(seed).standard_normal((n, *size, c))
    tx_ours = sn.Tensor(x, requires_grad=True)
    if pad:
        y = sn.ops.pad3d(tx_ours, amounts)
    else:
        y = {1: sn.ops.crop1d, 2: sn.ops.crop2d, 3: sn.ops.crop3d}[rank](tx_ours, amounts)
    dy = np.random.default_rng(7).standard_normal(y.shape)
    y.backward(dy)
    tx = torch.tensor(to_first(x), requires_grad=True)
    sign = 1 if pad else -1
    ty = torch.nn.functional.pad(tx, tuple(sign * v for v in torch_pad_arg(amounts)))
    ty.backward(torch.tensor(to_first(dy)))
    pairs = [(y.numpy(), to_last(ty.detach().numpy())), (tx_ours.grad, to_last(tx.grad.numpy()))]
    record(kind, *pairs)
    for ours, theirs in pairs:
        np.testing.assert_array_equal(ours, theirs)
