"""The benchmark helpers (benchmarks/): the twins compute stridenet's function, the targets
are read as the performance issue states them, and the fresh-process parts run.

Nothing here times anything: the benchmark's numbers are for benchmarks/run.py."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH))

import _measure  # noqa: E402
import _startup  # noqa: E402
import _targets  # noqa: E402
from _keras_models import import_keras, keras_unavailable  # noqa: E402

MODELS = list(_measure.MODELS)


@pytest.mark.parametrize("name", MODELS)
def test_torch_twin_matches_stridenet(name):
    torch = pytest.importorskip("torch")
    import _torch_models as T

    model = _measure.build_stridenet(name)
    twin = T.build(torch, name)
    assert T.check_params(torch, model, twin, name) == model.count_params()
    T.copy_weights(torch, model, twin, name)
    x, _ = _measure.batch_data(name, 3)
    assert T.check_same(torch, model, twin, x, name) < 1e-5
    # A twin that differs must be caught: one changed weight moves the outputs.
    with torch.no_grad():
        next(twin.parameters()).add_(0.5)
    with pytest.raises(RuntimeError, match="outputs differ"):
        T.check_same(torch, model, twin, x, name)


def test_torch_runner_layouts():
    torch = pytest.importorskip("torch")
    result, impls = _measure.runners("fcn1d", 4, torch)
    assert set(impls) == {"sn", "nchw"}  # torch has no channels-last layout for 1D
    assert result.torch_layouts == ("nchw",) and result.batch == 4
    result, impls = _measure.runners("c3d_small", 2, torch)
    assert set(impls) == {"sn", "nchw", "nhwc"}
    assert impls["nhwc"].x.is_contiguous(memory_format=torch.channels_last_3d)
    assert _measure.model_batch("c3d_small", 128) == _measure.MAX_BATCH["c3d_small"] == 32
    assert _measure.model_batch("c3d_small", 8) == 8 == _measure.model_batch("lenet5", 8)


def test_batch_data_labels_fit_the_classes():
    _, y = _measure.batch_data("fcn1d", 500)
    assert y.max() == 5 and y.min() == 0
    x, _ = _measure.batch_data("c3d_small", 2)
    assert x.shape == (2, 16, 32, 32, 1) and x.dtype == np.float32


def test_keras_peer_absent_without_tensorflow():
    has_tf = importlib.util.find_spec("tensorflow") is not None
    why = keras_unavailable("tensorflow")
    if has_tf:  # (a venv with tensorflow-cpu): the peer runs when Keras is there too
        has_keras = importlib.util.find_spec("keras") is not None
        assert why == (None if has_keras else "keras is not installed")
        return
    assert "tensorflow is not installed" in why
    with pytest.raises(RuntimeError, match="tensorflow is not installed"):
        import_keras("tensorflow")
    assert "unknown Keras backend" in keras_unavailable("theano")


@pytest.mark.skipif(keras_unavailable("torch") is not None, reason="needs keras and torch")
def test_keras_twins_match_stridenet_on_the_torch_backend():
    # Keras reads KERAS_BACKEND once per process: a child process keeps this one clean.
    code = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(BENCH)!r})
        import _keras_models as K, _measure as M
        keras = K.import_keras("torch")
        for name in M.MODELS:
            model = M.build_stridenet(name)
            x, _ = M.batch_data(name, 2)
            kmodel, err = K.twin(keras, model, name, x)
            assert err < 1e-5, (name, err)
            w = kmodel.layers[-1].get_weights()
            w[0][:, 0] += 1.0  # one class's logit (a shift of all would leave the softmax)
            kmodel.layers[-1].set_weights(w)
            try:
                K.check_same(keras, model, kmodel, x, name)
            except RuntimeError:
                continue
            raise AssertionError(name + ": a changed weight went unnoticed")
        print("ok")
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "KERAS_BACKEND": "torch"}, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().endswith("ok")


def _result(name, keras_backend="tensorflow", **seconds):
    """A ModelResult with the given (kind_impl=seconds), at batch 100."""
    r = _measure.ModelResult(name, params=1, flops=1.0, batch=100,
                             keras_backend=keras_backend)
    r.seconds = {tuple(k.split("_")): v for k, v in seconds.items()}
    return r


def test_targets_read_as_the_issue_states():
    import _report

    # SPEC train 0.96x torch: the target (>= 0.95x) is met, the aim (> 1.0x) is not.
    spec = _result("mnist_cnn", train_sn=1.0, train_nchw=0.96, train_keras=2.0,
                   latency_sn=0.6, latency_nchw=1.0)
    head, cells = _report.table([spec], peak=100.0, has_peers=True)
    train = cells[0]
    assert train[head.index("target")] == (">= 0.95x NCHW; aim > 1.00x NCHW; "
                                           "aim > 1.00x NHWC; > 1.00x TF")
    assert train[head.index("met")] == "pass; aim missed; -; pass"  # NHWC not timed here
    latency = next(c for c in cells if c[1] == "latency b1 (median)")
    assert latency[head.index("met")] == "MISS"  # 0.6x torch's time, target <= 0.5x
    lenet = _result("lenet5", train_sn=1.0, train_nchw=0.79)
    tally = _report.tally([spec, lenet], peak=100.0)
    assert len(tally.met) == 2 and len(tally.missed) == 2
    assert any("LeNet-5 train b100 (>= 0.80x NCHW)" == m for m in tally.missed)


def test_keras_on_another_backend_is_not_counted():
    import _report

    r = _result("fcn1d", keras_backend="torch", train_sn=1.0, train_nchw=2.0, train_keras=2.0)
    head, cells = _report.table([r], peak=100.0, has_peers=True)
    assert "Keras/torch" in head and "sn/torch" in head
    assert cells[0][head.index("met")] == "pass; -"  # the FCN target; the TF one unmeasured
    tally = _report.tally([r], peak=100.0)
    assert tally.met == ["Conv1D FCN train b100 (>= 1.00x NCHW)"] and not tally.missed
    # not timed here: Keras on TensorFlow, inference, memory
    assert "Conv1D FCN train b100 (> 1.00x TF)" in tally.unmeasured
    assert len(tally.unmeasured) == 3


def test_import_target_in_tally():
    t = _targets.Tally()
    _startup.Startup({"stridenet": 0.31, "importtime": (0.2, 0.05)}, None).tally(t)
    assert t.missed == ["import stridenet (<= 0.30 s)"]
    assert t.lines()[0].startswith("targets of the issue met: 0 of 1 measured")


def test_importtime_parse_finds_the_package():
    cumulative, own = _startup.importtime_us("json")
    assert 0 < own <= cumulative


def test_first_step_child_runs_in_a_fresh_process():
    env = {**os.environ, "STRIDENET_KERNELS": "numpy"}
    got = _startup._spawn("lenet5", 4, env, timeout=120)
    assert got.get("mode") == "numpy", got
    assert all(got[k] > 0 for k in ("first_step", "first_predict", "steady_step"))
    start = _startup.Startup(None, {"numpy": got, "cold": {"skipped": "no numba"},
                                    "warm": {"error": "boom"}}, "lenet5", "LeNet-5", 4)
    line = start.first_line()
    assert "numpy kernels" in line and "not measured: cold: no numba; warm: boom" in line


def test_run_parses_the_new_flags():
    import run

    args = run.parse_args(["--quick", "--models", "fcn1d", "c3d_small", "--no-keras"])
    assert args.import_rounds == 3 and args.out == "-" and args.no_keras
    keras, note = run.keras_peer(SimpleNamespace(no_keras=True, keras_backend="tensorflow"))
    assert keras is None and "--no-keras" in note
    if importlib.util.find_spec("tensorflow") is None:
        keras, note = run.keras_peer(SimpleNamespace(no_keras=False,
                                                     keras_backend="tensorflow"))
        assert keras is None and "tensorflow is not installed" in note


def test_results_file_quotes_the_targets_and_ends_with_the_readme_table():
    import _report

    spec = _result("mnist_cnn", train_sn=1.0, train_nchw=0.9, infer_sn=1.0, infer_nchw=1.2,
                   latency_sn=0.4, latency_nchw=1.0)
    spec.memory = {"sn": {"rss_mb": 50.0}, "nchw": {"rss_mb": 100.0}}
    c3d = _result("c3d_small", train_sn=1.0, train_nchw=1.0)
    c3d.batch = 32
    start = _startup.Startup({"stridenet": 0.25, "importtime": (0.2, 0.05), "torch": 1.5},
                             {"numpy": {"first_step": 1.0, "steady_step": 0.5}})
    report = _report.Report(
        machine=["CPU: Test CPU, 2 logical cores; Linux"], results=[spec, c3d], peaks=[100.0],
        layers=None, has_torch=True, rounds=1, batch=100, retaken=0, noisy=0, others=None,
        phases=[], loadavg=None, seconds=1.0, command="python benchmarks/run.py",
        keras_note="Keras on TensorFlow: not measured", startup=start,
        durations=[("models", 1.0)])
    md = report.markdown()
    for line in _targets.ISSUE_TEXT:
        assert f"- {line}" in md
    summary = md[md.index("## Summary for the README"):]
    # seconds 1.0 against torch's 0.9: 0.90x torch's speed; inference 1.0 s against 1.2 s
    assert "| SPEC CNN | 100 | 0.90x MISS | 1.20x pass | 0.40x pass | 0.50x pass | - |" in summary
    assert "| Conv3D c3d_small | 32 | 1.00x | - | - | - | - |" in summary  # no target: no mark
    assert "`import stridenet`: 0.25 s" in summary and "torch 1.50 s" in summary
    assert "first step, numpy kernels 1.00 s" in summary
    assert "(not measured: cold: not run; warm: not run)" in summary
    # met: SPEC infer, latency, memory, import; missed: SPEC train; c3d infer unmeasured
    assert "targets of the issue met: 4 of 5 measured; missed: SPEC CNN train b100" in summary
    assert "Conv3D c3d_small is timed at batch 32" in md
    assert md.rstrip().endswith("the run took 1 s (models 1 s)")


@pytest.mark.parametrize("name", ["fcn1d", "c3d_small"])
def test_torch_twin_batch_norm_momentum_is_keras_s(name):
    # One training-mode forward moves the running means alike (Keras 0.9 / 0.99 is torch's
    # 0.1 / 0.01). The running variances differ by n/(n-1): torch updates with the
    # unbiased batch variance, Keras with the biased one.
    torch = pytest.importorskip("torch")
    import _torch_models as T

    import stridenet as sn

    model = _measure.build_stridenet(name)
    twin = T.build(torch, name)
    T.copy_weights(torch, model, twin, name)
    x, _ = _measure.batch_data(name, 4)
    x = x + np.float32(3.0)  # batch means well away from 0
    with sn.no_grad():
        model(x, training=True)
    twin.train()
    with torch.no_grad():
        twin(T.to_torch(torch, x))
    ours = next(layer for layer in model.layers if isinstance(layer, sn.layers.BatchNormalization))
    theirs = next(m for m in twin.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm))
    moved = np.asarray(ours.moving_mean.data)
    assert np.abs(moved).max() > 1e-3  # it moved
    np.testing.assert_allclose(moved, theirs.running_mean.numpy(), rtol=1e-4,
                               atol=1e-4 * np.abs(moved).max())


def test_readme_table_of_a_noisy_run_says_not_to_quote_it():
    import _report

    spec = _result("mnist_cnn", train_sn=1.0, train_nchw=1.0)

    def markdown(phases):
        return _report.Report(
            machine=["CPU: Test CPU, 2 logical cores"], results=[spec], peaks=[100.0],
            layers=None, has_torch=True, rounds=1, batch=100, retaken=0, noisy=0,
            others=0.5, phases=phases, loadavg=None, seconds=1.0, command="run").markdown()

    summary = markdown([("SPEC CNN", 0.5)]).split("## Summary for the README")[1]
    assert "**Do not quote this run: other processes kept more than 0.2 cores busy " \
           "while timing SPEC CNN; rerun on a quiet machine**" in summary
    assert "Do not quote" not in markdown([("SPEC CNN", 0.05)])
