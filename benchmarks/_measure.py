"""Whole-model timings: training steps, batch inference and batch-1 latency, stridenet
next to PyTorch (and Keras, where it runs), sampled in turns by ``_common.Sampler``."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field

import numpy as np
from _common import LoadMeter, Matmul, Sampler, timed

import stridenet as sn

MODELS = {  # name -> input shape of one sample, channels last
    "mnist_cnn": (28, 28, 1),
    "lenet5": (28, 28, 1),
    "resnet20": (32, 32, 3),
    "fcn1d": (60, 1),  # the synthetic-control recipe's series: 60 steps, 6 classes
    "c3d_small": (16, 32, 32, 1),  # the moving-digits recipe's clips: 16 frames of 32x32
}
CLASSES = {"fcn1d": 6}  # the others: 10
# Largest batch per model: a c3d_small step at batch 128 takes seconds, which would
# stretch the run past its budget; 32 is the moving-digits recipe's own batch.
MAX_BATCH = {"c3d_small": 32}
KINDS = ("train", "infer", "latency")
TORCH_LAYOUTS = ("nchw", "nhwc")  # torch's default layout, and channels_last (where it has one)
LATENCY_CALLS = 7  # timed batch-1 calls per turn (their median is the turn's sample)


def model_batch(name: str, batch: int) -> int:
    """The batch ``name`` is timed at: ``batch``, capped by ``MAX_BATCH``."""
    return min(batch, MAX_BATCH.get(name, batch))


def batch_data(name: str, batch: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded float32 samples (N, *MODELS[name]) and int64 labels in 0..classes-1."""
    rng = np.random.default_rng(42)
    x = rng.standard_normal((batch, *MODELS[name]), dtype=np.float32)
    return x, rng.integers(0, CLASSES.get(name, 10), size=batch)


def build_stridenet(name: str):
    """The zoo model, seeded, compiled with Adam and sparse categorical cross-entropy."""
    sn.utils.set_random_seed(0)
    model = sn.zoo.get(name, input_shape=MODELS[name], num_classes=CLASSES.get(name, 10))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


CONV_DENSE = sn.layers.Conv1D | sn.layers.Conv2D | sn.layers.Conv3D | sn.layers.Dense


def train_flops(model) -> float:
    """Matmul flops of one training image: 3 x the forward flops of the conv and dense
    layers (forward, input gradient, weight gradient; a multiply-add counts 2)."""
    from stridenet.models.summary import layer_flops, layer_io_shapes

    fwd = sum(layer_flops(layer, i, o) for layer, i, o in layer_io_shapes(model)
              if isinstance(layer, CONV_DENSE))
    return 3.0 * fwd


TIMED_CALLS = {"train": 2, "infer": 3}  # back-to-back timed calls per turn (the best counts)


class Runner:
    """One framework on one model: ``turn(kind)`` -> (seconds,) of one sample, after an
    untimed call that warms caches and thread pools.

    The sample is the best of a few back-to-back calls: after the sampler's pause this
    virtual machine's cores run the first tens of milliseconds slower (see ops.py), which
    one timed call would charge to whichever library runs first after the pause.
    """

    def turn(self, kind: str) -> tuple[float]:
        self.mode(kind == "train")
        if kind == "latency":
            self.infer1()
            return (statistics.median(timed(self.infer1) for _ in range(LATENCY_CALLS)),)
        fn = self.train if kind == "train" else self.infer
        fn()
        return (min(timed(fn) for _ in range(TIMED_CALLS[kind])),)

    def mode(self, training: bool) -> None:
        """Switch train/eval mode (outside the timed calls)."""


class StridenetRunner(Runner):
    """``model.train_step(x, y)``; ``model.predict_on_batch`` (no_grad, training=False)."""

    def __init__(self, model, x, y):
        self.model, self.x, self.y, self.x1 = model, x, y, np.ascontiguousarray(x[:1])

    def train(self):
        self.model.train_step(self.x, self.y)

    def infer(self):
        self.model.predict_on_batch(self.x)

    def infer1(self):
        self.model.predict_on_batch(self.x1)


class TorchRunner(Runner):
    """A torch twin in NCHW or channels_last: Adam step on ``F.cross_entropy`` of the
    logits; inference is ``softmax(model(x))`` under ``inference_mode`` in eval mode."""

    def __init__(self, torch, model, x, y, channels_last: bool):
        from _torch_models import memory_format, to_torch

        self.torch = torch
        fmt = memory_format(torch, x.ndim, channels_last)
        if fmt is None:
            raise ValueError(f"torch has no channels-last format for {x.ndim - 2}D data")
        self.model = model.to(memory_format=fmt) if x.ndim in (4, 5) else model
        xt = to_torch(torch, x)
        self.x = xt.contiguous(memory_format=fmt)
        self.x1 = xt[:1].clone().contiguous(memory_format=fmt)
        self.y = torch.from_numpy(y)
        # Keras's Adam defaults (stridenet's): lr 1e-3, betas (0.9, 0.999), eps 1e-7.
        self.opt = torch.optim.Adam(self.model.parameters(), lr=1e-3, eps=1e-7)

    def mode(self, training):
        self.model.train(training)

    def train(self):
        self.opt.zero_grad(set_to_none=True)
        loss = self.torch.nn.functional.cross_entropy(self.model(self.x), self.y)
        loss.backward()
        self.opt.step()
        loss.item()  # as train_step returns the loss as a float

    def infer(self):
        with self.torch.inference_mode():
            self.torch.softmax(self.model(self.x), dim=1)

    def infer1(self):
        with self.torch.inference_mode():
            self.torch.softmax(self.model(self.x1), dim=1)


class KerasRunner(StridenetRunner):
    """A Keras 3 twin: ``train_on_batch`` (Adam, sparse categorical cross-entropy, as
    compiled by ``_keras_models.twin``); ``predict_on_batch`` for inference and latency
    as stridenet's (Keras's compiled predict step; on TensorFlow a ``tf.function``)."""

    def train(self):
        self.model.train_on_batch(self.x, self.y)


@dataclass
class ModelResult:
    name: str
    params: int
    flops: float  # training matmul flops per image
    batch: int
    seconds: dict = field(default_factory=dict)  # (kind, impl) -> median seconds
    max_err: float | None = None  # stridenet vs torch outputs (None: no torch)
    keras_err: float | None = None  # stridenet vs Keras outputs (None: no Keras)
    keras_backend: str | None = None  # Keras's backend when Keras ran
    torch_layouts: tuple = ()  # the torch twins' layouts timed ("nchw", "nhwc")
    memory: dict = field(default_factory=dict)  # impl -> measurement (see _memory)
    others: float | None = None  # cores other processes kept busy while it was timed


def runners(name: str, batch: int, torch, keras=None):
    """Build the stridenet model, (with torch) its twins in each layout torch has for
    it, and (with ``keras``) its Keras twin; check they agree.

    Returns (ModelResult, {impl: Runner}). The output checks run before any step."""
    from _torch_models import build, check_params, check_same, copy_weights, memory_format

    model = build_stridenet(name)
    batch = model_batch(name, batch)
    x, y = batch_data(name, batch)
    result = ModelResult(name, model.count_params(), train_flops(model), batch)
    impls = {}
    if torch is not None:
        twins = {}
        layouts = [k for k in TORCH_LAYOUTS
                   if memory_format(torch, x.ndim, k == "nhwc") is not None]
        for key in layouts:
            twins[key] = build(torch, name)
            check_params(torch, model, twins[key], name)
            copy_weights(torch, model, twins[key], name)
        result.max_err = check_same(torch, model, twins["nchw"], x[:32], name)
        result.torch_layouts = tuple(twins)
        for key, twin in twins.items():
            impls[key] = TorchRunner(torch, twin, x, y, channels_last=key == "nhwc")
    if keras is not None:
        from _keras_models import twin

        kmodel, result.keras_err = twin(keras, model, name, x[:32])
        result.keras_backend = keras.backend.backend()
        impls["keras"] = KerasRunner(kmodel, x, y)
    return result, {"sn": StridenetRunner(model, x, y), **impls}


def measure(result: ModelResult, impls: dict, rounds: int, sampler: Sampler,
            matmul: Matmul, peaks: list) -> None:
    """Fill ``result.seconds`` with medians of ``rounds`` samples; kinds and frameworks
    take turns within each round. Appends one matmul-peak sample per round to ``peaks``."""
    for impl in impls.values():  # warm-up: allocator, caches, thread pools, lazy state
        for kind in KINDS:
            impl.turn(kind)
    samples = {(kind, key): [] for kind in KINDS for key in impls}
    for _ in range(rounds):
        for kind in KINDS:
            for key, impl in impls.items():
                samples[kind, key].append(sampler.take(lambda i=impl, k=kind: i.turn(k))[0])
        peaks.append(sampler.take(matmul.turn)[0])
    result.seconds = {k: statistics.median(v) for k, v in samples.items()}


def run_models(names, batch: int, rounds: int, torch, pause: float, wait_budget=None,
               log=print, keras=None):
    """ModelResults for ``names``, the matmul peak samples and the sampler."""
    sampler, matmul = Sampler(pause, wait_budget=wait_budget), Matmul(2048)
    peaks, results = [], []
    for name in names:
        t0, load = time.perf_counter(), LoadMeter()
        result, impls = runners(name, batch, torch, keras)
        measure(result, impls, rounds, sampler, matmul, peaks)
        result.others = load.others()
        results.append(result)
        log(f"  {name}: timed in {time.perf_counter() - t0:.0f} s")
        del impls
    return results, peaks, sampler
