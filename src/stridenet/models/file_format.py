"""The stridenet file format: one safetensors file, verified on reading.

A safetensors file is an 8-byte little-endian header length, a JSON header, then the
raw tensor bytes: nothing in it is executable, so loading never runs code from the file
(no pickle, no eval; class names resolve through fixed registries).

  tensors   every model weight under a unique path ("conv2d/kernel"), and for a
            compiled model the optimizer's state arrays under "optimizer/...";
  metadata  strings: "format" ("stridenet"), "format_version", "kind" ("model" or
            "weights"), "stridenet_version", "config" (JSON: architecture, compile and
            optimizer configs, weight order, RNG state) and "sha256".

The SHA-256 covers every other metadata string and every tensor (name, dtype, shape,
bytes), so a truncated, bit-flipped or hand-edited file is refused with a clear error.
It guards against accidents, not forgery: anyone can recompute it, so what the config
says is checked too (``file_checks``).
"""

from __future__ import annotations

import hashlib
import json
import os

import numpy as np

from .file_checks import invalid

FORMAT = "stridenet"
FORMAT_VERSION = 1


def _safetensors():
    try:
        import safetensors.numpy as st
    except ImportError as err:  # optional dependency
        raise ImportError('saving and loading models needs the safetensors package: '
                          'pip install "stridenet[io]"') from err
    return st


def _contiguous(value) -> np.ndarray:
    # not np.ascontiguousarray: it turns a 0-d array (the optimizer's step count) into 1-d
    return np.require(value, requirements="C")


def _digest(meta: dict, tensors: dict) -> str:
    """SHA-256 over the metadata strings (but the digest) and every tensor, by name."""
    h = hashlib.sha256()
    body = {k: v for k, v in meta.items() if k != "sha256"}
    h.update(json.dumps(body, sort_keys=True).encode())
    for key in sorted(tensors):
        arr = _contiguous(tensors[key])
        arr = arr.astype(arr.dtype.newbyteorder("<"), copy=False)  # the file's byte order
        h.update(json.dumps([key, arr.dtype.str, list(arr.shape)]).encode())
        h.update(arr.tobytes())
    return h.hexdigest()


def _corrupt(path, why: str) -> ValueError:
    return ValueError(f"file {path} is corrupt or was modified: {why}")


def read_file(filepath):
    """(kind, config, tensors) of a stridenet file, verified; clear errors otherwise."""
    st = _safetensors()
    path = os.fspath(filepath)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no such model file: {path}")
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise _corrupt(path, f"only {len(raw)} bytes, too short for a stridenet file")
    n = int.from_bytes(raw[:8], "little")
    if n > len(raw) - 8:
        raise _corrupt(path, f"the header claims {n} bytes but only {len(raw) - 8} follow "
                             f"(truncated, or not a stridenet file)")
    try:
        header = json.loads(raw[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"file {path} is not a stridenet file, or is corrupt: its header "
                         f"is not safetensors JSON ({err})") from None
    meta = header.get("__metadata__") if isinstance(header, dict) else None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"file {path} is not a stridenet file (no stridenet metadata in "
                         f"its safetensors header)")
    try:
        tensors = st.load(raw)
    except Exception as err:  # the library rejects bad offsets, sizes or dtypes
        raise _corrupt(path, f"the tensor data does not match the header ({err})") from None
    if meta.get("sha256") != _digest(meta, tensors):
        raise _corrupt(path, "its SHA-256 does not match the contents")
    version = meta.get("format_version", "")
    if not version.isdigit() or int(version) > FORMAT_VERSION:
        raise ValueError(f"file {path} has format version {version!r}; this stridenet reads "
                         f"versions up to {FORMAT_VERSION} (upgrade stridenet)")
    kind = meta.get("kind")
    if kind not in ("model", "weights"):
        raise invalid(path, f"kind {kind!r:.40} is neither 'model' nor 'weights'")
    try:
        config = json.loads(meta["config"])
    except (KeyError, TypeError, json.JSONDecodeError) as err:
        raise invalid(path, f"no JSON config in the metadata ({err})") from None
    except RecursionError:
        raise invalid(path, "the config JSON is nested too deep") from None
    return kind, config, tensors
