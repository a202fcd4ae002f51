"""The multi-core machinery of the kernels: workspaces per thread, nesting, errors, BLAS."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from threadpoolctl import ThreadpoolController

import stridenet as sn
from stridenet.ops.kernels import parallel
from stridenet.ops.kernels.conv import conv2d_forward


def conv(x, w):
    return conv2d_forward(x, w, None, (1, 1), ((1, 1), (1, 1)), (1, 1), 1)[0]


def blas_threads() -> list:
    """The thread count of every BLAS library loaded (threadpoolctl is a hard dependency)."""
    return list(blas_counts().values())


def blas_counts() -> dict:
    """{library file: thread count} of every BLAS library loaded."""
    return {i["filepath"]: i["num_threads"] for i in ThreadpoolController().info()
            if i["user_api"] == "blas"}


def given_back(before: dict) -> bool:
    """Every library loaded before has its count back (a test may load another one)."""
    after = blas_counts()
    return all(after.get(path) == n for path, n in before.items())


@pytest.fixture
def two_workers():
    """Two kernel workers whatever the machine, so the threaded path is always tested."""
    parallel.set_num_workers(2)
    yield
    parallel.set_num_workers(None)


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

    before = blas_counts()

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
    assert given_back(before)  # BLAS is handed back its threads


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


def _spy_model():
    """A compiled model whose first layer records the BLAS thread counts in force while
    it runs; (model, the list it appends to)."""
    seen = []

    class Spy(sn.layers.Layer):
        def call(self, x, training=False):
            seen.extend(blas_threads())
            return x

    model = sn.Sequential([sn.layers.Input((4,)), Spy(), sn.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    return model, seen


def test_training_step_holds_blas_to_one_thread_and_gives_it_back(two_workers):
    before = blas_counts()
    model, seen = _spy_model()
    model.fit(np.ones((8, 4), np.float32), np.zeros((8, 2), np.float32), verbose=0)
    assert seen and set(seen) == {1}
    assert given_back(before)


def _in_thread(fn, *args):
    """fn(*args) in a fresh user thread (not the main one); its result or its error."""
    out = {}

    def run():
        try:
            out["value"] = fn(*args)
        except BaseException as err:  # noqa: BLE001 - handed back to the test
            out["error"] = err

    t = threading.Thread(target=run)
    t.start()
    t.join()
    if "error" in out:
        raise out["error"]
    return out["value"]


def test_workers_hold_one_blas_thread_whichever_thread_calls(two_workers):
    # The main thread sets (and gives back) a limit first: with threadpoolctl's single
    # "controlling thread", a later limit from another thread used to be ignored, so
    # the workers' products ran on every BLAS thread (10x slower, other sums).
    parallel.run_chunks(lambda worker, n0, n1: None, 4, 1)
    before = blas_counts()
    seen = []

    def chunk(worker, n0, n1):
        seen.append(blas_threads())  # every BLAS library loaded (torch may bring another)

    used = _in_thread(parallel.run_chunks, chunk, 8, 1)
    assert used == 2 and len(seen) == 8
    assert {n for counts in seen for n in counts} == {1}
    assert given_back(before)  # given back when the last block closes


def _model():
    sn.utils.set_random_seed(5)
    model = sn.Sequential([
        sn.layers.Input((16, 16, 8)),
        sn.layers.Conv2D(64, 3, padding="same", activation="relu"),
        sn.layers.Conv2D(64, 3, padding="same", activation="relu"),
        sn.layers.GlobalAveragePooling2D(),
        sn.layers.Dense(4),
    ])
    model.compile(optimizer="adam",
                  loss=sn.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def _train_weights(model):
    """Two steps; the models are built in the main thread (their weights come from the
    global generator), only training runs elsewhere."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((64, 16, 16, 8)).astype(np.float32)
    y = rng.integers(0, 4, 64)
    model.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0)
    return model.get_weights()


def test_fit_in_a_user_thread_equals_fit_in_the_main_thread(two_workers):
    want = _train_weights(_model())
    got = _in_thread(_train_weights, _model())
    for a, b in zip(want, got):
        np.testing.assert_array_equal(a, b)


def test_two_models_trained_at_once_equal_each_alone(two_workers):
    want = _train_weights(_model())
    models = [_model(), _model()]
    results = {}
    def train(k):
        results[k] = _train_weights(models[k])

    threads = [threading.Thread(target=train, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k in range(2):
        for a, b in zip(want, results[k]):
            np.testing.assert_array_equal(a, b)


def test_one_worker_holds_blas_to_one_thread_too():
    # STRIDENET_NUM_THREADS=1, or one MPI rank per core: BLAS's own threads on the other
    # cores made two ranks on two cores 12x slower
    before = blas_counts()
    model, seen = _spy_model()
    parallel.set_num_workers(1)
    try:
        model.fit(np.ones((8, 4), np.float32), np.zeros((8, 2), np.float32), verbose=0)
    finally:
        parallel.set_num_workers(None)
    assert seen and set(seen) == {1}
    assert given_back(before)
