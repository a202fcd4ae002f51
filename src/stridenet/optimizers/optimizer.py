"""``Optimizer``: the Keras 3 optimizer protocol on NumPy arrays, updated in place.

One update (``apply``), in Keras 3's order:

1. drop variables whose gradient is None;
2. clip the gradients (``clipnorm`` per variable, ``global_clipnorm`` over all, or
   ``clipvalue`` elementwise -- at most one of them);
3. decoupled weight decay ``p -= p * weight_decay * lr`` (every optimizer, as in Keras);
4. the optimizer's own rule (``_update``) on each variable, with ``lr`` taken from the
   schedule at ``iterations`` when the learning rate is a schedule;
5. ``iterations += 1``.

Per-variable state ("slots": momentum, velocity, ...) is created on the first update of a
variable (or by ``build``), with the variable's shape and dtype. Slots belong to variables by
identity and are numbered in the order the variables were first seen; ``get_state`` and
``set_state`` exchange them as ``{"<slot>/<index>": array}`` plus ``iterations`` and the
learning rate, so a run resumed into a new optimizer (built on the same variables in the same
order) continues bit for bit.
"""

from __future__ import annotations

import math
import re

import numpy as np

from ..autograd import Tensor
from ..ops._checks import finite_number
from . import schedules as schedules_mod

# Keras base-optimizer arguments stridenet does not implement: accepted at their defaults only.
_UNSUPPORTED = {"use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None,
                "loss_scale_factor": None, "gradient_accumulation_steps": None}


def clip_by_norm(grad: np.ndarray, clipnorm: float) -> np.ndarray:
    """``grad * clipnorm / max(||grad||_2, clipnorm)``: the norm is capped at ``clipnorm``."""
    norm = float(np.linalg.norm(grad.ravel()))
    if norm <= clipnorm:
        return grad
    return grad * (clipnorm / norm) if math.isfinite(norm) else np.full_like(grad, np.nan)


def clip_by_global_norm(grads: list, clipnorm: float) -> list:
    """Every gradient times ``clipnorm / max(sqrt(sum_i ||g_i||^2), clipnorm)``.

    A non-finite global norm gives NaN gradients (as Keras does), so the problem shows.
    """
    total = math.sqrt(sum(float(np.linalg.norm(g.ravel())) ** 2 for g in grads))
    if total <= clipnorm:
        return grads
    scale = clipnorm / total if math.isfinite(total) else math.nan
    return [g * scale for g in grads]


class Optimizer:
    """Base class; subclasses define ``_slot_names()`` and ``_update(p, g, slots, lr)``."""

    _default_name = "optimizer"

    def __init__(self, learning_rate, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name=None, **kwargs):
        cls = type(self).__name__
        for key, default in _UNSUPPORTED.items():
            value = kwargs.pop(key, default)
            if value != default:
                raise NotImplementedError(f"{cls}: {key}={value!r} is not supported by stridenet")
        if kwargs:
            raise TypeError(f"{cls}: unexpected arguments {sorted(kwargs)}")
        self.name = self._default_name if name is None else str(name)
        self._learning_rate = self._check_learning_rate(learning_rate)
        self.weight_decay = self._optional(weight_decay, "weight_decay", lo=0.0)
        self.clipnorm = self._optional(clipnorm, "clipnorm", lo=0.0, lo_open=True)
        self.clipvalue = self._optional(clipvalue, "clipvalue", lo=0.0, lo_open=True)
        self.global_clipnorm = self._optional(global_clipnorm, "global_clipnorm", lo=0.0,
                                              lo_open=True)
        given = [k for k in ("clipnorm", "clipvalue", "global_clipnorm")
                 if getattr(self, k) is not None]
        if len(given) > 1:
            raise ValueError(f"{cls}: only one of clipnorm, clipvalue and global_clipnorm can "
                             f"be set, got {', '.join(given)}")
        self._iterations = 0
        self._variables: list = []      # registered variables, in first-seen order
        self._index: dict[int, int] = {}  # id(variable) -> its number
        self._slots: list[dict[str, np.ndarray]] = []
        self._pending: dict[int, dict[str, np.ndarray]] = {}  # set_state before build
        self._work: dict[tuple, np.ndarray] = {}  # (dtype, k) -> flat scratch buffer
        self._exclude_ids: set[int] = set()
        self._exclude_names: list[str] = []

    # -- hyper-parameters -------------------------------------------------------------
    def _optional(self, value, name, **bounds):
        return None if value is None else finite_number(value, name, type(self).__name__,
                                                        **bounds)

    def _flag(self, value, name) -> bool:
        if not isinstance(value, bool | np.bool_):
            raise TypeError(f"{type(self).__name__}: {name} must be a bool, got {value!r}")
        return bool(value)

    def _check_learning_rate(self, lr):
        if callable(lr):  # a LearningRateSchedule, or any function of the step
            return lr
        return finite_number(lr, "learning_rate", type(self).__name__, lo=0.0)

    @property
    def learning_rate(self) -> float:
        """The rate the next update uses (a schedule is evaluated at ``iterations``)."""
        lr = self._learning_rate
        if not callable(lr):
            return lr
        value = lr(self._iterations)
        try:
            value = float(value.data if isinstance(value, Tensor) else value)
        except (TypeError, ValueError):
            raise TypeError(f"{type(self).__name__}: the learning rate schedule returned "
                            f"{value!r}, not a number") from None
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{type(self).__name__}: the learning rate schedule returned "
                             f"{value!r} at step {self._iterations}; it must be finite, >= 0")
        return value

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        if not callable(value) and callable(self._learning_rate):
            raise TypeError(f"{type(self).__name__} was created with a learning rate schedule, "
                            "so its learning rate cannot be set to a number; create it with a "
                            "float learning_rate to make it settable")
        self._learning_rate = self._check_learning_rate(value)

    @property
    def iterations(self) -> int:
        """The number of updates applied so far."""
        return self._iterations

    def exclude_from_weight_decay(self, var_list=None, var_names=None) -> None:
        """Exempt these variables, and those whose name matches a ``var_names`` regex."""
        self._exclude_ids = {id(v) for v in (var_list or [])}
        self._exclude_names = list(var_names or [])

    def _decays(self, variable) -> bool:
        if id(variable) in self._exclude_ids:
            return False
        name = str(getattr(variable, "name", ""))
        return not any(re.search(pattern, name) for pattern in self._exclude_names)

    # -- variables and slots ----------------------------------------------------------
    def _slot_names(self) -> tuple[str, ...]:
        return ()

    def _register(self, variable) -> int:
        i = self._index.get(id(variable))
        if i is not None:
            return i
        if not isinstance(variable, Tensor) or not np.issubdtype(variable.dtype, np.floating):
            raise TypeError(f"{type(self).__name__}: variables must be stridenet Tensors holding "
                            f"floating point arrays, got {variable!r}")
        i = len(self._variables)
        slots = {n: np.zeros_like(variable.data) for n in self._slot_names()}
        for n, arr in self._pending.pop(i, {}).items():
            _copy_slot(slots[n], arr, f"{n}/{i}", type(self).__name__)
        self._variables.append(variable)
        self._index[id(variable)] = i
        self._slots.append(slots)
        return i

    def build(self, variables) -> None:
        """Create the slots of ``variables`` now, numbered in this order (Keras ``build``)."""
        for v in variables:
            self._register(v)

    @property
    def variables(self) -> list:
        """The variables this optimizer updates, in slot-number order."""
        return list(self._variables)

    def _scratch(self, like: np.ndarray, k: int = 0) -> np.ndarray:
        """A reusable work array shaped like ``like``: steady-state updates allocate nothing."""
        key = (like.dtype, k)
        buf = self._work.get(key)
        if buf is None or buf.size < like.size:
            buf = self._work[key] = np.empty(like.size, like.dtype)
        return buf[:like.size].reshape(like.shape)

    # -- updates ----------------------------------------------------------------------
    def apply(self, grads, variables=None) -> None:
        """Update ``variables`` in place from ``grads`` (None gradients are skipped)."""
        grads = list(grads)
        if variables is None:
            if len(grads) != len(self._variables):
                raise ValueError(f"{type(self).__name__}: apply(grads) without variables needs "
                                 f"one gradient per built variable ({len(self._variables)}), "
                                 f"got {len(grads)}")
            variables = self._variables
        variables = list(variables)
        if len(grads) != len(variables):
            raise ValueError(f"{type(self).__name__}: got {len(grads)} gradients for "
                             f"{len(variables)} variables")
        pairs = [(self._check_grad(g, v), v) for g, v in zip(grads, variables) if g is not None]
        if not pairs:
            return
        idx = [self._register(v) for _, v in pairs]
        gs = [g for g, _ in pairs]
        if self.clipnorm is not None:
            gs = [clip_by_norm(g, self.clipnorm) for g in gs]
        elif self.global_clipnorm is not None:
            gs = clip_by_global_norm(gs, self.global_clipnorm)
        elif self.clipvalue is not None:
            gs = [np.clip(g, -self.clipvalue, self.clipvalue) for g in gs]
        lr = self.learning_rate
        for g, (_, v), i in zip(gs, pairs, idx):
            p = v.data
            if self.weight_decay and self._decays(v):
                tmp = self._scratch(p)
                np.multiply(p, self.weight_decay * lr, out=tmp)  # decoupled: p -= wd * lr * p
                p -= tmp
            self._update(p, g, self._slots[i], lr)
        self._iterations += 1

    def _update(self, p: np.ndarray, g: np.ndarray, slots: dict, lr: float) -> None:
        raise NotImplementedError  # pragma: no cover - interface

    def _check_grad(self, g, variable) -> np.ndarray:
        g = np.asarray(g.data if isinstance(g, Tensor) else g)
        if not isinstance(variable, Tensor):
            raise TypeError(f"{type(self).__name__}: variables must be stridenet Tensors, "
                            f"got {variable!r}")
        data = variable.data
        if g.dtype == object or not np.issubdtype(g.dtype, np.number):
            raise TypeError(f"{type(self).__name__}: gradients must be numeric, got {g.dtype}")
        if g.shape != data.shape:
            name = getattr(variable, "name", None)
            what = f"variable {name!r}" if name else "its variable"
            raise ValueError(f"{type(self).__name__}: gradient of shape {g.shape} does not "
                             f"match {what} of shape {data.shape}")
        return g if g.dtype == data.dtype else g.astype(data.dtype)

    def apply_gradients(self, grads_and_vars) -> int:
        """Keras form: a list of ``(gradient, variable)`` pairs. Returns ``iterations``."""
        pairs = list(grads_and_vars)
        self.apply([g for g, _ in pairs], [v for _, v in pairs])
        return self._iterations

    def step(self, params) -> None:
        """PyTorch form: update ``params`` from their ``.grad`` (params without one are left)."""
        params = list(params)
        self.apply([p.grad for p in params], params)

    # -- state (checkpoints) ----------------------------------------------------------
    def get_state(self) -> dict[str, np.ndarray]:
        """Copies of everything an exact resume needs: plain arrays, no objects."""
        state = {"iterations": np.array(self._iterations, dtype=np.int64)}
        if not callable(self._learning_rate):
            state["learning_rate"] = np.array(self._learning_rate, dtype=np.float64)
        for i, slots in enumerate(self._slots):
            for n, arr in slots.items():
                state[f"{n}/{i}"] = arr.copy()
        for i, slots in self._pending.items():
            for n, arr in slots.items():
                state[f"{n}/{i}"] = arr.copy()
        return state

    def set_state(self, state: dict) -> None:
        """Load ``get_state``'s output; on any mismatch nothing changes (ValueError).

        Slots of variables not yet seen wait for them (numbered in first-seen order; call
        ``build(variables)`` first to fix the order). A saved learning rate replaces a float
        one (ReduceLROnPlateau may have changed it); a schedule is configuration, kept.
        """
        cls = type(self).__name__
        names = set(self._slot_names())
        per_var: dict[int, dict[str, np.ndarray]] = {}
        for key, value in state.items():
            if key in ("iterations", "learning_rate"):
                continue
            slot, _, index = str(key).rpartition("/")
            if slot not in names or not index.isdigit():
                raise ValueError(f"{cls}: unexpected state entry {key!r} (this optimizer keeps "
                                 f"{sorted(names) or 'no slots'} per variable)")
            per_var.setdefault(int(index), {})[slot] = np.asarray(value)
        for i, slots in per_var.items():
            if set(slots) != names:
                raise ValueError(f"{cls}: state for variable {i} has {sorted(slots)}, expected "
                                 f"{sorted(names)}")
        iterations = np.asarray(state.get("iterations", 0))
        if iterations.shape != () or not np.issubdtype(iterations.dtype, np.integer) \
                or int(iterations) < 0:
            raise ValueError(f"{cls}: state 'iterations' must be an integer >= 0, "
                             f"got {iterations!r}")
        for i, slots in per_var.items():  # check every shape before changing anything
            if i < len(self._slots):
                for n, arr in slots.items():
                    if arr.shape != self._slots[i][n].shape:
                        raise ValueError(f"{cls}: state {n}/{i} has shape {arr.shape}, but "
                                         f"variable {i} has shape {self._slots[i][n].shape}")
        if "learning_rate" in state and not callable(self._learning_rate):
            self._learning_rate = finite_number(float(np.asarray(state["learning_rate"])),
                                                "learning_rate", cls, lo=0.0)
        self._iterations = int(iterations)
        for i, slots in per_var.items():
            if i < len(self._slots):
                for n, arr in slots.items():
                    _copy_slot(self._slots[i][n], arr, f"{n}/{i}", cls)
            else:
                self._pending[i] = {n: np.array(arr) for n, arr in slots.items()}

    # -- config -----------------------------------------------------------------------
    def get_config(self) -> dict:
        lr = self._learning_rate
        if isinstance(lr, schedules_mod.LearningRateSchedule):
            lr = schedules_mod.serialize(lr)
        return {"name": self.name, "learning_rate": lr, "weight_decay": self.weight_decay,
                "clipnorm": self.clipnorm, "global_clipnorm": self.global_clipnorm,
                "clipvalue": self.clipvalue}

    @classmethod
    def from_config(cls, config: dict, custom_objects=None):
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules_mod.deserialize(config["learning_rate"],
                                                                custom_objects)
        return cls(**config)

    def __repr__(self) -> str:
        lr = self._learning_rate
        return f"<{type(self).__name__} learning_rate={lr!r} iterations={self._iterations}>"


def _copy_slot(dst: np.ndarray, src: np.ndarray, key: str, cls: str) -> None:
    if src.shape != dst.shape:
        raise ValueError(f"{cls}: state {key} has shape {src.shape}, but its variable has "
                         f"shape {dst.shape}")
    dst[...] = src
