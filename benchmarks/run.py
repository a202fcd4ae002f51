"""stridenet against PyTorch (and Keras on TensorFlow) on whole models: training,
inference, latency, memory, import time and first-step compile cost.

Run from the repository root (stridenet installed, torch optional)::

    python benchmarks/run.py                 # all five models, writes benchmarks/RESULTS.md
    python benchmarks/run.py --quick         # smoke run: fewer rounds, writes nothing
    python benchmarks/run.py --models lenet5 fcn1d --no-torch --out results.md

Models: the SPEC section 3 CNN (``mnist_cnn``, 28x28x1), LeNet-5 (``lenet5``, 28x28x1),
ResNet-20 (``resnet20``, 32x32x3), the Conv1D FCN (``fcn1d``, series of 60 steps, 6
classes) and the Conv3D ``c3d_small`` (clips of 16 frames of 32x32, timed at batch 32).
Each has a PyTorch twin, and a Keras twin run on TensorFlow where that is installed, with
the same layers, padding and parameter count (asserted) that gets stridenet's weights;
they must give the same outputs (to 1e-4) before anything is timed. PyTorch runs in its
default layout and in channels_last (where it has one), with
``torch.set_num_threads(os.cpu_count())``; NumPy's BLAS uses all cores too.

Measured, with float32 data at batch 128 (``--batch``):

* training images/s: one optimizer step (forward, loss, backward, Adam update):
  stridenet ``model.train_step(x, y)`` after ``compile(optimizer="adam",
  loss="sparse_categorical_crossentropy")``; torch ``zero_grad``, ``cross_entropy``,
  ``backward``, ``Adam.step``; Keras ``train_on_batch``;
* inference images/s: ``model.predict_on_batch(x)``; torch eval mode, ``inference_mode``;
* batch-1 latency: the median of single-image predictions;
* peak memory of a training step: see ``_memory.py`` (a fresh process per framework and
  model, the same method for both);
* import time and the first training step with the numba kernels compiling, loading
  from their cache, or not used: see ``_startup.py`` (fresh processes);
* per-layer conv forward/backward GFLOP/s and fraction of the matmul peak, on the SPEC
  model's conv layers (``ops.py``).

Frameworks and measures take turns in each round; each number is the median of
``--rounds`` samples, and ``_common.Sampler`` retakes samples taken in the slow spells
of a shared machine or while other processes kept its cores busy. Nothing here asserts
speed: the table compares, and marks the targets of the performance issue (``_targets.py``)
as met or missed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from types import SimpleNamespace

import ops
from _common import LoadMeter, import_torch, machine_lines
from _measure import MODELS, run_models
from _report import TITLES, Report

HERE = os.path.dirname(os.path.abspath(__file__))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS),
                   metavar="MODEL", help=f"subset of {', '.join(MODELS)} (default all)")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: 1 round (--rounds 1); writes no results file")
    p.add_argument("--rounds", type=int, default=None,
                   help="samples per number, medians reported (default 5, --quick 1)")
    p.add_argument("--batch", type=int, default=128, help="batch size (default 128)")
    p.add_argument("--out", default=None, help="Markdown results file (default "
                   "benchmarks/RESULTS.md; a --quick run writes one only when given; "
                   "'-' writes none)")
    p.add_argument("--no-torch", action="store_true", help="stridenet alone")
    p.add_argument("--no-memory", action="store_true", help="skip the memory processes")
    p.add_argument("--no-layers", action="store_true", help="skip the per-layer conv table")
    p.add_argument("--no-keras", action="store_true",
                   help="skip Keras on TensorFlow (it runs only where tensorflow is installed)")
    p.add_argument("--keras-backend", default="tensorflow", choices=("tensorflow", "jax", "torch"),
                   help=argparse.SUPPRESS)  # other backends: for trying the Keras path only
    p.add_argument("--no-startup", action="store_true",
                   help="skip the fresh-process import times and first-step compile costs")
    p.add_argument("--import-rounds", type=int, default=None,
                   help="fresh processes per import time, median reported (default 7, "
                   "--quick 3)")
    p.add_argument("--pause", type=float, default=0.1,
                   help="seconds of idle before each sample (default 0.1)")
    p.add_argument("--wait-budget", type=float, default=None,
                   help="most seconds the sampler spends waiting for calm and retaking "
                   "samples, per part (default 60, --quick 10); the layer table gets half")
    args = p.parse_args(argv)
    if args.wait_budget is None:
        args.wait_budget = 10.0 if args.quick else 60.0
    if args.rounds is None:
        args.rounds = 1 if args.quick else 5
    if args.import_rounds is None:
        args.import_rounds = 3 if args.quick else 7
    if args.out is None:
        args.out = "-" if args.quick else os.path.join(HERE, "RESULTS.md")
    if args.batch < 2 or args.rounds < 1 or args.pause < 0 or args.import_rounds < 1:
        p.error("--batch must be at least 2, --rounds and --import-rounds positive, "
                "--pause not negative")
    return args


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def measure_memory(results, torch, batch: int) -> None:
    import _memory

    for result in results:
        for impl in ["sn", *result.torch_layouts]:
            mem = _memory.measure(impl, result.name, result.batch)
            if "error" in mem:
                log(f"  memory {result.name} {impl}: {mem['error']}")
            result.memory[impl] = mem
        log(f"  {result.name}: memory measured")


def keras_peer(args):
    """(Keras module or None, the note for the results)."""
    from _keras_models import import_keras, keras_unavailable

    label = "Keras on TensorFlow" if args.keras_backend == "tensorflow" else \
        f"Keras on {args.keras_backend} (not the TensorFlow peer of the targets)"
    if args.no_keras:
        return None, f"{label}: not measured (--no-keras)"
    why = keras_unavailable(args.keras_backend)
    if why is not None:
        return None, f"{label}: not measured, {why}; its columns hold '-'"
    keras = import_keras(args.keras_backend)
    return keras, f"{label}: Keras {keras.__version__}, {backend_version(args.keras_backend)}"


def backend_version(backend: str) -> str:
    import importlib

    module = importlib.import_module(backend)
    return f"{backend} {getattr(module, '__version__', '?')}"


def startup(args, log):
    """Import times and first-step costs in fresh processes (_startup.py)."""
    from _measure import model_batch
    from _report import TITLES
    from _startup import Startup, first_steps, import_times

    name = "mnist_cnn" if "mnist_cnn" in args.models else args.models[0]
    batch = model_batch(name, args.batch)
    log(f"import times ({args.import_rounds} fresh processes each)")
    imports = import_times(args.import_rounds)
    log(f"first steps of {name} (fresh processes: numba cold, numba warm, numpy)")
    first = first_steps(name, batch)
    for config, got in first.items():
        if "error" in got:
            log(f"  first step {config}: {got['error']}")
    return Startup(imports, first, name, TITLES[name], batch)


def layer_rows(args, torch) -> tuple[list[dict], list[float], object]:
    """ops.py's per-layer conv timings of the SPEC model: (rows, peak samples, sampler)."""
    ops_args = SimpleNamespace(batch=args.batch, repeats=args.rounds, layers=list(ops.LAYERS),
                               pause=args.pause, wait_budget=args.wait_budget / 2)
    return ops.run(ops_args, torch)


def main(argv=None) -> int:
    args = parse_args(argv)
    t_start = time.perf_counter()
    torch = import_torch(not args.no_torch)
    keras, keras_note = keras_peer(args)
    log(keras_note)
    load = LoadMeter()
    log(f"timing {', '.join(args.models)}, {args.rounds} round(s)")
    results, peaks, sampler = run_models(args.models, args.batch, args.rounds, torch,
                                         args.pause, args.wait_budget, log, keras)
    samplers, phases = [sampler], [(TITLES[r.name], r.others) for r in results]
    durations = [("models", time.perf_counter() - t_start)]  # (imports included)
    if not args.no_memory:
        t0 = time.perf_counter()
        measure_memory(results, torch, args.batch)  # (not timing: the load is no matter)
        durations.append(("memory", time.perf_counter() - t0))
    layers = None
    if not args.no_layers and "mnist_cnn" in args.models:
        log("timing the SPEC model's conv layers (ops.py)")
        phase, t0 = LoadMeter(), time.perf_counter()
        rows, layer_peaks, layer_sampler = layer_rows(args, torch)
        phases.append(("conv layers", phase.others()))
        peaks += layer_peaks
        samplers.append(layer_sampler)
        layers = ops.table(ops.with_totals(rows), max(peaks), torch is not None)
        durations.append(("conv layers", time.perf_counter() - t0))
    starts = None
    if not args.no_startup:
        t0 = time.perf_counter()
        starts = startup(args, log)
        durations.append(("start-up", time.perf_counter() - t0))
    report = Report(
        machine=machine_lines(torch), results=results, peaks=peaks, layers=layers,
        has_torch=torch is not None, rounds=args.rounds, batch=args.batch,
        retaken=sum(s.retaken for s in samplers), noisy=sum(s.kept_noisy for s in samplers),
        others=load.others(), phases=phases, loadavg=load.loadavg,
        seconds=time.perf_counter() - t_start, keras_note=keras_note, startup=starts,
        durations=durations,
        command=" ".join(["python benchmarks/run.py",
                          *argv_display(sys.argv[1:] if argv is None else argv)]))
    print(report.text())
    if args.out != "-":
        with open(args.out, "w") as f:
            f.write(report.markdown())
        log(f"wrote {os.path.relpath(args.out)}")
    return 0


def argv_display(args: list[str]) -> list[str]:
    """The command's arguments, with a results path shown relative to the current folder."""
    out = []
    for i, a in enumerate(args):
        out.append(os.path.relpath(a) if i and args[i - 1] == "--out" else a)
    return out


if __name__ == "__main__":
    sys.exit(main())
