"""Inference plans (models/plan.py): the same numbers as the eager pass, on both kernel
paths, for every kind of model; weight changes seen; no aliasing; a bounded cache."""

from __future__ import annotations

import numpy as np
import pytest

import stridenet as sn
from stridenet import layers as L
from stridenet import zoo
from stridenet.autograd import no_grad
from stridenet.models import plan as P
from stridenet.models import plan_runtime as R
from stridenet.models import plan_steps as S

pytestmark = [pytest.mark.usefixtures("kernel_path"),
              pytest.mark.filterwarnings("error::RuntimeWarning")]  # a dropped plan fails


def _data(model, n, seed=1, dtype=np.float32, shape=None):
    shape = shape or model._declared_input_shapes()[0][1:]
    return np.random.default_rng(seed).standard_normal((n, *shape)).astype(dtype)


def eager(model, x):
    """The eager forward pass (the plan turned off for this call)."""
    model.inference_plan = False
    try:
        return model.predict_on_batch(x)
    finally:
        model.inference_plan = True


def planned(model, x):
    """predict_on_batch through the plan: the first call of a key runs eagerly, the second
    compiles the plan (and returns the eager result), the third is the plan's -- checked."""
    model.predict_on_batch(x)
    model.predict_on_batch(x)
    assert P.plans_of(model), "no plan was made"
    plan = P.plans_of(model)[-1]
    runs = plan.calls
    out = model.predict_on_batch(x)
    assert plan.calls == runs + 1, "the plan did not run"
    return out


def assert_close(got, want, dtype=np.float32):
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-13)
    for g, w in zip(got if isinstance(got, list) else [got],
                    want if isinstance(want, list) else [want]):
        assert g.shape == w.shape and g.dtype == w.dtype
        np.testing.assert_allclose(g, w, **tol)


def _step_kinds(model):
    return [type(s).__name__ for s in P.plans_of(model)[-1].steps]


def mlp():
    return sn.Sequential([L.Input((20,)), L.Dense(32, activation="relu"), L.Dropout(0.5),
                          L.Dense(16, activation="tanh"), L.BatchNormalization(),
                          L.Dense(5, activation="softmax")])


def branches():
    """Two inputs, Concatenate, and two outputs (one of them an inner value)."""
    a, b = L.Input((8, 8, 3), name="a"), L.Input((8, 8, 2), name="b")
    x = L.Concatenate()([L.Conv2D(4, 3, padding="same")(a), L.Conv2D(4, 1, activation="relu")(b)])
    x = L.BatchNormalization()(x)
    y = L.ReLU()(x)
    p = L.MaxPooling2D(2)(y)
    out1 = L.Dense(3, activation="softmax")(L.Flatten()(p))
    out2 = L.GlobalAveragePooling2D()(y)
    return sn.Model([a, b], [out1, out2, x])


class BatchCentre(L.Layer):
    """An unknown layer that mixes the images of a batch: x - mean over the batch."""

    def call(self, inputs, training=False):
        return inputs - sn.autograd.mean(inputs, axis=0, keepdims=True)


ZOO = {"mnist_cnn": (1, 3, 128), "lenet5": (1, 3, 128), "resnet20": (1, 3, 128),
       "fcn1d": (1, 3, 128), "mlp": (1, 3, 128)}


@pytest.mark.parametrize("name", sorted(ZOO))
def test_plan_equals_eager(name):
    sn.utils.set_random_seed(0)
    model = mlp() if name == "mlp" else zoo.get(name)
    for n in ZOO[name]:
        x = _data(model, n)
        assert_close(planned(model, x), eager(model, x))
    assert "Eager" not in _step_kinds(model)  # every layer of these models is planned
    if name == "resnet20":  # batch norm and relu joined the conv step before them; only
        kinds = _step_kinds(model)  # the final softmax runs apart (the losses use its logits)
        assert kinds.count("Conv") == 21 and kinds.index("Elementwise") == len(kinds) - 1


def test_conv3d_model_and_partial_batches():
    sn.utils.set_random_seed(0)
    model = zoo.c3d_small(input_shape=(4, 8, 8, 1), filters=(4, 6, 8))
    x = _data(model, 5)
    want = eager(model, x)
    for _ in range(2):
        assert_close(model.predict(x, batch_size=2), want)  # 2 + 2 + a final 1
    assert "Eager" in _step_kinds(model)  # Conv3D and MaxPooling3D run their own forward


def test_predict_with_final_partial_batch():
    sn.utils.set_random_seed(0)
    model = zoo.mnist_cnn()
    x = _data(model, 70)
    want = eager(model, x)
    for _ in range(2):
        assert_close(model.predict(x, batch_size=32), want)  # 32 + 32 + 6


def test_functional_multi_input_multi_output():
    sn.utils.set_random_seed(0)
    model = branches()
    for n in (1, 3, 64):
        xs = [_data(model, n, shape=(8, 8, 3)), _data(model, n, 2, shape=(8, 8, 2))]
        got, want = planned(model, xs), eager(model, xs)
        assert isinstance(got, list) and len(got) == 3
        assert_close(got, want)


def test_unknown_layer_runs_eagerly_on_the_whole_batch():
    sn.utils.set_random_seed(0)
    model = sn.Sequential([L.Input((6, 6, 2)), L.Conv2D(3, 3, activation="relu"),
                           BatchCentre(), L.Flatten(), L.Dense(4)])
    x = _data(model, 128)
    assert_close(planned(model, x), eager(model, x))
    assert "Eager" in _step_kinds(model) and not P.plans_of(model)[-1].chunked


def test_undeclared_input_shape_and_nested_model():
    """A Sequential built from its first data (no Input), nested in a functional model."""
    sn.utils.set_random_seed(0)
    block = sn.Sequential([L.Conv2D(3, 1), L.ReLU()])
    inp = L.Input((6, 6, 2))
    model = sn.Model(inp, L.Dense(2)(L.Flatten()(block(L.Conv2D(4, 3)(inp)))))
    x = _data(model, 4)
    assert_close(planned(model, x), eager(model, x))
    loose = sn.Sequential([L.Dense(4, activation="relu"), L.Dense(2)])
    x = _data(loose, 5, shape=(3,))
    assert_close(planned(loose, x), eager(loose, x))


def test_float64_and_a_plan_per_shape_and_dtype():
    sn.utils.set_random_seed(0)
    model = sn.Sequential([L.Input((None, None, 3)), L.Conv2D(4, 3, padding="same",
                                                               activation="relu"),
                           L.GlobalAveragePooling2D(), L.Dense(2)])
    x64 = _data(model, 3, dtype=np.float64, shape=(9, 7, 3))
    got = planned(model, x64)
    assert got.dtype == np.float64
    assert_close(got, eager(model, x64), dtype=np.float64)
    planned(model, x64.astype(np.float32))
    assert len(P.plans_of(model)) == 2
    for size in range(5, 5 + P.MAX_PLANS + 2):  # more shapes than the cache keeps
        x = _data(model, 2, shape=(size, size, 3))
        assert_close(planned(model, x), eager(model, x))
    assert len(P.plans_of(model)) == P.MAX_PLANS
    shapes = {p.in_shapes[0] for p in P.plans_of(model)}
    assert (5 + P.MAX_PLANS + 1, 5 + P.MAX_PLANS + 1, 3) in shapes


def test_returned_arrays_are_not_reused():
    sn.utils.set_random_seed(0)
    model = zoo.lenet5()
    x1, x2 = _data(model, 1), _data(model, 1, seed=2)
    planned(model, x1)
    a = model.predict_on_batch(x1)
    kept = a.copy()
    b = model.predict_on_batch(x2)
    np.testing.assert_array_equal(a, kept)
    assert not np.shares_memory(a, b)
    c = model.predict(x1)
    assert not np.shares_memory(a, c)


@pytest.mark.parametrize("change", ["train_on_batch", "fit", "set_weights", "in_place",
                                    "load_weights"])
def test_weight_changes_are_seen(change, tmp_path):
    sn.utils.set_random_seed(0)
    model = zoo.resnet20(input_shape=(8, 8, 3)) if change == "fit" else zoo.mnist_cnn()
    model.compile(optimizer=sn.optimizers.SGD(0.5), loss="sparse_categorical_crossentropy")
    x = _data(model, 4)
    y = np.arange(4) % 10
    before = planned(model, x)
    if change == "train_on_batch":
        model.train_on_batch(x, y)
    elif change == "fit":  # batch norm's moving statistics change too
        model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    elif change == "set_weights":
        model.set_weights([w * 1.5 for w in model.get_weights()])
    elif change == "in_place":
        conv2 = model.layers[1]  # 5x5 with 32 channels: its Winograd transform is kept
        assert P.plans_of(model)[-1].steps[1].wino
        conv2.kernel.data[0, 0, 0, 0] += 3.0
        model.layers[-2].bias.data += 0.5
    else:
        model.save_weights(tmp_path / "w.weights.h5")
        model.set_weights([w * 0 for w in model.get_weights()])
        model.predict_on_batch(x)
        model.load_weights(tmp_path / "w.weights.h5")
        model.set_weights([w * 1.25 for w in model.get_weights()])
    after = model.predict_on_batch(x)
    assert not np.allclose(after, before)
    assert_close(after, eager(model, x))


def test_call_under_no_grad_uses_the_plan_and_gradients_still_flow():
    sn.utils.set_random_seed(0)
    model = zoo.lenet5()
    x = _data(model, 2)
    with no_grad():
        for _ in range(3):
            out = model(x, training=False)
    assert isinstance(out, sn.autograd.Tensor) and P.plans_of(model)[-1].calls
    assert_close(out.numpy(), eager(model, x))
    calls = []
    original = S.Conv.run
    S.Conv.run = lambda self, *a: calls.append(1) or original(self, *a)
    try:
        y = model(x, training=False)  # the tape is on: eager, differentiable
        assert not calls
        with no_grad():
            model(x, training=False)
        assert calls  # the plan ran
    finally:
        S.Conv.run = original
    y.sum().backward()
    assert model.layers[0].kernel.grad is not None and np.abs(model.layers[0].kernel.grad).sum()


def test_turned_off_by_environment_or_attribute(monkeypatch):
    sn.utils.set_random_seed(0)
    model = zoo.lenet5()
    x = _data(model, 2)
    monkeypatch.setenv(P.ENV, "0")
    model.predict_on_batch(x)
    model.predict_on_batch(x)
    assert not P.plans_of(model)
    monkeypatch.delenv(P.ENV)
    model.inference_plan = False
    model.predict(x)
    model.predict(x)
    assert not P.plans_of(model)
    model.inference_plan = True
    planned(model, x)


def test_subclassed_model_runs_eagerly():
    class Net(sn.Model):
        def __init__(self):
            super().__init__()
            self.d1, self.d2 = L.Dense(8, activation="relu"), L.Dense(2)

        def call(self, inputs, training=False):
            return self.d2(self.d1(inputs) * 2.0)

    sn.utils.set_random_seed(0)
    model = Net()
    x = _data(model, 3, shape=(5,))
    a, b = model.predict(x), model.predict(x)
    np.testing.assert_array_equal(a, b)
    assert not P.plans_of(model)


def test_bad_input_still_raises_the_eager_error():
    model = zoo.lenet5()
    with pytest.raises(ValueError, match="expects shape"):
        model.predict_on_batch(np.zeros((2, 20, 20, 1), np.float32))
    planned(model, np.zeros((2, 28, 28, 1), np.float32))
    with pytest.raises(ValueError, match="expects shape"):
        model.predict_on_batch(np.zeros((2, 20, 20, 1), np.float32))


def test_sequential_changed_after_planning():
    sn.utils.set_random_seed(0)
    model = mlp()
    x = _data(model, 3)
    planned(model, x)
    model.pop()
    model.add(L.Dense(7))
    got = planned(model, x)
    assert got.shape == (3, 7)
    assert_close(got, eager(model, x))


def test_losses_still_see_the_logits_behind_a_final_softmax():
    """evaluate runs model(x) under no_grad: the plan's softmax output carries its logits,
    so a saturated prediction gives the same (finite, large) loss as the eager pass."""
    sn.utils.set_random_seed(0)
    model = sn.Sequential([L.Input((4,)), L.Dense(3, activation="softmax")])
    model.set_weights([np.array([[60.0, -60, 0]] * 4, np.float32), np.zeros(3, np.float32)])
    model.compile(loss="sparse_categorical_crossentropy")
    x, y = np.ones((5, 4), np.float32), np.full(5, 1)
    want = model.evaluate(x, y, verbose=0)
    for _ in range(3):
        assert model.evaluate(x, y, verbose=0) == pytest.approx(want, rel=1e-6)
    assert P.plans_of(model)[-1].calls
    with no_grad():
        out = model(x, training=False)
    kind, logits, axis = out._logits
    assert kind == "softmax" and axis == 1
    np.testing.assert_allclose(logits.numpy(), x @ model.layers[0].kernel.numpy())


@pytest.mark.parametrize("name", ["mnist_cnn", "resnet20", "fcn1d"])
def test_every_single_image_mode_gives_the_eager_numbers(name, monkeypatch):
    """Batch 1 runs on one thread, on BLAS's threads, or with the rows of each large
    convolution split over the workers (Winograd tile rows, strided rows): all equal."""
    from stridenet.ops.kernels import parallel

    monkeypatch.setattr(S.Conv, "MIN_SPLIT_MACS", 0)  # every convolution splits its rows
    parallel.set_num_workers(2)
    try:
        sn.utils.set_random_seed(0)
        model = zoo.get(name)
        x = _data(model, 1)
        want = eager(model, x)
        planned(model, x)
        plan = P.plans_of(model)[-1]
        for mode in ("one thread", "blas threads", "split rows"):
            plan.one_image_mode = mode
            assert_close(model.predict_on_batch(x), want)
        assert any(getattr(st, "split_rows", False) for st in plan.steps)
    finally:
        parallel.set_num_workers(None)


@pytest.mark.parametrize("pool", [L.MaxPooling2D, L.AveragePooling2D])
@pytest.mark.parametrize("size,strides", [(2, None), (3, 2), (2, 1)])
def test_pooling_on_odd_sizes(pool, size, strides):
    """2x2 stride-2 windows go by row pairs then column pairs; others tap by tap."""
    model = sn.Sequential([L.Input((7, 9, 3)), pool(size, strides=strides), L.Flatten()])
    x = _data(model, 3)
    assert_close(planned(model, x), eager(model, x))
    assert _step_kinds(model) == ["Pool", "View"]


def test_a_hooked_layer_call_is_still_called():
    """viz's filter view replaces a layer's ``call`` on the instance to capture its
    output: while such a hook is there, the model runs eagerly."""
    sn.utils.set_random_seed(0)
    model = zoo.lenet5()
    x = _data(model, 2)
    model.predict(x, verbose=0)  # the next call compiles the plan, with the hook there
    layer, seen = model.layers[2], []
    inner = layer.call
    object.__setattr__(layer, "call", lambda *a, **k: seen.append(1) or inner(*a, **k))
    try:
        model.predict(x, verbose=0)
    finally:
        del layer.__dict__["call"]
    assert seen
    assert_close(planned(model, x), eager(model, x))


@pytest.mark.parametrize("depth_first", [True, False])
@pytest.mark.parametrize("name", ["resnet20", "branches", "lenet5"])
def test_chunks_through_all_layers_or_layer_by_layer(name, depth_first, monkeypatch):
    """A batch runs either with chunks of images through all the layers or layer by
    layer over the whole batch (each layer's images in chunks): both equal eager."""
    monkeypatch.setattr(R, "DEPTH_FIRST_MIN", 0 if depth_first else 10**9)
    sn.utils.set_random_seed(0)
    model = branches() if name == "branches" else zoo.get(name)
    shapes = [(8, 8, 3), (8, 8, 2)] if name == "branches" else [None]
    xs = [_data(model, 37, i + 1, shape=s) for i, s in enumerate(shapes)]
    xs = xs if name == "branches" else xs[0]
    assert_close(planned(model, xs), eager(model, xs))
