"""Learning-rate schedules (Keras names): a schedule maps the optimizer step to a learning rate.

An optimizer built with a schedule evaluates it at ``optimizer.iterations`` -- the number of
updates already applied, so the first update uses ``schedule(0)``.
"""

from __future__ import annotations

import math
import numbers

from ..autograd import Tensor
from ..ops._checks import finite_number


class LearningRateSchedule:
    """Base class: subclasses implement ``__call__(step) -> float`` and ``get_config()``."""

    def __call__(self, step) -> float:  # pragma: no cover - interface
        raise NotImplementedError(f"{type(self).__name__} must implement __call__(step)")

    def get_config(self) -> dict:  # pragma: no cover - interface
        raise NotImplementedError(f"{type(self).__name__} must implement get_config()")

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({args})"


def _step(step, schedule: str) -> float:
    if isinstance(step, Tensor):  # a 0-d Tensor or array is accepted too
        step = step.data
    try:
        value = float(step)
    except (TypeError, ValueError):
        raise TypeError(f"{schedule}: step must be a number, got {step!r}") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{schedule}: step must be a finite number >= 0, got {step!r}")
    return value


def _steps(value, name: str, schedule: str, allow_zero: bool = False) -> int | float:
    """A step count: an int (or an integral float) > 0 (>= 0 with ``allow_zero``)."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise TypeError(f"{schedule}: {name} must be a number, got {value!r}")
    if not math.isfinite(float(value)) or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{schedule}: {name} must be a finite number {bound}, got {value!r}")
    return value


class ExponentialDecay(LearningRateSchedule):
    """``lr(step) = initial_learning_rate * decay_rate ** (step / decay_steps)``.

    With ``staircase=True`` the exponent is ``floor(step / decay_steps)``: the rate drops
    by ``decay_rate`` once every ``decay_steps`` steps.
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="ExponentialDecay"):
        cls = type(self).__name__
        self.initial_learning_rate = finite_number(initial_learning_rate,
                                                   "initial_learning_rate", cls, lo=0.0)
        self.decay_steps = _steps(decay_steps, "decay_steps", cls)
        self.decay_rate = finite_number(decay_rate, "decay_rate", cls, lo=0.0, lo_open=True)
        if not isinstance(staircase, bool):
            raise TypeError(f"{cls}: staircase must be a bool, got {staircase!r}")
        self.staircase = staircase
        self.name = name

    def __call__(self, step) -> float:
        p = _step(step, type(self).__name__) / self.decay_steps
        if self.staircase:
            p = math.floor(p)
        return self.initial_learning_rate * self.decay_rate ** p

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class CosineDecay(LearningRateSchedule):
    """Optional linear warm-up, then a half cosine down to ``alpha`` times the peak.

    Warm-up (only when ``warmup_target`` is given), for ``step < warmup_steps``::

        lr = initial_learning_rate + (warmup_target - initial_learning_rate) * step / warmup_steps

    Decay from ``peak`` (``warmup_target``, or ``initial_learning_rate`` without warm-up),
    with ``s = min(step - warmup_steps, decay_steps)``::

        lr = peak * ((1 - alpha) * 0.5 * (1 + cos(pi * s / decay_steps)) + alpha)

    so the rate stays at ``alpha * peak`` once the decay is over.
    """

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay",
                 warmup_target=None, warmup_steps=0):
        cls = type(self).__name__
        self.initial_learning_rate = finite_number(initial_learning_rate,
                                                   "initial_learning_rate", cls, lo=0.0)
        self.decay_steps = _steps(decay_steps, "decay_steps", cls)
        self.alpha = finite_number(alpha, "alpha", cls, lo=0.0, hi=1.0)
        self.warmup_target = (None if warmup_target is None else
                              finite_number(warmup_target, "warmup_target", cls, lo=0.0))
        self.warmup_steps = _steps(warmup_steps, "warmup_steps", cls, allow_zero=True)
        self.name = name

    def _decay(self, step: float, peak: float) -> float:
        cosine = 0.5 * (1.0 + math.cos(math.pi * step / self.decay_steps))
        return peak * ((1.0 - self.alpha) * cosine + self.alpha)

    def __call__(self, step) -> float:
        step = _step(step, type(self).__name__)
        if self.warmup_target is None:
            return self._decay(min(step, self.decay_steps), self.initial_learning_rate)
        step = min(step, self.decay_steps + self.warmup_steps)
        if step < self.warmup_steps:
            delta = self.warmup_target - self.initial_learning_rate
            return delta * (step / self.warmup_steps) + self.initial_learning_rate
        return self._decay(step - self.warmup_steps, self.warmup_target)

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha, "name": self.name,
                "warmup_target": self.warmup_target, "warmup_steps": self.warmup_steps}


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[0]`` while ``step <= boundaries[0]``, ``values[i]`` while
    ``boundaries[i-1] < step <= boundaries[i]``, and ``values[-1]`` after the last boundary.
    """

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        cls = type(self).__name__
        boundaries, values = list(boundaries), list(values)
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                f"{cls}: values must have one more entry than boundaries, got "
                f"{len(boundaries)} boundaries {boundaries} and {len(values)} values {values}")
        for b in boundaries:
            finite_number(b, "boundaries", cls)
        if any(b1 >= b2 for b1, b2 in zip(boundaries, boundaries[1:])):
            raise ValueError(f"{cls}: boundaries must be strictly increasing, got {boundaries}")
        self.boundaries = boundaries
        self.values = [finite_number(v, "values", cls, lo=0.0) for v in values]
        self.name = name

    def __call__(self, step) -> float:
        step = _step(step, type(self).__name__)
        # the index of the interval: how many boundaries lie strictly below the step
        i = sum(1 for b in self.boundaries if step > b)
        return self.values[i]

    def get_config(self) -> dict:
        return {"boundaries": list(self.boundaries), "values": list(self.values),
                "name": self.name}


_BY_NAME = {cls.__name__.lower(): cls
            for cls in (ExponentialDecay, CosineDecay, PiecewiseConstantDecay)}


def serialize(schedule: LearningRateSchedule) -> dict:
    """``{"class_name": ..., "config": ...}`` (JSON-compatible)."""
    if not isinstance(schedule, LearningRateSchedule):
        raise TypeError(f"expected a LearningRateSchedule, got {schedule!r}")
    return {"class_name": type(schedule).__name__, "config": schedule.get_config()}


def deserialize(config: dict, custom_objects: dict | None = None) -> LearningRateSchedule:
    """The schedule described by ``serialize``'s output."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"a schedule config needs 'class_name' and 'config', got {config!r}")
    name = config["class_name"]
    cls = (custom_objects or {}).get(name) or _BY_NAME.get(str(name).lower())
    if cls is None:
        raise ValueError(f"unknown learning rate schedule {name!r}; known: "
                         f"{sorted(c.__name__ for c in _BY_NAME.values())}")
    return cls.from_config(dict(config.get("config", {})))


__all__ = ["CosineDecay", "ExponentialDecay", "LearningRateSchedule",
           "PiecewiseConstantDecay", "deserialize", "serialize"]
