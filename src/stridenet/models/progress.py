"""A Keras-style progress bar: steps, bar, elapsed time or ETA, time per step, metrics."""

from __future__ import annotations

import sys
import time


def _fmt_time(seconds: float) -> str:
    if seconds >= 3600:
        return f"{int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}:{int(seconds % 60):02d}"
    if seconds >= 60:
        return f"{int(seconds // 60)}:{int(seconds % 60):02d}"
    return f"{seconds:.0f}s"


def format_logs(logs: dict) -> str:
    return " - ".join(f"{k}: {v:.4f}" for k, v in logs.items())


class ProgressBar:
    """verbose=1: one line redrawn in place; verbose=2: one line at the end; 0: silent.

    ``total_steps=None`` (a generator without ``steps``): steps counted, no bar or ETA.
    """

    def __init__(self, total_steps: int, verbose: int = 1, width: int = 20, stream=None,
                 interval: float = 0.1):
        self.total, self.verbose, self.width = total_steps, verbose, width
        self.stream = stream or sys.stdout
        self.interval = interval
        self.start = time.perf_counter()
        self._last_draw = 0.0
        self._step = 0

    def _line(self, step: int, logs: dict, final: bool) -> str:
        elapsed = time.perf_counter() - self.start
        per_step = elapsed / max(step, 1)
        if self.total is None:
            text = f"{step}/Unknown {_fmt_time(elapsed)} {per_step * 1000:.0f}ms/step"
            return f"{text} - {format_logs(logs)}" if logs else text
        digits = len(str(self.total))
        done = int(self.width * step / max(self.total, 1))
        bar = "━" * done + ("━" if final else "─") * 0 + "─" * (self.width - done)
        if final:
            timing = f"{_fmt_time(elapsed)} {per_step * 1000:.0f}ms/step"
        else:
            timing = f"ETA {_fmt_time(per_step * (self.total - step))} " \
                     f"{per_step * 1000:.0f}ms/step"
        text = f"{step:>{digits}}/{self.total} {bar} {timing}"
        return f"{text} - {format_logs(logs)}" if logs else text

    def update(self, step: int, logs: dict | None = None) -> None:
        self._step = step
        if self.verbose != 1:
            return
        now = time.perf_counter()
        if now - self._last_draw < self.interval and (self.total is None or step < self.total):
            return
        self._last_draw = now
        self.stream.write("\r" + self._line(step, logs or {}, final=False))
        self.stream.flush()

    def finish(self, logs: dict | None = None) -> None:
        if self.verbose == 0:
            return
        prefix = "\r" if self.verbose == 1 else ""
        last = self._step if self.total is None else self.total
        self.stream.write(prefix + self._line(last, logs or {}, final=True) + "\n")
        self.stream.flush()
