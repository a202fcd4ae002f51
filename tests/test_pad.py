"""pad2d / pad1d (ZeroPadding layers): three-way proof and checks."""

from __future__ import annotations

import numpy as np
import pytest

import stridenet as sn
from opcheck import check_op


def naive_pad2d(x, pads, value=0.0):
    (t, b), (l, r) = pads
    n, h, w, c = x.shape
    out = np.full((n, h + t + b, w + l + r, c), value)
    for i in range(h):
        for j in range(w):
            out[:, t + i, l + j, :] = x[:, i, j, :]
    return out


@pytest.mark.parametrize("padding,pads", [(1, ((1, 1), (1, 1))), ((2, 0), ((2, 2), (0, 0))),
                                          (((0, 3), (1, 2)), ((0, 3), (1, 2)))])
def test_pad2d_three_way(padding, pads):
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 2))
    check_op(lambda x: sn.ops.pad2d(x, padding), lambda x: naive_pad2d(x, pads), [x])


def test_pad1d_three_way():
    x = np.random.default_rng(1).standard_normal((2, 5, 3))
    check_op(lambda x: sn.ops.pad1d(x, (2, 1)),
             lambda x: naive_pad2d(x[:, None], ((0, 0), (2, 1)))[:, 0], [x])


def test_pad_checks():
    with pytest.raises(ValueError, match=r"x must have shape \(N, H, W, C\)"):
        sn.ops.pad2d(np.zeros((3, 3)), 1)
    with pytest.raises(ValueError, match="non-negative"):
        sn.ops.pad2d(np.zeros((1, 3, 3, 1)), -1)
