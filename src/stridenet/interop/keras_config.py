"""A Keras model config (``config.json`` of a .keras file, ``model_config`` of a .h5 file)
-> the same architecture in stridenet.

Keras 3 and Keras 2 configs are both read: Sequential and functional models (nested ones
too), every layer class stridenet has, with its Keras arguments. Nothing is executed: class
names resolve through ``stridenet.layers`` only. Whatever has no counterpart (a layer
class, an argument set to something other than its "off" value, an initializer or
activation stridenet lacks) is collected over the whole model and reported in one error.
"""

from __future__ import annotations

import inspect
import re
import warnings

from .. import activations, initializers, regularizers
from .. import layers as layers_mod

# Keras arguments stridenet has no use for, with the values that mean "not used"
_OFF = {
    "activity_regularizer": (None,), "kernel_constraint": (None,), "bias_constraint": (None,),
    "depthwise_constraint": (None,), "pointwise_constraint": (None,),
    "beta_constraint": (None,), "gamma_constraint": (None,), "alpha_constraint": (None,),
    "embeddings_constraint": (None,), "quantization_config": (None,), "lora_rank": (None,),
    "lora_alpha": (None,), "lora_enabled": (False,), "synchronized": (False,),
    "renorm": (False,), "renorm_clipping": (None,), "sparse": (False,), "ragged": (False,),
    "optional": (False,), "data_format": ("channels_last", None), "noise_shape": (None,),
    "seed": (None,), "rms_scaling": (False,), "shared_axes": (None,),
    "autocast": (True,), "input_dtype": (None,),
}
_ALWAYS_IGNORED = {"renorm_momentum"}  # only read when renorm is on (refused above)
_MODELS = ("Sequential", "Functional", "Model")


class KerasConfigError(ValueError):
    """The Keras model uses layers or arguments stridenet does not have (all listed)."""


def keras_snake(name: str) -> str:
    """Keras's snake case of a class name: Conv2D -> conv2d, ReLU -> re_lu."""
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()


def _accepted(cls) -> set:
    names = set()
    for klass in cls.__mro__:
        if "__init__" in vars(klass):
            names |= {p.name for p in inspect.signature(klass.__init__).parameters.values()
                      if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        if klass.__name__ == "Layer":
            break
    return names - {"self"}


def _initializer(spec, where):
    """A stridenet initializer; one it lacks only decides starting values (the file's
    weights replace them), so it becomes the layer's default with a warning."""
    if spec is None:
        return None
    name = spec if isinstance(spec, str) else spec.get("class_name")
    cfg = {} if isinstance(spec, str) else {k: v for k, v in (spec.get("config") or {}).items()
                                            if v is not None}
    try:
        return initializers.get(spec if isinstance(spec, str) else
                                {"class_name": name, "config": cfg})
    except (ValueError, TypeError) as err:
        warnings.warn(f"{where}: initializer {name} is not in stridenet ({err}); the layer's "
                      f"default is used for any re-initialisation", stacklevel=6)
        return None


def _regularizer(spec, where, problems):
    if spec is None or isinstance(spec, str):
        return spec
    try:
        return regularizers.get({"class_name": spec.get("class_name"),
                                 "config": spec.get("config") or {}})
    except (ValueError, TypeError) as err:
        problems.append(f"{where}: regularizer {spec.get('class_name')} ({err})")
        return None


def _dtype(spec, where, problems):
    name = spec.get("config", {}).get("name") if isinstance(spec, dict) else spec
    if name in (None, "float32"):
        return None
    if name == "float64":
        return "float64"
    problems.append(f"{where}: dtype policy {name!r} (stridenet computes in float32 or float64)")
    return None


def layer_kwargs(class_name: str, cfg: dict, cls, where: str, problems: list) -> dict:
    """stridenet constructor arguments from a Keras layer config; problems are appended."""
    accepted = _accepted(cls)
    out = {}
    for key, value in cfg.items():
        if key == "dtype":
            dt = _dtype(value, where, problems)
            if dt is not None:
                out["dtype"] = dt
            continue
        if key.endswith("_initializer"):
            value = _initializer(value, f"{where} {key}")
        elif key.endswith("_regularizer") and key in accepted:
            value = _regularizer(value, f"{where} {key}", problems)
        elif key == "activation":
            if isinstance(value, dict) or value is not None and not _known_activation(value):
                problems.append(f"{where}: activation {value!r}")
                continue
        if key in accepted and value is not None:
            out[key] = value
        elif key in accepted or key in _ALWAYS_IGNORED or value in _OFF.get(key, ()):
            continue
        elif key.endswith("_initializer"):
            continue  # only the starting values; the file's weights replace them
        else:
            problems.append(f"{where}: argument {key}={value!r}")
    return out


def _known_activation(name) -> bool:
    try:
        activations.get(name)
        return True
    except (ValueError, TypeError):
        return False


def _input_layer(cfg: dict):
    shape = cfg.get("batch_shape") or cfg.get("batch_input_shape")
    if shape is None and cfg.get("shape") is not None:
        shape = [cfg.get("batch_size"), *cfg["shape"]]
    return layers_mod.InputLayer(shape=tuple(shape[1:]), batch_size=shape[0],
                                 name=cfg.get("name"))


def make_layer(spec: dict, problems: list):
    """One stridenet layer (or nested model) from a Keras layer spec; None on a problem."""
    class_name = spec.get("class_name")
    cfg = dict(spec.get("config") or {})
    name = cfg.get("name") or spec.get("name")
    where = f"layer {name!r} ({class_name})"
    if class_name in _MODELS:
        return build_model(spec, problems)
    if class_name == "InputLayer":
        return _input_layer(cfg)
    cls = getattr(layers_mod, str(class_name), None)
    if not (isinstance(cls, type) and issubclass(cls, layers_mod.Layer)) or class_name in (
            "Layer", "InputLayer"):
        problems.append(f"{where}: no stridenet layer of this class")
        return None
    n = len(problems)
    legacy_shape = cfg.pop("batch_input_shape", None)  # Keras 2: the first layer's input
    cfg.pop("input_shape", None)
    if class_name == "BatchNormalization" and isinstance(cfg.get("axis"), list) and len(
            cfg["axis"]) == 1:
        cfg["axis"] = cfg["axis"][0]  # tf.keras 2 wrote the built axis as a list: [3]
    kwargs = layer_kwargs(class_name, cfg, cls, where, problems)
    if len(problems) > n:
        return None
    try:
        layer = cls(**kwargs)
    except (ValueError, TypeError, NotImplementedError) as err:
        problems.append(f"{where}: {err}")
        return None
    layer._keras_batch_input_shape = legacy_shape
    return layer


def _refs(obj) -> list:
    """(layer name, node index, tensor index) of every tensor a Keras 3 node argument names."""
    if isinstance(obj, dict) and obj.get("class_name") == "__keras_tensor__":
        return [tuple(obj["config"]["keras_history"])]
    if isinstance(obj, list | tuple):
        return [r for e in obj for r in _refs(e)]
    return []


def _node_inputs(node, where, problems):
    """(refs, single) of one inbound node, Keras 3 ({"args", "kwargs"}) or Keras 2 lists."""
    if isinstance(node, dict):
        args = node.get("args", [])
        for key, value in (node.get("kwargs") or {}).items():
            if key not in ("mask", "training") and value is not None:
                problems.append(f"{where}: call argument {key}={value!r}")
        single = len(args) == 1 and isinstance(args[0], dict)
        return _refs(args), single
    refs = [tuple(e[:3]) for e in node]  # Keras 2: [[name, node, tensor, kwargs], ...]
    return refs, len(refs) == 1


def _io_refs(value) -> tuple[list, bool]:
    """input_layers / output_layers: one [name, node, tensor] or a list of them."""
    if value and isinstance(value[0], str):
        return [tuple(value)], False
    return [tuple(v) for v in value], True


def _build_functional(cfg: dict, problems: list):
    from ..models import Model

    made, tensors, pending = {}, {}, []
    for spec in cfg.get("layers", []):
        name = spec.get("name") or spec.get("config", {}).get("name")
        layer = make_layer(spec, problems)
        made[name] = layer
        if spec.get("class_name") == "InputLayer" and layer is not None:
            tensors[(name, 0, 0)] = layer.output
        for i, node in enumerate(spec.get("inbound_nodes") or []):
            pending.append((name, i, node))
    if problems:
        return None
    while pending:
        progressed, left = False, []
        for name, i, node in pending:
            refs, single = _node_inputs(node, f"layer {name!r}", problems)
            if all(r in tensors for r in refs):
                args = [tensors[r] for r in refs]
                tensors[(name, i, 0)] = made[name](args[0] if single else args)
                progressed = True
            else:
                left.append((name, i, node))
        if not progressed:
            problems.append(f"the layers {sorted({n for n, _, _ in left})} wait on tensors that "
                            f"no layer makes")
            return None
        pending = left
    ins, nested_in = _io_refs(cfg["input_layers"])
    outs, nested_out = _io_refs(cfg["output_layers"])
    inputs = [tensors[r] for r in ins]
    outputs = [tensors[r] for r in outs]
    return Model(inputs if nested_in and len(inputs) > 1 else inputs[0],
                 outputs if nested_out and len(outputs) > 1 else outputs[0],
                 name=cfg.get("name"), trainable=cfg.get("trainable", True))


def _build_sequential(cfg: dict, problems: list):
    from ..models import Sequential

    specs = cfg["layers"] if isinstance(cfg, dict) else cfg  # Keras 2.0: a bare list
    made = [make_layer(spec, problems) for spec in specs]
    if problems:
        return None
    model = Sequential(name=cfg.get("name") if isinstance(cfg, dict) else None,
                       trainable=cfg.get("trainable", True) if isinstance(cfg, dict) else True)
    first = made[0] if made else None
    shape = cfg.get("build_input_shape") if isinstance(cfg, dict) else None
    legacy = getattr(first, "_keras_batch_input_shape", None)
    if not isinstance(first, layers_mod.InputLayer) and (legacy or shape):
        batch_shape = legacy or shape
        model.add(layers_mod.InputLayer(shape=tuple(batch_shape[1:]), batch_size=batch_shape[0]))
    for layer in made:
        model.add(layer)
    return model


def build_model(spec: dict, problems: list):
    """A stridenet model from a Keras model spec {"class_name", "config"}; None on problems."""
    class_name = spec.get("class_name")
    cfg = spec.get("config") or {}
    if class_name == "Sequential":
        return _build_sequential(cfg, problems)
    if class_name in ("Functional", "Model") and "layers" in cfg:
        return _build_functional(cfg, problems)
    problems.append(f"model class {class_name!r}: only Sequential and functional models can be "
                    f"rebuilt from a config (a subclassed model's call() is Python code)")
    return None
