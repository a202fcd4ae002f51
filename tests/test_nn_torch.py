"""dense, activations, batch norm and losses against PyTorch: outputs and all gradients.

Layouts are converted explicitly: our channel / class axis (any position) is moved to
PyTorch's axis 1; our dense kernel (I, U) is PyTorch's weight (U, I) transposed.
PyTorch's moving variance is unbiased where Keras's is biased: converted below.
Binary cross-entropy and MSE average over the last axis per sample (Keras); PyTorch's
elementwise "none" output is averaged the same way before its backward.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import stridenet as sn
from oracle_stats import record
from stridenet.ops import activations as A
from stridenet.ops import losses as L
from stridenet.ops.dense import dense
from stridenet.ops.normalization import batch_norm

pytestmark = pytest.mark.usefixtures("kernel_path")  # on the NumPy and numba kernels


def SETTINGS(n):
    return settings(max_examples=n, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


TOL = dict(rtol=1e-10, atol=1e-11)
shapes = st.lists(st.integers(1, 4), min_size=1, max_size=4).map(tuple)
scales = st.sampled_from([0.1, 1.0, 3.0, 30.0, 1e4])


def compare(op, pairs, **tol):
    record(op, *pairs)
    for ours, theirs in pairs:
        np.testing.assert_allclose(ours, theirs, **(tol or TOL))


def ours_with_grads(fn, arrays, dy):
    """Run fn on Tensors of ``arrays`` (None passes through), backward(dy)."""
    ts = [None if a is None else sn.Tensor(a, requires_grad=True) for a in arrays]
    y = fn(*ts)
    y.backward(dy)
    return y.numpy(), [None if t is None else t.grad for t in ts]


@SETTINGS(30)
@given(lead=st.lists(st.integers(1, 4), max_size=3).map(tuple), i=st.integers(1, 6),
       u=st.integers(1, 6), bias=st.booleans(), seed=st.integers(0, 2**16))
def test_dense_matches_torch(torch, lead, i, u, bias, seed):
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal(lead + (i,)), rng.standard_normal((i, u))
    b = rng.standard_normal(u) if bias else None
    dy = rng.standard_normal(lead + (u,))
    y, (dx, dw, db) = ours_with_grads(dense, [x, w, b], dy)
    tx = torch.tensor(x, requires_grad=True)
    tw = torch.tensor(w.T.copy(), requires_grad=True)  # (U, I)
    tb = torch.tensor(b, requires_grad=True) if bias else None
    ty = torch.nn.functional.linear(tx, tw, tb)
    ty.backward(torch.tensor(dy))
    pairs = [(y, ty.detach().numpy()), (dx, tx.grad.numpy()), (dw, tw.grad.numpy().T)]
    if bias:
        pairs.append((db, tb.grad.numpy()))
    compare("dense", pairs)


ACTIVATIONS = ["relu", "leaky_relu", "elu", "sigmoid", "tanh", "softmax", "log_softmax",
               "gelu", "gelu_tanh"]


def _pair(torch, name, param, axis):
    """(our function, PyTorch's function) for one activation."""
    F = torch.nn.functional
    return {
        "relu": (A.relu, F.relu),
        "leaky_relu": (lambda x: A.leaky_relu(x, param),
                       lambda t: F.leaky_relu(t, negative_slope=param)),
        "elu": (lambda x: A.elu(x, param), lambda t: F.elu(t, alpha=param)),
        "sigmoid": (A.sigmoid, torch.sigmoid),
        "tanh": (A.tanh, torch.tanh),
        "softmax": (lambda x: A.softmax(x, axis), lambda t: F.softmax(t, dim=axis)),
        "log_softmax": (lambda x: A.log_softmax(x, axis), lambda t: F.log_softmax(t, dim=axis)),
        "gelu": (A.gelu, F.gelu),
        "gelu_tanh": (lambda x: A.gelu(x, approximate=True),
                      lambda t: F.gelu(t, approximate="tanh")),
    }[name]


@pytest.mark.parametrize("name", ACTIVATIONS)
@SETTINGS(14)
@given(shape=shapes, scale=scales,
       param=st.floats(0.01, 3.0), axis_pick=st.integers(0, 10), seed=st.integers(0, 2**16))
def test_activations_match_torch(torch, name, shape, scale, param, axis_pick, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * scale
    x[x == 0] = 0.5  # PyTorch and Keras disagree on the elu slope at exactly 0
    dy = rng.standard_normal(shape)
    axis = axis_pick % len(shape) - len(shape) * (axis_pick % 2)  # negative axes too
    ours, theirs = _pair(torch, name, param, axis)
    y, (dx,) = ours_with_grads(ours, [x], dy)
    tx = torch.tensor(x, requires_grad=True)
    ty = theirs(tx)
    ty.backward(torch.tensor(dy))
    # outputs reach 1e4 * 3 (elu, leaky relu): a relative tolerance covers them
    compare(name, [(y, ty.detach().numpy()), (dx, tx.grad.numpy())], rtol=1e-10, atol=1e-12)


@SETTINGS(50)
@given(shape=st.lists(st.integers(1, 4), min_size=2, max_size=4).map(tuple),
       axis_pick=st.integers(0, 3), training=st.booleans(), center=st.booleans(),
       scale=st.booleans(), momentum=st.floats(0.0, 0.9), eps=st.sampled_from([1e-5, 1e-3]),
       seed=st.integers(0, 2**16))
def test_batch_norm_matches_torch(torch, shape, axis_pick, training, center, scale, momentum,
                                  eps, seed):
    axis = axis_pick % len(shape)
    c = shape[axis]
    count = int(np.prod(shape)) // c
    if training and count < 2:  # PyTorch refuses one value per channel in training
        shape = tuple(2 if j == (1 if axis == 0 else 0) else n for j, n in enumerate(shape))
        count = int(np.prod(shape)) // c
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * 2 + rng.standard_normal()
    gamma = rng.standard_normal(c) if scale else None
    beta = rng.standard_normal(c) if center else None
    mean0, var0 = rng.standard_normal(c), rng.uniform(0.5, 2.0, c)
    mm, mv = mean0.copy(), var0.copy()
    dy = rng.standard_normal(shape)
    y, (dx, dg, db) = ours_with_grads(
        lambda a, g, b: batch_norm(a, g, b, mm, mv, training=training, momentum=momentum,
                                   epsilon=eps, axis=axis), [x, gamma, beta], dy)

    F = torch.nn.functional
    tx = torch.tensor(np.moveaxis(x, axis, 1).copy(), requires_grad=True)  # channels at 1
    tg = torch.tensor(gamma, requires_grad=True) if scale else None
    tb = torch.tensor(beta, requires_grad=True) if center else None
    rm, rv = torch.tensor(mean0), torch.tensor(var0)
    ty = F.batch_norm(tx, rm, rv, tg, tb, training=training, momentum=1 - momentum, eps=eps)
    ty.backward(torch.tensor(np.moveaxis(dy, axis, 1).copy()))
    pairs = [(y, np.moveaxis(ty.detach().numpy(), 1, axis)),
             (dx, np.moveaxis(tx.grad.numpy(), 1, axis)), (mm, rm.numpy())]
    if training:
        # PyTorch stores the unbiased batch variance v_u; Keras the biased v_u (n - 1) / n
        dims = [d for d in range(len(shape)) if d != 1]
        v_u = torch.var(tx.detach(), dim=dims, unbiased=True).numpy()
        pairs.append((mv, rv.numpy() - (1 - momentum) * v_u / count))
    else:
        pairs.append((mv, rv.numpy()))
    if scale:
        pairs.append((dg, tg.grad.numpy()))
    if center:
        pairs.append((db, tb.grad.numpy()))
    compare("batch_norm", pairs, rtol=1e-9, atol=1e-10)


reductions = st.sampled_from(["mean", "sum", "none"])


def _loss_grads(torch, ours, their_loss, pred, dy):
    """Our loss and d loss/d pred; PyTorch's loss (from the tensor it is given) and grad."""
    t = sn.Tensor(pred, requires_grad=True)
    y = ours(t)
    y.backward(dy)
    tp = torch.tensor(pred, requires_grad=True)
    ty = their_loss(tp)
    ty.backward(torch.tensor(dy))
    return [(y.numpy(), ty.detach().numpy()), (t.grad, tp.grad.numpy())]


@SETTINGS(50)
@given(batch=st.lists(st.integers(1, 4), min_size=0, max_size=2).map(tuple),
       c=st.integers(1, 6), axis_pick=st.integers(0, 3), sparse=st.booleans(),
       smoothing=st.sampled_from([0.0, 0.0, 0.1, 0.3]), scale=scales, reduction=reductions,
       seed=st.integers(0, 2**16))
def test_cross_entropy_from_logits_matches_torch(torch, batch, c, axis_pick, sparse, smoothing,
                                                 scale, reduction, seed):
    rng = np.random.default_rng(seed)
    shape = (batch[0], c) + batch[1:] if batch else (c,)  # PyTorch: classes on axis 1 (or 0)
    taxis = 1 if batch else 0
    axis = axis_pick % len(shape)  # where our classes sit
    logits = np.moveaxis(rng.standard_normal(shape) * scale, taxis, axis)
    labels = rng.integers(0, c, batch)
    soft = np.moveaxis(rng.dirichlet(np.ones(c), batch), -1, axis)
    dy = rng.standard_normal(batch if reduction == "none" else ())
    F = torch.nn.functional
    if sparse:
        def ours(p):
            return L.sparse_categorical_crossentropy(labels, p, from_logits=True, axis=axis,
                                                     reduction=reduction)
        target = torch.tensor(labels)
    else:
        def ours(p):
            return L.categorical_crossentropy(soft, p, from_logits=True, axis=axis,
                                              label_smoothing=smoothing, reduction=reduction)
        target = torch.tensor(np.moveaxis(soft, axis, taxis).copy())

    def theirs(tp):
        return F.cross_entropy(torch.movedim(tp, axis, taxis), target, reduction=reduction,
                               label_smoothing=0.0 if sparse else smoothing)

    pairs = _loss_grads(torch, ours, theirs, logits, dy)
    compare("cross_entropy", pairs, rtol=1e-10, atol=1e-10)
    assert np.all(np.isfinite(pairs[0][0]))


@SETTINGS(25)
@given(n=st.integers(1, 5), c=st.integers(2, 6), reduction=reductions,
       seed=st.integers(0, 2**16))
def test_sparse_from_probabilities_matches_nll_on_log_probs(torch, n, c, reduction, seed):
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.ones(c) * 3, n)  # inside the clip: Keras's rule is exact here
    probs = np.clip(probs, 1e-3, None)
    probs /= probs.sum(axis=1, keepdims=True)
    labels = rng.integers(0, c, n)
    dy = rng.standard_normal((n,) if reduction == "none" else ())
    pairs = _loss_grads(
        torch, lambda p: L.sparse_categorical_crossentropy(labels, p, reduction=reduction),
        # Keras renormalises rows (p / sum p) before the log: the same in PyTorch's ops
        lambda tp: torch.nn.functional.nll_loss(torch.log(tp / tp.sum(dim=1, keepdim=True)),
                                                torch.tensor(labels), reduction=reduction),
        probs, dy)
    compare("nll_loss(log p)", pairs)


def _per_sample(elementwise, reduction):
    """Keras's reduction of an elementwise loss: mean over the last axis, then reduce."""
    per = elementwise.mean(dim=-1)
    return {"none": per, "sum": per.sum(), "mean": per.mean()}[reduction]


@pytest.mark.parametrize("kind", ["bce", "bce_logits", "mse"])
@SETTINGS(20)
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple),
       scale=scales, hard=st.booleans(),
       reduction=reductions, seed=st.integers(0, 2**16))
def test_binary_and_mse_match_torch(torch, shape, kind, scale, hard, reduction, seed):
    rng = np.random.default_rng(seed)
    targets = rng.integers(0, 2, shape).astype(float) if hard else rng.uniform(0, 1, shape)
    if kind == "bce":
        pred = rng.uniform(0.01, 0.99, shape)  # inside the clip
    else:
        pred = rng.standard_normal(shape) * (scale if kind == "bce_logits" else 1.0)
    dy = rng.standard_normal(shape[:-1] if reduction == "none" else ())
    F = torch.nn.functional
    tt = torch.tensor(targets)
    if kind == "mse":
        def ours(p):
            return L.mean_squared_error(targets, p, reduction=reduction)
        their_elem = lambda tp: F.mse_loss(tp, tt, reduction="none")  # noqa: E731
    else:
        logits = kind == "bce_logits"

        def ours(p):
            return L.binary_crossentropy(targets, p, from_logits=logits, reduction=reduction)
        fn = F.binary_cross_entropy_with_logits if logits else F.binary_cross_entropy
        their_elem = lambda tp: fn(tp, tt, reduction="none")  # noqa: E731
    pairs = _loss_grads(torch, ours, lambda tp: _per_sample(their_elem(tp), reduction),
                        pred, dy)
    if reduction != "none":  # PyTorch's own reductions: "mean" equal, "sum" k times ours
        direct = their_elem(torch.tensor(pred)).sum().item() / shape[-1]
        if reduction == "mean":
            direct /= np.prod(shape[:-1])
        pairs.append((pairs[0][0], np.asarray(direct)))
    compare({"bce": "binary_cross_entropy", "bce_logits": "binary_cross_entropy_with_logits",
             "mse": "mse_loss"}[kind], pairs, rtol=1e-10, atol=1e-10)


@SETTINGS(10)
@given(seed=st.integers(0, 2**16), training=st.booleans())
def test_float32_training_step_matches_torch(torch, seed, training):
    """The float32 path of a dense -> batch norm -> relu -> cross-entropy step."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((32, 20)).astype(np.float32)
    w = (rng.standard_normal((20, 10)) * 0.3).astype(np.float32)
    g, b = np.ones(10, np.float32), np.zeros(10, np.float32)
    labels = rng.integers(0, 10, 32)
    mm, mv = np.zeros(10, np.float32), np.ones(10, np.float32)
    ts = [sn.Tensor(a, requires_grad=True) for a in (x, w, g, b)]
    h = A.relu(batch_norm(dense(ts[0], ts[1]), ts[2], ts[3], mm, mv, training=training))
    loss = L.sparse_categorical_crossentropy(labels, h, from_logits=True)
    loss.backward()
    F = torch.nn.functional
    tt = [torch.tensor(a, requires_grad=True) for a in (x, w.T.copy(), g, b)]
    th = F.relu(F.batch_norm(F.linear(tt[0], tt[1]), torch.zeros(10), torch.ones(10), tt[2],
                             tt[3], training=training, eps=1e-3))
    tl = F.cross_entropy(th, torch.tensor(labels))
    tl.backward()
    assert loss.dtype == np.float32 and all(t.grad.dtype == np.float32 for t in ts)
    pairs = [(loss.numpy(), tl.detach().numpy()), (ts[0].grad, tt[0].grad.numpy()),
             (ts[1].grad, tt[1].grad.numpy().T), (ts[2].grad, tt[2].grad.numpy()),
             (ts[3].grad, tt[3].grad.numpy())]
    record("float32 dense+bn+relu+xent", *pairs)
    for ours, theirs in pairs:
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)
