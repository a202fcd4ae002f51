"""Weight initializers with Keras 3 names and defaults.

Fans follow Keras: a kernel of shape (..., fan_in_channels, fan_out_channels) has
receptive field r = prod(shape[:-2]), fan_in = r * shape[-2], fan_out = r * shape[-1].
Each initializer draws from its own seed, or from the global generator
(``stridenet.utils.set_random_seed``) when none is given.
"""

from __future__ import annotations

import math

import numpy as np

from . import config
from .seeding import make_generator


def compute_fans(shape) -> tuple[int, int]:
    shape = tuple(shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[:-2]) if len(shape) > 2 else 1
    return receptive * shape[-2], receptive * shape[-1]


class Initializer:
    def __call__(self, shape, dtype=None) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class Constant(Initializer):
    def __init__(self, value=0.0):
        self.value = float(value)

    def __call__(self, shape, dtype=None):
        return np.full(shape, self.value, dtype=dtype or config.floatx())

    def get_config(self):
        return {"value": self.value}


class Zeros(Constant):
    def __init__(self):
        super().__init__(0.0)

    def get_config(self):
        return {}


class Ones(Constant):
    def __init__(self):
        super().__init__(1.0)

    def get_config(self):
        return {}


class _Random(Initializer):
    def __init__(self, seed=None):
        self.seed = seed
        # An int seed gives one fixed stream for this object, as in Keras.
        self._rng = None if seed is None else make_generator(seed)

    def _gen(self):
        return self._rng if self._rng is not None else make_generator(None)

    def get_config(self):
        return {"seed": self.seed if isinstance(self.seed, int) else None}


class RandomNormal(_Random):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def __call__(self, shape, dtype=None):
        a = self._gen().normal(self.mean, self.stddev, size=shape)
        return a.astype(dtype or config.floatx())

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, **super().get_config()}


class RandomUniform(_Random):
    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        super().__init__(seed)
        self.minval, self.maxval = minval, maxval

    def __call__(self, shape, dtype=None):
        a = self._gen().uniform(self.minval, self.maxval, size=shape)
        return a.astype(dtype or config.floatx())

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, **super().get_config()}


class VarianceScaling(_Random):
    """Draw with variance ``scale / n`` where n is fan_in, fan_out or their mean."""

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        super().__init__(seed)
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"mode must be fan_in, fan_out or fan_avg, got {mode!r}")
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform"):
            raise ValueError(f"unknown distribution {distribution!r}")
        if not scale > 0:
            raise ValueError(f"scale must be positive, got {scale!r}")
        self.scale, self.mode, self.distribution = scale, mode, distribution

    def __call__(self, shape, dtype=None):
        fan_in, fan_out = compute_fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        var = self.scale / max(1.0, n)
        g = self._gen()
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * var)  # Var(U(-l, l)) = l^2 / 3
            a = g.uniform(-limit, limit, size=shape)
        elif self.distribution == "untruncated_normal":
            a = g.normal(0.0, math.sqrt(var), size=shape)
        else:
            # Normal truncated at two standard deviations; 0.8796... is the stddev of the
            # standard normal truncated to [-2, 2], divided out so the variance is `var`.
            std = math.sqrt(var) / 0.87962566103423978
            a = g.normal(0.0, 1.0, size=shape)
            bad = np.abs(a) > 2
            while bad.any():  # redraw the tails
                a[bad] = g.normal(0.0, 1.0, size=int(bad.sum()))
                bad = np.abs(a) > 2
            a *= std
        return a.astype(dtype or config.floatx())

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                **super().get_config()}


class GlorotUniform(VarianceScaling):
    def __init__(self, seed=None):
        super().__init__(1.0, "fan_avg", "uniform", seed)

    def get_config(self):
        return {"seed": self.seed if isinstance(self.seed, int) else None}


class GlorotNormal(VarianceScaling):
    def __init__(self, seed=None):
        super().__init__(1.0, "fan_avg", "truncated_normal", seed)

    get_config = GlorotUniform.get_config


class HeNormal(VarianceScaling):
    def __init__(self, seed=None):
        super().__init__(2.0, "fan_in", "truncated_normal", seed)

    get_config = GlorotUniform.get_config


class HeUniform(VarianceScaling):
    def __init__(self, seed=None):
        super().__init__(2.0, "fan_in", "uniform", seed)

    get_config = GlorotUniform.get_config


class LecunNormal(VarianceScaling):
    def __init__(self, seed=None):
        super().__init__(1.0, "fan_in", "truncated_normal", seed)

    get_config = GlorotUniform.get_config


class LecunUniform(VarianceScaling):
    def __init__(self, seed=None):
        super().__init__(1.0, "fan_in", "uniform", seed)

    get_config = GlorotUniform.get_config


_BY_NAME = {
    "zeros": Zeros, "ones": Ones, "constant": Constant, "random_normal": RandomNormal,
    "random_uniform": RandomUniform, "variance_scaling": VarianceScaling,
    "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal, "he_normal": HeNormal,
    "he_uniform": HeUniform, "lecun_normal": LecunNormal, "lecun_uniform": LecunUniform,
}
_CLASS_TO_NAME = {cls.__name__: name for name, cls in _BY_NAME.items()}


def get(identifier) -> Initializer:
    """An initializer from a name ("glorot_uniform"), a config dict, an instance or a callable."""
    if isinstance(identifier, Initializer) or callable(identifier) and not isinstance(
        identifier, type | str
    ):
        return identifier
    if isinstance(identifier, str):
        key = identifier.lower()
        key = _CLASS_TO_NAME.get(identifier, key)
        if key not in _BY_NAME:
            raise ValueError(f"unknown initializer {identifier!r}; known: {sorted(_BY_NAME)}")
        return _BY_NAME[key]()
    if isinstance(identifier, dict) and "class_name" in identifier:
        name = _CLASS_TO_NAME.get(identifier["class_name"], identifier["class_name"])
        if name not in _BY_NAME:
            raise ValueError(f"unknown initializer {identifier['class_name']!r}")
        return _BY_NAME[name].from_config(identifier.get("config", {}))
    raise ValueError(f"cannot interpret {identifier!r} as an initializer")


def serialize(init) -> dict:
    return {"class_name": type(init).__name__, "config": init.get_config()}
