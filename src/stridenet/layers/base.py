"""``Layer``: the Keras layer contract.

``__init__`` stores hyper-parameters as given; ``build(input_shape)`` creates the
weights once the input shape is known; ``call(inputs, training)`` computes with
ops only (no calculus here: gradients come from the ops' Functions). Calling a
layer on a ``SymbolicTensor`` records a functional-graph node instead of computing.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections import defaultdict

import numpy as np

from .. import config, initializers, regularizers
from ..autograd import Tensor
from .symbolic import SymbolicTensor, flatten_structure, is_symbolic
from .variable import Variable

_NAME_COUNTS: dict[str, int] = defaultdict(int)


def _snake(name: str) -> str:
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    s = re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()
    return re.sub(r"(\d)_d\b", r"\1d", s)  # Conv2D -> conv2d, not conv2_d


def unique_name(base: str) -> str:
    """Keras naming: conv2d, conv2d_1, conv2d_2, ..."""
    n = _NAME_COUNTS[base]
    _NAME_COUNTS[base] += 1
    return base if n == 0 else f"{base}_{n}"


def reset_names() -> None:
    _NAME_COUNTS.clear()


def shape_of(x):
    """Shape (or list of shapes) of arrays, Tensors or SymbolicTensors."""
    if isinstance(x, list | tuple):
        return [shape_of(e) for e in x]
    return tuple(x.shape)


def to_tensor(x):
    """Layers compute on Tensors; arrays and numbers become float constants."""
    if isinstance(x, Tensor):
        return x
    arr = np.asarray(x)
    if arr.dtype not in (np.float32, np.float64):
        arr = arr.astype(config.floatx())
    return Tensor(arr)


class Layer:
    """Base class of every layer (and of Model)."""

    def __init__(self, *, name=None, trainable=True, dtype=None, input_shape=None,
                 batch_size=None, **kwargs):
        if kwargs:
            raise TypeError(f"{type(self).__name__}() got unexpected arguments {sorted(kwargs)}")
        object.__setattr__(self, "_sublayers", [])
        self.name = name or unique_name(_snake(type(self).__name__))
        self._trainable = bool(trainable)
        self.dtype = np.dtype(dtype) if dtype is not None else None
        self.built = False
        self._own_weights: list[Variable] = []
        self._regularized: list[tuple] = []  # (variable, regularizer)
        self._input_shape_arg = (
            (batch_size, *tuple(input_shape)) if input_shape is not None else None
        )
        self._call_takes_training = "training" in inspect.signature(self.call).parameters

    def __init_subclass__(cls, **kwargs):
        # As in Keras, a layer is built once its build() returns, also when user code calls
        # layer.build(shape) itself: otherwise the first call would build (and make the
        # weights) a second time.
        super().__init_subclass__(**kwargs)
        build = cls.__dict__.get("build")
        if build is not None and not getattr(build, "_marks_built", False):
            @functools.wraps(build)
            def marking_build(self, *args, **kw):
                result = build(self, *args, **kw)
                self.built = True
                return result

            marking_build._marks_built = True
            cls.build = marking_build

    # -- tracking of nested layers -------------------------------------------
    def __setattr__(self, key, value):
        if isinstance(value, Layer) and key != "_outer":
            self._track(value)
        elif isinstance(value, list | tuple) and value and all(isinstance(v, Layer) for v in value):
            for v in value:
                self._track(v)
        object.__setattr__(self, key, value)

    def _track(self, layer) -> None:
        if "_sublayers" in self.__dict__ and all(layer is not l for l in self._sublayers):
            self._sublayers.append(layer)

    @property
    def layers(self) -> list:
        return list(self._sublayers)

    # -- weights ------------------------------------------------------------
    def add_weight(self, shape, initializer="glorot_uniform", name=None, trainable=True,
                   regularizer=None, dtype=None) -> Variable:
        dtype = np.dtype(dtype or self.dtype or config.floatx())
        init = initializers.get(initializer)
        value = np.asarray(init(tuple(shape), dtype=dtype), dtype=dtype)
        var = Variable(value, name=f"{self.name}/{name or 'weight'}",
                       trainable=trainable and self._trainable)
        var._layer_trainable = trainable  # the weight's own flag, kept when layer toggles
        self._own_weights.append(var)
        reg = regularizers.get(regularizer)
        if reg is not None:
            self._regularized.append((var, reg))
        return var

    def _all_layers(self):
        """This layer and every nested layer, depth first, each once."""
        seen, out = set(), []

        def visit(layer):
            if id(layer) in seen:
                return
            seen.add(id(layer))
            out.append(layer)
            for sub in layer._sublayers:
                visit(sub)

        visit(self)
        return out

    @property
    def weights(self) -> list[Variable]:
        """Keras order: layer by layer (depth first), each layer's trainable weights first."""
        out = []
        for layer in self._all_layers():
            own = layer._own_weights
            out += [w for w in own if w.trainable] + [w for w in own if not w.trainable]
        return out

    @property
    def trainable_weights(self) -> list[Variable]:
        return [w for w in self.weights if w.trainable]

    @property
    def non_trainable_weights(self) -> list[Variable]:
        return [w for w in self.weights if not w.trainable]

    @property
    def variables(self) -> list[Variable]:
        return self.weights

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, flag: bool) -> None:
        for layer in self._all_layers():
            layer._trainable = bool(flag)
            for w in layer._own_weights:
                w.trainable = bool(flag) and w._layer_trainable

    def get_weights(self) -> list[np.ndarray]:
        return [w.data.copy() for w in self.weights]

    def set_weights(self, weights) -> None:
        own = self.weights
        weights = list(weights)
        if len(weights) != len(own):
            raise ValueError(
                f"{self.name}: set_weights got {len(weights)} arrays but the layer has "
                f"{len(own)} weights ({[w.name for w in own]})"
            )
        for var, value in zip(own, weights):
            var.assign(value)

    def count_params(self) -> int:
        if not self.built:
            raise ValueError(f"{self.name} is not built yet: call it on data or build it first")
        return int(sum(w.size for w in self.weights))

    @property
    def losses(self) -> list:
        """Regularization penalties, computed from the current weights (differentiable)."""
        return [reg(var) for l in self._all_layers() for var, reg in l._regularized]

    # -- building and calling -------------------------------------------------
    def build(self, input_shape) -> None:
        self.built = True

    def call(self, inputs, training=False):  # pragma: no cover - interface
        raise NotImplementedError(f"{type(self).__name__}.call is not implemented")

    def compute_output_shape(self, input_shape):
        return input_shape  # elementwise layers keep the shape

    def _maybe_build(self, input_shape) -> None:
        if not self.built:
            self.build(input_shape)
            self.built = True

    def __call__(self, inputs, training=None, **kwargs):
        if is_symbolic(inputs):
            return self._call_symbolic(inputs, training=training, **kwargs)
        inputs = ([to_tensor(x) for x in inputs] if isinstance(inputs, list | tuple)
                  else to_tensor(inputs))
        self._maybe_build(shape_of(inputs))
        if self._call_takes_training:
            out = self.call(inputs, training=bool(training), **kwargs)
        else:
            out = self.call(inputs, **kwargs)
        # remembered for model.summary() of subclassed models (batch axis as None)
        self._seen_shapes = (shape_of(inputs), shape_of(out))
        return out

    def _call_symbolic(self, inputs, training=None, **kwargs):
        flat = flatten_structure(inputs)
        if not all(isinstance(x, SymbolicTensor) for x in flat):
            raise TypeError(f"{self.name}: mix of symbolic and concrete inputs")
        shapes = shape_of(inputs)
        self._maybe_build(shapes)
        out_shape = self.compute_output_shape(shapes)
        if training is not None:
            kwargs["training"] = training
        return SymbolicTensor(out_shape, dtype=flat[0].dtype, layer=self, inputs=flat,
                              kwargs=kwargs)

    # -- configuration ----------------------------------------------------------
    def get_config(self) -> dict:
        cfg = {"name": self.name, "trainable": self._trainable}
        if self.dtype is not None:
            cfg["dtype"] = self.dtype.name
        return cfg

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r} built={self.built}>"
