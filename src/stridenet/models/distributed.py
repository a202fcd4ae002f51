"""``fit``, ``evaluate`` and ``predict`` on several MPI ranks (see stridenet.distribute).

Launched with one process, none of this runs and nothing MPI is imported. Under
``mpiexec -n N`` every rank runs the same script; these helpers make one model's
training out of the N processes: rank 0's state broadcast at the start, each global batch
shared out, the gradients summed by one allreduce, logs averaged, only rank 0 printing
and writing files, and a failure on any rank ending all of them instead of a hang.
"""

from __future__ import annotations

import contextlib

import numpy as np

from ..autograd import no_grad
from ..distribute.data_parallel import DataParallel, share_bounds
from ..distribute.world import get_comm
from . import data_adapter as D


def data_parallel(model):
    """The model's DataParallel under a multi-rank launch, else None (built once)."""
    comm = get_comm()
    if comm is None:
        return None
    dp = getattr(model, "_data_parallel", None)
    if dp is None or dp.comm is not comm:
        dp = model._data_parallel = DataParallel(comm)
    return dp


@contextlib.contextmanager
def all_or_none(dp):
    """Run the block; if it raises on this rank, print the error once and end every rank
    (the others would wait forever in their next allreduce)."""
    if dp is None:
        yield
        return
    try:
        yield
    except BaseException as error:  # Ctrl-C too: the other ranks cannot go on alone
        dp.comm.abort(error)
        raise


def start_training(model, dp, x, base_seed: int) -> int:
    """Build the model if a first batch has not, check every rank has the same one, and
    give every rank rank 0's weights, optimizer state and shuffle seed."""
    if not model.built or not model.weights:
        with no_grad():
            model(D.take(x, slice(0, 1)), training=False)
    dp.check_same_model(model.weights)
    extra = dp.broadcast_state(model.weights, model.optimizer, {"shuffle_seed": int(base_seed)})
    return int(extra["shuffle_seed"])


def chief_callbacks(dp, callbacks):
    """Callbacks that write files (``writes_files = True``) run on rank 0 only."""
    if dp is None or dp.rank == 0:
        return callbacks
    return [cb for cb in callbacks or [] if not getattr(cb, "writes_files", False)]


def train_step(model, dp, x, y, sample_weight, idx):
    """One step on this rank's share of the global batch ``idx``.

    Returns (share loss, share predictions or None, share size). The gradients of the
    share's mean loss, scaled by n_r / B and summed over ranks, are the gradients of the
    global batch's mean loss, applied by the same optimizer step on every rank."""
    if len(idx) < dp.size and _synchronized(model):
        # a rank without samples could not take part in the statistics' allreduces: the
        # last global batch of an epoch, when smaller than the ranks, is left out
        return 0.0, None, idx[:0]
    mine, scale = dp.share(idx)
    trainable = model.trainable_weights
    loss, y_pred = 0.0, None
    if len(mine):
        with dp.step(scale):
            loss, y_pred = model._forward_backward(D.take(x, mine), y[mine],
                                                   D.take(sample_weight, mine))
    grads = dp.average_gradients(trainable, scale)
    model.optimizer.apply(grads, trainable)
    for p in trainable:
        p.grad = None
    return loss, y_pred, mine


def _synchronized(model) -> bool:
    return any(getattr(layer, "synchronized", False) for layer in model._all_layers())


def shard(dp, x, y=None, sample_weight=None):
    """This rank's contiguous part of a data set (evaluate/predict), and its size."""
    start, stop = share_bounds(D.count(x), dp.size)[dp.rank]
    part = slice(start, stop)
    return D.take(x, part), D.take(y, part), D.take(sample_weight, part), stop - start


def gather_predictions(dp, local):
    """Every rank's predictions, in sample order, on every rank."""
    if isinstance(local, list):
        return [dp.gather_rows(np.ascontiguousarray(a)) for a in local]
    return dp.gather_rows(np.ascontiguousarray(local))
