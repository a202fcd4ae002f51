"""PyTorch weights in: layouts mapped by layer order, .pt read without torch or pickle code."""

from __future__ import annotations

import io
import os
import pickle
import sys
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest

import stridenet as sn
from stridenet import layers as L
from stridenet.interop.torch_pickle import UnsafeTorchFile, read_torch_file

FIXTURES = Path(__file__).parent / "fixtures"
TOL = 1e-5


def _torch():
    return pytest.importorskip("torch")


def _torch_lenet(torch):
    """LeNet-5 with a batch norm, as PyTorch users write it (NCHW)."""
    nn = torch.nn
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.Tanh(), nn.AvgPool2d(2),
        nn.Conv2d(6, 16, 5), nn.BatchNorm2d(16), nn.Tanh(), nn.AvgPool2d(2),
        nn.Flatten(), nn.Linear(400, 120), nn.Tanh(), nn.Linear(120, 84), nn.Tanh(),
        nn.Linear(84, 10))
    with torch.no_grad():  # moving statistics away from 0 and 1
        bn = net[4]
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 2.0)
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-0.5, 0.5)
    return net.eval()


def _sn_lenet(epsilon=1e-5):
    return sn.Sequential([
        L.Input((28, 28, 1)), L.Conv2D(6, 5, padding="same", activation="tanh"),
        L.AveragePooling2D(2), L.Conv2D(16, 5), L.BatchNormalization(epsilon=epsilon),
        L.Activation("tanh"), L.AveragePooling2D(2), L.Flatten(),
        L.Dense(120, activation="tanh"), L.Dense(84, activation="tanh"), L.Dense(10)])


def _x(shape, n=4, seed=0):
    return np.random.default_rng(seed).normal(size=(n, *shape)).astype(np.float32)


def _torch_out(torch, net, x_nhwc):
    xt = torch.from_numpy(np.ascontiguousarray(np.moveaxis(x_nhwc, -1, 1)))
    with torch.no_grad():
        y = net(xt).numpy()
    return np.moveaxis(y, 1, -1) if y.ndim > 2 else y


@pytest.mark.parametrize("kind", ["dict", "pt", "safetensors"])
def test_lenet_from_torch(kind, tmp_path):
    torch = _torch()
    net = _torch_lenet(torch)
    sd = net.state_dict()
    if kind == "pt":
        source = str(tmp_path / "lenet.pt")
        torch.save(sd, source)
    elif kind == "safetensors":
        st = pytest.importorskip("safetensors.numpy")
        source = str(tmp_path / "lenet.safetensors")
        st.save_file({k: v.numpy() for k, v in sd.items()}, source)
    else:
        source = sd
    model = _sn_lenet()
    pairs = sn.utils.load_torch_state_dict(model, source)
    assert [p for p, _ in pairs] == ["0", "3", "4", "8", "10", "12"]
    x = _x((28, 28, 1))
    diff = np.abs(model.predict(x, verbose=0) - _torch_out(torch, net, x)).max()
    assert diff < TOL, diff


def test_flatten_reordering_matters():
    """Without the (C, H, W) -> (H, W, C) row reordering the outputs differ a lot."""
    torch = _torch()
    net = _torch_lenet(torch)
    model = _sn_lenet()
    sn.utils.load_torch_state_dict(model, net.state_dict())
    x = _x((28, 28, 1))
    ref = _torch_out(torch, net, x)
    dense = model.layers[7]
    dense.kernel.assign(net[8].weight.detach().numpy().T)  # the naive transpose only
    assert np.abs(model.predict(x, verbose=0) - ref).max() > 1e-2


def test_batchnorm_epsilon_warning():
    torch = _torch()
    net = _torch_lenet(torch)
    model = _sn_lenet(epsilon=1e-3)  # the Keras default
    with pytest.warns(UserWarning, match="epsilon 0.001 differs from PyTorch's 1e-05"):
        sn.utils.load_torch_state_dict(model, net.state_dict())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sn.utils.load_torch_state_dict(_sn_lenet(), net.state_dict())


def test_depthwise_conv1d_and_functional():
    torch = _torch()
    nn = torch.nn
    torch.manual_seed(1)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.dw = nn.Conv2d(3, 6, 3, groups=3, padding=1, bias=True)
            self.pw = nn.Conv2d(6, 4, 1, bias=False)
            self.fc = nn.Linear(4, 5)

        def forward(self, x):
            y = self.pw(self.dw(x))
            return self.fc(y.mean(dim=(2, 3)))

    net = Net().eval()
    inp = L.Input((6, 7, 3))
    y = L.DepthwiseConv2D(3, padding="same", depth_multiplier=2)(inp)
    y = L.Conv2D(4, 1, use_bias=False)(y)
    out = L.Dense(5)(L.GlobalAveragePooling2D()(y))
    model = sn.Model(inp, out)
    sn.utils.load_torch_state_dict(model, net.state_dict())
    x = _x((6, 7, 3))
    diff = np.abs(model.predict(x, verbose=0) - _torch_out(torch, net, x)).max()
    assert diff < TOL, diff

    conv1 = nn.Sequential(nn.Conv1d(3, 4, 3, dilation=2), nn.ReLU(), nn.Conv1d(4, 2, 2, stride=2))
    m1 = sn.Sequential([L.Input((11, 3)), L.Conv1D(4, 3, dilation_rate=2, activation="relu"),
                        L.Conv1D(2, 2, strides=2)])
    sn.utils.load_torch_state_dict(m1, conv1.state_dict())
    x1 = _x((11, 3))
    diff = np.abs(m1.predict(x1, verbose=0) - _torch_out(torch, conv1.eval(), x1)).max()
    assert diff < TOL, diff


def test_misfit_names_the_pair_and_changes_nothing():
    torch = _torch()
    net = _torch_lenet(torch)
    model = _sn_lenet()
    model.layers[-1]  # noqa: B018
    wrong = sn.Sequential([
        L.Input((28, 28, 1)), L.Conv2D(6, 5, padding="same"), L.AveragePooling2D(2),
        L.Conv2D(16, 5), L.BatchNormalization(epsilon=1e-5), L.AveragePooling2D(2),
        L.Flatten(), L.Dense(120), L.Dense(80), L.Dense(10)])
    before = wrong.get_weights()
    with pytest.raises(ValueError, match=r"PyTorch '10' \(weight \(84, 120\).*dense_\d+"):
        sn.utils.load_torch_state_dict(wrong, net.state_dict())
    assert all(np.array_equal(a, b) for a, b in zip(before, wrong.get_weights()))
    with pytest.raises(ValueError, match="6 modules with weights"):
        sn.utils.load_torch_state_dict(sn.Sequential([L.Input((4,)), L.Dense(2)]),
                                       net.state_dict())


def test_reads_pt_like_torch_load(tmp_path):
    torch = _torch()
    base = torch.arange(24, dtype=torch.float64).reshape(2, 3, 4)
    obj = {"t": base.transpose(0, 2), "s": base[1, 1:, ::2], "h": torch.ones(3).half(),
           "b": torch.tensor([1.5, -2.25]).bfloat16(), "i": torch.tensor([3, 4]),
           "flag": torch.tensor([True, False]), "n": 7, "name": "x",
           "p": torch.nn.Parameter(torch.ones(2))}
    path = tmp_path / "mixed.pt"
    torch.save(obj, path)
    got = read_torch_file(path)
    for key in ("t", "s", "h", "b", "i", "flag", "p"):
        ref = obj[key].detach().float().numpy() if key == "b" else obj[key].detach().numpy()
        np.testing.assert_array_equal(got[key], ref)
    assert got["n"] == 7 and got["name"] == "x"


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch pwned_by_pickle",))


def _pt_with_pickle(path, payload: bytes):
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("archive/data.pkl", payload)
        zf.writestr("archive/byteorder", "little")


def test_malicious_pickle_is_refused_and_nothing_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.pt"
    _pt_with_pickle(path, pickle.dumps({"weight": _Evil()}, protocol=2))
    with pytest.raises(UnsafeTorchFile, match=r"evil.pt refers to (posix|os|nt)\.system"):
        read_torch_file(path)
    with pytest.raises(UnsafeTorchFile):
        sn.utils.load_torch_state_dict(sn.Sequential([L.Input((4,)), L.Dense(2)]), str(path))
    assert not (tmp_path / "pwned_by_pickle").exists()
    # builtins are no way round it either
    payload = b"\x80\x02cbuiltins\neval\nX\x0e\x00\x00\x00print('owned')\x85R."
    _pt_with_pickle(path, payload)
    with pytest.raises(UnsafeTorchFile, match="builtins.eval"):
        read_torch_file(path)


def test_arbitrary_objects_refused(tmp_path):
    path = tmp_path / "obj.pt"
    _pt_with_pickle(path, pickle.dumps({"w": io.BytesIO(b"x")}, protocol=2))
    with pytest.raises(UnsafeTorchFile, match=r"_io.BytesIO"):
        read_torch_file(path)


def test_huge_strided_tensor_refused(tmp_path):
    """Stride 0 over a one-element storage may not ask for 10^12 elements."""
    torch = _torch()
    path = tmp_path / "big.pt"
    torch.save({"w": torch.ones(1)}, path)
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    pkl = next(n for n in members if n.endswith("data.pkl"))
    # in the pickle, size (1,) then stride (1,) are "K\x01\x85" (BININT1 1, TUPLE1):
    # make them (10**6, 10**6) and (0, 0)
    old = members[pkl]
    new = old.replace(b"K\x01\x85", b"J@B\x0f\x00J@B\x0f\x00\x86", 1)
    new = new.replace(b"K\x01\x85", b"K\x00K\x00\x86", 1)
    assert new.count(b"J@B\x0f\x00") == 2 and new != old
    members[pkl] = new
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    with pytest.raises(ValueError, match="repeats its storage"):
        read_torch_file(path)


def test_bad_pt_files(tmp_path):
    torch = _torch()
    good = tmp_path / "good.pt"
    torch.save({"w": torch.ones(1000)}, good)
    raw = good.read_bytes()
    bad = tmp_path / "trunc.pt"
    bad.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="trunc.pt"):
        read_torch_file(bad)
    bad.write_bytes(b"not a zip at all")
    with pytest.raises(ValueError, match="trunc.pt is not a PyTorch zip file"):
        read_torch_file(bad)
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("readme.txt", "hello")
    with pytest.raises(ValueError, match="no <name>/data.pkl"):
        read_torch_file(bad)
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for name in src.namelist():
            if "/data/" not in name:
                dst.writestr(name, src.read(name))
    with pytest.raises(ValueError, match="lacks the tensor data"):
        read_torch_file(bad)
    with pytest.raises(FileNotFoundError):
        read_torch_file(tmp_path / "missing.pt")
    with pytest.raises(TypeError, match="source"):
        sn.utils.load_torch_state_dict(sn.Sequential([L.Input((4,)), L.Dense(2)]), 42)


def test_committed_fixture_without_torch(monkeypatch):
    """The .pt made by tests/fixtures/make_fixtures.py, read with torch made unimportable."""
    path = FIXTURES / "torch_lenet.pt"
    monkeypatch.setitem(sys.modules, "torch", None)
    model = _sn_lenet()
    sn.utils.load_torch_state_dict(model, str(path))
    x = np.load(FIXTURES / "torch_lenet_x.npy")
    y = np.load(FIXTURES / "torch_lenet_y.npy")
    diff = np.abs(model.predict(x, verbose=0) - y).max()
    assert diff < TOL, diff


def test_transposed_and_3d_convolutions():
    torch = _torch()
    nn = torch.nn
    needed = ("Conv2DTranspose", "Conv1DTranspose", "Conv3D")
    if not all(hasattr(L, n) for n in needed):
        pytest.skip("stridenet lacks transposed or 3D convolutions")
    torch.manual_seed(2)
    net = nn.Sequential(nn.ConvTranspose2d(3, 4, 3, stride=2), nn.ReLU(),
                        nn.Conv2d(4, 2, 3, dilation=2)).eval()
    model = sn.Sequential([L.Input((5, 6, 3)), L.Conv2DTranspose(4, 3, strides=2,
                                                                 activation="relu"),
                           L.Conv2D(2, 3, dilation_rate=2)])
    sn.utils.load_torch_state_dict(model, net.state_dict())
    x = _x((5, 6, 3))
    assert np.abs(model.predict(x, verbose=0) - _torch_out(torch, net, x)).max() < TOL
    net1 = nn.Sequential(nn.ConvTranspose1d(3, 2, 4, stride=3)).eval()
    m1 = sn.Sequential([L.Input((7, 3)), L.Conv1DTranspose(2, 4, strides=3)])
    sn.utils.load_torch_state_dict(m1, net1.state_dict())
    x1 = _x((7, 3))
    assert np.abs(m1.predict(x1, verbose=0) - _torch_out(torch, net1, x1)).max() < TOL
    net3 = nn.Sequential(nn.Conv3d(2, 3, (3, 2, 2), stride=(1, 2, 1))).eval()
    m3 = sn.Sequential([L.Input((4, 6, 5, 2)), L.Conv3D(3, (3, 2, 2), strides=(1, 2, 1))])
    sn.utils.load_torch_state_dict(m3, net3.state_dict())
    x3 = _x((4, 6, 5, 2))
    assert np.abs(m3.predict(x3, verbose=0) - _torch_out(torch, net3, x3)).max() < TOL


def test_layer_norm_and_unmapped_layers():
    torch = _torch()
    nn = torch.nn
    if not hasattr(L, "LayerNormalization"):
        pytest.skip("stridenet lacks LayerNormalization")
    torch.manual_seed(3)
    net = nn.Sequential(nn.Linear(5, 6), nn.LayerNorm(6, eps=1e-3)).eval()
    with torch.no_grad():
        net[1].weight.uniform_(0.5, 1.5)
        net[1].bias.uniform_(-0.5, 0.5)
    model = sn.Sequential([L.Input((5,)), L.Dense(6), L.LayerNormalization(epsilon=1e-3)])
    sn.utils.load_torch_state_dict(model, net.state_dict())
    x = _x((5,))
    assert np.abs(model.predict(x, verbose=0) - _torch_out(torch, net, x)).max() < TOL
    if hasattr(L, "PReLU"):
        net = nn.Sequential(nn.Conv2d(2, 3, 1), nn.PReLU(3)).eval()
        with torch.no_grad():
            net[1].weight.uniform_(0.1, 0.5)
        prelu = sn.Sequential([L.Input((4, 4, 2)), L.Conv2D(3, 1), L.PReLU(name="act")])
        sn.utils.load_torch_state_dict(prelu, net.state_dict())
        x = _x((4, 4, 2))
        assert np.abs(prelu.predict(x, verbose=0) - _torch_out(torch, net, x)).max() < TOL
        with pytest.raises(ValueError, match=r"\(weight \(5,\)\) does not fit .*'act'"):
            sn.utils.load_torch_state_dict(prelu, {"0.weight": np.ones((3, 2, 1, 1)),
                                                   "0.bias": np.zeros(3),
                                                   "1.weight": np.ones(5)})
    norm = sn.Sequential([L.Input((4,)), L.Dense(2), _Odd(name="odd")])
    with pytest.raises(ValueError, match=r"odd \(_Odd\) has weights but no PyTorch"):
        sn.utils.load_torch_state_dict(norm, {"0.weight": np.ones((2, 4)), "0.bias": np.ones(2),
                                              "1.weight": np.ones(2)})


class _Odd(L.Layer):
    def build(self, input_shape):
        self.w = self.add_weight((input_shape[-1],), "ones", "w")

    def call(self, inputs, training=False):
        return inputs * self.w


def test_load_model_on_a_pt_file_points_to_load_torch_state_dict():
    with pytest.raises(ValueError, match="PyTorch file.*load_torch_state_dict"):
        sn.models.load_model(str(FIXTURES / "torch_lenet.pt"))
