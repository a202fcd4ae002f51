"""Optimizers against torch.optim over several steps on random float64 parameters/gradients.

Where Keras 3's rule (ours) and PyTorch's differ, torch is configured so the math coincides:

* SGD momentum: Keras keeps ``v = m*v - lr*g`` (p += v), PyTorch ``b = m*b + g``
  (p -= lr*b); with a constant rate ``v = -lr*b``, Nesterov included. Weight decay: ours is
  decoupled (p -= lr*wd*p), PyTorch's SGD adds wd*p to the gradient; the two agree only
  without momentum, so weight decay is compared there.
* Adam/AdamW: Keras adds epsilon to sqrt(v) before bias correction ("epsilon hat"),
  PyTorch after; both are run with epsilon = 0, where the formulas are identical. A second
  test keeps epsilon = 1e-7 in both and bounds the (documented) difference.
* RMSprop: Keras puts epsilon inside the square root, PyTorch outside; epsilon = 0 again
  makes them identical (and a second test bounds the difference at 1e-7). With momentum
  PyTorch's buffer is ours divided by the constant rate.
* Adam's weight_decay in PyTorch is L2 on the gradient; ours (Keras) is decoupled, which is
  PyTorch's AdamW -- so decay is compared against torch.optim.AdamW.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import stridenet as sn
from oracle_stats import record
from stridenet import optimizers

pytestmark = pytest.mark.usefixtures("kernel_path")  # on the NumPy and numba kernels

EXACT = 1e-12  # float64, identical formulas: only rounding order differs


def _settings(n):
    return settings(max_examples=n, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


shapes = st.lists(st.lists(st.integers(1, 5), min_size=0, max_size=3).map(tuple),
                  min_size=1, max_size=3)


def problem(seed, shapes, steps, scale=1.0):
    """Initial parameters and one list of gradients per step (float64)."""
    rng = np.random.default_rng(seed)
    inits = [rng.standard_normal(s) for s in shapes]
    grads = [[scale * rng.standard_normal(s) for s in shapes] for _ in range(steps)]
    return inits, grads


def run_ours(opt, inits, grads):
    variables = [sn.Tensor(a.copy(), requires_grad=True) for a in inits]
    for gs in grads:
        opt.apply([g.copy() for g in gs], variables)
    return [v.data for v in variables]


def run_torch(torch, make, inits, grads):
    params = [torch.tensor(a.copy(), requires_grad=True) for a in inits]
    opt = make(params)
    for gs in grads:
        for p, g in zip(params, gs):
            p.grad = torch.tensor(g.copy())
        opt.step()
    return [p.detach().numpy() for p in params]


def compare(name, ours, theirs, atol):
    record(name, *zip(ours, theirs))
    for a, b in zip(ours, theirs):
        assert a.dtype == np.float64
        np.testing.assert_allclose(a, b, rtol=0, atol=atol)


@given(seed=st.integers(0, 2**16), shapes=shapes, steps=st.integers(2, 6),
       lr=st.floats(1e-3, 0.5), momentum=st.sampled_from([0.0, 0.5, 0.9, 0.99]),
       nesterov=st.booleans(), weight_decay=st.sampled_from([None, 0.01, 0.3]))
@_settings(40)
def test_sgd_matches_torch(torch, seed, shapes, steps, lr, momentum, nesterov, weight_decay):
    nesterov = nesterov and momentum > 0  # PyTorch refuses Nesterov without momentum
    if momentum > 0:
        weight_decay = None  # decoupled (ours) != coupled (PyTorch's SGD) once momentum mixes
    inits, grads = problem(seed, shapes, steps)
    ours = run_ours(optimizers.SGD(lr, momentum=momentum, nesterov=nesterov,
                                   weight_decay=weight_decay), inits, grads)
    theirs = run_torch(torch, lambda ps: torch.optim.SGD(
        ps, lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay or 0.0),
        inits, grads)
    compare("optimizer SGD", ours, theirs, EXACT)


@given(seed=st.integers(0, 2**16), shapes=shapes, steps=st.integers(2, 8),
       lr=st.floats(1e-4, 0.1), beta_1=st.sampled_from([0.0, 0.5, 0.9]),
       beta_2=st.sampled_from([0.9, 0.99, 0.999]), amsgrad=st.booleans(),
       scale=st.sampled_from([1e-3, 1.0, 100.0]))
@_settings(40)
def test_adam_matches_torch(torch, seed, shapes, steps, lr, beta_1, beta_2, amsgrad, scale):
    # epsilon = 0 in both: Keras's "epsilon hat" and PyTorch's eps sit in different places
    inits, grads = problem(seed, shapes, steps, scale)
    ours = run_ours(optimizers.Adam(lr, beta_1=beta_1, beta_2=beta_2, epsilon=0.0,
                                    amsgrad=amsgrad), inits, grads)
    theirs = run_torch(torch, lambda ps: torch.optim.Adam(
        ps, lr=lr, betas=(beta_1, beta_2), eps=0.0, amsgrad=amsgrad), inits, grads)
    compare("optimizer Adam", ours, theirs, EXACT)


@given(seed=st.integers(0, 2**16), shapes=shapes, steps=st.integers(2, 8),
       lr=st.floats(1e-4, 0.1), weight_decay=st.floats(0.0, 0.5), amsgrad=st.booleans(),
       cls=st.sampled_from(["AdamW", "Adam"]))
@_settings(30)
def test_adamw_matches_torch(torch, seed, shapes, steps, lr, weight_decay, amsgrad, cls):
    # Keras's weight_decay is decoupled for Adam too, so both equal torch.optim.AdamW
    inits, grads = problem(seed, shapes, steps)
    opt = getattr(optimizers, cls)(lr, weight_decay=weight_decay, epsilon=0.0, amsgrad=amsgrad)
    ours = run_ours(opt, inits, grads)
    theirs = run_torch(torch, lambda ps: torch.optim.AdamW(
        ps, lr=lr, weight_decay=weight_decay, eps=0.0, amsgrad=amsgrad), inits, grads)
    compare("optimizer AdamW", ours, theirs, EXACT)


@given(seed=st.integers(0, 2**16), shapes=shapes, steps=st.integers(2, 8),
       lr=st.floats(1e-4, 0.1), rho=st.sampled_from([0.0, 0.5, 0.9, 0.99]),
       momentum=st.sampled_from([0.0, 0.5, 0.9]), centered=st.booleans(),
       scale=st.sampled_from([1e-3, 1.0, 100.0]))
@_settings(40)
def test_rmsprop_matches_torch(torch, seed, shapes, steps, lr, rho, momentum, centered, scale):
    # epsilon = 0: Keras's sqrt(v + eps) and PyTorch's sqrt(v) + eps are then the same.
    # Centered with rho = 0 would divide by sqrt(g^2 - g^2) = 0, so centered draws rho > 0.
    if centered and rho == 0:
        rho = 0.5
    inits, grads = problem(seed, shapes, steps, scale)
    ours = run_ours(optimizers.RMSprop(lr, rho=rho, momentum=momentum, epsilon=0.0,
                                       centered=centered), inits, grads)
    theirs = run_torch(torch, lambda ps: torch.optim.RMSprop(
        ps, lr=lr, alpha=rho, eps=0.0, momentum=momentum, centered=centered), inits, grads)
    compare("optimizer RMSprop", ours, theirs, EXACT)


@pytest.mark.parametrize("name", ["adam", "adamw", "rmsprop", "rmsprop_centered"])
@given(seed=st.integers(0, 2**16), shapes=shapes, steps=st.integers(2, 8))
@_settings(8)
def test_keras_epsilon_placement_is_negligible_at_default_epsilon(torch, seed, shapes, steps,
                                                                  name):
    """Keras defaults (epsilon 1e-7) against PyTorch with eps 1e-7, on gradients with
    0.5 <= |g| <= 2: the denominators differ by at most 1e-7 (Adam: eps against
    eps * sqrt(1 - beta_2**t); RMSprop: sqrt(v + eps) against sqrt(v) + eps) while
    sqrt(v) >= ~0.016: each step differs by under lr * 1e-5 = 1e-7, 8 steps by under 1e-6.
    """
    rng = np.random.default_rng(seed)
    inits, grads = problem(seed, shapes, steps)
    grads = [[np.sign(g) * rng.uniform(0.5, 2.0, g.shape) for g in gs] for gs in grads]
    lr = 0.01
    if name.startswith("adam"):
        wd = 0.004 if name == "adamw" else 0.0
        ours = run_ours(optimizers.AdamW(lr, weight_decay=wd), inits, grads)
        theirs = run_torch(torch, lambda ps: torch.optim.AdamW(ps, lr=lr, eps=1e-7,
                                                               weight_decay=wd), inits, grads)
    else:
        centered = name.endswith("centered")
        ours = run_ours(optimizers.RMSprop(lr, centered=centered, momentum=0.5), inits, grads)
        theirs = run_torch(torch, lambda ps: torch.optim.RMSprop(
            ps, lr=lr, alpha=0.9, eps=1e-7, centered=centered, momentum=0.5), inits, grads)
    compare(f"{name} eps=1e-7", ours, theirs, 1e-6)


@given(seed=st.integers(0, 2**16), shapes=shapes, kind=st.sampled_from(["norm", "value"]),
       limit=st.floats(0.05, 3.0))
@_settings(30)
def test_clipping_matches_torch_utils(torch, seed, shapes, kind, limit):
    """global_clipnorm vs clip_grad_norm_, clipvalue vs clip_grad_value_ (identical), then
    one SGD step of rate 1. PyTorch scales by limit / (norm + 1e-6), ours by limit / norm: an
    element g differs by |g| * limit * 1e-6 / norm^2 <= 1e-6, since clipping needs norm > limit.
    """
    inits, grads = problem(seed, shapes, 1, scale=2.0)
    kwargs = {"global_clipnorm": limit} if kind == "norm" else {"clipvalue": limit}
    ours = run_ours(optimizers.SGD(1.0, **kwargs), inits, grads)
    params = [torch.tensor(a.copy()) for a in inits]
    for p, g in zip(params, grads[0]):
        p.grad = torch.tensor(g.copy())
    if kind == "norm":
        torch.nn.utils.clip_grad_norm_(params, limit)
    else:
        torch.nn.utils.clip_grad_value_(params, limit)
    theirs = [(p - p.grad).numpy() for p in params]
    compare(f"clip {kind}", ours, theirs, 1e-6 if kind == "norm" else EXACT)
