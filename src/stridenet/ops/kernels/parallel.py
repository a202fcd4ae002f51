"""Running the chunks of a kernel on every core, and the scratch buffers they reuse.

NumPy's BLAS multi-threads each matrix product, but the work around it (im2col copies,
bias, activations, masks) runs on one core. A kernel that splits its batch into
chunks instead gives each worker thread whole chunks -- copy and product alike -- and
limits BLAS to one thread meanwhile, so both cores stay busy on all of the work.
NumPy releases the GIL inside copies, ufuncs and BLAS calls, so threads suffice.

``threadpoolctl`` limits BLAS. OpenBLAS's thread count does not reliably reach other
threads when it is set from a thread other than the main one (measured: ``fit`` from a
user thread ran 10x slower, its workers' products on two BLAS threads each), so every
pool worker holds its own limit of one BLAS thread, checked at the start of each task;
speed and results never depend on which thread called the kernel.

Chunk ``k`` always goes to worker ``k % workers``, and per-worker partial sums are
added in worker order, so a run is bit-for-bit repeatable on the same machine.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import math
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from threadpoolctl import ThreadpoolController

_lock = threading.Lock()
_state = {"workers": None, "pool": None, "controller": None, "modules": 0}


def _default_workers() -> int:
    env = os.environ.get("STRIDENET_NUM_THREADS")
    if env:
        try:
            value = int(env)
        except ValueError:
            raise ValueError(f"STRIDENET_NUM_THREADS must be a positive int, got {env!r}") \
                from None
        if value < 1:
            raise ValueError(f"STRIDENET_NUM_THREADS must be a positive int, got {env!r}")
        return value
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else \
        (os.cpu_count() or 1)


def num_workers() -> int:
    """Worker threads a kernel's chunks are spread over (1 = serial)."""
    if _state["workers"] is None:
        _state["workers"] = _default_workers()
    return _state["workers"]


def set_num_workers(n) -> None:
    """Use ``n`` worker threads (``None``: the cores available). 1 runs chunks serially."""
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise ValueError(f"the number of threads must be a positive int or None, got {n!r}")
    with _lock:
        if _state["pool"] is not None:
            _state["pool"].shutdown(wait=True)
        _state["pool"] = None
        _state["workers"] = n


def _pool_unlocked():
    if _state["pool"] is None:
        _state["pool"] = ThreadPoolExecutor(num_workers(), thread_name_prefix="stridenet")
    return _state["pool"]


def _blas_libs() -> list:
    """threadpoolctl's controllers of the BLAS libraries loaded.

    Looked up again whenever Python has imported modules since the last look (numba's
    first compile, say, loads scipy's OpenBLAS beside NumPy's): a count of ``sys.modules``
    costs nothing, a scan of the loaded libraries about a millisecond."""
    with _lock:
        if _state["controller"] is None or _state["modules"] != len(sys.modules):
            _state["modules"] = len(sys.modules)
            _state["controller"] = ThreadpoolController().select(user_api="blas")
        return _state["controller"].lib_controllers


def _set_blas_threads(lib, n: int) -> None:
    """Set ``lib``'s thread count to ``n`` from whichever thread calls.

    threadpoolctl lets only one "controlling" thread change a process-wide (pthreads)
    OpenBLAS pool and silently ignores every other thread: the first thread that ever
    set a limit -- usually the main one -- would keep that right, and a ``fit`` run from
    any other thread would leave the workers' products on all of BLAS's threads. The
    count is global there, so stridenet takes control for the moment it sets it."""
    clear = getattr(type(lib), "clear_controlling_thread", None)
    if clear is not None:
        clear(force=True)
    lib.set_num_threads(n)
    if clear is not None:
        clear(force=True)


def _hold_one_blas_thread() -> None:
    """In a pool worker, at the start of each task: BLAS runs on one thread.

    With OpenMP-threaded BLAS the count is per thread, so each worker must hold its own
    limit; with a process-wide pool the caller's ``blas_single_threaded`` already did.
    Reading a count costs about 3 us; it is set only when something changed it."""
    for lib in _blas_libs():
        if lib.get_num_threads() != 1:
            _set_blas_threads(lib, 1)


def run_chunks(fn, n: int, step: int) -> int:
    """Call ``fn(worker, n0, n1)`` for each chunk ``[n0, n1)`` of ``range(n)`` of size ``step``.

    Returns the number of workers used; ``worker`` (in ``0..workers-1``) says which
    per-call partial sums a chunk may add to: no two chunks run at once with the same
    worker number. Worker 0 is the calling thread, the others are pool threads; a call
    from inside a chunk runs serially. (Workspaces from ``scratch`` belong to the running
    thread and nesting depth instead.)
    If a chunk raises, the chunks not yet started are skipped, the running ones are
    waited for, and the exception is raised here.
    """
    starts = list(range(0, n, step))
    workers = min(num_workers(), len(starts))
    if workers <= 1 or threading.current_thread().name.startswith("stridenet") or \
            _thread_state()["depth"] > 0:  # nested inside a chunk: serial, as in a worker
        for n0 in starts:
            _in_chunk(fn, 0, n0, min(n, n0 + step))
        return 1
    stop = threading.Event()

    def work(k):
        _hold_one_blas_thread()
        for n0 in starts[k::workers]:
            if stop.is_set():
                return
            _in_chunk(fn, k, n0, min(n, n0 + step))

    with _lock:
        pool = _pool_unlocked()
    with blas_single_threaded():
        # the calling thread is worker 0: one hand-over fewer per call, and the core it
        # runs on works instead of waiting
        futures = [pool.submit(work, k) for k in range(1, workers)]
        try:
            work(0)
            for f in futures:
                f.result()  # re-raises a worker's exception here
        except BaseException:
            stop.set()  # no worker may still be writing when the caller moves on
            concurrent.futures.wait(futures)
            raise
    return workers


def _in_chunk(fn, worker, n0, n1):
    """Run one chunk one level deeper, so that a kernel called inside it (a nested
    ``run_chunks``) gets workspaces of its own instead of the chunk's live ones."""
    state = _thread_state()
    state["depth"] += 1
    try:
        fn(worker, n0, n1)
    finally:
        state["depth"] -= 1


_held = {"depth": 0, "original": None}


@contextlib.contextmanager
def blas_single_threaded():
    """Hold BLAS to one thread for the block (nested blocks, in any thread, are free).

    The workers do the multi-threading themselves; a BLAS call between two kernels must
    not wake BLAS's own threads, which keep spinning for a while after each call and
    then steal the cores from the workers (measured: a whole training step 20% slower).
    So ``fit``, ``evaluate`` and ``predict`` hold this around each step, not only around
    each kernel. One count over all threads: the limit is set when the first block opens
    and the original counts come back when the last one closes, whichever threads those
    are. With one worker too: STRIDENET_NUM_THREADS=1 (or one MPI rank per core) means one
    core, and BLAS's own threads on the others made 2 ranks on 2 cores 12x slower.
    """
    libs = _blas_libs()
    with _lock:
        if _held["depth"] == 0:
            _held["original"] = [lib.get_num_threads() for lib in libs]
            for lib in libs:
                _set_blas_threads(lib, 1)
        _held["depth"] += 1
    try:
        yield
    finally:
        with _lock:
            _held["depth"] -= 1
            if _held["depth"] == 0:
                for lib, n in zip(libs, _held["original"]):
                    if n is not None:
                        _set_blas_threads(lib, n)
                _held["original"] = None


ELEMENT_CHUNK = 1 << 16  # elements per chunk of an elementwise pass (256 KiB of float32)


def elementwise(fn, out: np.ndarray, *arrays: np.ndarray) -> np.ndarray:
    """``fn(worker, out_chunk, *chunks)`` over matching flat chunks of C-contiguous arrays
    of one size, on all cores; returns ``out``. For passes too cheap to be worth a thread
    (small arrays), one call does it all."""
    flat_out = out.reshape(-1)
    flats = [a.reshape(-1) for a in arrays]
    if out.size <= ELEMENT_CHUNK:
        fn(0, flat_out, *flats)
        return out

    def chunk(worker, i0, i1):
        fn(worker, flat_out[i0:i1], *(f[i0:i1] for f in flats))

    run_chunks(chunk, out.size, ELEMENT_CHUNK)
    return out


_local = threading.local()


_all_states: list = []  # every thread's state, for clear_scratch


def _thread_state() -> dict:
    state = getattr(_local, "state", None)
    if state is None:
        state = _local.state = {"depth": 0, "buffers": {}}
        with _lock:
            _all_states.append(state)
    return state


def scratch(tag: str, shape, dtype) -> np.ndarray:
    """A reusable uninitialised array for ``tag``: grown when too small, so steady-state
    training allocates nothing for it. Its content is garbage on return.

    Workspaces belong to the calling thread and chunk nesting depth, so two threads (or a
    kernel called inside a chunk) never share one.
    """
    state = _thread_state()
    dtype = np.dtype(dtype)
    size = math.prod(shape)
    key = (state["depth"], tag, dtype)
    buffers = state["buffers"]
    buf = buffers.get(key)
    if buf is None or buf.size < size:
        buf = buffers[key] = np.empty(max(size, 1), dtype)
    return buf[:size].reshape(shape)


def clear_scratch() -> None:
    """Free every thread's workspaces (made again, at the sizes needed, on next use); call
    it between steps, when no kernel is running -- after a model on very large images,
    say."""
    with _lock:
        for state in _all_states:
            state["buffers"].clear()
