"""Optimizers: Keras 3 update rules written out by hand, clipping, weight decay, state
save/restore (bit for bit), configs and get(), validation, dtypes and in-place updates."""

from __future__ import annotations

import json
import math
import tracemalloc

import numpy as np
import pytest

import stridenet as sn
from stridenet import optimizers
from stridenet.optimizers import schedules

pytestmark = pytest.mark.usefixtures("kernel_path")  # every test on both kernel paths

# -- Keras 3's formulas, one variable, written the slow and obvious way --------------------


def keras_sgd(p, g, s, lr, it, momentum=0.0, nesterov=False):
    if momentum == 0:
        return p - g * lr
    s["m"] = s.get("m", 0 * p) * momentum - g * lr
    return p + (s["m"] * momentum - g * lr if nesterov else s["m"])


def keras_adam(p, g, s, lr, it, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False):
    t = it + 1
    alpha = lr * math.sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t)
    s["m"] = s.get("m", 0 * p) + (g - s.get("m", 0 * p)) * (1 - beta_1)
    s["v"] = s.get("v", 0 * p) + (g * g - s.get("v", 0 * p)) * (1 - beta_2)
    v = s["v"]
    if amsgrad:
        s["vhat"] = v = np.maximum(s.get("vhat", 0 * p), s["v"])
    return p - s["m"] * alpha / (np.sqrt(v) + epsilon)


def keras_rmsprop(p, g, s, lr, it, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False):
    s["v"] = rho * s.get("v", 0 * p) + (1 - rho) * g * g
    if centered:
        s["a"] = rho * s.get("a", 0 * p) + (1 - rho) * g
        denominator = s["v"] - s["a"] ** 2 + epsilon
    else:
        denominator = s["v"] + epsilon
    increment = lr * g / np.sqrt(denominator)
    if momentum > 0:
        s["u"] = momentum * s.get("u", 0 * p) + increment
        return p - s["u"]
    return p - increment


REFERENCES = {optimizers.SGD: keras_sgd, optimizers.Adam: keras_adam,
              optimizers.AdamW: keras_adam, optimizers.RMSprop: keras_rmsprop}

CONFIGS = [
    (optimizers.SGD, {}),
    (optimizers.SGD, {"momentum": 0.9}),
    (optimizers.SGD, {"momentum": 0.8, "nesterov": True, "weight_decay": 0.05}),
    (optimizers.Adam, {}),
    (optimizers.Adam, {"amsgrad": True, "beta_1": 0.5}),
    (optimizers.AdamW, {}),
    (optimizers.AdamW, {"weight_decay": 0.1, "amsgrad": True}),
    (optimizers.RMSprop, {}),
    (optimizers.RMSprop, {"centered": True, "momentum": 0.9, "weight_decay": 0.01}),
]


def keras_reference(cls, kwargs, inits, grads, lr_at):
    """Keras's optimizer step: decoupled decay p -= p * wd * lr, then the rule."""
    kwargs = dict(kwargs)
    wd = kwargs.pop("weight_decay", 0.004 if cls is optimizers.AdamW else None)
    rule = REFERENCES[cls]
    params, states = [a.copy() for a in inits], [{} for _ in inits]
    for it, gs in enumerate(grads):
        lr = lr_at(it)
        for i, g in enumerate(gs):
            if wd:
                params[i] = params[i] - params[i] * wd * lr
            params[i] = rule(params[i], g, states[i], lr, it, **kwargs)
    return params


def make_problem(seed=0, shapes=((3, 4), (5,), ()), steps=6, dtype=np.float64):
    rng = np.random.default_rng(seed)
    inits = [rng.standard_normal(s).astype(dtype) for s in shapes]
    grads = [[rng.standard_normal(s).astype(dtype) for s in shapes] for _ in range(steps)]
    return inits, grads


def tensors(arrays):
    return [sn.Tensor(a.copy(), requires_grad=True) for a in arrays]


@pytest.mark.parametrize("cls, kwargs", CONFIGS)
def test_update_rules_match_keras_formulas(cls, kwargs):
    inits, grads = make_problem()
    variables = tensors(inits)
    opt = cls(learning_rate=0.05, **kwargs)
    for gs in grads:
        opt.apply(gs, variables)
    expected = keras_reference(cls, kwargs, inits, grads, lambda it: 0.05)
    for v, e in zip(variables, expected):
        np.testing.assert_allclose(v.data, e, rtol=1e-12, atol=1e-14)
    assert opt.iterations == len(grads)


@pytest.mark.parametrize("cls, kwargs", CONFIGS[1::2])
def test_schedule_is_evaluated_at_iterations(cls, kwargs):
    sched = schedules.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5)
    inits, grads = make_problem(seed=1)
    variables = tensors(inits)
    opt = cls(learning_rate=sched, **kwargs)
    for it, gs in enumerate(grads):
        assert opt.learning_rate == sched(it)
        opt.apply(gs, variables)
    expected = keras_reference(cls, kwargs, inits, grads, sched)
    for v, e in zip(variables, expected):
        np.testing.assert_allclose(v.data, e, rtol=1e-12, atol=1e-14)


def test_keras_defaults():
    sgd, adam, adamw, rms = (optimizers.get(n) for n in ("SGD", "adam", "AdamW", "RMSPROP"))
    assert (sgd.learning_rate, sgd.momentum, sgd.nesterov) == (0.01, 0.0, False)
    assert (adam.learning_rate, adam.beta_1, adam.beta_2, adam.epsilon, adam.amsgrad) == (
        0.001, 0.9, 0.999, 1e-7, False)
    assert adam.weight_decay is None and adamw.weight_decay == 0.004
    assert (rms.learning_rate, rms.rho, rms.momentum, rms.epsilon, rms.centered) == (
        0.001, 0.9, 0.0, 1e-7, False)
    assert [o.name for o in (sgd, adam, adamw, rms)] == ["SGD", "adam", "adamw", "rmsprop"]


# -- the three entry points, None gradients, in-place and dtype -------------------------


def test_apply_apply_gradients_and_step_agree():
    inits, grads = make_problem(steps=3)
    a, b, c = tensors(inits), tensors(inits), tensors(inits)
    oa, ob, oc = (optimizers.Adam(0.01) for _ in range(3))
    for gs in grads:
        oa.apply(gs, a)
        assert ob.apply_gradients(zip(gs, b)) == ob.iterations
        for t, g in zip(c, gs):
            t.grad = g
        oc.step(c)
    for x, y, z in zip(a, b, c):
        np.testing.assert_array_equal(x.data, y.data)
        np.testing.assert_array_equal(x.data, z.data)


def test_apply_without_variables_uses_the_built_list():
    inits, grads = make_problem(steps=2)
    a, b = tensors(inits), tensors(inits)
    oa, ob = optimizers.RMSprop(0.01), optimizers.RMSprop(0.01)
    ob.build(b)
    assert ob.variables == b
    for gs in grads:
        oa.apply(gs, a)
        ob.apply(gs)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.data, y.data)
    with pytest.raises(ValueError, match="one gradient per built variable"):
        ob.apply(grads[0][:2])


def test_none_gradients_are_skipped():
    inits, grads = make_problem(steps=1)
    variables = tensors(inits)
    opt = optimizers.SGD(0.1, momentum=0.9)
    opt.apply([grads[0][0], None, grads[0][2]], variables)
    np.testing.assert_array_equal(variables[1].data, inits[1])
    assert not np.array_equal(variables[0].data, inits[0])
    assert opt.iterations == 1
    opt.apply([None, None, None], variables)  # nothing to do: not a step
    assert opt.iterations == 1
    variables[0].grad, variables[1].grad, variables[2].grad = grads[0][0], None, None
    before = [v.data.copy() for v in variables]
    opt.step(variables)
    assert opt.iterations == 2
    np.testing.assert_array_equal(variables[1].data, before[1])
    np.testing.assert_array_equal(variables[2].data, before[2])


@pytest.mark.parametrize("cls, kwargs", CONFIGS)
def test_updates_are_in_place_and_keep_float32(cls, kwargs):
    inits, grads = make_problem(dtype=np.float32)
    variables = tensors(inits)
    arrays = [v.data for v in variables]
    views = [a[...] for a in arrays]
    opt = cls(learning_rate=0.05, **kwargs)
    for gs in grads:
        opt.apply([g.astype(np.float64) for g in gs], variables)  # float64 grads are cast
    for v, a, view in zip(variables, arrays, views):
        assert v.data is a and v.data.dtype == np.float32
        np.testing.assert_array_equal(view, a)
    assert all(s.dtype == np.float32 for s in opt.get_state().values()
               if s.dtype.kind == "f" and s.ndim)
    expected = keras_reference(cls, kwargs, [a.astype(np.float64) for a in inits],
                               [[g.astype(np.float64) for g in gs] for gs in grads],
                               lambda it: 0.05)
    for v, e in zip(variables, expected):
        np.testing.assert_allclose(v.data, e, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("cls, kwargs", CONFIGS)
def test_steady_state_updates_allocate_no_arrays(cls, kwargs):
    n = 250_000  # 2 MB of float64 per array; a temporary array would show as >= 2 MB
    rng = np.random.default_rng(0)
    variables = tensors([rng.standard_normal(n)])
    g = rng.standard_normal(n)
    opt = cls(learning_rate=0.01, **kwargs)
    opt.apply([g], variables)  # creates the slots and the scratch buffers
    tracemalloc.start()
    try:
        for _ in range(3):
            opt.apply([g], variables)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024, f"{peak} bytes allocated during steady-state updates"


# -- clipping and weight decay ----------------------------------------------------------


def sgd_step(grads, **kwargs):
    """One SGD step of rate 1 from zero parameters: returns minus the processed gradients."""
    variables = tensors([np.zeros_like(g) for g in grads])
    optimizers.SGD(1.0, **kwargs).apply(grads, variables)
    return [-v.data for v in variables]


def test_clipnorm_caps_each_variable_norm():
    g1, g2 = np.array([3.0, 4.0]), np.array([0.3, 0.4])  # norms 5 and 0.5
    c1, c2 = sgd_step([g1.copy(), g2.copy()], clipnorm=1.0)
    np.testing.assert_allclose(c1, [0.6, 0.8], rtol=1e-15)
    np.testing.assert_array_equal(c2, g2)  # under the cap: untouched


def test_global_clipnorm_scales_all_together():
    g1, g2 = np.array([3.0, 0.0]), np.array([[0.0], [4.0]])  # global norm 5
    c1, c2 = sgd_step([g1, g2], global_clipnorm=2.5)
    np.testing.assert_allclose(c1, g1 / 2, rtol=1e-15)
    np.testing.assert_allclose(c2, g2 / 2, rtol=1e-15)
    small = sgd_step([g1, g2], global_clipnorm=6.0)
    np.testing.assert_array_equal(small[0], g1)
    bad = sgd_step([np.array([np.inf, 1.0]), np.array([1.0])], global_clipnorm=1.0)
    assert np.isnan(bad[0]).all() and np.isnan(bad[1]).all()  # a non-finite norm shows


def test_clipvalue_is_elementwise_and_grads_are_not_modified():
    g = np.array([-3.0, -0.5, 0.2, 7.0])
    keep = g.copy()
    (c,) = sgd_step([g], clipvalue=1.0)
    np.testing.assert_array_equal(c, [-1.0, -0.5, 0.2, 1.0])
    np.testing.assert_array_equal(g, keep)
    g2 = np.array([30.0, 40.0])
    sgd_step([g2], clipnorm=1.0)
    np.testing.assert_array_equal(g2, [30.0, 40.0])


@pytest.mark.parametrize("kwargs", [{"clipnorm": 1.0}, {"global_clipnorm": 1.0},
                                    {"clipvalue": 0.5}])
def test_clipping_keeps_float32(kwargs):
    var = sn.Tensor(np.zeros(2, np.float32), requires_grad=True)
    optimizers.SGD(1.0, **kwargs).apply([np.array([3.0, 4.0], np.float32)], [var])
    assert var.data.dtype == np.float32
    np.testing.assert_allclose(-var.data, [0.6, 0.8] if "clipvalue" not in kwargs else 0.5,
                               rtol=1e-6)


def test_weight_decay_is_decoupled_and_can_exclude_variables():
    kernel = sn.Tensor(np.full((2, 2), 2.0), requires_grad=True)
    kernel.name = "dense/kernel"
    bias = sn.Tensor(np.full(2, 2.0), requires_grad=True)
    bias.name = "dense/bias"
    opt = optimizers.SGD(0.1, weight_decay=0.5)
    opt.exclude_from_weight_decay(var_names=["bias"])
    zero = [np.zeros((2, 2)), np.zeros(2)]
    opt.apply(zero, [kernel, bias])
    np.testing.assert_allclose(kernel.data, 2.0 - 2.0 * 0.5 * 0.1)  # p -= p * wd * lr
    np.testing.assert_array_equal(bias.data, 2.0)
    opt.exclude_from_weight_decay(var_list=[kernel])
    opt.apply(zero, [kernel, bias])
    np.testing.assert_allclose(kernel.data, 1.9)
    np.testing.assert_allclose(bias.data, 1.9)


# -- state: save, restore, resume bit for bit --------------------------------------------

STATE_CONFIGS = CONFIGS + [
    (optimizers.SGD, {"learning_rate": schedules.CosineDecay(0.1, 5, alpha=0.1)}),
    (optimizers.Adam, {"learning_rate": schedules.PiecewiseConstantDecay([2], [0.1, 0.01])}),
]


@pytest.mark.parametrize("lazy", [False, True])
@pytest.mark.parametrize("cls, kwargs", STATE_CONFIGS)
def test_state_resumes_bit_for_bit(cls, kwargs, lazy):
    kwargs = {"learning_rate": 0.03, **kwargs}
    inits, grads = make_problem(steps=7)
    full = tensors(inits)
    opt = cls(**kwargs)
    for gs in grads:
        opt.apply(gs, full)

    k = 3
    first = tensors(inits)
    opt1 = cls(**kwargs)
    for gs in grads[:k]:
        opt1.apply(gs, first)
    state = opt1.get_state()
    assert all(isinstance(v, np.ndarray) and v.dtype != object for v in state.values())
    assert int(state["iterations"]) == k
    # a fresh process: new variables with the checkpointed values, a new optimizer
    resumed = tensors([t.data for t in first])
    opt2 = cls.from_config(opt1.get_config())
    if not lazy:
        opt2.build(resumed)  # otherwise the slots wait until the variables are first seen
    opt2.set_state(state)
    assert opt2.iterations == k
    for gs in grads[k:]:
        opt2.apply(gs, resumed)
    for a, b in zip(full, resumed):
        np.testing.assert_array_equal(a.data, b.data)
    assert set(opt2.get_state()) == set(opt.get_state())


def test_state_is_a_copy_and_restores_the_learning_rate():
    inits, grads = make_problem(steps=1)
    variables = tensors(inits)
    opt = optimizers.SGD(0.1, momentum=0.9)
    opt.apply(grads[0], variables)
    state = opt.get_state()
    state["momentum/0"][...] = 123.0
    assert not (opt.get_state()["momentum/0"] == 123.0).any()
    opt.learning_rate = 0.05  # as ReduceLROnPlateau does
    other = optimizers.SGD(0.1, momentum=0.9)
    other.set_state(opt.get_state())
    assert other.learning_rate == 0.05
    assert json.dumps({k: v.tolist() for k, v in opt.get_state().items()})


def test_set_state_rejects_mismatches():
    inits, grads = make_problem(steps=1)
    variables = tensors(inits)
    opt = optimizers.Adam()
    opt.apply(grads[0], variables)
    state = opt.get_state()
    with pytest.raises(ValueError, match=r"unexpected state entry 'momentum/0'"):
        optimizers.SGD().set_state(state)  # plain SGD keeps no slots
    fresh = optimizers.Adam()
    fresh.build(tensors(inits))
    bad = dict(state, **{"velocity/1": np.zeros(4)})
    with pytest.raises(ValueError, match=r"velocity/1 has shape \(4,\).*shape \(5,\)"):
        fresh.set_state(bad)
    assert fresh.iterations == 0  # nothing changed by a failed set_state
    partial = {k: v for k, v in state.items() if k != "velocity/2"}
    with pytest.raises(ValueError, match="state for variable 2"):
        fresh.set_state(partial)
    with pytest.raises(ValueError, match="iterations"):
        fresh.set_state(dict(state, iterations=np.array(-1)))
    lazy = optimizers.Adam()
    lazy.set_state(state)
    with pytest.raises(ValueError, match=r"momentum/0 has shape \(3, 4\).*shape \(2,\)"):
        lazy.apply([np.ones(2)], tensors([np.zeros(2)]))


# -- learning rate, config, get ----------------------------------------------------------


def test_learning_rate_property_and_setter():
    opt = optimizers.SGD(0.1)
    opt.learning_rate = 0.02
    assert opt.learning_rate == 0.02
    with pytest.raises(ValueError, match="learning_rate"):
        opt.learning_rate = -1.0
    opt.learning_rate = schedules.ExponentialDecay(1.0, 1, 0.5)
    assert opt.learning_rate == 1.0
    with pytest.raises(TypeError, match="schedule"):
        opt.learning_rate = 0.3
    fn = optimizers.SGD(lambda step: np.float64(0.1) / (step + 1))
    fn.apply([np.ones(1)], tensors([np.zeros(1)]))
    assert fn.learning_rate == 0.05
    broken = optimizers.SGD(lambda step: -0.1)
    with pytest.raises(ValueError, match="schedule returned -0.1"):
        broken.apply([np.ones(1)], tensors([np.zeros(1)]))


@pytest.mark.parametrize("cls, kwargs", STATE_CONFIGS)
def test_config_round_trip_and_get(cls, kwargs):
    opt = cls(name="mine", clipnorm=2.0, **kwargs)
    config = opt.get_config()
    json.dumps(config)
    again = cls.from_config(config)
    assert again.get_config() == config
    for other in (optimizers.get(optimizers.serialize(opt)),
                  optimizers.deserialize(json.loads(json.dumps(optimizers.serialize(opt))))):
        assert type(other) is cls and other.get_config() == config
    assert optimizers.get(opt) is opt


def test_get_errors():
    assert optimizers.get(None) is None
    with pytest.raises(ValueError, match="unknown optimizer 'adagrad'"):
        optimizers.get("adagrad")
    with pytest.raises(ValueError, match="class_name"):
        optimizers.get({"learning_rate": 0.1})
    with pytest.raises(ValueError, match="cannot interpret"):
        optimizers.get(3)
    assert isinstance(optimizers.get({"class_name": "sgd"}), optimizers.SGD)


# -- validation --------------------------------------------------------------------------


@pytest.mark.parametrize("cls, kwargs, error, match", [
    (optimizers.SGD, {"learning_rate": -0.1}, ValueError, "learning_rate"),
    (optimizers.Adam, {"learning_rate": math.nan}, ValueError, "learning_rate"),
    (optimizers.SGD, {"learning_rate": "fast"}, TypeError, "learning_rate"),
    (optimizers.SGD, {"momentum": 1.5}, ValueError, "momentum"),
    (optimizers.SGD, {"momentum": -0.1}, ValueError, "momentum"),
    (optimizers.SGD, {"nesterov": 1}, TypeError, "nesterov"),
    (optimizers.Adam, {"beta_1": 1.0}, ValueError, "beta_1"),
    (optimizers.Adam, {"beta_2": -0.5}, ValueError, "beta_2"),
    (optimizers.AdamW, {"beta_2": math.inf}, ValueError, "beta_2"),
    (optimizers.Adam, {"epsilon": -1e-7}, ValueError, "epsilon"),
    (optimizers.Adam, {"amsgrad": "yes"}, TypeError, "amsgrad"),
    (optimizers.AdamW, {"weight_decay": None}, ValueError, "weight_decay"),
    (optimizers.AdamW, {"weight_decay": -0.1}, ValueError, "weight_decay"),
    (optimizers.RMSprop, {"rho": 1.0}, ValueError, "rho"),
    (optimizers.RMSprop, {"momentum": math.nan}, ValueError, "momentum"),
    (optimizers.RMSprop, {"centered": None}, TypeError, "centered"),
    (optimizers.SGD, {"clipnorm": 0.0}, ValueError, "clipnorm"),
    (optimizers.SGD, {"clipvalue": -1.0}, ValueError, "clipvalue"),
    (optimizers.SGD, {"global_clipnorm": math.inf}, ValueError, "global_clipnorm"),
    (optimizers.SGD, {"clipnorm": 1.0, "clipvalue": 1.0}, ValueError, "only one of"),
    (optimizers.SGD, {"lr": 0.1}, TypeError, "unexpected arguments"),
    (optimizers.Adam, {"use_ema": True}, NotImplementedError, "use_ema"),
])
def test_bad_hyper_parameters(cls, kwargs, error, match):
    with pytest.raises(error, match=match):
        cls(**kwargs)


def test_bad_gradients_and_variables():
    opt = optimizers.Adam()
    v = sn.Tensor(np.zeros((2, 3)), requires_grad=True)
    with pytest.raises(ValueError, match=r"gradient of shape \(3, 2\).*shape \(2, 3\)"):
        opt.apply([np.zeros((3, 2))], [v])
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(6,\)|\(6,\).*\(2, 3\)"):
        opt.apply([np.zeros(6)], [v])  # no silent reshape or broadcast either
    with pytest.raises(ValueError, match="2 gradients for 1 variables"):
        opt.apply([np.zeros((2, 3)), np.zeros(1)], [v])
    with pytest.raises(TypeError, match="stridenet Tensors"):
        opt.apply([np.zeros(2)], [np.zeros(2)])
    with pytest.raises(TypeError, match="numeric"):
        opt.apply([np.array(["a", "b", "c"] * 2).reshape(2, 3)], [v])
    assert opt.iterations == 0 and not opt.get_state().keys() - {"iterations", "learning_rate"}
