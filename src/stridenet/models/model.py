"""``Model``: functional (``Model(inputs, outputs)``) or subclassed, with Keras training."""

from __future__ import annotations

import numpy as np

from ..autograd import Tensor, is_grad_enabled, no_grad
from ..layers.base import Layer
from ..layers.symbolic import SymbolicTensor, flatten_structure, is_symbolic
from . import functional as G
from . import plan
from .summary import print_summary
from .training import Trainer


class Model(Trainer, Layer):
    """A layer made of layers, trainable with compile/fit/evaluate/predict.

    Functional: ``Model(inputs, outputs)`` with SymbolicTensors from ``Input``.
    Subclassed: define layers in ``__init__`` and the forward pass in ``call``.

    ``model(x, training=False)`` with the tape off (inside ``no_grad()``, as torch's
    ``inference_mode``) runs the model's inference plan (``models/plan.py``): no tape, no
    checks after the first call, buffers reused; it returns Tensors as the eager pass does.
    With the tape on it runs eagerly, so gradients flow. ``inference_plan = False`` on a
    model (or ``STRIDENET_INFERENCE_PLAN=0``) turns plans off.
    """

    inference_plan = True  # False: predict and model(x) always run the eager pass

    def __init__(self, inputs=None, outputs=None, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self._init_training_state()
        self._functional = inputs is not None or outputs is not None
        if self._functional:
            if inputs is None or outputs is None:
                raise ValueError("a functional Model needs both inputs and outputs")
            self._nested_inputs, self._nested_outputs = inputs, outputs
            self._inputs = flatten_structure(inputs)
            self._outputs = flatten_structure(outputs)
            for t in self._inputs + self._outputs:
                if not isinstance(t, SymbolicTensor):
                    raise TypeError(f"Model inputs/outputs must come from Input() and layers, "
                                    f"got {type(t).__name__}")
            self._nodes = G.topological_nodes(self._inputs, self._outputs)
            self._layers = G.graph_layers(self._inputs, self._nodes)
            for layer in self._layers:
                self._track(layer)
            self.built = True

    def __call__(self, inputs, training=None, **kwargs):
        if not training and not kwargs and not is_grad_enabled() and not is_symbolic(inputs):
            out = plan.predict_arrays(self, inputs, tensors=True)
            if out is not None:
                return out
        return super().__call__(inputs, training=training, **kwargs)

    @property
    def layers(self) -> list:
        return list(self._layers) if self._functional else list(self._sublayers)

    @property
    def inputs(self):
        return self._inputs if self._functional else None

    @property
    def outputs(self):
        return self._outputs if self._functional else None

    def get_layer(self, name=None, index=None):
        if index is not None:
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"no layer named {name!r}; layers: {[l.name for l in self.layers]}")

    def call(self, inputs, training=False):
        if not self._functional:
            raise NotImplementedError("a subclassed Model must define call()")
        values = inputs if isinstance(inputs, list | tuple) else [inputs]
        if len(values) != len(self._inputs):
            raise ValueError(f"{self.name} expects {len(self._inputs)} inputs, got {len(values)}")
        # checked, and a missing trailing axis of size 1 added, as Keras 3 does
        values = [G.adjust_input(self.name, f"{sym.name} " if sym.name else "", sym.shape, v)
                  for v, sym in zip(values, self._inputs)]
        outs = G.run_graph(self._inputs, self._nodes, self._outputs, list(values), training)
        return outs if isinstance(self._nested_outputs, list | tuple) else outs[0]

    def build(self, input_shape):
        if not self._functional and not self.built:
            # a subclassed model learns its shapes from one dummy batch; built first, so
            # that the call below does not come back here
            self.built = True
            shape = tuple(1 if d is None else d for d in input_shape)
            with no_grad():
                self.call(Tensor(np.zeros(shape, dtype=np.float32)), training=False)
        self.built = True

    def _maybe_build(self, input_shape) -> None:
        # called on real data, a subclassed model's layers build themselves in call()
        if not self._functional:
            self.built = True
        super()._maybe_build(input_shape)

    def compute_output_shape(self, input_shape):
        if self._functional:
            shapes = input_shape if isinstance(self._nested_inputs, list | tuple) else \
                [input_shape]
            outs = G.propagate_shapes(self._inputs, self._nodes, self._outputs, shapes)
            return outs if isinstance(self._nested_outputs, list | tuple) else outs[0]
        shape = tuple(1 if d is None else d for d in input_shape)
        with no_grad():
            out = self.call(Tensor(np.zeros(shape, np.float32)), training=False)
        return (input_shape[0], *out.shape[1:])

    def summary(self, line_length=None, show_compute=False, print_fn=None):
        """Print the Keras table; ``show_compute=True`` adds FLOPs, receptive field, memory."""
        print_summary(self, show_compute=show_compute, print_fn=print_fn)

    # -- saving (format and checks in saving.py) --------------------------------
    def save(self, filepath, overwrite=True):
        """Architecture, weights, compile config and optimizer state in one safetensors file."""
        from .saving import save_model

        save_model(self, filepath, overwrite=overwrite)

    def export(self, filepath, format="onnx", verbose=None, **kwargs):  # noqa: A002 - Keras
        """Write the inference graph for other runtimes: ``format="onnx"`` (opset 17+,
        channels-last input and output, dynamic batch axis). ``opset_version=`` is optional."""
        if format != "onnx":
            raise ValueError(f"export: format must be 'onnx' (the one stridenet writes), got "
                             f"{format!r}")
        from ..interop import export_onnx

        return export_onnx(self, filepath, verbose=bool(verbose), **kwargs)

    def save_weights(self, filepath, overwrite=True):
        """Only the weights, in Keras order (safetensors)."""
        from .saving import save_weights

        save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath):
        """Weights from a ``save_weights`` or ``save`` file; shapes must match."""
        from .saving import load_weights

        load_weights(self, filepath)

    def get_config(self):
        if not self._functional:
            return {"name": self.name, "trainable": self._trainable}
        from .serialization import functional_config

        return functional_config(self)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        if "layers" not in config:  # a subclassed model: its config is its arguments
            return cls(**config)
        from .serialization import functional_from_config

        return functional_from_config(config, custom_objects)
