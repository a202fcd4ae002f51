"""Which process of a data-parallel run this is, found without importing MPI.

``mpiexec``/``mpirun`` (MPICH, Open MPI, Intel MPI, MVAPICH) and ``srun`` tell each
process the size of its world through environment variables. Only when one of them says
more than one process is mpi4py imported: a plain ``python train.py`` never touches MPI.
``STRIDENET_DISTRIBUTED=0`` turns data parallelism off even under a launcher.
"""

from __future__ import annotations

import contextlib
import os
import threading

# (variable holding the world size, its rank variable), in the order launchers are tried
_LAUNCHER_VARS = (
    ("PMI_SIZE", "PMI_RANK"),                          # MPICH / Intel MPI (hydra), srun PMI-2
    ("OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK"),  # Open MPI
    ("PMIX_SIZE", "PMIX_RANK"),                        # PMIx launchers
    ("MV2_COMM_WORLD_SIZE", "MV2_COMM_WORLD_RANK"),    # MVAPICH
)

_state: dict = {"comm": None, "checked": False}
_step = threading.local()  # this thread's step reducer and local-only flag


def launcher_world_size() -> int:
    """The number of processes the launcher started (1 without a launcher)."""
    if os.environ.get("STRIDENET_DISTRIBUTED", "").strip().lower() in ("0", "false", "no"):
        return 1
    for size_var, _ in _LAUNCHER_VARS:
        value = os.environ.get(size_var, "")
        if value.strip().isdigit():
            return int(value)
    return 1


def get_comm():
    """The data-parallel communicator, or ``None`` for a single process.

    The first call under a launcher imports mpi4py and sizes each rank's kernel thread pool
    to its node's cores divided by the ranks on that node (unless STRIDENET_NUM_THREADS
    says otherwise)."""
    if getattr(_step, "local", False):
        return None
    if not _state["checked"]:
        _state["checked"] = True
        if launcher_world_size() > 1:
            from .comm import Communicator  # mpi4py is imported here, and only here

            comm = Communicator.world()
            if comm.size > 1:
                _state["comm"] = comm
                _share_cores(comm)
    return _state["comm"]


def _share_cores(comm) -> None:
    from ..ops.kernels import parallel

    if os.environ.get("STRIDENET_NUM_THREADS"):
        return
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else \
        (os.cpu_count() or 1)
    # ranks bound to disjoint cores by the launcher each see only their own: keep them all
    share = cores if cores < (os.cpu_count() or cores) else max(1, cores // comm.local_size)
    parallel.set_num_workers(share)


@contextlib.contextmanager
def local_only():
    """Within the block this thread works as a single process: fit, evaluate and predict
    make no collective calls. For work only rank 0 does (figures, a report) that must not
    wait for ranks that are not doing it."""
    previous = getattr(_step, "local", False)
    _step.local = True
    try:
        yield
    finally:
        _step.local = previous


def is_distributed() -> bool:
    """True when this process is one of several ranks training together."""
    return get_comm() is not None


def rank() -> int:
    """This process's rank (0 without MPI)."""
    comm = get_comm()
    return 0 if comm is None else comm.rank


def size() -> int:
    """The number of ranks (1 without MPI)."""
    comm = get_comm()
    return 1 if comm is None else comm.size


def is_chief() -> bool:
    """True on the rank that prints and writes files (rank 0, or a single process)."""
    return rank() == 0


@contextlib.contextmanager
def synchronized_statistics(reducer):
    """Within the block (one training step's forward and backward pass), layers built with
    ``synchronized=True`` pool their batch statistics over the ranks through ``reducer``."""
    previous = getattr(_step, "reducer", None)
    _step.reducer = reducer
    try:
        yield
    finally:
        _step.reducer = previous


def step_reducer():
    """The statistics reducer of the running multi-rank training step, or None."""
    return getattr(_step, "reducer", None)


def _reset_for_tests(comm=None) -> None:
    """Forget (or inject) the communicator: tests run fit as if under a launcher."""
    _state["comm"], _state["checked"] = comm, comm is not None
