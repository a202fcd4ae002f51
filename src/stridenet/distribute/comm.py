"""The few collective operations data-parallel training needs, on mpi4py.

Arrays travel through MPI's buffer interface (no pickling of arrays); small Python values
(names, shapes, counts) through mpi4py's object collectives. Every operation is a
collective: all ranks must call it in the same order.
"""

from __future__ import annotations

import faulthandler
import os
import sys
import time
import traceback

import numpy as np

_QUIET_RANK_WAIT = 10.0  # seconds a rank that does not print waits for rank 0's abort
START_TIMEOUT_VAR = "STRIDENET_MPI_START_TIMEOUT"
_DEFAULT_START_TIMEOUT = 120.0


def start_timeout() -> float:
    """Seconds a rank waits in MPI's start-up for the other ranks (0: forever)."""
    raw = os.environ.get(START_TIMEOUT_VAR, "").strip()
    if not raw:
        return _DEFAULT_START_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0:  # also NaN
        raise ValueError(f"{START_TIMEOUT_VAR} must be a number of seconds >= 0 (0: wait "
                         f"forever), got {raw!r}")
    return value


def _mpi():
    if "mpi4py.MPI" in sys.modules:
        return sys.modules["mpi4py.MPI"]
    # MPI's start-up waits for every rank the launcher started; a rank that failed before
    # it (an import error, a bad argument) would leave the others waiting forever, inside
    # a C call that holds the GIL, where no Python thread or signal handler can run.
    # faulthandler's timer runs in its own C thread: it prints where this rank was
    # stopped (the frame names below say what it waited for) and exits, and the launcher
    # then ends the job.
    timeout = start_timeout()
    if timeout:
        faulthandler.dump_traceback_later(timeout, exit=True)
    try:
        return _waiting_for_every_rank_to_start_mpi_see_the_other_ranks_errors()
    finally:
        if timeout:
            faulthandler.cancel_dump_traceback_later()


def _waiting_for_every_rank_to_start_mpi_see_the_other_ranks_errors():
    try:
        from mpi4py import MPI
    except ImportError as err:  # optional dependency
        raise ImportError('this process was started by an MPI launcher with several ranks, '
                          'which needs mpi4py: pip install "stridenet[dist]" (on a cluster, '
                          'mpi4py built against the cluster\'s MPI)') from err
    return MPI


class Communicator:
    """A world of ``size`` ranks; this one is ``rank``. ``local_size`` ranks share its node."""

    def __init__(self, comm):
        MPI = _mpi()
        self._MPI = MPI
        self._comm = comm
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()
        node = comm.Split_type(MPI.COMM_TYPE_SHARED)
        self.local_rank, self.local_size = node.Get_rank(), node.Get_size()
        node.Free()

    @classmethod
    def world(cls) -> Communicator:
        return cls(_mpi().COMM_WORLD)

    # -- arrays -----------------------------------------------------------------
    def broadcast_(self, array: np.ndarray, root: int = 0) -> np.ndarray:
        """Overwrite ``array`` (C-contiguous) with root's, in place; returns it."""
        self._comm.Bcast(_buffer(array), root=root)
        return array

    def allreduce_sum_(self, array: np.ndarray) -> np.ndarray:
        """Replace ``array`` (C-contiguous) by its sum over all ranks, in place."""
        self._comm.Allreduce(self._MPI.IN_PLACE, _buffer(array), op=self._MPI.SUM)
        return array

    def allgather_arrays(self, array: np.ndarray) -> list[np.ndarray]:
        """Every rank's ``array`` (same dtype and trailing shape, any length), in rank order."""
        array = np.ascontiguousarray(array)
        counts = self.allgather(int(array.shape[0]))
        tail = array.shape[1:]
        out = np.empty((sum(counts), *tail), array.dtype)
        per_row = int(np.prod(tail, dtype=np.int64))
        sizes = [c * per_row for c in counts]
        self._comm.Allgatherv(_buffer(array), [_buffer(out), sizes])
        bounds = np.cumsum([0, *counts])
        return [out[bounds[i]:bounds[i + 1]] for i in range(self.size)]

    # -- small values -------------------------------------------------------------
    def allgather(self, value) -> list:
        """Every rank's ``value`` (a small Python object), in rank order."""
        return self._comm.allgather(value)

    def broadcast(self, value, root: int = 0):
        return self._comm.bcast(value, root=root)

    def sum(self, values) -> np.ndarray:
        """Elementwise sum over ranks of a few float64 numbers."""
        return self.allreduce_sum_(np.array(values, dtype=np.float64))

    def barrier(self) -> None:
        self._comm.Barrier()

    # -- failure -------------------------------------------------------------------
    def abort(self, error: BaseException, code: int = 1) -> None:
        """Print ``error`` (from this rank) and end every rank: the others would otherwise
        wait forever in their next collective. An error that every rank raised alike
        (``same_on_all_ranks``) is printed by rank 0 only. Never returns."""
        tag = f"[rank {self.rank}/{self.size}]"
        if isinstance(error, KeyboardInterrupt):
            message = f"{tag} interrupted: stopping all ranks"
        elif getattr(error, "same_on_all_ranks", False) and self.rank != 0:
            message = None
        else:
            detail = "".join(traceback.format_exception(error)).rstrip()
            message = f"{detail}\n{tag} {type(error).__name__}: {error}\n{tag} stopping all ranks"
        if message:
            print(message, file=sys.stderr, flush=True)
        else:  # let rank 0 print before its abort ends this rank; abort anyway if it does not
            time.sleep(_QUIET_RANK_WAIT)
        sys.stdout.flush()
        self._comm.Abort(code)
        os._exit(code)  # MPI_Abort may return before the launcher ends this process


def _buffer(array: np.ndarray):
    if not array.flags.c_contiguous:
        raise ValueError(f"MPI buffers must be C-contiguous; got an array of shape "
                         f"{array.shape} with strides {array.strides}")
    return array
