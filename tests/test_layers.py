"""Keras layers: shapes, weights (Keras shapes and order), configs, checks."""

from __future__ import annotations

import numpy as np
import pytest

import stridenet as sn
from stridenet import layers as L


def test_spec_example_d_conv2d_layer_shapes():
    x = np.zeros((1, 32, 32, 3), np.float32)
    for kwargs, shape in [({}, (1, 28, 28, 4)), ({"padding": "same"}, (1, 32, 32, 4)),
                          ({"padding": "same", "strides": 2}, (1, 16, 16, 4))]:
        layer = L.Conv2D(4, kernel_size=5, **kwargs)
        assert layer(x).shape == shape
        assert layer.compute_output_shape((None, 32, 32, 3)) == (None, *shape[1:])
    assert layer.kernel.shape == (5, 5, 3, 4) and layer.bias.shape == (4,)
    np.testing.assert_array_equal(layer.bias.numpy(), 0)
    assert [w.shape for w in layer.get_weights()] == [(5, 5, 3, 4), (4,)]


def test_conv_layer_is_the_op_plus_activation():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 7, 7, 3)).astype(np.float32)
    layer = L.Conv2D(5, 3, strides=2, padding="same", activation="relu")
    y = layer(x).numpy()
    ref = np.maximum(sn.ops.conv2d(x, layer.kernel.numpy(), layer.bias.numpy(), strides=2,
                                   padding="same").numpy(), 0)
    np.testing.assert_allclose(y, ref, rtol=1e-6)


def test_glorot_uniform_default_has_the_keras_limit():
    sn.utils.set_random_seed(0)
    layer = L.Conv2D(32, 5)
    layer(np.zeros((1, 8, 8, 16), np.float32))
    limit = np.sqrt(6 / (25 * 16 + 25 * 32))
    k = layer.kernel.numpy()
    assert k.dtype == np.float32
    assert np.abs(k).max() <= limit and np.abs(k).max() > 0.95 * limit


def test_depthwise_conv2d_matches_grouped_conv():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 6, 6, 3)).astype(np.float32)
    layer = L.DepthwiseConv2D(3, depth_multiplier=2, padding="same")
    y = layer(x).numpy()
    assert layer.kernel.shape == (3, 3, 3, 2) and y.shape == (2, 6, 6, 6)
    k = layer.kernel.numpy()
    for c in range(3):
        for m in range(2):
            single = sn.ops.conv2d(x[..., c:c + 1], k[:, :, c:c + 1, m:m + 1], padding="same")
            np.testing.assert_allclose(y[..., c * 2 + m], single.numpy()[..., 0], atol=1e-5)


def test_conv1d_layer_causal():
    layer = L.Conv1D(2, 3, padding="causal", dilation_rate=2)
    assert layer(np.zeros((1, 10, 4))).shape == (1, 10, 2)
    assert layer.kernel.shape == (3, 4, 2)


def test_pooling_layers():
    x = np.arange(2 * 6 * 6 * 2, dtype=np.float32).reshape(2, 6, 6, 2)
    assert L.MaxPooling2D()(x).shape == (2, 3, 3, 2)
    assert L.MaxPooling2D(3, strides=2)(x).shape == (2, 2, 2, 2)
    assert L.AveragePooling2D(2, padding="same")(x[:, :5, :5]).shape == (2, 3, 3, 2)
    assert L.GlobalAveragePooling2D()(x).shape == (2, 2)
    assert L.GlobalMaxPooling2D(keepdims=True)(x).shape == (2, 1, 1, 2)
    np.testing.assert_array_equal(L.GlobalMaxPooling2D()(x).numpy(), x.max(axis=(1, 2)))
    seq = np.array([1, 2, 3, 4, 5, 6], np.float32).reshape(1, 6, 1)
    np.testing.assert_array_equal(L.MaxPooling1D(3, strides=2)(seq).numpy().ravel(), [3, 5])


def test_dense_flatten_and_weight_shapes():
    x = np.ones((4, 3, 3, 2), np.float32)
    flat = L.Flatten()(x)
    assert flat.shape == (4, 18)
    d = L.Dense(5, activation="softmax")
    y = d(flat).numpy()
    assert d.kernel.shape == (18, 5) and d.bias.shape == (5,)
    np.testing.assert_allclose(y.sum(-1), 1, rtol=1e-6)


def test_batchnorm_weights_in_keras_order_and_modes():
    bn = L.BatchNormalization()
    rng = np.random.default_rng(2)
    x = (rng.standard_normal((64, 4, 4, 3)) * 3 + 5).astype(np.float32)
    y = bn(x, training=True).numpy()
    assert [w.name.split("/")[-1] for w in bn.weights] == ["gamma", "beta", "moving_mean",
                                                           "moving_variance"]
    assert [w.trainable for w in bn.weights] == [True, True, False, False]
    np.testing.assert_allclose(y.mean(axis=(0, 1, 2)), 0, atol=1e-4)
    # moving stats moved 1% of the way towards the batch statistics (momentum 0.99)
    np.testing.assert_allclose(bn.moving_mean.numpy(), 0.01 * x.mean(axis=(0, 1, 2)), rtol=1e-4)
    before = bn.moving_mean.numpy().copy()
    bn(x, training=False)
    np.testing.assert_array_equal(bn.moving_mean.numpy(), before)


def test_dropout_layer_is_identity_in_inference_and_seeded_in_training():
    x = np.ones((8, 10), np.float32)
    np.testing.assert_array_equal(L.Dropout(0.5)(x).numpy(), x)
    a = L.Dropout(0.5, seed=3)(x, training=True).numpy()
    b = L.Dropout(0.5, seed=3)(x, training=True).numpy()
    np.testing.assert_array_equal(a, b)
    assert set(np.unique(a)) <= {0.0, 2.0}


def test_relu_layer_options():
    x = np.array([[-2.0, -0.5, 0.5, 3.0]], np.float32)
    np.testing.assert_allclose(L.ReLU()(x).numpy(), [[0, 0, 0.5, 3]])
    np.testing.assert_allclose(L.ReLU(max_value=1.0)(x).numpy(), [[0, 0, 0.5, 1]])
    np.testing.assert_allclose(L.ReLU(negative_slope=0.1)(x).numpy(), [[-0.2, -0.05, 0.5, 3]])


def test_zero_padding_and_merges():
    x = np.ones((1, 2, 3, 1), np.float32)
    assert L.ZeroPadding2D(((1, 0), (2, 1)))(x).shape == (1, 3, 6, 1)
    assert L.ZeroPadding2D()(x).numpy().sum() == 6
    a, b = np.ones((2, 4, 4, 3), np.float32), np.full((2, 4, 4, 5), 2.0, np.float32)
    assert L.Concatenate()([a, b]).shape == (2, 4, 4, 8)
    np.testing.assert_array_equal(L.Add()([a, a]).numpy(), 2 * a)
    with pytest.raises(ValueError, match="equal shapes"):
        L.Add()([a, b])


LAYERS = [
    lambda: L.Conv2D(3, (3, 2), strides=(2, 1), padding="same", dilation_rate=1,
                     activation="relu", kernel_regularizer=sn.regularizers.L2(1e-3)),
    lambda: L.Conv1D(2, 3, padding="causal"),
    lambda: L.DepthwiseConv2D(3, depth_multiplier=2),
    lambda: L.Dense(4, activation="tanh", use_bias=False),
    lambda: L.MaxPooling2D(3, strides=2, padding="same"),
    lambda: L.AveragePooling1D(2),
    lambda: L.BatchNormalization(momentum=0.9, epsilon=1e-5),
    lambda: L.Dropout(0.25, seed=1),
    lambda: L.Activation("gelu"),
    lambda: L.ReLU(max_value=6.0),
    lambda: L.ZeroPadding2D((1, 2)),
    lambda: L.Flatten(),
    lambda: L.GlobalAveragePooling2D(keepdims=True),
    lambda: L.Concatenate(axis=1),
]


@pytest.mark.parametrize("make", LAYERS)
def test_config_round_trip(make):
    layer = make()
    cfg = layer.get_config()
    clone = type(layer).from_config(cfg)
    assert clone.get_config() == cfg


@pytest.mark.parametrize("bad,match", [
    (lambda: L.Conv2D(0, 3), "filters must be a positive int"),
    (lambda: L.Conv2D(4, 3, data_format="channels_first"), "channels_last"),
    (lambda: L.Conv2D(4, 3, strides=0), "strides must be positive"),
    (lambda: L.Dense(-1), "units must be a positive int"),
    (lambda: L.Dropout(1.0), r"rate must be in \[0, 1\)"),
    (lambda: L.Activation("swishy"), "unknown activation"),
    (lambda: L.Dense(3, kernel_initializer="nope"), "unknown initializer"),
    (lambda: L.Dense(3, foo=1), "unexpected arguments"),
])
def test_bad_layer_arguments(bad, match):
    with pytest.raises((ValueError, TypeError), match=match):
        bad()


def test_conv_layer_channel_mismatch_after_build_is_clear():
    layer = L.Conv2D(4, 3)
    layer(np.zeros((1, 5, 5, 3), np.float32))
    with pytest.raises(ValueError, match="expects 3 input channels"):
        layer(np.zeros((1, 5, 5, 2), np.float32))


def test_regularizer_losses_are_differentiable():
    layer = L.Dense(3, kernel_regularizer=sn.regularizers.L2(0.5))
    layer(np.ones((1, 2), np.float32))
    (penalty,) = layer.losses
    np.testing.assert_allclose(penalty.numpy(), 0.5 * (layer.kernel.numpy() ** 2).sum(),
                               rtol=1e-6)
    penalty.backward()
    np.testing.assert_allclose(layer.kernel.grad, layer.kernel.numpy(), rtol=1e-6)


def test_trainable_flag_freezes_weights():
    layer = L.Dense(3)
    layer(np.ones((1, 2), np.float32))
    layer.trainable = False
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 2
    layer.trainable = True
    assert len(layer.trainable_weights) == 2
