"""ONNX export: onnxruntime's output equals model.predict on every zoo model and layer type."""

from __future__ import annotations

import numpy as np
import pytest

import stridenet as sn
from stridenet import layers as L

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

TOL = 1e-5


def _randomise_bn(model, seed=1):
    """Non-trivial moving statistics, so that a wrong epsilon or layout would show."""
    rng = np.random.default_rng(seed)
    for layer in model._all_layers():
        if type(layer).__name__ == "BatchNormalization":
            c = layer.moving_mean.shape[0]
            layer.moving_mean.assign(rng.normal(0, 0.2, c).astype(np.float32))
            layer.moving_variance.assign(rng.uniform(0.5, 2, c).astype(np.float32))
            if layer.gamma is not None:
                layer.gamma.assign(rng.uniform(0.5, 1.5, c).astype(np.float32))
            if layer.beta is not None:
                layer.beta.assign(rng.normal(0, 0.5, c).astype(np.float32))


def _run(model, x, tmp_path, name="m.onnx"):
    path = tmp_path / name
    model.export(str(path), format="onnx")
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    assert proto.opset_import[0].version >= 17
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = {i.name: v for i, v in zip(sess.get_inputs(), x if isinstance(x, list) else [x])}
    return sess.run(None, feeds), proto


def _check(model, x, tmp_path, relative=False):
    """Max |onnxruntime - predict|; below 1e-5 (times the output's scale if relative)."""
    outs, proto = _run(model, x, tmp_path)
    ref = model.predict(x, verbose=0)
    refs = ref if isinstance(ref, list) else [ref]
    assert len(outs) == len(refs)
    diff = 0.0
    for o, r in zip(outs, refs):
        assert o.shape == r.shape
        diff = max(diff, float(np.abs(o - r).max()))
    scale = max(1.0, max(float(np.abs(r).max()) for r in refs)) if relative else 1.0
    assert diff < TOL * scale, (diff, scale)
    return diff, proto


@pytest.mark.parametrize("name", sn.zoo.names())
def test_zoo_models_match_onnxruntime(name, tmp_path):
    sn.utils.set_random_seed(3)
    model = sn.zoo.get(name)
    _randomise_bn(model)
    shape = model.inputs[0].shape[1:] if model.inputs else model._input_shape[1:]
    x = np.random.default_rng(0).normal(size=(5, *shape)).astype(np.float32)
    _check(model, x, tmp_path)
    last = model.layers[-1]
    if getattr(last, "activation", None) is not None:
        # the logits too: the softmax output squashes differences
        last.activation = sn.activations.get("linear")
        _check(model, x, tmp_path, relative=True)


def test_batch_axis_is_dynamic(tmp_path):
    sn.utils.set_random_seed(0)
    model = sn.zoo.get("lenet5")
    x = np.random.default_rng(1).normal(size=(1, 28, 28, 1)).astype(np.float32)
    outs, proto = _run(model, x, tmp_path)
    dim = proto.graph.input[0].type.tensor_type.shape.dim
    assert dim[0].dim_param == "batch" and [d.dim_value for d in dim[1:]] == [28, 28, 1]
    sess = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    for n in (2, 7):
        xb = np.random.default_rng(n).normal(size=(n, 28, 28, 1)).astype(np.float32)
        got = sess.run(None, {"input": xb})[0]
        np.testing.assert_allclose(got, model.predict(xb, verbose=0), atol=TOL)


def _seq(shape, *layers):
    return sn.Sequential([L.Input(shape), *layers])


def _x(shape, n=3, seed=0):
    return np.random.default_rng(seed).normal(size=(n, *shape)).astype(np.float32)


# Each case: (id, input shape, layer factory). Odd sizes with stride 2 and 'same' need the
# Keras end-padding (symmetric pads changed outputs by 1.7 in SPEC section 7).
CASES = [
    ("conv2d_same_s2_even", (8, 8, 3), lambda: [L.Conv2D(4, 3, strides=2, padding="same")]),
    ("conv2d_same_s2_odd", (9, 7, 3), lambda: [L.Conv2D(4, 4, strides=2, padding="same")]),
    ("conv2d_valid_dil", (11, 10, 2), lambda: [L.Conv2D(5, 3, dilation_rate=2, activation="relu")]),
    ("conv2d_groups", (6, 6, 4), lambda: [L.Conv2D(6, 3, groups=2, padding="same",
                                                   activation="tanh")]),
    ("conv2d_explicit_pad", (6, 7, 2), lambda: [L.Conv2D(3, 3, padding=((1, 2), (0, 1)))]),
    ("conv2d_no_bias", (6, 6, 2), lambda: [L.Conv2D(3, 2, use_bias=False, strides=(1, 2))]),
    ("conv1d_same_s2", (9, 3), lambda: [L.Conv1D(4, 3, strides=2, padding="same")]),
    ("conv1d_causal_dil", (10, 2), lambda: [L.Conv1D(3, 3, padding="causal", dilation_rate=2)]),
    ("conv1d_groups", (10, 4), lambda: [L.Conv1D(4, 2, groups=4, activation="sigmoid")]),
    ("depthwise_same_s2", (9, 8, 3), lambda: [L.DepthwiseConv2D(3, strides=2, padding="same",
                                                                 depth_multiplier=2)]),
    ("maxpool2d_same_s2", (7, 9, 2), lambda: [L.MaxPooling2D(3, strides=2, padding="same")]),
    ("maxpool2d_valid", (8, 8, 2), lambda: [L.MaxPooling2D(2)]),
    ("avgpool2d_same", (7, 5, 2), lambda: [L.AveragePooling2D(3, strides=2, padding="same")]),
    ("avgpool2d_same_s1", (5, 5, 2), lambda: [L.AveragePooling2D(3, strides=1, padding="same")]),
    ("maxpool1d_same", (9, 2), lambda: [L.MaxPooling1D(2, padding="same")]),
    ("avgpool1d_same", (9, 2), lambda: [L.AveragePooling1D(3, strides=2, padding="same")]),
    ("global_avg2d", (5, 6, 3), lambda: [L.Conv2D(4, 3), L.GlobalAveragePooling2D()]),
    ("global_max2d_keep", (5, 6, 3), lambda: [L.Conv2D(4, 3), L.GlobalMaxPooling2D(keepdims=True)]),
    ("global_avg1d_keep", (7, 3), lambda: [L.GlobalAveragePooling1D(keepdims=True)]),
    ("global_max1d", (7, 3), lambda: [L.Conv1D(2, 2), L.GlobalMaxPooling1D()]),
    ("dense_rank3", (4, 5), lambda: [L.Dense(3, activation="elu")]),
    ("dense_chain", (6,), lambda: [L.Dense(8, activation="gelu"), L.Dense(4, use_bias=False),
                                  L.Activation("log_softmax")]),
    ("activations", (6, 6, 2), lambda: [L.Conv2D(4, 3), L.Activation("leaky_relu"),
                                        L.Activation("softmax"), L.Activation("elu"),
                                        L.Activation("gelu"), L.Activation("sigmoid")]),
    ("relu_variants", (5, 5, 2), lambda: [L.Conv2D(3, 2), L.ReLU(max_value=0.5),
                                          L.ReLU(negative_slope=0.1),
                                          L.ReLU(negative_slope=0.2, threshold=0.1)]),
    ("batchnorm_conv", (6, 6, 3), lambda: [L.Conv2D(4, 3), L.BatchNormalization(epsilon=0.1)]),
    ("batchnorm_dense", (5,), lambda: [L.Dense(4), L.BatchNormalization(center=False)]),
    ("batchnorm_axis1", (4, 5, 3), lambda: [L.BatchNormalization(axis=1, epsilon=0.05)]),
    ("batchnorm_1d", (7, 3), lambda: [L.Conv1D(4, 2), L.BatchNormalization(scale=False)]),
    ("dropout_noise_aug", (8, 8, 1), lambda: [L.RandomFlip(), L.GaussianNoise(0.3),
                                              L.Conv2D(2, 3), L.Dropout(0.5)]),
    ("flatten_after_conv", (6, 5, 3), lambda: [L.Conv2D(4, 3), L.Flatten(), L.Dense(3)]),
    ("flatten_1d", (6, 3), lambda: [L.Conv1D(4, 2), L.Flatten(), L.Dense(2)]),
    ("reshape", (6, 4, 2), lambda: [L.Conv2D(4, 1), L.Reshape((12, 8)), L.Conv1D(2, 3)]),
    ("zero_padding2d", (5, 4, 2), lambda: [L.Conv2D(3, 1), L.ZeroPadding2D(((1, 2), (0, 3))),
                                           L.Conv2D(2, 2)]),
    ("zero_padding1d", (5, 2), lambda: [L.Conv1D(3, 1), L.ZeroPadding1D((2, 1))]),
    ("gray_to_rgb", (6, 6, 1), lambda: [L.GrayscaleToRGB(), L.Conv2D(2, 3)]),
    ("rgb_to_gray", (6, 6, 3), lambda: [L.RGBToGrayscale(), L.Conv2D(2, 3)]),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_layer_exports(case, tmp_path):
    _, shape, make = case
    sn.utils.set_random_seed(5)
    model = _seq(shape, *make())
    for w in model.weights:  # biases and moving statistics away from their start values
        if w.data.ndim == 1:
            w.assign(np.random.default_rng(2).uniform(0.2, 1.0, w.shape).astype(np.float32))
    _check(model, _x(shape), tmp_path)


def test_functional_add_concatenate_nested(tmp_path):
    sn.utils.set_random_seed(2)
    inner = _seq((6, 6, 4), L.Conv2D(4, 3, padding="same"), L.BatchNormalization())
    a = L.Input((6, 6, 3))
    b = L.Input((6, 6, 4))
    x = L.Conv2D(4, 3, padding="same")(a)
    y = L.Add()([x, b, inner(b)])
    z = L.Concatenate()([y, x])
    w = L.Concatenate(axis=2)([z, z])
    model = sn.Model([a, b], [L.GlobalAveragePooling2D()(w), L.Flatten()(w)])
    _randomise_bn(model)
    _check(model, [_x((6, 6, 3)), _x((6, 6, 4), seed=1)], tmp_path)


OPTIONAL = [  # layers another part of the project adds; tested when present
    ("LeakyReLU", (5, 3), lambda c: [c(0.1)]),
    ("ELU", (5, 3), lambda c: [c(0.7)]),
    ("Softmax", (4, 5, 3), lambda c: [L.Conv2D(3, 1), c(axis=1)]),
    ("PReLU", (4, 4, 2), lambda c: [L.Conv2D(3, 1), c()]),
    ("LayerNormalization", (4, 6), lambda c: [L.Conv1D(5, 1), c(epsilon=0.01)]),
    ("Permute", (4, 6, 2), lambda c: [L.Conv2D(3, 1), c((3, 1, 2)), L.Flatten()]),
    ("SpatialDropout2D", (4, 4, 2), lambda c: [c(0.5), L.Conv2D(2, 1)]),
    ("Rescaling", (4, 4, 2), lambda c: [c(1 / 255, offset=-0.5), L.Conv2D(2, 1),
                                        c([0.5, 2.0])]),
    ("Normalization", (4, 4, 3), lambda c: [c(mean=[0.1, 0.2, 0.3], variance=[1.0, 4.0, 0.25]),
                                            L.Conv2D(2, 1),
                                            c(mean=0.5, variance=2.0, invert=True)]),
    ("SeparableConv2D", (7, 8, 3), lambda c: [c(4, 3, strides=2, padding="same",
                                                depth_multiplier=2, activation="relu")]),
    ("SeparableConv1D", (9, 3), lambda c: [c(4, 3, padding="same")]),
    ("DepthwiseConv1D", (9, 3), lambda c: [c(3, strides=2, padding="same",
                                             depth_multiplier=2)]),
    ("ZeroPadding3D", (3, 4, 5, 2), lambda c: [c(((1, 0), (0, 2), (1, 1)))]),
    ("Conv3D", (5, 6, 7, 2), lambda c: [c(3, 3, strides=2, padding="same", activation="relu"),
                                        L.MaxPooling3D(2, padding="same"),
                                        L.GlobalAveragePooling3D()]),
    ("AveragePooling3D", (5, 6, 7, 2), lambda c: [c(3, strides=2, padding="same"),
                                                  L.GlobalMaxPooling3D(keepdims=True)]),
    ("Conv2DTranspose", (5, 6, 3), lambda c: [c(4, 3, strides=2, padding="same")]),
    ("Conv2DTranspose", (5, 6, 3), lambda c: [c(4, 3, strides=2, padding="same",
                                                output_padding=0)]),
    ("Conv2DTranspose", (5, 6, 3), lambda c: [c(4, 3, strides=2, output_padding=1)]),
    ("Conv2DTranspose", (5, 6, 3), lambda c: [c(2, (2, 4), strides=(3, 2), dilation_rate=1,
                                                activation="tanh")]),
    ("Conv2DTranspose", (6, 6, 3), lambda c: [c(2, 4, strides=2, padding="same")]),
    ("Conv1DTranspose", (10, 3), lambda c: [c(4, 3, strides=2)]),
    ("Conv1DTranspose", (10, 3), lambda c: [c(4, 2, strides=3, padding="same")]),
    ("Conv1DTranspose", (10, 3), lambda c: [c(4, 3, dilation_rate=2, padding="same")]),
    ("Conv3DTranspose", (3, 4, 5, 2), lambda c: [c(2, 3, strides=2, padding="same")]),
    ("UpSampling1D", (5, 3), lambda c: [c(3), L.Conv1D(2, 2)]),
    ("UpSampling2D", (4, 5, 2), lambda c: [L.Conv2D(3, 1), c((2, 3)), L.Conv2D(2, 3)]),
    ("UpSampling2D", (4, 5, 2), lambda c: [L.Conv2D(3, 1), c(2, interpolation="bilinear")]),
    ("UpSampling3D", (2, 3, 4, 2), lambda c: [c((2, 1, 3))]),
    ("Cropping1D", (9, 2), lambda c: [L.Conv1D(3, 1), c((2, 0))]),
    ("Cropping2D", (8, 9, 2), lambda c: [L.Conv2D(3, 1), c(((1, 2), (0, 3))), L.Flatten()]),
    ("Cropping3D", (5, 6, 7, 2), lambda c: [c(1)]),
]


@pytest.mark.parametrize("case", OPTIONAL, ids=[f"{c[0]}-{i}" for i, c in enumerate(OPTIONAL)])
def test_optional_layer_exports(case, tmp_path):
    name, shape, make = case
    cls = getattr(L, name, None)
    if cls is None:
        pytest.skip(f"stridenet has no {name} layer yet")
    sn.utils.set_random_seed(4)
    model = _seq(shape, *make(cls))
    rng = np.random.default_rng(1)
    for w in model.weights:  # biases, scales and slopes away from their start values
        if w.data.ndim == 1 or "alpha" in w.name:
            w.assign(rng.uniform(0.1, 0.5, w.shape).astype(w.data.dtype))
    _check(model, _x(shape), tmp_path)


class _Mystery(L.Layer):
    def call(self, inputs, training=False):
        return inputs * 2


def test_layer_without_converter_is_named(tmp_path):
    model = _seq((4,), L.Dense(3), _Mystery(name="mystery"), L.Dense(2))
    with pytest.raises(ValueError, match=r"mystery \(_Mystery\)"):
        model.export(str(tmp_path / "m.onnx"))
    assert not (tmp_path / "m.onnx").exists()


def test_layer_changing_input_at_inference_is_refused(tmp_path):
    model = _seq((8, 8, 3), L.RandomCrop(4, 4, name="crop"))
    with pytest.raises(ValueError, match=r"crop \(RandomCrop\)"):
        model.export(str(tmp_path / "m.onnx"))


def test_bad_format_and_subclassed_model(tmp_path):
    model = _seq((4,), L.Dense(2))
    with pytest.raises(ValueError, match="format"):
        model.export(str(tmp_path / "m.tf"), format="tf_saved_model")
    with pytest.raises(ValueError, match="opset_version"):
        model.export(str(tmp_path / "m.onnx"), opset_version=11)

    class Sub(sn.Model):
        def __init__(self):
            super().__init__()
            self.d = L.Dense(2)

        def call(self, x, training=False):
            return self.d(x)

    sub = Sub()
    sub.predict(np.zeros((1, 3), np.float32), verbose=0)
    with pytest.raises(ValueError, match="subclassed"):
        sub.export(str(tmp_path / "s.onnx"))


def test_same_padding_is_asymmetric_in_the_graph(tmp_path):
    model = _seq((8, 8, 1), L.Conv2D(1, 3, strides=2, padding="same"))
    _, proto = _check(model, _x((8, 8, 1)), tmp_path)
    conv = next(n for n in proto.graph.node if n.op_type == "Conv")
    pads = next(a for a in conv.attribute if a.name == "pads").ints
    assert list(pads) == [0, 0, 1, 1]  # total 1 per axis, the odd cell at the end


def test_batchnorm_epsilon_in_the_node(tmp_path):
    model = _seq((4, 4, 2), L.BatchNormalization(epsilon=0.25))
    _, proto = _check(model, _x((4, 4, 2)), tmp_path)
    bn = next(n for n in proto.graph.node if n.op_type == "BatchNormalization")
    eps = next(a for a in bn.attribute if a.name == "epsilon").f
    assert eps == pytest.approx(0.25)


def test_cli_export(tmp_path, capsys):
    from stridenet.cli import main

    sn.utils.set_random_seed(0)
    model = sn.zoo.get("lenet5")
    model.save(str(tmp_path / "m.safetensors"))
    out = tmp_path / "m.onnx"
    assert main(["export", str(tmp_path / "m.safetensors"), "--format", "onnx",
                 "--out", str(out)]) == 0
    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    x = _x((28, 28, 1))
    np.testing.assert_allclose(sess.run(None, {"input": x})[0], model.predict(x, verbose=0),
                               atol=TOL)
    assert main(["export", str(tmp_path / "missing.safetensors"), "--out", str(out)]) == 2
    assert "no such model file" in capsys.readouterr().err


def test_committed_onnx_fixture(tmp_path):
    """tests/fixtures/keras_lenet.onnx: the Keras LeNet-5 as stridenet exported it (made by
    make_fixtures.py); it still runs to Keras's predictions, and a fresh export of the same
    model is the same graph."""
    from pathlib import Path

    fixtures = Path(__file__).parent / "fixtures"
    x = np.load(fixtures / "keras_lenet_x.npy")
    y = np.load(fixtures / "keras_lenet_y.npy")
    sess = ort.InferenceSession(str(fixtures / "keras_lenet.onnx"),
                                providers=["CPUExecutionProvider"])
    assert np.abs(sess.run(None, {"input": x})[0] - y).max() < TOL
    committed = onnx.load(str(fixtures / "keras_lenet.onnx"))
    model = sn.models.load_model(str(fixtures / "keras_lenet.keras"))
    _, fresh = _run(model, x, tmp_path)
    assert [n.op_type for n in fresh.graph.node] == [n.op_type for n in committed.graph.node]
    for a, b in zip(fresh.graph.initializer, committed.graph.initializer):
        np.testing.assert_array_equal(onnx.numpy_helper.to_array(a),
                                      onnx.numpy_helper.to_array(b))


def test_float64_model_exports_as_float32(tmp_path):
    model = _seq((8, 8, 2), L.Conv2D(3, 3, padding="same", dtype="float64"),
                 L.BatchNormalization(dtype="float64"), L.MaxPooling2D(), L.Flatten(),
                 L.Dense(2, dtype="float64"))
    x = _x((8, 8, 2)).astype(np.float64)
    outs, proto = _run(model, x.astype(np.float32), tmp_path)
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert np.abs(outs[0] - model.predict(x, verbose=0)).max() < TOL
