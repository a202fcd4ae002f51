"""What a fresh process pays before its first useful step: import time and kernel compile cost.

**Import time** (``import_times``): ``python -c "import stridenet"`` (and numpy, torch,
tensorflow where installed, for context) in fresh processes, each timed as its wall time
minus that of ``python -c "pass"`` run in the same round (the interpreter's own start);
modules take turns in each round and each number is the median over the rounds (the
context modules over the first three only: torch and tensorflow take seconds each). Beside
it, ``python -X importtime -c "import stridenet"``: the cumulative microseconds of the
``stridenet`` line (its whole import, numpy included) and the sum of the self times of
stridenet's own modules (``stridenet`` and ``stridenet.*``). The children write and read
bytecode (``.pyc``) whatever ``PYTHONDONTWRITEBYTECODE`` says, as a user's install does.

**First step** (``first_steps``): one fresh process per configuration builds the model
(seeded), then times its first ``train_step``, its first ``predict_on_batch`` (after that
step) and the steady step and predict (best of 3):

* ``cold``: ``STRIDENET_KERNELS=numba`` with an empty numba cache directory (a temporary
  ``NUMBA_CACHE_DIR``, also ``XDG_CACHE_HOME``): numba's import and every compilation;
* ``warm``: the same, with the cache the cold process filled: loading compiled code;
* ``numpy``: ``STRIDENET_KERNELS=numpy``: no compiler at all.

This file also runs as the child script: ``python _startup.py first-step MODEL BATCH``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

from _common import render
from _targets import IMPORT_BOUND

HERE = os.path.dirname(os.path.abspath(__file__))
CONTEXT_MODULES = ("numpy", "torch", "tensorflow")  # timed when installed, for context
CONTEXT_ROUNDS = 3  # rounds for the context modules (torch and tensorflow take seconds each)


def _wall(code: str, env=None) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def _import_env() -> dict:
    """The environment of the import-time children: bytecode written and read, as after any
    install (pip compiles the ``.pyc`` files of a regular install; an editable one writes
    them on its first import). With ``PYTHONDONTWRITEBYTECODE=1``, which some containers
    set, every start compiles every module's source again (0.5-0.8 s for stridenet on a
    2-core machine instead of about 0.1 s): that measures the container, not the package."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    return env


def importtime_us(module: str = "stridenet") -> tuple[int, int]:
    """(cumulative us of ``module``'s line, sum of self us of ``module`` and its
    submodules) from ``python -X importtime -c "import module"``."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"],
                          capture_output=True, text=True, check=True, env=_import_env())
    cumulative, own = 0, 0
    for line in proc.stderr.splitlines():
        # "import time:   self [us] | cumulative | imported package"
        if not line.startswith("import time:") or "|" not in line:
            continue
        fields = line[len("import time:"):].split("|")
        try:
            self_us, cum_us = int(fields[0]), int(fields[1])
        except ValueError:  # the header line
            continue
        name = fields[2].strip()
        if name == module:
            cumulative = cum_us
        if name == module or name.startswith(module + "."):
            own += self_us
    return cumulative, own


def import_times(rounds: int) -> dict:
    """{module: median seconds over the interpreter's start} for stridenet and the
    installed context modules, plus ``"importtime"``: stridenet's (cumulative, own) s."""
    modules = ["stridenet"] + [m for m in CONTEXT_MODULES if importlib.util.find_spec(m)]
    env = _import_env()
    samples = {m: [] for m in modules}
    for m in modules:  # untimed: the files' pages into the OS cache, bytecode written
        _wall(f"import {m}", env)
    for i in range(rounds):
        base = _wall("pass", env)
        for m in modules:
            if m == "stridenet" or i < CONTEXT_ROUNDS:
                samples[m].append(_wall(f"import {m}", env) - base)
    out = {m: max(0.0, statistics.median(v)) for m, v in samples.items()}
    cums, owns = zip(*(importtime_us() for _ in range(rounds)))
    out["importtime"] = (statistics.median(cums) / 1e6, statistics.median(owns) / 1e6)
    return out


def _child_first_step(name: str, batch: int) -> dict:
    """In the fresh process: first and steady train step and predict, seconds."""
    sys.path.insert(0, HERE)
    from _measure import batch_data, build_stridenet

    x, y = batch_data(name, batch)
    model = build_stridenet(name)

    def timed(fn):
        t0 = time.perf_counter()
        fn()
        return time.perf_counter() - t0

    out = {"first_step": timed(lambda: model.train_step(x, y)),
           "first_predict": timed(lambda: model.predict_on_batch(x))}
    out["steady_step"] = min(timed(lambda: model.train_step(x, y)) for _ in range(3))
    out["steady_predict"] = min(timed(lambda: model.predict_on_batch(x)) for _ in range(3))
    from stridenet.ops.kernels import backend

    out["mode"] = backend.kernel_mode()
    return out


def _spawn(name: str, batch: int, env: dict, timeout: float) -> dict:
    cmd = [sys.executable, os.path.join(HERE, "_startup.py"), "first-step", name, str(batch)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": "timed out"}
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def first_steps(name: str, batch: int, timeout: float = 300) -> dict:
    """{"cold"|"warm"|"numpy": the child's dict, or {"error": ...}}; cold and warm only
    with numba installed (else {"skipped": why})."""
    out = {}
    if importlib.util.find_spec("numba") is None:
        why = "numba is not installed (pip install 'stridenet[perf]')"
        out["cold"] = out["warm"] = {"skipped": why}
    else:
        with tempfile.TemporaryDirectory(prefix="stridenet-numba-") as cache:
            env = {**os.environ, "STRIDENET_KERNELS": "numba", "NUMBA_CACHE_DIR": cache,
                   "XDG_CACHE_HOME": cache}
            out["cold"] = _spawn(name, batch, env, timeout)
            out["warm"] = _spawn(name, batch, env, timeout)
    out["numpy"] = _spawn(name, batch, {**os.environ, "STRIDENET_KERNELS": "numpy"}, timeout)
    return out


CONFIGS = (("cold", "numba, empty cache"), ("warm", "numba, warm cache"),
           ("numpy", "numpy kernels"))
FIRST_ROWS = (("first_step", "first train step"), ("first_predict", "first predict (after it)"),
              ("steady_step", "steady train step (best of 3)"),
              ("steady_predict", "steady predict (best of 3)"))


def _s(v) -> str:
    return "-" if v is None else f"{v:.2f}" if v < 10 else f"{v:.1f}"


@dataclass
class Startup:
    """Import times (``import_times``) and first steps (``first_steps``) of one run;
    either may be None (not measured)."""

    imports: dict | None
    first: dict | None
    model: str = "mnist_cnn"
    title: str = "SPEC CNN"
    batch: int = 128

    def import_rows(self) -> tuple[list[str], list[list[str]]]:
        head = ["measure", "unit", "stridenet", "target", "met"]
        im = self.imports
        sn_s = im["stridenet"]
        cum, own = im["importtime"]
        ok = "pass" if sn_s <= IMPORT_BOUND else "MISS"
        cells = [
            ["import stridenet (fresh process, minus python -c pass)", "s", _s(sn_s),
             f"<= {IMPORT_BOUND:.2f} s", ok],
            ["-X importtime: stridenet, numpy included", "s", _s(cum), "", ""],
            ["-X importtime: stridenet's own modules (self)", "s", _s(own), "", ""],
        ]
        return head, cells

    def context(self) -> str:
        others = [f"{m} {_s(self.imports[m])} s" for m in CONTEXT_MODULES if m in self.imports]
        return ("for context, the same measure for " + ", ".join(others)) if others else ""

    def first_rows(self) -> tuple[list[str], list[list[str]]]:
        head = [f"{self.title}, batch {self.batch} (s)"] + [label for _, label in CONFIGS]
        cells = []
        for key, label in FIRST_ROWS:
            cells.append([label] + [_s(self.first.get(c, {}).get(key)) for c, _ in CONFIGS])
        return head, cells

    def first_line(self) -> str:
        """One sentence: the three first steps and the steady one."""
        def get(config, key):
            return self.first.get(config, {}).get(key)

        numba = [v for v in (get("cold", "steady_step"), get("warm", "steady_step")) if v]
        steady_numba = min(numba) if numba else None  # the best of both numba processes
        why = []
        for c, _ in CONFIGS:
            got = self.first.get(c, {})
            if "first_step" not in got:
                why.append(f"{c}: {got.get('error') or got.get('skipped') or 'not run'}")
        line = (f"{self.title} at batch {self.batch}: first step, cold compile "
                f"{_s(get('cold', 'first_step'))} s; first step, warm cache "
                f"{_s(get('warm', 'first_step'))} s; first step, numpy kernels "
                f"{_s(get('numpy', 'first_step'))} s; steady step {_s(steady_numba)} s "
                f"(numba), {_s(get('numpy', 'steady_step'))} s (numpy)")
        return line + (f" (not measured: {'; '.join(why)})" if why else "")

    def tally(self, tally) -> None:
        if self.imports is not None:
            ok = self.imports["stridenet"] <= IMPORT_BOUND
            tally.add("import stridenet", f"<= {IMPORT_BOUND:.2f} s", "pass" if ok else "MISS")

    def render(self, markdown: bool) -> list[str]:
        """The section's lines (tables and notes), as text or Markdown."""
        out = []
        if self.imports is not None:
            out += [render(*self.import_rows(), markdown, left={0, 1, 3, 4}), ""]
            if self.context():
                out += [("- " if markdown else "") + self.context(), ""]
        if self.first is not None:
            out += [render(*self.first_rows(), markdown, left=1), "",
                    ("- " if markdown else "") + self.first_line(), ""]
        return out


if __name__ == "__main__":  # the child of first_steps
    if sys.argv[1:2] != ["first-step"] or len(sys.argv) != 4:
        sys.exit("usage: _startup.py first-step MODEL BATCH")
    print(json.dumps(_child_first_step(sys.argv[2], int(sys.argv[3]))))
