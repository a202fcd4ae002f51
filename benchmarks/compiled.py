"""The compiled (numba) kernels against their NumPy twins, and what compiling them costs.

Run from the repository root (stridenet and numba installed)::

    python benchmarks/compiled.py                 # every kernel, 7 rounds
    python benchmarks/compiled.py --rounds 15 --kernels col2im_lenet_conv2 adam
    python benchmarks/compiled.py --no-compile    # skip the two compile-cost processes

One process, one kernel thread (``parallel.set_num_workers(1)``, BLAS held to one thread,
as the chunks of ``run_chunks`` hold it):
the per-core speed of each twin. Shapes are those of the SPEC CNN and LeNet-5 at batch 128.
Each kernel's two twins run back to back in every round, so a spell of load from other
processes hits both; the best of ``--rounds`` is reported, with the ratio NumPy / numba.

Compile cost: two fresh processes call each kernel once with an empty, then with the now
filled, numba cache directory (a temporary one): the first call's time minus the kernel's
steady time is what compiling (or loading from the cache) costs; ``import numba`` is
timed separately (stridenet imports it on the first kernel call that wants it).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np


def _kernels():
    """name -> (description, setup() -> call()): each call runs the kernel once under the
    kernel mode in force."""
    from stridenet import Tensor, optimizers
    from stridenet.ops.kernels import activations, batchnorm, conv_backward, pool, winograd

    rng = np.random.default_rng(0)
    f32 = np.float32

    def col2im(n, oh, k, c, pad):
        back = rng.standard_normal((n, oh, oh, k, k, c)).astype(f32)
        h = oh + k - 1 - 2 * pad
        out = np.empty((n, h, h, c), f32)

        def call():
            from stridenet.ops.kernels import backend
            backend.twin(conv_backward.col2im, "col2im.col2im", back)(
                back, out, (1, 1), (1, 1), ((pad, pad), (pad, pad)))
        return call

    def max_pool(shape):
        x = rng.standard_normal(shape).astype(f32)

        def fwd():
            pool.max_pool2d_forward(x, (2, 2), (2, 2), ((0, 0), (0, 0)))

        def bwd_setup():
            y, cache = pool.max_pool2d_forward(x, (2, 2), (2, 2), ((0, 0), (0, 0)))
            dy = np.ones_like(y)
            return lambda: pool.max_pool2d_backward(dy, cache)
        return fwd, bwd_setup

    def bn(shape):
        x = rng.standard_normal(shape).astype(f32)
        g, b = np.ones(shape[-1], f32), np.zeros(shape[-1], f32)
        dy = rng.standard_normal(shape).astype(f32)

        def fwd():
            batchnorm.batchnorm_train_forward(x, g, b, 3, 1e-3)

        def bwd_setup():
            _, cache = batchnorm.batchnorm_train_forward(x, g, b, 3, 1e-3)
            return lambda: batchnorm.batchnorm_train_backward(dy, cache)
        return fwd, bwd_setup

    def act(name, shape):
        x = rng.standard_normal(shape).astype(f32)
        dy = rng.standard_normal(shape).astype(f32)
        y, cache = getattr(activations, f"{name}_forward")(x)
        return lambda: getattr(activations, f"{name}_backward")(dy, cache)

    def wino(which, n, hw, c):
        from stridenet.ops.kernels import backend
        tiles, (hp, wp) = winograd.tiles_for((hw, hw), 3)
        xp = rng.standard_normal((n, hp, wp, c)).astype(f32)
        a = winograd.OUTPUT_TILE + 2
        prod = rng.standard_normal((a * a, n * tiles[0] * tiles[1], c)).astype(f32)
        out = np.empty((n, tiles[0] * 4, tiles[1] * 4, c), f32)
        if which == "input":
            return lambda: backend.twin(winograd._input_transform, "winograd.input_transform",
                                        xp)(xp, 3, tiles)
        return lambda: backend.twin(winograd._output_transform, "winograd.output_transform",
                                    prod, out)(prod, 3, tiles, out)

    def conv_dx(n, hw, k, c, f, pad):
        from stridenet.ops.kernels.conv import conv2d_forward

        x = rng.standard_normal((n, hw, hw, c)).astype(f32)
        w = rng.standard_normal((k, k, c, f)).astype(f32)
        y, cache = conv2d_forward(x, w, None, (1, 1), ((pad, pad), (pad, pad)), (1, 1), 1)
        dy = rng.standard_normal(y.shape).astype(f32)
        return lambda: conv_backward.conv2d_backward(dy, cache, (True, False, False))

    def optimizer(cls, size):
        p = Tensor(rng.standard_normal(size).astype(f32))
        g = rng.standard_normal(size).astype(f32) * 1e-3
        opt = cls(learning_rate=1e-3)
        return lambda: opt.apply([g], [p])

    pool_fwd, pool_bwd = max_pool((128, 28, 28, 32))
    bn_fwd, bn_bwd = bn((128, 14, 14, 64))
    return {  # whole kernels at batch 128 unless a chunk is named (what one chunk computes)
        "col2im_lenet_conv2": ("LeNet-5 conv2 dx scatter, 10x10 -> 14x14 x6, 5x5, a chunk "
                               "of 16 images", lambda: col2im(16, 10, 5, 6, 0)),
        "col2im_spec_conv3": ("SPEC conv3 dx scatter, 14x14 x32, 3x3 'same', a chunk of 8",
                              lambda: col2im(8, 14, 3, 32, 1)),
        "conv_dx_lenet_conv2": ("LeNet-5 conv2 input gradient (product + scatter), batch 128",
                                lambda: conv_dx(128, 14, 5, 6, 16, 0)),
        "conv_dx_spec_conv3": ("SPEC conv3 input gradient (product + scatter), batch 128",
                               lambda: conv_dx(128, 14, 3, 32, 64, 1)),
        "max_pool_forward": ("SPEC pool1 forward, 28x28x32, 2x2", lambda: pool_fwd),
        "max_pool_backward": ("SPEC pool1 backward, 28x28x32, 2x2", pool_bwd),
        "batchnorm_forward": ("batch norm train forward, 14x14x64", lambda: bn_fwd),
        "batchnorm_backward": ("batch norm train backward, 14x14x64", bn_bwd),
        "relu_backward": ("relu gradient, 28x28x32", lambda: act("relu", (128, 28, 28, 32))),
        "tanh_backward": ("tanh gradient, 28x28x32", lambda: act("tanh", (128, 28, 28, 32))),
        "winograd_input_3x3": ("F(4x4,3x3) input transform, 8 x 14x14x64 (a chunk)",
                               lambda: wino("input", 8, 14, 64)),
        "winograd_output_3x3": ("F(4x4,3x3) output transform, 8 x 14x14x64 (a chunk)",
                                lambda: wino("output", 8, 14, 64)),
        "adam": ("Adam update, 1M float32 parameters",
                 lambda: optimizer(optimizers.Adam, 1_000_000)),
        "sgd": ("SGD update, 1M float32 parameters",
                lambda: optimizer(optimizers.SGD, 1_000_000)),
    }


def _time(call) -> float:
    t = time.perf_counter()
    call()
    return time.perf_counter() - t


def measure(names, rounds):
    from threadpoolctl import threadpool_limits

    from stridenet.ops.kernels import backend, parallel

    parallel.set_num_workers(1)
    threadpool_limits(1)  # as inside run_chunks: BLAS on the calling thread only
    kernels = _kernels()
    rows = []
    for name in names:
        desc, setup = kernels[name]
        calls = {}
        for mode in ("numpy", "numba"):
            backend.set_kernel_mode(mode)
            calls[mode] = setup()
            calls[mode]()  # warm-up (compiles on the numba path)
        best = {"numpy": float("inf"), "numba": float("inf")}
        for _ in range(rounds):
            for mode in ("numpy", "numba"):  # back to back: load hits both alike
                backend.set_kernel_mode(mode)
                best[mode] = min(best[mode], _time(calls[mode]))
        rows.append((name, desc, best["numpy"], best["numba"]))
    backend.set_kernel_mode(None)
    return rows


def _child(names):
    """In a fresh process: numba's import time, then each kernel's first call and best
    steady call (JSON on stdout)."""
    from threadpoolctl import threadpool_limits

    from stridenet.ops.kernels import backend, parallel

    parallel.set_num_workers(1)
    threadpool_limits(1)
    t = time.perf_counter()
    import numba  # noqa: F401

    result = {"import_numba": time.perf_counter() - t, "kernels": {}}
    backend.set_kernel_mode("numba")
    kernels = _kernels()
    for name in names:
        call = kernels[name][1]()
        first = _time(call)
        steady = min(_time(call) for _ in range(3))
        result["kernels"][name] = max(0.0, first - steady)
    print(json.dumps(result))


def compile_costs(names):
    """(cold, cached): each a dict from the child, the first with an empty cache directory."""
    out = []
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache, "STRIDENET_NUM_THREADS": "1"}
        for _ in range(2):
            done = subprocess.run([sys.executable, __file__, "--child", *names],
                                  capture_output=True, text=True, env=env, check=True)
            out.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return out


def main(argv=None):
    names_all = list(_kernels())
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kernels", nargs="+", choices=names_all, default=names_all)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--no-compile", action="store_true")
    parser.add_argument("--child", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        _child(args.child)
        return
    import numba

    cold = cached = None
    if not args.no_compile:
        cold, cached = compile_costs(args.kernels)
    rows = measure(args.kernels, args.rounds)
    print(f"numba {numba.__version__}, numpy {np.__version__}, 1 kernel thread, "
          f"best of {args.rounds} rounds (ms), ratio = NumPy / numba")
    head = f"{'kernel':22s} {'NumPy':>9s} {'numba':>9s} {'ratio':>6s}"
    if cold:
        head += f" {'compile s':>10s} {'cached s':>9s}"
    print(head)
    for name, _, t_np, t_nb in rows:
        line = f"{name:22s} {t_np * 1e3:9.3f} {t_nb * 1e3:9.3f} {t_np / t_nb:6.2f}"
        if cold:
            line += f" {cold['kernels'][name]:10.2f} {cached['kernels'][name]:9.2f}"
        print(line)
    if cold:
        print(f"first calls in all: {sum(cold['kernels'].values()):.1f} s compiling with an "
              f"empty cache, {sum(cached['kernels'].values()):.2f} s loading from the cache; "
              f"import numba {cold['import_numba']:.2f} s / {cached['import_numba']:.2f} s")
    for name, desc, _, _ in rows:
        print(f"  {name}: {desc}")


if __name__ == "__main__":
    main()
