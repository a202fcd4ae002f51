"""Keras 3 3D and transposed layers: Conv3D, Conv1D/2D/3DTranspose, MaxPooling3D,
AveragePooling3D, GlobalAverage/MaxPooling3D. SPEC section 6 shapes, kernel layouts,
PyTorch values, save/load, summary rows and bad input."""

from __future__ import annotations

import numpy as np
import pytest

import stridenet as sn
from stridenet import layers as L


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def test_spec_section6_output_shapes():
    x = np.zeros((1, 7, 9, 10, 3), np.float32)
    cases = [
        (L.Conv3D(8, 3, strides=2, padding="same"), x, (1, 4, 5, 5, 8)),
        (L.Conv3D(8, 3, dilation_rate=2), x, (1, 3, 5, 6, 8)),
        (L.Conv1DTranspose(4, 3, strides=2), np.zeros((1, 10, 2)), (1, 21, 4)),
        (L.Conv1DTranspose(4, 3, strides=2, padding="same"), np.zeros((1, 10, 2)), (1, 20, 4)),
        (L.Conv1DTranspose(4, 2, strides=3), np.zeros((1, 10, 2)), (1, 30, 4)),
        (L.Conv2DTranspose(4, 3, strides=2, padding="same"), np.zeros((1, 5, 6, 2)),
         (1, 10, 12, 4)),
        (L.Conv2DTranspose(4, 3, strides=2, padding="same", output_padding=0),
         np.zeros((1, 5, 6, 2)), (1, 9, 11, 4)),
        (L.Conv2DTranspose(4, 3, strides=2, output_padding=1), np.zeros((1, 5, 6, 2)),
         (1, 12, 14, 4)),
        (L.MaxPooling3D(), x, (1, 3, 4, 5, 3)),
        (L.AveragePooling3D(3, strides=2, padding="same"), x, (1, 4, 5, 5, 3)),
        (L.GlobalAveragePooling3D(), x, (1, 3)),
        (L.GlobalMaxPooling3D(keepdims=True), x, (1, 1, 1, 1, 3)),
    ]
    for layer, inp, shape in cases:
        assert layer(inp).shape == shape, layer.name
        assert layer.compute_output_shape((None, *inp.shape[1:])) == (None, *shape[1:])


def test_kernel_layouts_are_keras():
    conv = L.Conv3D(8, (1, 2, 3), groups=2)
    conv(np.zeros((1, 4, 4, 4, 6)))
    assert conv.kernel.shape == (1, 2, 3, 3, 8) and conv.bias.shape == (8,)
    for cls, rank in [(L.Conv1DTranspose, 1), (L.Conv2DTranspose, 2), (L.Conv3DTranspose, 3)]:
        layer = cls(5, 3)
        layer(np.zeros((1, *([4] * rank), 2)))
        assert layer.kernel.shape == (*([3] * rank), 5, 2)  # output channels first
        assert [w.name.split("/")[1] for w in layer.weights] == ["kernel", "bias"]
    # Conv3DTranspose takes data_format before output_padding, as Keras 3
    layer = L.Conv3DTranspose(2, 3, 2, "same", None, 1)
    assert layer.output_padding == (1, 1, 1) and layer.data_format == "channels_last"
    assert L.MaxPool3D is L.MaxPooling3D and L.AvgPool3D is L.AveragePooling3D
    assert L.GlobalAvgPool3D is L.GlobalAveragePooling3D


def test_conv3d_layer_matches_torch(torch):
    x = _x((2, 5, 6, 7, 3))
    layer = L.Conv3D(4, (3, 2, 3), strides=(1, 2, 1), activation="relu", dtype="float64")
    y = layer(x).numpy()
    layer_b = _x((4,), 5)
    layer.bias.assign(layer_b)
    y = layer(x).numpy()
    w = torch.tensor(layer.kernel.numpy().transpose(4, 3, 0, 1, 2).copy())  # (F, C, KD, KH, KW)
    t = torch.nn.functional.conv3d(torch.tensor(x.transpose(0, 4, 1, 2, 3).copy()), w,
                                   torch.tensor(layer_b), stride=(1, 2, 1)).relu()
    np.testing.assert_allclose(y, t.numpy().transpose(0, 2, 3, 4, 1), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("rank, k, s, d", [(1, 3, 2, 1), (1, 2, 3, 1), (2, (3, 2), (2, 1), 1),
                                           (2, 3, 1, 2), (3, 2, 2, 1), (3, (1, 3, 2), 1, 1)])
def test_conv_transpose_layers_match_torch_valid(torch, rank, k, s, d):
    F = torch.nn.functional
    cls = {1: L.Conv1DTranspose, 2: L.Conv2DTranspose, 3: L.Conv3DTranspose}[rank]
    layer = cls(3, k, strides=s, dilation_rate=d, dtype="float64")
    x = _x((2, *([4, 5, 3][:rank]), 2))
    layer(x)
    layer.bias.assign(_x((3,), 7))
    y = layer(x).numpy()
    ks, ss, ds = layer.kernel_size, layer.strides, layer.dilation_rate
    eff = [(kk - 1) * dd + 1 for kk, dd in zip(ks, ds)]
    extra = [max(e, st) - e for e, st in zip(eff, ss)]  # Keras's default output_padding
    perm = (0, rank + 1, *range(1, rank + 1))
    back = (0, *range(2, rank + 2), 1)
    w = layer.kernel.numpy().transpose(rank + 1, rank, *range(rank))  # (C_in, F_out, K..)
    fn = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}[rank]
    t = fn(torch.tensor(x.transpose(perm).copy()), torch.tensor(w.copy()),
           torch.tensor(layer.bias.numpy()), stride=ss, dilation=ds, output_padding=extra)
    np.testing.assert_allclose(y, t.numpy().transpose(back), rtol=1e-10, atol=1e-12)


def test_conv_transpose_same_is_the_adjoint_of_the_conv():
    # <conv_transpose(x), z> == <x, conv(z)> for the same kernel, strides and padding
    layer = L.Conv2DTranspose(3, 3, strides=2, padding="same", use_bias=False, dtype="float64")
    x = _x((1, 5, 6, 2))
    y = layer(x).numpy()
    z = _x(y.shape, 1)
    conv = sn.ops.conv2d(z, layer.kernel.numpy(), strides=2, padding="same").numpy()
    assert conv.shape == x.shape
    np.testing.assert_allclose(np.sum(y * z), np.sum(x * conv), rtol=1e-10)


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pooling3d_layers_match_torch(torch, kind):
    x = _x((2, 4, 6, 5, 3))
    layer = L.MaxPooling3D((2, 3, 2), strides=(2, 2, 1)) if kind == "max" else \
        L.AveragePooling3D((2, 3, 2), strides=(2, 2, 1))
    fn = torch.nn.functional.max_pool3d if kind == "max" else torch.nn.functional.avg_pool3d
    t = fn(torch.tensor(x.transpose(0, 4, 1, 2, 3).copy()), (2, 3, 2), (2, 2, 1))
    np.testing.assert_allclose(layer(x).numpy(), t.numpy().transpose(0, 2, 3, 4, 1), rtol=1e-12)
    g = (L.GlobalMaxPooling3D() if kind == "max" else L.GlobalAveragePooling3D())(x).numpy()
    np.testing.assert_allclose(g, x.max(axis=(1, 2, 3)) if kind == "max"
                               else x.mean(axis=(1, 2, 3)), rtol=1e-12)


def test_upsampling_layers(torch):
    np.testing.assert_array_equal(L.UpSampling1D()(np.array([[[0.0], [1.0], [2.0]]]))
                                  .numpy().ravel(), [0, 0, 1, 1, 2, 2])
    x = _x((2, 3, 4, 5, 2))
    np.testing.assert_array_equal(L.UpSampling3D((2, 1, 3))(x).numpy(),
                                  x.repeat(2, 1).repeat(3, 3))
    img = _x((2, 4, 5, 3))
    ours = L.UpSampling2D((2, 3), interpolation="bilinear")(img).numpy()
    t = torch.nn.functional.interpolate(torch.tensor(img.transpose(0, 3, 1, 2).copy()),
                                        scale_factor=(2, 3), mode="bilinear",
                                        align_corners=False)
    np.testing.assert_allclose(ours, t.numpy().transpose(0, 2, 3, 1), rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="interpolation must be one of"):
        L.UpSampling2D(interpolation="bicubic")
    assert L.UpSampling2D().get_config()["size"] == [2, 2]


def test_cropping_layers():
    x = _x((2, 6, 7, 5, 3))
    np.testing.assert_array_equal(L.Cropping3D(((1, 2), (0, 3), (2, 1)))(x).numpy(),
                                  x[:, 1:4, 0:4, 2:4])
    img = _x((2, 6, 7, 3))
    np.testing.assert_array_equal(L.Cropping2D((1, 2))(img).numpy(), img[:, 1:5, 2:5])
    np.testing.assert_array_equal(L.Cropping1D()(img[:, 0]).numpy(), img[:, 0, 1:6])
    t = sn.Tensor(img, requires_grad=True)
    L.Cropping2D(((1, 0), (0, 2)))(t).backward(np.ones((2, 5, 5, 3)))
    assert t.grad.sum() == 2 * 5 * 5 * 3 and t.grad[:, 0].sum() == 0
    with pytest.raises(ValueError, match=r"Cropping1D\).*leaves nothing.*\(2, 5, 3\)"):
        L.Cropping1D(3)(img[:, :5, 0])
    with pytest.raises(ValueError, match="cropping must be"):
        L.Cropping2D((-1, 2))
    assert L.Cropping1D(2).get_config()["cropping"] == [2, 2]


CASES = [  # (factory, input shape without the batch, parameter count)
    (lambda: L.Conv3D(4, 3, padding="same", activation="relu"), (4, 5, 6, 2), 27 * 2 * 4 + 4),
    (lambda: L.Conv1DTranspose(3, 4, strides=2), (6, 2), 4 * 3 * 2 + 3),
    (lambda: L.Conv2DTranspose(3, 3, strides=2, padding="same", output_padding=1), (4, 5, 2),
     9 * 3 * 2 + 3),
    (lambda: L.Conv3DTranspose(2, 2, strides=2, use_bias=False), (2, 3, 4, 2), 8 * 2 * 2),
    (lambda: L.MaxPooling3D(), (4, 4, 6, 2), 0),
    (lambda: L.AveragePooling3D(2, padding="same"), (3, 5, 4, 2), 0),
    (lambda: L.GlobalAveragePooling3D(keepdims=True), (3, 5, 4, 2), 0),
    (lambda: L.GlobalMaxPooling3D(), (3, 5, 4, 2), 0),
    (lambda: L.UpSampling1D(3), (4, 2), 0),
    (lambda: L.UpSampling2D((2, 3), interpolation="bilinear"), (3, 4, 2), 0),
    (lambda: L.UpSampling3D((1, 2, 2)), (2, 3, 4, 2), 0),
    (lambda: L.Cropping1D((2, 1)), (6, 2), 0),
    (lambda: L.Cropping2D(((1, 0), (2, 1))), (4, 5, 2), 0),
    (lambda: L.Cropping3D(1), (3, 4, 5, 2), 0),
]


@pytest.mark.parametrize("make, shape, params", CASES)
def test_nd_layer_shape_save_load_summary(tmp_path, make, shape, params):
    sn.utils.set_random_seed(1)
    layer = make()
    inputs = sn.Input(shape)
    h = layer(inputs)
    model = sn.Model(inputs, L.Dense(2)(L.Flatten()(h)))
    x = _x((2, *shape)).astype(np.float32)
    assert layer(x).shape[1:] == h.shape[1:]
    assert layer.count_params() == params
    lines = []
    model.summary(show_compute=True, print_fn=lines.append)
    row = next(line for line in lines if f"({type(layer).__name__})" in line)
    assert f"{params:,}" in row and row.split()[-3] != "-"  # a receptive field: 3x3x3, all
    expected = model.predict(x, verbose=0)
    model.save(tmp_path / "m.sn")
    loaded = sn.models.load_model(tmp_path / "m.sn")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), expected, rtol=1e-6)
    twin = next(l for l in loaded.layers if type(l) is type(layer))
    assert twin.get_config() == layer.get_config()
    with pytest.raises(ValueError, match=rf"{type(layer).__name__}\).*input shape"):
        make()(np.zeros((2, 4, 4, 2), np.float32) if len(shape) != 3 else np.zeros((2, 4, 2)))


def test_nd_bad_input_is_clear():
    with pytest.raises(ValueError, match=r"Conv3D: strides > 1 together with dilation"):
        L.Conv3D(4, 3, strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match=r"output_padding \(2, 2\).*strides \(2, 2\)"):
        L.Conv2DTranspose(4, 3, strides=2, output_padding=2)
    with pytest.raises(ValueError, match=r"output_padding"):
        L.Conv1DTranspose(4, 3, output_padding=1)  # strides 1: no output_padding allowed
    with pytest.raises(ValueError, match=r"Conv3D\).*expects input of shape \(N, D, H, W, C\)"
                                         r".*\(2, 8, 8, 3\)"):
        L.Conv3D(4, 3)(np.zeros((2, 8, 8, 3)))
    with pytest.raises(ValueError, match=r"Conv3D\).*window of 5 cells.*padded input \(3 "
                                         r"cells\)"):
        L.Conv3D(4, 5)(sn.Input((3, 9, 9, 2)))
    with pytest.raises(ValueError, match="padding"):
        L.Conv2DTranspose(4, 3, padding="causal")
    with pytest.raises(TypeError):
        L.AveragePooling3D()  # pool_size is required, as in Keras 3
