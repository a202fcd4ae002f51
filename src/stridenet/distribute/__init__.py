"""Data-parallel training over MPI (SPEC section 8).

Launch an ordinary training script on several processes -- ``mpiexec -n 4 python
train.py`` or ``mpiexec -n 4 stridenet train mnist`` -- and ``fit`` trains one model on
all of them: rank 0's weights are broadcast, each global batch is shared out, gradients
are averaged with one allreduce, and only rank 0 prints and writes files. One process,
or no launcher, changes nothing and imports nothing of MPI. Install with the ``dist``
extra (mpi4py and MPICH wheels); on a cluster, build mpi4py against the cluster's MPI.
"""

from .data_parallel import DataParallel, share_bounds
from .world import get_comm, is_chief, is_distributed, launcher_world_size, rank, size

__all__ = ["DataParallel", "get_comm", "is_chief", "is_distributed", "launcher_world_size",
           "rank", "share_bounds", "size"]
