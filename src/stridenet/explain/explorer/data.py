"""The numbers of an explorer page: every node's output for every image, every weight the
page explains with, packed into one float32 blob (zlib-compressed, base64) plus a JSON
description that points into it by ``[offset, count]``.

Outputs are stored as the model computed them (float32, per image in the layer's own
(H, W, C) / (L, C) / (D,) order); Flatten, Reshape and inference-time identities point at
their parent's numbers instead of repeating them. Caps keep the file small and are
written into ``notes`` (shown on the page): ``max_values`` output numbers per layer and
image (the first channels are kept), ``max_bytes`` for the whole blob (images are dropped
from the end, at least one stays).
"""

from __future__ import annotations

import base64
import zlib

import numpy as np

from .graph import model_nodes, run_nodes
from .specs import layer_spec


class Blob:
    """Float32 arrays appended into one buffer; ``add`` returns ``[offset, count]``."""

    def __init__(self):
        self.parts, self.size = [], 0

    def add(self, arr) -> list:
        a = np.ascontiguousarray(arr, dtype="<f4").ravel()
        ref = [self.size, int(a.size)]
        self.parts.append(a)
        self.size += a.size
        return ref

    def estimate(self) -> float:
        """The base64 size of ``encoded()``, guessed from 64 KB blocks spread over the
        buffer (compressing everything just to learn the size is slow)."""
        raw = np.concatenate(self.parts).view(np.uint8) if self.parts else np.zeros(0, np.uint8)
        block = 1 << 16
        if raw.size <= 32 * block:
            return len(self.encoded(1))
        starts = np.linspace(0, raw.size - block, 32).astype(int)
        sample = b"".join(raw[s:s + block].tobytes() for s in starts)
        return raw.size * len(zlib.compress(sample, 1)) / len(sample) * 4 / 3

    def encoded(self, level: int = 6) -> str:
        raw = np.concatenate(self.parts).tobytes() if self.parts else b""
        return base64.b64encode(zlib.compress(raw, level)).decode("ascii")


def _view(node, max_values: int):
    """-> (out (N, ...) as stored, drawn shape, channels kept) with notes for cuts."""
    out = node.out
    shape = out.shape[1:]
    if len(shape) > 3:  # e.g. a 3D volume: one slice through each extra leading axis
        idx = tuple(s // 2 for s in shape[:-3])
        out = out[(slice(None), *idx)]
        node.notes.append(f"output {shape} has more than 3 axes: showing the slice "
                          f"{list(idx)} of the first {len(idx)} axis/axes")
    if len(shape) == 0:
        out = out[:, None]
    per_map = int(np.prod(out.shape[1:-1])) if out.ndim > 2 else 1
    channels = out.shape[-1]
    kept = channels
    if out.ndim == 2 and channels > max_values:
        kept = max_values
        node.notes.append(f"{channels} values: the first {kept} are embedded "
                          f"(max_values={max_values})")
        out = out[:, :kept]
    elif out.ndim > 2 and per_map * channels > max_values:
        kept = max(1, max_values // per_map)
        node.notes.append(f"{channels} channels of {per_map} values: the first {kept} are "
                          f"embedded (max_values={max_values})")
        out = out[..., :kept]
    return out, kept


def _probabilities(last: np.ndarray):
    """(N, K) outputs -> predicted class and its value per image, if a class vector."""
    if last.ndim != 2:
        return None
    return [[int(i), float(p[i])] for i, p in zip(last.argmax(axis=1), last)]


def build(model, x: np.ndarray, labels=None, class_names=None, max_values: int = 1 << 18,
          max_bytes: int = 4_800_000):
    """-> (meta dict, base64 blob, notes). x: (N, ...) the images, already checked."""
    notes = []
    n = len(x)
    while True:
        # the numbers of model.predict(x[:n]): a batch's numbers can differ in the last bit
        # with its size (BLAS blocking), so fewer images are run again, not sliced
        nodes = run_nodes(model, model_nodes(model), x[:n])
        meta, blob, node_notes = _build(model, nodes, labels, class_names, max_values)
        size = blob.estimate() if n > 1 else 0
        if size <= 1.15 * max_bytes:  # not surely too big: encode it and see
            data = blob.encoded()
            size = len(data)
            if size <= max_bytes or n == 1:
                break
        keep = max(1, min(n - 1, int(n * max_bytes * 0.95 / size)))
        notes.append(f"{n} images make about {size / 1e6:.1f} MB of numbers, more than "
                     f"max_bytes={max_bytes:,}: {keep} image(s) embedded")
        n = keep
    if size > max_bytes:
        notes.append(f"one image makes {size / 1e6:.1f} MB of numbers (max_bytes="
                     f"{max_bytes:,})")
    meta["notes"] = notes + node_notes
    return meta, data, meta["notes"]


def _build(model, nodes, labels, class_names, max_values):
    x = nodes[0].out
    blob = Blob()
    entries, complete = [], []
    for node in nodes:
        spec = layer_spec(node, nodes, blob.add)
        entry = {"name": node.name, "kind": node.kind, "parents": node.parents,
                 "shape": list(node.out.shape[1:]), "op": spec}
        parent = nodes[node.parents[0]] if node.parents else None
        alias = (spec["type"] in ("reshape", "identity") and parent is not None
                 and complete[node.parents[0]] and node.out.ndim <= 4
                 and parent.out.size == node.out.size
                 and np.array_equal(parent.out.reshape(node.out.shape), node.out))
        if alias:
            entry["alias"] = node.parents[0]
            entry["draw"] = list(entries[node.parents[0]]["draw"]) if spec["type"] == \
                "identity" else [node.out.shape[1:][0]] if node.out.ndim == 2 else \
                list(node.out.shape[1:])
            entry["kept"] = entries[node.parents[0]]["kept"]
            complete.append(True)
        else:
            out, kept = _view(node, max_values)
            complete.append(out.size == node.out.size)  # nothing sliced or cut away
            entry["draw"] = list(out.shape[1:])
            entry["kept"] = kept
            entry["out"] = [blob.add(o) for o in out]
        entry["notes"] = list(node.notes)
        entries.append(entry)
    last = nodes[-1].out
    labels = None if labels is None else [int(v) for v in np.asarray(labels)[:len(x)]]
    meta = {"model": model.name, "images": len(x), "nodes": entries, "labels": labels,
            "predictions": _probabilities(last.reshape(len(x), -1) if last.ndim > 2 else last),
            "class_names": None if class_names is None else [str(c) for c in class_names],
            "values": blob.size}
    notes = [f"layer {e['name']}: {t}" for e in entries for t in e["notes"]]
    return meta, blob, notes


__all__ = ["Blob", "build"]
