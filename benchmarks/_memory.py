"""Peak memory of a training step, each framework and model in a fresh process.

The same method for both frameworks (this file run as a script, one process each):

1. import the framework, build the model and its optimizer, make the batch (batch 128);
2. warm up on a throwaway copy of the model at batch 2, then free it, ``gc.collect()``
   and glibc's ``malloc_trim(0)``: this loads the code pages and one-time library state
   (thread pools, kernel dispatch) that any process pays once, without leaving behind
   buffers sized for batch 128;
3. baseline = resident set size (VmRSS); reset the high-water mark (``5`` into
   /proc/self/clear_refs);
4. run ``STEPS`` training steps at batch 128; peak = VmHWM.

The result is ``peak - baseline``: activations kept for backward, gradients, optimizer
state, workspaces and temporaries, whichever library allocates them (BLAS, oneDNN,
NumPy, torch's allocator). Where clear_refs cannot be written (not Linux) the fallback is
the growth of ``ru_maxrss``, which counts the same when the warm-up peaked lower.

For stridenet it also reports ``tracemalloc``'s peak over one more step (after the
measured ones): the NumPy buffers alone, as NumPy reports its allocations to tracemalloc.
"""

from __future__ import annotations

import ctypes
import gc
import json
import os
import resource
import subprocess
import sys
import tracemalloc

STEPS = 3
HERE = os.path.dirname(os.path.abspath(__file__))


def _status_kb(key: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _maxrss_kb() -> int:
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb // 1024 if sys.platform == "darwin" else kb  # macOS reports bytes


def _release_freed() -> None:
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _stridenet_step(name: str, batch: int):
    from _measure import batch_data, build_stridenet

    x, y = batch_data(name, batch)
    model = build_stridenet(name)
    return lambda: model.train_step(x, y)


def _torch_step(name: str, batch: int, channels_last: bool):
    from _common import import_torch
    from _measure import TorchRunner, batch_data
    from _torch_models import build

    torch = import_torch()
    torch.manual_seed(0)
    x, y = batch_data(name, batch)
    runner = TorchRunner(torch, build(torch, name), x, y, channels_last)
    runner.mode(True)
    return runner.train


def child(impl: str, name: str, batch: int) -> dict:
    """Run in the fresh process: the measurement above, as a dict."""
    def make(b):
        return (_stridenet_step(name, b) if impl == "sn"
                else _torch_step(name, b, channels_last=impl == "nhwc"))

    step = make(batch)
    warm = make(2)
    warm()
    del warm
    _release_freed()
    before_max = _maxrss_kb()
    baseline = _status_kb("VmRSS")
    exact = baseline is not None and _reset_peak()
    for _ in range(STEPS):
        step()
    if exact:
        delta_kb, method = _status_kb("VmHWM") - baseline, "VmHWM - VmRSS"
    else:
        delta_kb, method = _maxrss_kb() - before_max, "ru_maxrss growth"
    out = {"rss_mb": delta_kb / 1024, "method": method}
    if impl == "sn":
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        step()
        out["tracemalloc_mb"] = (tracemalloc.get_traced_memory()[1] - base) / 2**20
        tracemalloc.stop()
    return out


def measure(impl: str, name: str, batch: int, timeout: float = 300) -> dict:
    """Spawn this file for one (framework, model); its JSON result, or {"error": ...}."""
    cmd = [sys.executable, os.path.join(HERE, "_memory.py"), impl, name, str(batch)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": "timed out"}
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


if __name__ == "__main__":  # run by measure(): the script's folder is on sys.path
    print(json.dumps(child(sys.argv[1], sys.argv[2], int(sys.argv[3]))))
