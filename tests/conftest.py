"""Shared fixtures. Under CI (CI=true) a missing PyTorch oracle is a failure, not a skip."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))  # tests/opcheck.py, tests/reference/


@pytest.fixture(scope="session")
def torch():
    """The PyTorch module, for oracle comparisons (a test dependency only)."""
    try:
        import torch as _torch
    except ImportError:  # pragma: no cover - depends on the environment
        if os.environ.get("CI"):
            pytest.fail("PyTorch is not installed: the oracle comparisons must run in CI")
        pytest.skip("PyTorch is not installed")
    _torch.set_num_threads(1)
    return _torch


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(params=["numpy", "numba"])
def kernel_path(request):
    """Run the test on the NumPy kernels, then on their compiled (numba) twins. A module
    opts in with ``pytestmark = pytest.mark.usefixtures("kernel_path")``. Under CI a
    missing numba is a failure, not a skip: both paths must be tested there."""
    from stridenet.ops.kernels import backend

    if request.param == "numba":
        import importlib.util

        if importlib.util.find_spec("numba") is None:  # pragma: no cover - environment
            if os.environ.get("CI"):
                pytest.fail("numba is not installed: the compiled kernels must be tested in CI")
            pytest.skip("numba is not installed")
    backend.set_kernel_mode(request.param)
    try:
        yield request.param
    finally:
        backend.set_kernel_mode(None)


def pytest_terminal_summary(terminalreporter):
    from oracle_stats import STATS

    if not STATS:
        return
    terminalreporter.section("PyTorch oracle comparisons")
    total = 0
    for op in sorted(STATS):
        n, diff = STATS[op]
        total += n
        terminalreporter.write_line(f"{op:32s} {n:5d} configs   max |diff| {diff:.3g}")
    terminalreporter.write_line(f"{'total':32s} {total:5d} configs")
