"""Data-parallel training (SPEC section 8): what ``fit`` does differently on several ranks.

Every rank holds the whole model. At the start rank 0's weights, optimizer state and
shuffle seed go to every rank. Each global batch of B samples (one shuffled order, the
same on every rank) is cut into shares, one per rank; rank r computes the gradients of
its share's mean loss, scales them by n_r / B, and one allreduce of all gradients packed
into one buffer sums them: exactly the gradient of the global batch's mean loss, so N
ranks with batch B compute the update of one process with batch B, up to the order of
floating-point sums. Every rank then applies the same optimizer step, and the weights
stay identical, bit for bit.
"""

from __future__ import annotations

import contextlib

import numpy as np

from .world import synchronized_statistics


class RanksDisagree(ValueError):
    """The ranks built different models: every rank finds it out alike."""

    same_on_all_ranks = True  # printed once, by rank 0, when the ranks stop


def share_bounds(n: int, ranks: int) -> list[tuple[int, int]]:
    """``[start, stop)`` of each rank's share of ``n`` samples: equal sizes, the first
    ``n % ranks`` ranks one more. A share may be empty when ``n < ranks``."""
    base, extra = divmod(n, ranks)
    bounds, start = [], 0
    for r in range(ranks):
        stop = start + base + (1 if r < extra else 0)
        bounds.append((start, stop))
        start = stop
    return bounds


class StatReducer:
    """Sums per-channel statistics over the ranks for synchronised batch normalisation.

    ``weight`` is this rank's n_r / B for the step: the backward pass pools sums of
    gradients of the global batch's loss, which are this rank's own times its weight."""

    def __init__(self, comm, weight: float):
        self.comm, self.weight = comm, weight

    def sum(self, arrays) -> list[np.ndarray]:
        """Each float64 array summed over the ranks, in one allreduce."""
        flat = np.concatenate([np.ravel(a) for a in arrays]).astype(np.float64)
        self.comm.allreduce_sum_(flat)
        out, start = [], 0
        for a in arrays:
            out.append(flat[start:start + np.size(a)].reshape(np.shape(a)))
            start += np.size(a)
        return out


class DataParallel:
    """The collective steps of one data-parallel ``fit``/``evaluate``/``predict``."""

    def __init__(self, comm):
        self.comm = comm
        self.rank, self.size = comm.rank, comm.size
        self._bucket = None  # one flat buffer for every gradient, reused across steps
        self._layout = None

    # -- the start ----------------------------------------------------------------------
    def check_same_model(self, variables, what: str = "model") -> None:
        """Fail on every rank, with the same clear message, when the ranks built
        different models (another architecture, another input shape)."""
        mine = [(v.name, tuple(v.shape), str(v.data.dtype)) for v in variables]
        every = self.comm.allgather(mine)
        for r, theirs in enumerate(every):
            if theirs != every[0]:
                counts = [sum(int(np.prod(s)) for _, s, _ in t) for t in every]
                first = next((f"{a} != {b}" for a, b in zip(every[0], theirs) if a != b),
                             f"{len(every[0])} != {len(theirs)} weights")
                raise RanksDisagree(
                    f"the ranks disagree on the {what}: parameter counts per rank {counts}; "
                    f"rank 0 vs rank {r}: {first}. Every rank must build the same model.")

    def broadcast_state(self, variables, optimizer=None, extra: dict | None = None) -> dict:
        """Rank 0's weights (and optimizer state, and the small values in ``extra``) on
        every rank; returns rank 0's ``extra``."""
        for v in variables:
            data = np.ascontiguousarray(v.data)
            self.comm.broadcast_(data)
            if data is not v.data:
                v.assign(data)
        if optimizer is not None:
            state = optimizer.get_state()
            names = self.comm.allgather(sorted(state))
            if any(n != names[0] for n in names):
                raise RanksDisagree(f"the ranks disagree on the optimizer state: "
                                 f"{[len(n) for n in names]} arrays per rank")
            if state:
                arrays = {k: np.array(state[k], copy=True, order="C") for k in names[0]}
                for k in names[0]:
                    self.comm.broadcast_(arrays[k])
                optimizer.set_state(arrays)
        return self.comm.broadcast(extra or {})

    # -- each step ------------------------------------------------------------------------
    def share(self, idx: np.ndarray) -> tuple[np.ndarray, float]:
        """This rank's part of a global batch's sample indices, and its weight n_r / B."""
        start, stop = share_bounds(len(idx), self.size)[self.rank]
        return idx[start:stop], (stop - start) / max(len(idx), 1)

    @contextlib.contextmanager
    def step(self, weight: float):
        """One step's forward and backward pass: synchronised batch norms see the ranks."""
        with synchronized_statistics(StatReducer(self.comm, weight)):
            yield

    def average_gradients(self, variables, scale: float) -> list[np.ndarray]:
        """Sum over ranks of ``scale * grad`` for every variable, through one buffer.

        A variable without a gradient on this rank (an empty share, a branch not used)
        adds zeros. Returns the summed gradients as views of the buffer, in order.
        """
        layout = [(tuple(v.shape), v.data.dtype) for v in variables]
        if layout != self._layout:
            dtype = np.result_type(np.float32, *(d for _, d in layout))
            total = sum(int(np.prod(s)) for s, _ in layout)
            self._bucket, self._layout = np.empty(total, dtype), layout
        bucket, views, start = self._bucket, [], 0
        for v, (shape, _) in zip(variables, layout):
            size = int(np.prod(shape))
            view = bucket[start:start + size]
            if v.grad is None:
                view[:] = 0
            else:
                np.multiply(v.grad.reshape(-1), scale, out=view)
            views.append(view.reshape(shape))  # (n,) -> the variable's shape
            start += size
        self.comm.allreduce_sum_(bucket)
        return views

    # -- logs and results -------------------------------------------------------------------
    def weighted_means(self, values: dict, weight: float) -> dict:
        """Means over ranks of each number in ``values``, each rank weighted by ``weight``
        (its sample count): what one process would have shown for all the samples."""
        keys = sorted(values)
        sums = self.comm.sum([float(values[k]) * weight for k in keys] + [float(weight)])
        total = sums[-1]
        return {k: (sums[i] / total if total else float(values[k])) for i, k in enumerate(keys)}

    def any(self, flag: bool) -> bool:
        """True on every rank when ``flag`` is true on any rank (e.g. stop training)."""
        return bool(self.comm.sum([1.0 if flag else 0.0])[0] > 0)

    def gather_rows(self, array: np.ndarray) -> np.ndarray:
        """The rows of every rank's ``array``, in rank order (sharded predictions)."""
        return np.concatenate(self.comm.allgather_arrays(array), axis=0)
