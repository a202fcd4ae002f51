"""Learning-rate schedules: values at given steps from their formulas, configs, validation,
and PyTorch's lr_scheduler as an oracle for the same curves (alone and inside SGD)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import stridenet as sn
from oracle_stats import record
from stridenet import optimizers
from stridenet.optimizers.schedules import (
    CosineDecay,
    ExponentialDecay,
    PiecewiseConstantDecay,
    deserialize,
    serialize,
)


@pytest.mark.parametrize("step, expected", [
    (0, 0.1), (5, 0.1 * 0.5 ** 0.5), (10, 0.05), (25, 0.1 * 0.5 ** 2.5)])
def test_exponential_decay(step, expected):
    assert ExponentialDecay(0.1, 10, 0.5)(step) == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize("step, expected", [(0, 0.1), (9, 0.1), (10, 0.05), (29, 0.025)])
def test_exponential_decay_staircase(step, expected):
    assert ExponentialDecay(0.1, 10, 0.5, staircase=True)(step) == pytest.approx(expected)


@pytest.mark.parametrize("step, expected", [
    (0, 1.0), (5, 0.9 * 0.5 + 0.1), (10, 0.1), (40, 0.1),
    (2, 0.9 * 0.5 * (1 + math.cos(math.pi * 0.2)) + 0.1)])
def test_cosine_decay(step, expected):
    assert CosineDecay(1.0, 10, alpha=0.1)(step) == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize("step, expected", [
    (0, 0.0), (2, 0.4), (4, 0.8), (5, 1.0), (10, 0.5), (15, 0.0), (100, 0.0)])
def test_cosine_decay_with_warmup(step, expected):
    sched = CosineDecay(0.0, 10, warmup_target=1.0, warmup_steps=5)
    assert sched(step) == pytest.approx(expected, abs=1e-15)


def test_cosine_decay_warmup_from_a_nonzero_start():
    sched = CosineDecay(0.2, 4, warmup_target=1.0, warmup_steps=4)
    assert [sched(s) for s in range(4)] == pytest.approx([0.2, 0.4, 0.6, 0.8])
    assert sched(6) == pytest.approx(0.5)


@pytest.mark.parametrize("step, expected", [
    (0, 1.0), (10, 1.0), (10.5, 0.5), (11, 0.5), (20, 0.5), (21, 0.1), (1000, 0.1)])
def test_piecewise_constant(step, expected):
    assert PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1])(step) == expected


def test_step_may_be_an_array_or_tensor():
    sched = ExponentialDecay(1.0, 1, 0.5)
    assert sched(np.int64(2)) == sched(np.array(2)) == sched(sn.Tensor(np.array(2.0))) == 0.25


@pytest.mark.parametrize("sched", [
    ExponentialDecay(0.1, 100, 0.96, staircase=True, name="ed"),
    CosineDecay(0.01, 1000, alpha=0.05, warmup_target=0.1, warmup_steps=50),
    PiecewiseConstantDecay([100, 200], [0.1, 0.01, 0.001]),
])
def test_config_round_trip(sched):
    config = json.loads(json.dumps(serialize(sched)))
    again = deserialize(config)
    assert type(again) is type(sched) and again.get_config() == sched.get_config()
    assert [again(s) for s in range(0, 400, 7)] == [sched(s) for s in range(0, 400, 7)]
    assert type(sched).from_config(sched.get_config()).get_config() == sched.get_config()


@pytest.mark.parametrize("make, error, match", [
    (lambda: ExponentialDecay(-0.1, 10, 0.5), ValueError, "initial_learning_rate"),
    (lambda: ExponentialDecay(0.1, 0, 0.5), ValueError, "decay_steps"),
    (lambda: ExponentialDecay(0.1, 10, 0.0), ValueError, "decay_rate"),
    (lambda: ExponentialDecay(0.1, 10, math.nan), ValueError, "decay_rate"),
    (lambda: ExponentialDecay(0.1, 10, 0.5, staircase="yes"), TypeError, "staircase"),
    (lambda: CosineDecay(0.1, -5), ValueError, "decay_steps"),
    (lambda: CosineDecay(0.1, 10, alpha=1.5), ValueError, "alpha"),
    (lambda: CosineDecay(0.1, 10, warmup_target=-1.0), ValueError, "warmup_target"),
    (lambda: CosineDecay(0.1, 10, warmup_steps=-1), ValueError, "warmup_steps"),
    (lambda: CosineDecay(math.inf, 10), ValueError, "initial_learning_rate"),
    (lambda: PiecewiseConstantDecay([10], [0.1]), ValueError, "one more entry"),
    (lambda: PiecewiseConstantDecay([10, 5], [0.1, 0.2, 0.3]), ValueError, "increasing"),
    (lambda: PiecewiseConstantDecay([10], [0.1, -0.2]), ValueError, "values"),
    (lambda: ExponentialDecay(0.1, 10, 0.5)(-1), ValueError, "step"),
    (lambda: ExponentialDecay(0.1, 10, 0.5)("x"), TypeError, "step"),
    (lambda: deserialize({"class_name": "Nope"}), ValueError, "unknown learning rate"),
])
def test_validation(make, error, match):
    with pytest.raises(error, match=match):
        make()


# -- PyTorch's schedulers draw the same curves -------------------------------------------


def torch_curve(torch, make_scheduler, lr, steps):
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    sched = make_scheduler(opt)
    out = []
    for _ in range(steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return np.array(out)


@pytest.mark.parametrize("case", ["exponential", "staircase", "cosine", "piecewise"])
def test_schedules_match_torch_lr_schedulers(torch, case):
    S = torch.optim.lr_scheduler
    steps = 40
    if case == "exponential":  # decay_rate ** step  ==  ExponentialLR(gamma)
        ours, theirs = ExponentialDecay(0.3, 1, 0.9), lambda o: S.ExponentialLR(o, 0.9)
    elif case == "staircase":  # floor(step / 7)  ==  StepLR(step_size=7)
        ours = ExponentialDecay(0.3, 7, 0.5, staircase=True)
        theirs = lambda o: S.StepLR(o, step_size=7, gamma=0.5)  # noqa: E731
    elif case == "cosine":  # lr * alpha is CosineAnnealingLR's eta_min (up to T_max)
        ours = CosineDecay(0.3, steps, alpha=0.1)
        theirs = lambda o: S.CosineAnnealingLR(o, T_max=steps, eta_min=0.03)  # noqa: E731
    else:  # Keras switches after a boundary b (step > b): MultiStepLR's milestone b + 1
        ours = PiecewiseConstantDecay([5, 17], [0.3, 0.3 * 0.2, 0.3 * 0.2 ** 2])
        theirs = lambda o: S.MultiStepLR(o, milestones=[6, 18], gamma=0.2)  # noqa: E731
    got = np.array([ours(s) for s in range(steps)])
    want = torch_curve(torch, theirs, 0.3, steps)
    record(f"schedule {case}", (got, want))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


def test_sgd_with_schedule_matches_torch_scheduler(torch):
    """Without momentum Keras's and PyTorch's SGD agree under any rate sequence."""
    rng = np.random.default_rng(3)
    init = rng.standard_normal((4, 3))
    grads = rng.standard_normal((12, 4, 3))
    var = sn.Tensor(init.copy(), requires_grad=True)
    opt = optimizers.SGD(learning_rate=CosineDecay(0.5, 8, alpha=0.2))
    for g in grads:
        opt.apply([g], [var])
    p = torch.tensor(init.copy(), requires_grad=True)
    topt = torch.optim.SGD([p], lr=0.5)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(topt, T_max=8, eta_min=0.1)
    for i, g in enumerate(grads):
        if i >= 8:  # CosineAnnealingLR keeps cycling past T_max; Keras holds alpha * lr
            topt.param_groups[0]["lr"] = 0.1
        p.grad = torch.tensor(g)
        topt.step()
        sched.step()
    record("SGD + CosineDecay", (var.data, p.detach().numpy()))
    np.testing.assert_allclose(var.data, p.detach().numpy(), rtol=0, atol=1e-12)
