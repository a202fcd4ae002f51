"""Data-parallel scaling: measured here on 1 and 2 ranks, modelled for 1-64 nodes.

Run from the repository root (the ``dist`` extra installed)::

    python benchmarks/scaling.py                  # launches itself under mpiexec -n 2
    python benchmarks/scaling.py --batch 64       # per-rank batch of the model

Measured, for the SPEC MNIST CNN and ResNet-20:

* the compute time of one training step (forward, backward, optimizer) at the per-rank
  batch, on one rank holding every core, and on each of two ranks sharing the cores;
* the allreduce of all the gradients packed into one float32 buffer, as ``fit`` does it,
  between the two local ranks (the median of many).

Modelled: N nodes, each one rank with the per-rank batch b, joined by a network of
bandwidth BW. A ring allreduce of G gradient bytes takes

    t_comm = 2 (N - 1) / N * G / BW + 2 (N - 1) * latency

and a step, without overlap, t_compute + t_comm: images/s = N * b / (t_compute + t_comm).
The table says where communication passes 10% of the step, and which per-rank batch keeps
it below 10% (compute grows with the batch, communication does not).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time

import numpy as np

LATENCY = 5e-6  # s per message hop: a typical cluster interconnect, not measured here
BANDWIDTHS = {"10 Gb/s": 10e9 / 8, "25 Gb/s": 25e9 / 8, "100 Gb/s": 100e9 / 8}
NODES = (1, 2, 4, 8, 16, 32, 64)
MODELS = {"mnist_cnn": (28, 28, 1), "resnet20": (32, 32, 3)}


def step_time(sn, name, batch, rounds=6):
    """Median seconds of one training step of zoo model ``name`` at ``batch``."""
    sn.utils.set_random_seed(0)
    model = sn.zoo.get(name)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    x = rng.random((batch, *MODELS[name]), dtype=np.float32)
    y = rng.integers(0, 10, batch)
    model.train_step(x, y)  # build, warm the workspaces
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        model.train_step(x, y)
        times.append(time.perf_counter() - t)
    return float(np.median(times)), model.count_params()


def allreduce_time(comm, params, rounds=50):
    buf = np.ones(params, np.float32)
    comm.barrier()
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        comm.allreduce_sum_(buf)
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def measure_ranks(batch):
    """Under mpiexec: every rank times its steps and the allreduce; rank 0 prints JSON."""
    import json

    import stridenet as sn

    comm = sn.distribute.get_comm()
    out = {}
    for name in MODELS:
        compute, params = step_time(sn, name, batch)
        computes = comm.allgather(compute)
        out[name] = {"params": params, "compute_2ranks": max(computes),
                     "allreduce_2ranks": allreduce_time(comm, params)}
    if comm.rank == 0:
        print("JSON" + json.dumps(out), flush=True)


def model_table(name, params, compute, batch, lines):
    grad_bytes = 4 * params
    lines.append(f"\n{name}: {params:,} parameters ({grad_bytes / 1e6:.2f} MB of float32 "
                 f"gradients), step compute {compute * 1e3:.1f} ms at batch {batch} per rank")
    lines.append(f"| nodes | {' | '.join(f'{bw} img/s (comm %)' for bw in BANDWIDTHS)} |")
    lines.append("|---:|" + "---:|" * len(BANDWIDTHS))
    for n in NODES:
        cells = []
        for bw in BANDWIDTHS.values():
            comm = _comm(n, grad_bytes, bw)
            ips = n * batch / (compute + comm)
            cells.append(f"{ips:,.0f} ({100 * comm / (compute + comm):.0f}%)")
        lines.append(f"| {n} | {' | '.join(cells)} |")
    for label, bw in BANDWIDTHS.items():
        over = [n for n in NODES[1:]
                if _comm(n, grad_bytes, bw) > 0.1 * (compute + _comm(n, grad_bytes, bw))]
        # compute scales with the batch: keep comm / (compute + comm) < 10% at 64 nodes
        need = 9 * _comm(64, grad_bytes, bw) / (compute / batch)
        first = f"from {over[0]} nodes" if over else "never up to 64 nodes"
        lines.append(f"- {label}: communication above 10% of the step {first}; a per-rank "
                     f"batch of {int(np.ceil(need))} keeps it below 10% at 64 nodes")


def _comm(n, grad_bytes, bw):
    """Seconds of a ring allreduce of ``grad_bytes`` over ``n`` nodes (0 for one node)."""
    return 2 * (n - 1) / n * grad_bytes / bw + 2 * (n - 1) * LATENCY


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64, help="per-rank batch (default 64)")
    parser.add_argument("--ranks-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.ranks_child:
        measure_ranks(args.batch)
        return
    import json

    import stridenet as sn

    mpiexec = shutil.which("mpiexec")
    if mpiexec is None:
        raise SystemExit('mpiexec not found: pip install "stridenet[dist]"')
    print("measuring 2 ranks under mpiexec ...", flush=True)
    env = {**os.environ, "STRIDENET_NUM_THREADS": str(max(1, (os.cpu_count() or 2) // 2))}
    done = subprocess.run([mpiexec, "-n", "2", sys.executable, __file__, "--ranks-child",
                           "--batch", str(args.batch)], capture_output=True, text=True,
                          env=env, check=True)
    two = json.loads(next(line[4:] for line in done.stdout.splitlines()
                          if line.startswith("JSON")))
    lines = [f"# Data-parallel scaling (batch {args.batch} per rank)", "",
             "| model | step, 1 rank (all cores) | step, each of 2 ranks | allreduce, 2 local "
             "ranks | 2-rank img/s | 1-rank img/s |", "|---|---:|---:|---:|---:|---:|"]
    singles = {}
    for name in MODELS:
        one, params = step_time(sn, name, args.batch)
        singles[name] = (one, params)
        t2, ar = two[name]["compute_2ranks"], two[name]["allreduce_2ranks"]
        lines.append(f"| {name} | {one * 1e3:.1f} ms | {t2 * 1e3:.1f} ms | {ar * 1e3:.2f} ms | "
                     f"{2 * args.batch / (t2 + ar):,.0f} | {args.batch / one:,.0f} |")
    lines.append("\nModel of N nodes (one rank per node, each with this machine's step "
                 f"compute; ring allreduce, {LATENCY * 1e6:.0f} us per hop):")
    for name, (one, params) in singles.items():
        model_table(name, params, one, args.batch, lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
