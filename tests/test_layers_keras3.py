"""Keras 3 layers beyond the seed set: values against PyTorch where it has the layer,
output shapes, weights (Keras shapes and order), save/load, summary rows, bad input."""

from __future__ import annotations

import numpy as np
import pytest

import stridenet as sn
from stridenet import layers as L


def _x(shape, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _grad(layer, x, dy):
    t = sn.Tensor(x, requires_grad=True)
    y = layer(t)
    y.backward(dy)
    return y.numpy(), t.grad


# --- values against PyTorch -------------------------------------------------------------

@pytest.mark.parametrize("layer, fn", [
    (lambda: L.LeakyReLU(), lambda t, F: F.leaky_relu(t, 0.3)),
    (lambda: L.LeakyReLU(negative_slope=0.05), lambda t, F: F.leaky_relu(t, 0.05)),
    (lambda: L.ELU(), lambda t, F: F.elu(t, 1.0)),
    (lambda: L.ELU(alpha=0.5), lambda t, F: F.elu(t, 0.5)),
    (lambda: L.Softmax(), lambda t, F: F.softmax(t, -1)),
    (lambda: L.Softmax(axis=1), lambda t, F: F.softmax(t, 1)),
])
def test_activation_layers_match_torch(torch, layer, fn):
    x, dy = _x((2, 3, 4)) * 3, _x((2, 3, 4), 1)
    y, gx = _grad(layer(), x, dy)
    tx = torch.tensor(x, requires_grad=True)
    ty = fn(tx, torch.nn.functional)
    ty.backward(torch.tensor(dy))
    np.testing.assert_allclose(y, ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gx, tx.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_leaky_relu_accepts_keras2_alpha_with_a_warning():
    with pytest.warns(DeprecationWarning, match="negative_slope"):
        layer = L.LeakyReLU(alpha=0.2)
    assert layer.negative_slope == 0.2 and layer.get_config()["negative_slope"] == 0.2
    np.testing.assert_allclose(layer(np.array([-1.0, 2.0])).numpy(), [-0.2, 2.0])


def test_softmax_over_several_axes_matches_torch(torch):
    x = _x((2, 3, 4, 5))
    y = L.Softmax(axis=[1, 3])(x).numpy()
    t = torch.tensor(x).permute(0, 2, 1, 3).reshape(2, 4, 15).softmax(-1)
    np.testing.assert_allclose(y, t.reshape(2, 4, 3, 5).permute(0, 2, 1, 3).numpy(), rtol=1e-12)


def test_prelu_weight_shape_and_torch(torch):
    x, dy = _x((2, 5, 6, 3)), _x((2, 5, 6, 3), 1)
    layer = L.PReLU(alpha_initializer=sn.initializers.Constant(0.25), shared_axes=[1, 2],
                    dtype="float64")
    y, gx = _grad(layer, x, dy)
    assert layer.alpha.shape == (1, 1, 3) and layer.count_params() == 3
    alpha = np.array([0.125, 0.25, -0.5])  # exact in the float32 weight
    layer.alpha.assign(alpha.reshape(1, 1, 3))
    layer.alpha.grad = None
    y, gx = _grad(layer, x, dy)
    tx = torch.tensor(x.transpose(0, 3, 1, 2).copy(), requires_grad=True)  # NCHW
    tw = torch.tensor(alpha, requires_grad=True)
    ty = torch.nn.functional.prelu(tx, tw)
    ty.backward(torch.tensor(dy.transpose(0, 3, 1, 2).copy()))
    np.testing.assert_allclose(y, ty.detach().numpy().transpose(0, 2, 3, 1), rtol=1e-12)
    np.testing.assert_allclose(gx, tx.grad.numpy().transpose(0, 2, 3, 1), rtol=1e-12)
    np.testing.assert_allclose(layer.alpha.grad.reshape(3), tw.grad.numpy(), rtol=1e-10)
    # default: one alpha per input cell, initialised to zero (a ReLU)
    full = L.PReLU()
    np.testing.assert_array_equal(full(x).numpy(), np.maximum(x, 0))
    assert full.alpha.shape == (5, 6, 3)


def test_layer_normalization_matches_torch(torch):
    x, dy = _x((3, 4, 6)) * 5 + 2, _x((3, 4, 6), 1)
    layer = L.LayerNormalization(dtype="float64")
    layer(x)
    assert [w.shape for w in layer.weights] == [(6,), (6,)]
    assert [w.name.split("/")[1] for w in layer.weights] == ["gamma", "beta"]
    g, b = _x((6,), 2), _x((6,), 3)
    layer.set_weights([g, b])
    y, gx = _grad(layer, x, dy)
    tl = torch.nn.LayerNorm(6, eps=1e-3).double()
    with torch.no_grad():
        tl.weight.copy_(torch.tensor(g))
        tl.bias.copy_(torch.tensor(b))
    tx = torch.tensor(x, requires_grad=True)
    ty = tl(tx)
    ty.backward(torch.tensor(dy))
    np.testing.assert_allclose(y, ty.detach().numpy(), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(gx, tx.grad.numpy(), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(layer.gamma.grad, tl.weight.grad.numpy(), rtol=1e-9)
    np.testing.assert_allclose(layer.beta.grad, tl.bias.grad.numpy(), rtol=1e-9)
    several = L.LayerNormalization(axis=[1, 2], center=False)
    several(x)
    assert [w.shape for w in several.weights] == [(4, 6)]


@pytest.mark.parametrize("rank, kwargs", [
    (2, dict(filters=5, kernel_size=3)),
    (2, dict(filters=4, kernel_size=(3, 2), strides=2, padding="same", depth_multiplier=2)),
    (2, dict(filters=3, kernel_size=3, dilation_rate=2, use_bias=False)),
    (1, dict(filters=4, kernel_size=3, depth_multiplier=3)),
    (1, dict(filters=2, kernel_size=4, strides=3, padding="same")),
])
def test_separable_conv_is_depthwise_then_pointwise_as_torch(torch, rank, kwargs):
    F = torch.nn.functional
    c, m = 3, kwargs.get("depth_multiplier", 1)
    shape = (2, 9, 8, c) if rank == 2 else (2, 11, c)
    x = _x(shape)
    layer = (L.SeparableConv2D if rank == 2 else L.SeparableConv1D)(**kwargs, dtype="float64")
    y = layer(x).numpy()
    names = [w.name.split("/")[1] for w in layer.weights]
    assert names == ["depthwise_kernel", "pointwise_kernel"] + (["bias"] if layer.use_bias
                                                                 else [])
    dw, pw = layer.depthwise_kernel.numpy(), layer.pointwise_kernel.numpy()
    assert dw.shape == (*layer.kernel_size, c, m)
    assert pw.shape == (*([1] * rank), c * m, layer.filters)
    if layer.use_bias:
        layer.bias.assign(_x((layer.filters,), 4))
        y = layer(x).numpy()
    conv = F.conv2d if rank == 2 else F.conv1d
    perm, back = ((0, 3, 1, 2), (0, 2, 3, 1)) if rank == 2 else ((0, 2, 1), (0, 2, 1))
    tx = torch.tensor(x.transpose(perm).copy())
    # ours (K.., C, M) -> torch (C*M, 1, K..), output channel c*M + m
    tdw = torch.tensor(dw.reshape(*dw.shape[:-2], c * m).transpose(-1, *range(rank))[:, None]
                       .copy())
    pad = kwargs.get("padding", "valid")
    s, d = layer.strides, layer.dilation_rate
    if pad == "same":  # the extra cell at the end, as Keras
        pads = []
        for n, k, st, dd in zip(x.shape[1:-1], layer.kernel_size, s, d):
            eff = (k - 1) * dd + 1
            total = max((-(-n // st) - 1) * st + eff - n, 0)
            pads = [total // 2, total - total // 2] + pads
        tx = F.pad(tx, pads)
    t = conv(tx, tdw, stride=s, dilation=d, groups=c)
    tpw = torch.tensor(pw.reshape(c * m, -1).T.reshape(-1, c * m, *([1] * rank)).copy())
    tb = torch.tensor(layer.bias.numpy()) if layer.use_bias else None
    t = conv(t, tpw, tb)
    np.testing.assert_allclose(y, t.numpy().transpose(back), rtol=1e-9, atol=1e-10)
    assert layer.compute_output_shape((None, *shape[1:])) == (None, *y.shape[1:])


def test_depthwise_conv1d_matches_torch(torch):
    x = _x((2, 10, 3))
    layer = L.DepthwiseConv1D(3, depth_multiplier=2, padding="causal", dtype="float64")
    y = layer(x).numpy()
    k = layer.kernel.numpy()
    assert k.shape == (3, 3, 2) and layer.bias.shape == (6,) and y.shape == (2, 10, 6)
    tk = torch.tensor(k.reshape(3, 6).T[:, None].copy())  # (C*M, 1, K)
    tx = torch.nn.functional.pad(torch.tensor(x.transpose(0, 2, 1).copy()), [2, 0])
    t = torch.nn.functional.conv1d(tx, tk, groups=3)
    np.testing.assert_allclose(y, t.numpy().transpose(0, 2, 1), rtol=1e-10, atol=1e-12)


# --- dropout and noise -------------------------------------------------------------------

@pytest.mark.parametrize("cls, shape", [(L.SpatialDropout1D, (4, 7, 6)),
                                        (L.SpatialDropout2D, (4, 5, 5, 6)),
                                        (L.SpatialDropout3D, (4, 3, 3, 3, 6))])
def test_spatial_dropout_drops_whole_channels_seeded(cls, shape):
    x = np.ones(shape, np.float32)
    layer = cls(0.5, seed=3)
    np.testing.assert_array_equal(layer(x).numpy(), x)  # inference: the identity
    y = layer(x, training=True).numpy()
    per_channel = y.reshape(shape[0], -1, shape[-1])
    assert np.all(per_channel.min(axis=1) == per_channel.max(axis=1))  # whole maps
    assert set(np.unique(y)) <= {0.0, 2.0} and 0 < (y == 0).mean() < 1
    again = cls(0.5, seed=3)(x, training=True).numpy()
    np.testing.assert_array_equal(y, again)  # same seed, same mask
    t = sn.Tensor(x, requires_grad=True)
    cls(0.5, seed=3)(t, training=True).backward(np.ones(shape, np.float32))
    np.testing.assert_array_equal(t.grad, y)  # gradient: the same mask and scale


def test_gaussian_noise_training_only_and_seeded():
    x = np.zeros((3, 4, 5), np.float32)
    np.testing.assert_array_equal(L.GaussianNoise(0.5, seed=1)(x).numpy(), x)
    a = L.GaussianNoise(0.5, seed=1)(x, training=True).numpy()
    b = L.GaussianNoise(0.5, seed=1)(x, training=True).numpy()
    np.testing.assert_array_equal(a, b)
    assert 0.3 < a.std() < 0.7


# --- shape layers ------------------------------------------------------------------------

def test_reshape_permute_zero_padding3d():
    x = _x((2, 3, 4, 5))
    assert L.Reshape((-1, 10))(x).shape == (2, 6, 10)
    assert L.Reshape((-1, 10)).compute_output_shape((None, 3, 4, 5)) == (None, 6, 10)
    np.testing.assert_array_equal(L.Permute((3, 1, 2))(x).numpy(), x.transpose(0, 3, 1, 2))
    v = _x((2, 3, 4, 5, 2))
    y = L.ZeroPadding3D(((1, 2), (0, 1), (2, 0)))(v).numpy()
    np.testing.assert_array_equal(y, np.pad(v, ((0, 0), (1, 2), (0, 1), (2, 0), (0, 0))))
    assert L.ZeroPadding3D(2)(v).shape == (2, 7, 8, 9, 2)
    t = sn.Tensor(v, requires_grad=True)
    L.ZeroPadding3D(1)(t).backward(np.ones((2, 5, 6, 7, 2)))
    np.testing.assert_array_equal(t.grad, 1)


def test_rescaling_and_normalization_as_keras():
    np.testing.assert_allclose(L.Rescaling(1 / 127.5, offset=-1)(np.array([[0.0, 255.0]]))
                               .numpy(), [[-1, 1]])
    data = np.array([[0, 7, 4], [2, 9, 6], [0, 7, 4], [2, 9, 6]], np.float32)
    layer = L.Normalization()
    layer.adapt(data)
    np.testing.assert_allclose(layer(data[:1]).numpy(), [[-1, -1, -1]])
    assert [w.name.split("/")[1] for w in layer.weights] == ["mean", "variance", "count"]
    assert layer.count.numpy() == 4 and not layer.trainable_weights
    scalar = L.Normalization(axis=None)
    scalar.adapt(np.array([1, 2, 3, 4, 5], np.float32)[:, None])
    np.testing.assert_allclose(scalar(np.array([[1.0], [2.0], [3.0]])).numpy().ravel(),
                               [-1.4142135, -0.70710677, 0.0], rtol=1e-6)
    inv = L.Normalization(mean=3.0, variance=4.0, invert=True)
    np.testing.assert_allclose(inv(np.array([[1.0]])).numpy(), [[5.0]])
    assert not inv.weights
    x = _x((50, 3, 4))
    whole, batched = L.Normalization(axis=1), L.Normalization(axis=1)
    whole.adapt(x)
    batched.adapt(iter([x[:20], x[20:]]))  # statistics merged batch by batch
    np.testing.assert_allclose(batched.variance.numpy(), whole.variance.numpy(), rtol=1e-6)
    np.testing.assert_allclose(whole.variance.numpy(), x.transpose(1, 0, 2).reshape(3, -1)
                               .var(axis=1), rtol=1e-6)


def test_keras_aliases():
    assert L.MaxPool1D is L.MaxPooling1D and L.AvgPool1D is L.AveragePooling1D
    assert L.MaxPool2D is L.MaxPooling2D and L.AvgPool2D is L.AveragePooling2D
    assert sn.Input is L.Input


# --- every new layer: output shape, save/load, summary, bad rank ------------------------

CASES = [  # (layer factory, input shape without the batch, parameter count)
    (lambda: L.LeakyReLU(0.1), (5, 3), 0),
    (lambda: L.ELU(0.7), (5, 3), 0),
    (lambda: L.PReLU(shared_axes=[1]), (5, 3), 3),
    (lambda: L.Softmax(axis=1), (5, 3), 0),
    (lambda: L.LayerNormalization(epsilon=1e-5), (5, 3), 6),
    (lambda: L.Rescaling(0.5, offset=1.0), (5, 3), 0),
    (lambda: L.Normalization(mean=[1.0, 2.0, 3.0], variance=[1.0, 4.0, 9.0]), (5, 3), 0),
    (lambda: L.Reshape((3, 5)), (5, 3), 0),
    (lambda: L.Permute((2, 1)), (5, 3), 0),
    (lambda: L.SpatialDropout1D(0.3, seed=1), (5, 3), 0),
    (lambda: L.SpatialDropout2D(0.3), (4, 5, 3), 0),
    (lambda: L.SpatialDropout3D(0.3), (2, 4, 5, 3), 0),
    (lambda: L.GaussianNoise(0.1, seed=2), (5, 3), 0),
    (lambda: L.ZeroPadding1D((1, 2)), (5, 3), 0),
    (lambda: L.ZeroPadding3D(1), (2, 4, 5, 3), 0),
    (lambda: L.DepthwiseConv1D(3, depth_multiplier=2), (7, 3), 3 * 3 * 2 + 6),
    (lambda: L.SeparableConv1D(4, 3, padding="same"), (7, 3), 9 + 12 + 4),
    (lambda: L.SeparableConv2D(4, 3, strides=2), (7, 6, 3), 27 + 12 + 4),
]
BAD_RANK = {"SpatialDropout1D": (4, 5, 3), "SpatialDropout2D": (5, 3),
            "SpatialDropout3D": (4, 5, 3), "ZeroPadding1D": (4, 5, 3),
            "ZeroPadding3D": (4, 5, 3), "DepthwiseConv1D": (4, 5, 3),
            "SeparableConv1D": (4, 5, 3), "SeparableConv2D": (5, 3), "Permute": (4, 5, 3)}


@pytest.mark.parametrize("make, shape, params", CASES)
def test_new_layer_shape_save_load_summary(tmp_path, make, shape, params):
    sn.utils.set_random_seed(0)
    layer = make()
    inputs = sn.Input(shape)
    h = layer(inputs)
    out = sn.layers.Dense(2)(sn.layers.Flatten()(h))
    model = sn.Model(inputs, out)
    x = _x((3, *shape), dtype=np.float32)
    assert layer(x).shape[1:] == h.shape[1:] == layer.compute_output_shape((3, *shape))[1:]
    assert layer.count_params() == params
    lines = []
    model.summary(print_fn=lines.append)
    row = next(line for line in lines if f"({type(layer).__name__})" in line)
    assert f"{params:,}" in row.split(")", 2)[-1]
    model.summary(show_compute=True, print_fn=lines.append)
    expected = model.predict(x, verbose=0)
    model.save(tmp_path / "m.sn")
    loaded = sn.models.load_model(tmp_path / "m.sn")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), expected, rtol=1e-6)
    twin = next(l for l in loaded.layers if type(l) is type(layer))
    assert twin.get_config() == {**layer.get_config()}
    bad = BAD_RANK.get(type(layer).__name__)
    if bad is not None:
        with pytest.raises(ValueError, match=rf"{type(layer).__name__}\).*input shape"):
            make()(np.zeros((2, *bad), np.float32))


@pytest.mark.parametrize("make, match", [
    (lambda: L.LeakyReLU(-1), "negative_slope"),
    (lambda: L.Softmax(axis="x"), "axis"),
    (lambda: L.PReLU(shared_axes=[0]), "shared_axes"),
    (lambda: L.LayerNormalization(epsilon=0), "epsilon"),
    (lambda: L.Reshape((2, -1, -1)), "target_shape"),
    (lambda: L.Permute((1, 3)), "dims"),
    (lambda: L.SpatialDropout2D(1.0), "rate"),
    (lambda: L.SeparableConv2D(0, 3), "filters"),
    (lambda: L.SeparableConv2D(4, 3, strides=2, dilation_rate=2), "dilation_rate"),
    (lambda: L.DepthwiseConv1D(3, depth_multiplier=0), "depth_multiplier"),
    (lambda: L.Normalization(mean=1.0), "both mean and variance"),
    (lambda: L.Normalization(axis=0), "batch axis"),
])
def test_bad_arguments_are_clear(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_shapes_when_called_are_clear():
    with pytest.raises(ValueError, match=r"Reshape\).*12 values.*has 10"):
        L.Reshape((2, 5))(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match=r"LayerNormalization\).*axis 3"):
        L.LayerNormalization(axis=3)(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match=r"Normalization\).*does not match"):
        n = L.Normalization()
        n(np.zeros((1, 3)))
        n.adapt(np.zeros((5, 4)))
    with pytest.raises(ValueError, match=r"Softmax\).*out of range"):
        L.Softmax(axis=3)(np.zeros((2, 3)))


@pytest.mark.parametrize("make, shape", [
    (lambda: L.Dense(3), (None, 4)), (lambda: L.Conv2D(2, 3), (None, 5, 5, 1)),
    (lambda: L.LayerNormalization(), (None, 4)), (lambda: L.PReLU(), (None, 4)),
    (lambda: L.BatchNormalization(), (None, 4)),
])
def test_explicit_build_marks_the_layer_built(make, shape):
    # Keras: layer.build(shape) makes the weights once; a later call must not make new ones
    layer = make()
    layer.build(shape)
    assert layer.built
    before = [id(w) for w in layer.weights]
    layer(np.ones((2, *shape[1:]), np.float32))
    assert [id(w) for w in layer.weights] == before
