"""Explain mode: one output cell of a 3D convolution, equal to ``sn.ops.conv3d`` there."""

from __future__ import annotations

import numpy as np
import pytest

import stridenet as sn
from stridenet.explain import conv3d as explain_conv3d


def _ops(x, k, **kw):
    x = np.asarray(x, np.float64)
    k = np.asarray(k, np.float64)
    if x.ndim == 3:  # (D, H, W): one channel
        x, k = x[..., None], k[..., None]
    y = sn.ops.conv3d(x[None], k[..., None], **kw)  # (1, OD, OH, OW, 1)
    return np.asarray(y.numpy() if hasattr(y, "numpy") else y)[0, ..., 0]


CONFIGS = [  # (input D, H, W, C), kernel, strides, padding, dilation
    ((3, 4, 5, 1), (2, 2, 2), 1, "valid", 1),
    ((4, 5, 6, 2), (3, 3, 3), 2, "same", 1),
    ((5, 5, 7, 1), (2, 3, 2), 1, "valid", (2, 1, 3)),
    ((3, 4, 4, 3), (3, 2, 3), (1, 2, 2), 1, 1),
    ((4, 3, 5, 1), (2, 2, 3), 2, "same", 2),
]


@pytest.mark.parametrize("cfg", CONFIGS, ids=[str(i) for i in range(len(CONFIGS))])
def test_every_cell_equals_ops_conv3d_on_random_integers(cfg):
    shape, ksize, s, padding, d = cfg
    rng = np.random.default_rng(sum(shape) + sum(ksize))
    x = rng.integers(-5, 6, size=shape)
    k = rng.integers(-3, 4, size=(*ksize, shape[-1]))
    want = _ops(x, k, strides=s, padding=padding, dilation_rate=d)
    for cell in np.ndindex(*want.shape):
        t = explain_conv3d(x, k, strides=s, padding=padding, dilation_rate=d, cell=cell)
        assert t.out_shape == want.shape
        assert isinstance(t.total, int) and t.total == want[cell]
        assert len(t.terms) == int(np.prod(ksize)) * shape[-1]  # one product per tap, channel


def test_window_products_and_text():
    x = np.arange(27).reshape(3, 3, 3)
    k = np.array([[[1, 0], [0, 1]], [[2, 0], [0, -1]]])
    t = explain_conv3d(x, k, strides=2, padding="same", cell=(0, 1, 1), bias=10)
    assert t.window == ((0, 1), (2, 3), (2, 3))
    assert t.patch_pad[:, 1].all() and t.patch_pad[:, :, 1].all()  # row 3, col 3: padding
    assert t.total == 1 * x[0, 2, 2] + 2 * x[1, 2, 2] + 10
    assert t.total == _ops(x, k, strides=2, padding="same")[0, 1, 1] + 10
    text = str(t)
    assert "conv3d, one output cell: out[0,1,1]" in text
    assert "depth: floor((3 + 0 + 1 - 2) / 2) + 1 = 2" in text
    assert "w[1,0,0,0] * x[1,2,2,0] = 2*17 = 34" in text
    assert "w[1,1,1,0] * pad = (-1)*0 = 0" in text
    assert text.count("Sum: out[0,1,1] = 8 + 0 + 0 + 0 + 34 + 0 + 0 + 0 + bias 10 = 52") == 1


def test_float_and_batched_input():
    rng = np.random.default_rng(1)
    x, k = rng.normal(size=(1, 3, 3, 3, 2)), rng.normal(size=(2, 2, 2, 2, 1))
    t = explain_conv3d(x, k, cell=(1, 0, 1))
    want = sn.ops.conv3d(x, k)
    want = np.asarray(want.numpy() if hasattr(want, "numpy") else want)
    np.testing.assert_allclose(t.total, want[0, 1, 0, 1, 0], rtol=1e-12)


@pytest.mark.parametrize("kwargs, match", [
    (dict(x=np.ones((3, 3)), kernel=np.ones((2, 2, 2))), "x must have shape"),
    (dict(x=np.ones((3, 3, 3)), kernel=np.ones((2, 2))), "kernel must have shape"),
    (dict(x=np.ones((3, 3, 3)), kernel=np.ones((2, 2, 2)), cell=(2, 0, 0)), "outside"),
    (dict(x=np.ones((3, 3, 3)), kernel=np.ones((2, 2, 2)), cell=(0, 0)), "outside"),
    (dict(x=np.ones((3, 3, 3)), kernel=np.ones((4, 2, 2))), "spans 4 cells"),
    (dict(x=np.ones((3, 3, 3, 2)), kernel=np.ones((2, 2, 2, 1))), "channel"),
])
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        explain_conv3d(**kwargs)
