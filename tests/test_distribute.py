"""Data-parallel training over MPI: real ``mpiexec -n 2`` runs of tests/mpi/run.py.

Each scenario takes a few seconds. CI installs mpi4py and MPICH (the ``dist`` extra), so
there these tests run; elsewhere they are skipped when MPI is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import stridenet as sn
from stridenet.distribute import share_bounds

SCRIPT = os.path.join(os.path.dirname(__file__), "mpi", "run.py")


@pytest.fixture(scope="module")
def mpiexec():
    path = shutil.which("mpiexec")
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        path = None
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("mpiexec/mpi4py are missing: the MPI tests must run in CI")
        pytest.skip("MPI (mpi4py, mpiexec) is not installed")
    return path


def launch(mpiexec, mode, out, ranks=2, timeout=120):
    """Run the scenario; (return code, stdout, stderr)."""
    env = {**os.environ, "STRIDENET_NUM_THREADS": "1"}  # 2 ranks on 2 cores
    cmd = [sys.executable, SCRIPT, mode, str(out)]
    if ranks > 1:
        cmd = [mpiexec, "-n", str(ranks), *cmd]
    else:  # a plain process: no launcher variables may leak in from the test's own env
        env = {k: v for k, v in env.items() if not k.startswith(("PMI_", "OMPI_", "PMIX_"))}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    return done.returncode, done.stdout, done.stderr


def weights(out, rank=0):
    with np.load(os.path.join(out, f"rank{rank}.npz")) as f:
        return [f[k] for k in sorted(f.files, key=lambda k: int(k[1:]))]


def result(out):
    with open(os.path.join(out, "result.json")) as f:
        return json.load(f)


def run_ok(mpiexec, mode, out, ranks=2):
    out.mkdir(parents=True, exist_ok=True)
    rc, stdout, stderr = launch(mpiexec, mode, out, ranks)
    assert rc == 0, stderr
    return stdout, stderr


def max_diff(a, b):
    return max(float(np.abs(x - y).max()) for x, y in zip(a, b))


def test_share_bounds_cover_every_sample_once():
    assert share_bounds(16, 2) == [(0, 8), (8, 16)]
    assert share_bounds(5, 2) == [(0, 3), (3, 5)]
    assert share_bounds(1, 3) == [(0, 1), (1, 1), (1, 1)]
    for n in range(0, 20):
        for r in range(1, 5):
            b = share_bounds(n, r)
            assert b[0][0] == 0 and b[-1][1] == n
            assert all(b[i][1] == b[i + 1][0] for i in range(r - 1))


def test_one_process_touches_no_mpi():
    code = ("import sys, numpy as np, stridenet as sn\n"
            "m = sn.Sequential([sn.layers.Input((3,)), sn.layers.Dense(2)])\n"
            "m.compile(optimizer='sgd', loss='mse')\n"
            "m.fit(np.ones((4, 3)), np.zeros((4, 2)), verbose=0)\n"
            "print(sn.distribute.size(), 'mpi4py' in sys.modules)\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMI_", "OMPI_", "PMIX_"))}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["1", "False"]


def test_two_ranks_train_the_model_one_process_trains(mpiexec, tmp_path):
    run_ok(mpiexec, "train", tmp_path / "one", ranks=1)
    run_ok(mpiexec, "train", tmp_path / "two")
    one, two0, two1 = (weights(tmp_path / "one"), weights(tmp_path / "two"),
                       weights(tmp_path / "two", 1))
    # rank 1 started from other weights: the broadcast made them rank 0's, and the same
    # updates kept them identical, bit for bit
    for a, b in zip(two0, two1):
        np.testing.assert_array_equal(a, b)
    assert max_diff(one, two0) < 1e-5  # global batch 16 = 2 x 8: the same updates
    r1, r2 = result(tmp_path / "one"), result(tmp_path / "two")
    for key in ("loss", "accuracy"):  # the logs are averaged over the ranks
        np.testing.assert_allclose(r2["history"][key], r1["history"][key], atol=1e-6)
    for key in ("loss", "accuracy"):  # evaluate is sharded, its results averaged
        assert abs(r2["evaluate"][key] - r1["evaluate"][key]) < 1e-6
    # predict is sharded and gathered in sample order on every rank
    np.testing.assert_allclose(r2["predict"], r1["predict"], atol=1e-5)


def test_synchronized_batch_norm_equals_one_process(mpiexec, tmp_path):
    run_ok(mpiexec, "bn", tmp_path / "one", ranks=1)
    run_ok(mpiexec, "bn", tmp_path / "sync")
    run_ok(mpiexec, "bnlocal", tmp_path / "local")
    one, sync = weights(tmp_path / "one"), weights(tmp_path / "sync")
    for a, b in zip(sync, weights(tmp_path / "sync", 1)):
        np.testing.assert_array_equal(a, b)
    assert max_diff(one, sync) < 1e-5
    # per-rank statistics give another model: the synchronisation is what made it equal
    assert max_diff(one, weights(tmp_path / "local")) > 1e-4


def test_resume_from_a_rank0_checkpoint_equals_an_uninterrupted_run(mpiexec, tmp_path):
    run_ok(mpiexec, "train", tmp_path / "straight")
    run_ok(mpiexec, "resume", tmp_path / "resumed")
    for a, b in zip(weights(tmp_path / "straight"), weights(tmp_path / "resumed")):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(weights(tmp_path / "resumed"), weights(tmp_path / "resumed", 1)):
        np.testing.assert_array_equal(a, b)


def test_only_rank_0_prints_and_writes_logs(mpiexec, tmp_path):
    stdout, _ = run_ok(mpiexec, "progress", tmp_path)
    assert stdout.count("Epoch 1/2") == 1 and stdout.count("Epoch 2/2") == 1
    with open(tmp_path / "log.csv") as f:
        rows = f.read().splitlines()
    assert rows[0] == "epoch,accuracy,loss" and len(rows) == 3


def test_an_error_on_one_rank_stops_all_and_is_printed_once(mpiexec, tmp_path):
    rc, _, stderr = launch(mpiexec, "raise", tmp_path, timeout=60)
    assert rc != 0
    assert stderr.count("[rank 1/2] RuntimeError: rank 1 tripped on purpose") == 1
    assert "stopping all ranks" in stderr
    assert not os.path.exists(tmp_path / "rank0.npz")  # rank 0 did not finish alone


def test_a_rank_that_dies_ends_the_others(mpiexec, tmp_path):
    rc, stdout, stderr = launch(mpiexec, "die", tmp_path, timeout=60)  # no hang
    assert rc != 0
    assert "signal 9" in stdout + stderr or "Killed" in stdout + stderr
    assert not os.path.exists(tmp_path / "rank0.npz")


def test_ranks_with_different_models_fail_at_the_start(mpiexec, tmp_path):
    rc, _, stderr = launch(mpiexec, "disagree", tmp_path, timeout=60)
    assert rc != 0
    assert stderr.count("[rank 0/2] RanksDisagree: the ranks disagree on the model") == 1
    assert "[rank 1/2]" not in stderr  # every rank found it out; rank 0 alone says so
    assert "parameter counts per rank [511, 656]" in stderr


def test_synchronized_is_a_keras_argument_saved_in_the_config():
    layer = sn.layers.BatchNormalization(synchronized=True)
    assert layer.get_config()["synchronized"] is True
    with pytest.raises(TypeError, match="synchronized must be True or False"):
        sn.layers.BatchNormalization(synchronized="yes")


def test_a_rank_that_dies_before_mpi_starts_ends_the_job(mpiexec):
    """Rank 1 fails before it reaches MPI (an import error); rank 0 waits in MPI's start-up
    only STRIDENET_MPI_START_TIMEOUT seconds, says where it waited, and the job ends
    (before: both waited until killed)."""
    import time

    code = ("import os\n"
            "if os.environ.get('PMI_RANK') == '1':\n"
            "    raise ImportError('rank 1 cannot start')\n"
            "import stridenet as sn\n"
            "sn.distribute.get_comm()\n")
    env = {**os.environ, "STRIDENET_MPI_START_TIMEOUT": "3", "STRIDENET_NUM_THREADS": "1"}
    started = time.perf_counter()
    done = subprocess.run([mpiexec, "-n", "2", sys.executable, "-c", code],
                          capture_output=True, text=True, timeout=90, env=env)
    assert time.perf_counter() - started < 60
    assert done.returncode != 0
    assert "rank 1 cannot start" in done.stderr
    assert "_waiting_for_every_rank_to_start_mpi" in done.stderr


@pytest.mark.parametrize("value", ["soon", "-1", "nan"])
def test_bad_start_timeout_is_one_clear_error(monkeypatch, value):
    from stridenet.distribute import comm

    monkeypatch.setenv("STRIDENET_MPI_START_TIMEOUT", value)
    with pytest.raises(ValueError, match="STRIDENET_MPI_START_TIMEOUT must be a number"):
        comm.start_timeout()
    monkeypatch.setenv("STRIDENET_MPI_START_TIMEOUT", "0")
    assert comm.start_timeout() == 0.0
