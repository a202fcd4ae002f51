"""The Python API of explain refuses traces too large to compute, as the CLI does.

A trace holds one Python object per product, so `sn.explain.conv2d(x, k, padding=100000)`
would ask for 10^10 of them (MemoryError after minutes); the bound is checked in the trace
functions themselves, before the padded input is allocated.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from stridenet import explain
from stridenet.explain.limits import MAX_TERMS

X = np.arange(4.0).reshape(2, 2)


@pytest.mark.parametrize("call", [
    lambda: explain.conv2d(X, [[1.0]], padding=100000),
    lambda: explain.conv2d(X, [[1.0]], padding=((0, 0), (0, 10**10))),
    lambda: explain.conv2d(np.zeros((400, 400)), np.ones((2, 2))),
    lambda: explain.conv1d([1.0, 2.0, 3.0], [1.0], padding=(0, 10**8)),
    lambda: explain.conv2d_backward(X, [[1.0]], [[1.0]], padding=100000),
    lambda: explain.max_pool2d(X, pool_size=200001, padding=100000),
    lambda: explain.avg_pool2d(X, pool_size=(1, 10**8), strides=1, padding="same"),
], ids=["conv2d-pad", "conv2d-pair", "conv2d-big-input", "conv1d", "backward", "maxpool",
        "avgpool"])
def test_python_api_refuses_huge_traces_fast(call):
    started = time.perf_counter()
    with pytest.raises(ValueError, match=f"too large to trace.*at most {MAX_TERMS:,}"):
        call()
    assert time.perf_counter() - started < 5


def test_a_trace_at_the_bound_still_runs():
    # 40 x 40, 3x3 kernel, padding 1: 14,400 products, under the bound
    t = explain.conv2d(np.ones((40, 40)), np.ones((3, 3)), padding=1)
    assert t.y.shape == (40, 40) and t.y[20, 20] == 9.0
