"""The multi-core machinery of the kernels: workspaces per thread, nesting, errors, BLAS."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

import stridenet as sn
from stridenet.ops.kernels import parallel
from stridenet.ops.kernels.conv import conv2d_forward


def conv(x, w):
    return conv2d_forward(x, w, None, (1, 1), ((1, 1), (1, 1)), (1, 1), 1)[0]


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((6, 9, 9, 3)), rng.standard_normal((3, 3, 3, 4))


@pytest.mark.parametrize("workers", [1, 2])
def test_two_user_threads_never_share_a_workspace(data, workers, monkeypatch):
    from stridenet.ops.kernels import windows

    monkeypatch.setattr(windows, "CHUNK_BYTES", 2048)  # many chunks per call
    x, w = data
    inputs = [x * (k + 1) for k in range(2)]
    want = [conv(a, w) for a in inputs]
    wrong, errors, done = [], [], []

    def run(k):
        try:
            for _ in range(15):
                if not np.array_equal(conv(inputs[k], w), want[k]):
                    wrong.append(k)
            done.append(k)
        except Exception as err:  # a thread's exception would otherwise vanish
            errors.append(err)

    parallel.set_num_workers(workers)
    try:
        threads = [threading.Thread(target=run, args=(k,)) for k in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        parallel.set_num_workers(None)
    assert errors == [] and sorted(done) == [0, 1] and wrong == []


def test_a_kernel_inside_a_chunk_gets_its_own_workspaces(data):
    x, w = data
    want = conv(x, w)
    results = {}

    def chunk(worker, n0, n1):
        outer = parallel.scratch("cols", (4,), np.float64)
        outer[...] = n0  # live in this chunk while the nested kernel runs
        results[n0] = conv(x, w)
        assert (outer == n0).all()

    parallel.run_chunks(chunk, 4, 1)
    assert sorted(results) == [0, 1, 2, 3]
    for got in results.values():
        np.testing.assert_array_equal(got, want)


def test_an_error_in_a_chunk_stops_the_rest_and_reaches_the_caller():
    started = []

    def blas_threads():
        if parallel.ThreadpoolController is None:
            return None
        return [i["num_threads"] for i in parallel.ThreadpoolController().info()
                if i["user_api"] == "blas"]

    before = blas_threads()

    finished = []

    def chunk(worker, n0, n1):
        started.append(n0)
        if n0 == 0:
            raise RuntimeError("chunk 0 failed")
        time.sleep(0.002)  # the other workers are busy when chunk 0 fails
        finished.append(n0)

    with pytest.raises(RuntimeError, match="chunk 0 failed"):
        parallel.run_chunks(chunk, 400, 1)
    settled = len(finished)
    time.sleep(0.05)
    assert len(finished) == settled  # nothing still runs once the error is raised
    # each worker stops at its next chunk: far fewer than the 400 / workers it was given
    assert len(started) <= 4 * parallel.num_workers()
    assert blas_threads() == before  # BLAS is handed back its threads


def test_scratch_can_be_freed_and_comes_back(data):
    x, w = data
    want = conv(x, w)
    parallel.clear_scratch()
    np.testing.assert_array_equal(conv(x, w), want)


def test_set_num_workers_checks_its_argument():
    with pytest.raises(ValueError, match="positive int or None"):
        parallel.set_num_workers(0)
    with pytest.raises(ValueError, match="positive int or None"):
        parallel.set_num_workers(True)


def test_training_step_holds_blas_to_one_thread_and_gives_it_back():
    if parallel.ThreadpoolController is None or parallel.num_workers() == 1:
        pytest.skip("single-threaded setup: nothing is held")
    ctl = parallel.ThreadpoolController()
    before = [i["num_threads"] for i in ctl.info() if i["user_api"] == "blas"]
    seen = []

    class Spy(sn.layers.Layer):
        def call(self, x, training=False):
            seen.extend(i["num_threads"] for i in ctl.info() if i["user_api"] == "blas")
            return x

    model = sn.Sequential([sn.layers.Input((4,)), Spy(), sn.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.ones((8, 4), np.float32), np.zeros((8, 2), np.float32), verbose=0)
    assert seen and set(seen) == {1}
    assert [i["num_threads"] for i in ctl.info() if i["user_api"] == "blas"] == before
