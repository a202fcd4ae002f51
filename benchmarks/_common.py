"""Pieces the benchmark scripts share: timing, the matmul peak, the calm-machine sampler,
table rendering, the optional torch import and the machine's description."""

from __future__ import annotations

import datetime
import os
import platform
import time

import numpy as np


def timed(fn, *args) -> float:
    """Wall time (s) of one call."""
    t0 = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t0


class Matmul:
    """NumPy float32 ``(size, size) @ (size, size)`` (the BLAS stridenet's kernels run on)."""

    def __init__(self, size: int):
        rng = np.random.default_rng(0)
        self.a = rng.standard_normal((size, size), dtype=np.float32)
        self.b = rng.standard_normal((size, size), dtype=np.float32)
        self.out = np.empty((size, size), dtype=np.float32)
        self.flops = 2.0 * size**3

    def __call__(self):
        np.matmul(self.a, self.b, out=self.out)

    def turn(self) -> tuple[float]:
        """One untimed call (wakes the BLAS threads), then (GFLOP/s of one timed call,)."""
        self()
        return (self.flops / timed(self) / 1e9,)


class Sampler:
    """Takes samples when the machine runs at full speed.

    Two signs of a machine that is not: a slow spell, seen by the probe, a 512 x 512
    matmul on both cores (about 1.5 ms) that then takes many times its best time; and
    other processes using the cores (``others_cores``, from /proc/stat), a steady load
    the probe cannot see once its best time was taken under it. A sample is taken after
    a calm probe and a quiet pause, and retaken (up to ``retries`` times) when the probe
    right after it is slower than ``CALM`` times the best probe seen, or when other
    processes kept more than ``QUIET`` cores busy between the pause and the probe.
    """

    CALM = 1.5
    QUIET = 0.3

    def __init__(self, pause: float, retries: int = 3, wait_budget: float | None = None):
        self.probe = Matmul(512)
        self.pause = pause
        self.retries = retries
        self.best = float("inf")
        self.retaken = self.kept_noisy = 0
        # Seconds the sampler may spend in all waiting for calm and retaking samples
        # (None: no limit): a steady load from other processes may never end. Past the
        # budget samples are kept as they come and counted as noisy.
        self.budget = float("inf") if wait_budget is None else wait_budget
        for _ in range(10):
            self.calm()
            time.sleep(0.02)

    def calm(self) -> bool:
        self.probe()
        t = timed(self.probe)
        self.best = min(self.best, t)
        return t <= self.CALM * self.best

    def quiet(self, mark) -> bool:
        others = others_cores(mark)
        return others is None or others <= self.QUIET

    def wait_calm(self, limit: float = 20.0):
        """Return after a calm probe and a quiet pause (or ``limit`` s, or the budget):
        the CPU mark taken before that pause."""
        t0 = time.perf_counter()
        t_end = t0 + min(limit, self.budget)
        while True:
            mark = cpu_mark()
            ok = self.calm()
            # The pause also lets the previous library's threads (NumPy's BLAS or
            # torch's) stop spinning: spinning threads slow the next library down.
            time.sleep(max(self.pause, 0.05))
            if (ok and self.quiet(mark)) or time.perf_counter() >= t_end:
                break
        self.budget -= time.perf_counter() - t0
        return mark

    def take(self, turn) -> tuple:
        """``turn()`` -> tuple of times, run after a calm probe and a quiet pause."""
        for attempt in range(self.retries + 1):
            mark = self.wait_calm()
            t0 = time.perf_counter()
            result = turn()
            time.sleep(0.01)  # let torch's pool go idle before the (NumPy) probe
            if self.calm() and self.quiet(mark):
                return result
            if attempt < self.retries and self.budget > 0:
                self.retaken += 1
                self.budget -= time.perf_counter() - t0
            else:
                break
        self.kept_noisy += 1
        return result


def render(head, cells, markdown: bool, left=2) -> str:
    """A plain-text or Markdown table. ``left``: how many leading columns are
    left-aligned, or the set of their indices; the others are right-aligned."""
    lefts = set(range(left)) if isinstance(left, int) else set(left)
    if markdown:
        lines = ["| " + " | ".join(head) + " |",
                 "|" + "|".join("---" if i in lefts else "---:" for i in range(len(head))) + "|"]
        lines += ["| " + " | ".join(c) + " |" for c in cells]
        return "\n".join(lines)
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(head)]
    fmt = "  ".join(f"{{:{'<' if i in lefts else '>'}{w}}}" for i, w in enumerate(widths))
    return "\n".join(fmt.format(*line).rstrip() for line in [head, *cells])


def import_torch(enabled: bool = True):
    """torch with ``set_num_threads(os.cpu_count())``, or None (not installed or not wanted)."""
    if not enabled:
        return None
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(os.cpu_count() or 1)
    return torch


def cpu_model() -> str:
    """The CPU's model name (from /proc/cpuinfo on Linux)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def blas_description() -> str:
    """NumPy's BLAS: library, version and thread count."""
    try:
        from threadpoolctl import threadpool_info

        pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
        if pools:
            p = pools[0]
            return (f"{p.get('internal_api')} {p.get('version')} ({p.get('architecture')}, "
                    f"{p.get('threading_layer')}, {p.get('num_threads')} threads)")
    except ImportError:
        pass
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{blas.get('name')} {blas.get('version')}"
    except Exception:  # numpy < 1.26 has no mode="dicts"
        return "unknown"


def machine_lines(torch) -> list[str]:
    """One line per fact about the machine and the libraries."""
    import stridenet as sn

    lines = [
        f"date: {datetime.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}",
        f"CPU: {cpu_model()}, {os.cpu_count()} logical cores; {platform.platform()}",
        f"Python {platform.python_version()}, NumPy {np.__version__}, BLAS "
        f"{blas_description()}, stridenet {sn.__version__}",
    ]
    if torch is None:
        lines.append("torch: not used (not installed, or --no-torch)")
    else:
        lines.append(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
                     f"oneDNN {'on' if torch.backends.mkldnn.is_available() else 'off'}")
    return lines


def _busy_seconds() -> float | None:
    """CPU seconds all processes have used since boot (/proc/stat), or None."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _own_seconds() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def cpu_mark() -> tuple:
    """(wall time, CPU seconds of all processes, CPU seconds of this one and its
    finished children), for ``others_cores``."""
    return time.perf_counter(), _busy_seconds(), _own_seconds()


def others_cores(mark) -> float | None:
    """How many cores other processes (and the hypervisor's steal) kept busy on average
    since ``mark``; None where /proc/stat is missing."""
    t0, busy0, own0 = mark
    busy = _busy_seconds()
    if busy is None or busy0 is None:
        return None
    elapsed = time.perf_counter() - t0
    return max(0.0, (busy - busy0) - (_own_seconds() - own0)) / max(elapsed, 1e-9)


class LoadMeter:
    """The load of other processes over a whole run, and the load average at its start."""

    def __init__(self):
        self.mark = cpu_mark()
        self.loadavg = os.getloadavg() if hasattr(os, "getloadavg") else None

    def others(self) -> float | None:
        return others_cores(self.mark)
