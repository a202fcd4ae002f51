"""Checks of a model file's config before anything is built from it.

The SHA-256 of a stridenet file catches accidents, not edits: anyone can change the
config and recompute it. So every part of the config that ``load_model`` and
``load_weights`` read is checked for its JSON type and cross-references (weight keys
that exist, a non-negative int shuffle seed, float dtypes, ...) and a bad one ends in
one ``ValueError("<file>: invalid config: ...")``, never a KeyError or TypeError from
deep inside, and never a model that loads and fails later. Constructor arguments are
checked by the constructors themselves; ``as_invalid`` gives their errors the same form.
"""

from __future__ import annotations

import numbers
import reprlib

_PREFIX = "invalid config: "
_DTYPES = ("float32", "float64")
_MAX_DEPTH = 50  # models nested in models; far below Python's recursion limit


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother = 2, 40, 40


def _short(value) -> str:
    """A bounded repr for messages: checked configs are often fine and may be huge, so
    the work of a message must not grow with them."""
    return _REPR.repr(value)


def invalid(path, why: str) -> ValueError:
    return ValueError(f"{path}: {_PREFIX}{why}")


def is_invalid(path, err: Exception) -> bool:
    return isinstance(err, ValueError) and str(err).startswith(f"{path}: {_PREFIX}")


def as_invalid(path, err: Exception) -> ValueError:
    """An error met while building from the config, as an invalid-config error."""
    text = str(err)
    return invalid(path, text if isinstance(err, ValueError) else f"{type(err).__name__}: "
                                                                     f"{text}")


def _int(value, low=0) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= low


def _need(ok: bool, path, why: str) -> None:
    if not ok:
        raise invalid(path, why)


def check_layer(path, spec, where: str, depth: int = 0) -> None:
    """A layer spec ``{"class_name": str, "config": dict}``, nested models included."""
    _need(depth <= _MAX_DEPTH, path, f"models nested more than {_MAX_DEPTH} deep")
    _need(isinstance(spec, dict), path, f"{where} is not a layer spec ({{'class_name', "
                                        f"'config'}}): {_short(spec)}")
    _need(isinstance(spec.get("class_name"), str), path,
          f"{where} has no class_name string: {_short(spec.get('class_name'))}")
    where = f"{where} ({spec['class_name']})"
    cfg = spec.get("config")
    _need(isinstance(cfg, dict), path, f"{where} has no config object: {_short(cfg)}")
    _need(isinstance(cfg.get("name", ""), str), path,
          f"{where} has a name that is not a string: {_short(cfg.get('name'))}")
    _need(isinstance(cfg.get("trainable", True), bool), path,
          f"{where} has trainable={_short(cfg.get('trainable'))}, not true or false")
    dtype = cfg.get("dtype")
    _need(dtype is None or dtype in _DTYPES, path,
          f"{where} has dtype {_short(dtype)}; weights are float32 or float64")
    if "layers" in cfg:
        _check_model(path, cfg, where, depth)


def _check_model(path, cfg: dict, where: str, depth: int) -> None:
    layers = cfg["layers"]
    _need(isinstance(layers, list), path, f"{where}: 'layers' is not a list")
    for i, spec in enumerate(layers):
        check_layer(path, spec, f"{where} layer {i}", depth + 1)
    shape = cfg.get("input_shape")
    _need(shape is None or (isinstance(shape, list) and all(d is None or _int(d, 1)
                                                            for d in shape)),
          path, f"{where}: input_shape {_short(shape)} is not a list of sizes")
    if "nodes" not in cfg:
        return
    names = {spec.get("name") for spec in layers}
    _need(all(isinstance(n, str) for n in names), path, f"{where}: a layer has no name")
    for key in ("nodes", "input_layers", "output_layers"):
        _need(isinstance(cfg.get(key), list), path, f"{where}: {key!r} is not a list")
    refs = []
    for node in cfg["nodes"]:
        _need(isinstance(node, list) and len(node) == 3 and isinstance(node[0], str)
              and node[0] in names and isinstance(node[1], list)
              and isinstance(node[2], dict), path,
              f"{where}: node {_short(node)} is not [layer name, [inputs], {{kwargs}}]")
        refs += node[1]
    for ref in refs + cfg["input_layers"] + cfg["output_layers"]:
        _need(isinstance(ref, list) and len(ref) == 2 and isinstance(ref[0], str)
              and ref[0] in names and _int(ref[1]),
              path, f"{where}: {_short(ref)} is not a [layer name, call index] reference")


def check_weights(path, config, tensors) -> list:
    """The ``weights`` list: [file key, weight name] pairs, each key a tensor, once."""
    _need(isinstance(config, dict), path, f"the config is not a JSON object: {_short(config)}")
    order = config.get("weights")
    _need(isinstance(order, list), path, "no 'weights' list of [key, name] pairs")
    for entry in order:
        _need(isinstance(entry, list) and len(entry) == 2
              and all(isinstance(s, str) for s in entry), path,
              f"weights entry {_short(entry)} is not a [key, name] pair")
        _need(entry[0] in tensors, path, f"weight {entry[1]!r} names tensor {entry[0]!r}, "
                                         f"which the file does not hold")
    keys = [key for key, _ in order]
    _need(len(set(keys)) == len(keys), path, "a tensor is listed for two weights")
    return keys


def check_model_config(path, config, tensors) -> None:
    """Everything ``load_model`` reads, before it builds anything."""
    keys = check_weights(path, config, tensors)
    _need("architecture" in config, path, "no 'architecture'")
    check_layer(path, config["architecture"], "the architecture")
    shape = config.get("build_input_shape")
    _need(shape is None or (isinstance(shape, list) and all(d is None or _int(d, 1)
                                                            for d in shape)),
          path, f"build_input_shape {_short(shape)} is not a list of sizes")
    if config.get("compile") is not None:
        _check_compile(path, config["compile"], tensors, keys)
    _check_rng(path, config.get("rng", {}))


def _check_spec(path, spec, kind: str) -> None:
    _need(spec is None or isinstance(spec, str) or (
        isinstance(spec, dict) and isinstance(spec.get("class_name"), str)
        and isinstance(spec.get("config", {}), dict)), path,
        f"the {kind} {_short(spec)} is not a name or a {{'class_name', 'config'}} object")


def _check_compile(path, spec, tensors, weight_keys) -> None:
    _need(isinstance(spec, dict), path, "'compile' is not an object")
    _check_spec(path, spec.get("loss"), "loss")
    metrics = spec.get("metrics", [])
    _need(isinstance(metrics, list), path, "the compiled metrics are not a list")
    for m in metrics:
        _check_spec(path, m, "metric")
    opt = spec.get("optimizer")
    _need(isinstance(opt, dict) and isinstance(opt.get("class_name"), str)
          and isinstance(opt.get("config", {}), dict), path,
          "no optimizer {'class_name', 'config'} in 'compile'")
    state = opt.get("state", [])
    _need(isinstance(state, list) and all(
        isinstance(e, list) and len(e) == 2 and all(isinstance(s, str) for s in e)
        for e in state), path, "the optimizer state is not a list of [key, name] pairs")
    for key, name in state:
        _need(key in tensors, path, f"optimizer state {name!r} names tensor {key!r}, which "
                                    f"the file does not hold")
    _need(_int(opt.get("iterations", 0)), path,
          f"optimizer iterations {_short(opt.get('iterations'))} is not an int >= 0")
    slots = opt.get("variables")
    _need(slots is None or (isinstance(slots, list) and all(k in weight_keys for k in slots)),
          path, "the optimizer's variable order names weights the file does not hold")


def _check_rng(path, spec) -> None:
    _need(isinstance(spec, dict), path, "'rng' is not an object")
    model = spec.get("model") or {}
    _need(isinstance(model, dict), path, "rng 'model' is not an object")
    if "shuffle_seed" in model:
        _need(_int(model["shuffle_seed"]), path,
              f"shuffle_seed {_short(model['shuffle_seed'])} is not an int >= 0")
    layers = spec.get("layers", [])
    _need(isinstance(layers, list), path, "rng 'layers' is not a list")
    for e in layers:
        _need(isinstance(e, dict) and _int(e.get("index")) and isinstance(e.get("name"), str)
              and isinstance(e.get("state"), dict)
              and isinstance(e["state"].get("bit_generator"), str), path,
              f"rng layer entry {_short(e)} is not {{index, name, state: {{bit_generator, "
              f"...}}}}")
