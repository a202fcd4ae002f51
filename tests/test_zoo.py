"""Model zoo: shapes, parameter counts worked out by hand, residual and Inception wiring."""

from __future__ import annotations

import numpy as np
import pytest

import stridenet as sn
from spec_table import assert_spec_summary
from stridenet import layers as L
from stridenet import zoo


# ---------------------------------------------------------------- counting by hand
def conv_params(k, c_in, f, bias=True):
    return k * k * c_in * f + (f if bias else 0)


def dense_params(i, o):
    return i * o + o


def bn_params(c):
    return 4 * c  # gamma, beta (trainable) + moving mean, moving variance (not)


def _x(shape, seed=0):
    return np.random.default_rng(seed).random(shape).astype(np.float32)


# ---------------------------------------------------------------------- LeNet-5
def test_lenet5_parameter_count_is_the_published_keras_one():
    # conv 6@5x5 'same' on 28x28x1 -> pool -> conv 16@5x5 valid (14 -> 10) -> pool (5x5x16)
    by_hand = (conv_params(5, 1, 6) + conv_params(5, 6, 16) + dense_params(5 * 5 * 16, 120)
               + dense_params(120, 84) + dense_params(84, 10))
    assert by_hand == 61_706
    model = zoo.lenet5()
    assert model.count_params() == by_hand
    assert [w.shape for w in model.get_weights()] == [
        (5, 5, 1, 6), (6,), (5, 5, 6, 16), (16,), (400, 120), (120,), (120, 84), (84,),
        (84, 10), (10,)]


def test_lenet5_layers_shapes_and_output():
    model = zoo.lenet5()
    kinds = [type(l).__name__ for l in model.layers]
    assert kinds == ["Conv2D", "AveragePooling2D", "Conv2D", "AveragePooling2D", "Flatten",
                     "Dense", "Dense", "Dense"]
    assert model.layer_output_shapes() == [
        (None, 28, 28, 6), (None, 14, 14, 6), (None, 10, 10, 16), (None, 5, 5, 16),
        (None, 400), (None, 120), (None, 84), (None, 10)]
    assert model.layers[0].activation is sn.activations.get("tanh")
    y = model.predict(_x((3, 28, 28, 1)), verbose=0)
    assert y.shape == (3, 10)
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-5)


def test_lenet5_options():
    model = zoo.lenet5(input_shape=(32, 32, 3), num_classes=5, activation="relu")
    # on 32x32 the 'same' first conv keeps 32 -> 16 -> 12 -> 6: 6*6*16 = 576 features
    assert model.layer_output_shapes()[4] == (None, 576)
    assert model.layers[0].activation is sn.activations.get("relu")
    assert model(_x((2, 32, 32, 3))).shape == (2, 5)
    assert model.count_params() == (conv_params(5, 3, 6) + conv_params(5, 6, 16)
                                    + dense_params(576, 120) + dense_params(120, 84)
                                    + dense_params(84, 5))


# ------------------------------------------------------------- SPEC section 3 model
def test_mnist_cnn_summary_matches_the_spec_table(capsys):
    model = zoo.mnist_cnn()
    model.summary()
    assert_spec_summary(capsys.readouterr().out)
    by_hand = (conv_params(5, 1, 32) + conv_params(5, 32, 32) + conv_params(3, 32, 64)
               + conv_params(3, 64, 64) + dense_params(7 * 7 * 64, 128) + dense_params(128, 10))
    assert model.count_params() == by_hand == 484_714
    assert model(_x((2, 28, 28, 1))).shape == (2, 10)


# ---------------------------------------------------------------------- ResNet-20
def resnet20_params_by_hand(num_classes=10):
    """Bias-free convs, each followed by BN; option B (1x1 conv + BN) where shapes change."""
    total = conv_params(3, 3, 16, bias=False) + bn_params(16)  # stem
    c_in = 16
    for filters in (16, 32, 64):
        for _block in range(3):
            total += conv_params(3, c_in, filters, False) + bn_params(filters)
            total += conv_params(3, filters, filters, False) + bn_params(filters)
            if c_in != filters:  # first block of stages 2 and 3 (stride 2)
                total += conv_params(1, c_in, filters, False) + bn_params(filters)
            c_in = filters
    return total + dense_params(64, num_classes)


def test_resnet20_parameter_count_and_structure(capsys):
    model = zoo.resnet20()
    total = resnet20_params_by_hand()
    assert total == 274_042
    assert model.count_params() == total
    trainable = sum(w.size for w in model.trainable_weights)
    # BN moving statistics: 2 per channel over 16 + 6*16 + (6+1)*32 + (6+1)*64 channels
    moving = 2 * (16 + 6 * 16 + 7 * 32 + 7 * 64)
    assert (trainable, total - trainable) == (272_474, moving) == (272_474, 1_568)
    convs = [l for l in model.layers if isinstance(l, L.Conv2D)]
    # 19 weighted 3x3 convs (+ the dense layer = 20 layers) and 2 projection shortcuts
    assert sum(l.kernel_size == (3, 3) for l in convs) == 19
    assert [l.name for l in convs if l.kernel_size == (1, 1)] == [
        "stage2_block1_proj_conv", "stage3_block1_proj_conv"]
    assert sum(isinstance(l, L.Add) for l in model.layers) == 9
    model.summary()
    assert "Total params: 274,042" in capsys.readouterr().out


def test_resnet20_forward_and_every_weight_gets_a_gradient():
    model = zoo.resnet20()
    y = model(_x((2, 32, 32, 3)), training=True)
    assert y.shape == (2, 10)
    loss = sn.losses.get("sparse_categorical_crossentropy")(np.array([1, 7]), y)
    loss.backward()
    missing = [w.name for w in model.trainable_weights if w.grad is None or
               not np.any(w.grad)]
    assert missing == []


def test_cifar_resnet_depth_and_errors():
    assert zoo.cifar_resnet(8, input_shape=(16, 16, 3)).count_params() < \
        zoo.resnet20(input_shape=(16, 16, 3)).count_params()
    with pytest.raises(ValueError, match="6n \\+ 2"):
        zoo.cifar_resnet(21)
    with pytest.raises(ValueError, match="num_classes"):
        zoo.resnet20(num_classes=0)


def _bn_inference(x, bn):
    gamma, beta, mean, var = (w.data for w in bn.weights)
    return (x - mean) / np.sqrt(var + bn.epsilon) * gamma + beta


def _randomise_bn(model, rng):
    for layer in model.layers:
        if isinstance(layer, L.BatchNormalization):
            c = layer.gamma.shape[0]
            layer.set_weights([rng.uniform(0.5, 1.5, c), rng.normal(0, 0.1, c),
                               rng.normal(0, 0.1, c), rng.uniform(0.5, 1.5, c)])


def _block_model(block, shape, **kw):
    inputs = L.Input(shape)
    return sn.Model(inputs, block(inputs, name="b", **kw))


def test_basic_block_is_relu_of_branch_plus_identity():
    rng = np.random.default_rng(1)
    model = _block_model(zoo.basic_block, (6, 6, 8), filters=8)
    assert not any("proj" in l.name for l in model.layers)  # shape kept: identity shortcut
    _randomise_bn(model, rng)
    x = rng.normal(size=(2, 6, 6, 8)).astype(np.float32)
    get = model.get_layer
    # a[l+2] = relu(z[l+2] + a[l]), written out with the block's own weights
    a1 = np.maximum(_bn_inference(sn.ops.conv2d(x, get("b_1_conv").kernel.data,
                                                padding="same").numpy(), get("b_1_bn")), 0)
    z2 = _bn_inference(sn.ops.conv2d(a1, get("b_2_conv").kernel.data, padding="same").numpy(),
                       get("b_2_bn"))
    np.testing.assert_allclose(model(x).numpy(), np.maximum(z2 + x, 0), rtol=1e-4, atol=1e-5)
    # with the residual branch silenced (zero kernels, BN(0) = 0) the block is relu(x)
    for name in ("b_1_conv", "b_2_conv"):
        get(name).kernel.assign(np.zeros_like(get(name).kernel.data))
    for name in ("b_1_bn", "b_2_bn"):  # BN of zeros = beta - mean*scale: make it 0
        get(name).set_weights([np.ones(8), np.zeros(8), np.zeros(8), np.ones(8)])
    np.testing.assert_allclose(model(x).numpy(), np.maximum(x, 0), atol=1e-6)


def test_basic_block_projection_shortcut_when_shape_changes():
    rng = np.random.default_rng(2)
    model = _block_model(zoo.basic_block, (8, 8, 4), filters=6, strides=2)
    assert model(_x((1, 8, 8, 4))).shape == (1, 4, 4, 6)
    _randomise_bn(model, rng)
    get = model.get_layer
    for name in ("b_1_conv", "b_2_conv"):
        get(name).kernel.assign(np.zeros_like(get(name).kernel.data))
    get("b_2_bn").set_weights([np.ones(6), np.zeros(6), np.zeros(6), np.ones(6)])
    x = rng.normal(size=(2, 8, 8, 4)).astype(np.float32)
    # 1x1 conv, stride 2 ('same' on 8 needs no padding): pixels 0, 2, 4, 6 of each axis
    w = get("b_proj_conv").kernel.data.reshape(4, 6)
    shortcut = _bn_inference(x[:, ::2, ::2] @ w, get("b_proj_bn"))  # (2, 4, 4, 6)
    np.testing.assert_allclose(model(x).numpy(), np.maximum(shortcut, 0), rtol=1e-4,
                               atol=1e-5)


def test_bottleneck_block_shapes_params_and_shortcut():
    model = _block_model(zoo.bottleneck_block, (8, 8, 16), filters=4)  # 4 * 4 = 16: identity
    assert not any("proj" in l.name for l in model.layers)
    assert model.count_params() == (conv_params(1, 16, 4, False) + conv_params(3, 4, 4, False)
                                    + conv_params(1, 4, 16, False) + bn_params(4) * 2
                                    + bn_params(16))
    get = model.get_layer
    for name in ("b_1_conv", "b_2_conv", "b_3_conv"):
        get(name).kernel.assign(np.zeros_like(get(name).kernel.data))
    x = np.random.default_rng(3).normal(size=(2, 8, 8, 16)).astype(np.float32)
    # fresh BN layers: gamma 1, beta 0, moving mean 0, variance 1 -> BN(0) = 0
    np.testing.assert_allclose(model(x).numpy(), np.maximum(x, 0), atol=1e-6)

    proj = _block_model(zoo.bottleneck_block, (8, 8, 16), filters=8, strides=2, expansion=2)
    assert proj(x).shape == (2, 4, 4, 16)
    assert proj.get_layer("b_2_conv").strides == (2, 2)  # stride on the 3x3 (v1.5)
    assert proj.get_layer("b_proj_conv").strides == (2, 2)
    with pytest.raises(ValueError, match="filters"):
        zoo.bottleneck_block(L.Input((8, 8, 3)), 0)


# ---------------------------------------------------------------------- Inception
@pytest.mark.parametrize("sizes", [(8, 4, 6, 2, 3, 5), (1, 1, 1, 1, 1, 1), (16, 8, 12, 4, 4, 7)])
def test_inception_block_concatenates_the_four_branches(sizes):
    f1, f3r, f3, f5r, f5, pp = sizes
    inputs = L.Input((7, 7, 5))
    out = zoo.inception_block(inputs, *sizes, name="inc")
    assert out.shape == (None, 7, 7, f1 + f3 + f5 + pp)
    model = sn.Model(inputs, out)
    x = _x((2, 7, 7, 5), seed=4)
    y = model(x).numpy()
    assert y.shape == (2, 7, 7, f1 + f3 + f5 + pp)
    get = model.get_layer
    # channel blocks in order: 1x1 | 1x1 -> 3x3 | 1x1 -> 5x5 | pool -> 1x1
    np.testing.assert_allclose(y[..., :f1], get("inc_1x1")(x).numpy(), rtol=1e-5)
    b3 = get("inc_3x3")(get("inc_3x3_reduce")(x)).numpy()
    np.testing.assert_allclose(y[..., f1:f1 + f3], b3, rtol=1e-5)
    b5 = get("inc_5x5")(get("inc_5x5_reduce")(x)).numpy()
    np.testing.assert_allclose(y[..., f1 + f3:f1 + f3 + f5], b5, rtol=1e-5)
    pooled = sn.ops.max_pool2d(x, 3, strides=1, padding="same")
    np.testing.assert_allclose(y[..., f1 + f3 + f5:], get("inc_pool_proj")(pooled).numpy(),
                               rtol=1e-5)
    assert model.count_params() == (conv_params(1, 5, f1) + conv_params(1, 5, f3r)
                                    + conv_params(3, f3r, f3) + conv_params(1, 5, f5r)
                                    + conv_params(5, f5r, f5) + conv_params(1, 5, pp))


def test_inception_block_rejects_bad_sizes():
    with pytest.raises(ValueError, match="f5"):
        zoo.inception_block(L.Input((8, 8, 3)), 4, 4, 4, 4, 0, 4)


@pytest.mark.parametrize("shape", [(28, 28, 1), (32, 32, 3)])
def test_small_inception_forward(shape, capsys):
    model = zoo.small_inception(input_shape=shape, num_classes=7)
    y = model(_x((2, *shape)))
    assert y.shape == (2, 7)
    np.testing.assert_allclose(y.numpy().sum(axis=1), 1.0, rtol=1e-5)
    assert sum(isinstance(l, L.Concatenate) for l in model.layers) == 3
    model.summary()
    assert "inception3_concat (Concatenate)" in capsys.readouterr().out


# --------------------------------------------------------------------------- get()
def test_get_builds_by_name_and_lists_known_names_on_error():
    assert zoo.names() == ["c3d_small", "fcn1d", "lenet5", "mnist_cnn", "resnet20",
                           "small_inception"]
    model = zoo.get("lenet5", num_classes=3)
    assert model(_x((2, 28, 28, 1))).shape == (2, 3)
    assert zoo.get("ResNet20").name == "resnet20"
    with pytest.raises(ValueError) as err:
        zoo.get("vgg16")
    msg = str(err.value)
    assert "vgg16" in msg and all(n in msg for n in zoo.names())
    with pytest.raises(ValueError, match="known models"):
        zoo.get(None)


@pytest.mark.parametrize("name", ["lenet5", "mnist_cnn", "resnet20", "small_inception"])
def test_models_are_seeded_by_set_random_seed(name):
    sn.utils.set_random_seed(7)
    a = zoo.get(name).get_weights()
    sn.utils.set_random_seed(7)
    b = zoo.get(name).get_weights()
    c = zoo.get(name).get_weights()  # the stream moved on: new weights
    assert all(np.array_equal(u, v) for u, v in zip(a, b))
    assert not all(np.array_equal(u, v) for u, v in zip(a, c))
