"""Keras 3 twins of the stridenet zoo models (the second peer, on TensorFlow).

Keras and stridenet share the layout (channels last, kernels ``(*K, C_in, F)``, batch
norm's gamma, beta, moving mean and variance in that order), so stridenet's weights copy
over as they are: layer by layer in order for the sequential models, by layer name for
ResNet-20 (whose twin is built with stridenet's names). Each twin is an independent
definition with the same layers, padding and parameter count (asserted); ``check_same``
compares the outputs before anything is timed.

``import_keras`` sets ``KERAS_BACKEND`` before Keras loads (it reads it once, at import):
the benchmark asks for TensorFlow; the unit tests run the same twins on Keras's torch
backend, which this machine has, so the code path is exercised without TensorFlow.
"""

from __future__ import annotations

import importlib.util
import os

import numpy as np


def keras_unavailable(backend: str = "tensorflow") -> str | None:
    """Why Keras on ``backend`` cannot run here, or None when it can."""
    module = {"tensorflow": "tensorflow", "torch": "torch", "jax": "jax"}.get(backend)
    if module is None:
        return f"unknown Keras backend {backend!r}"
    if importlib.util.find_spec(module) is None:
        return f"{module} is not installed (pip install tensorflow-cpu adds this peer)"
    if importlib.util.find_spec("keras") is None:
        return "keras is not installed"
    return None


def import_keras(backend: str = "tensorflow"):
    """Keras 3 on ``backend``, or raises RuntimeError saying why it is not available."""
    why = keras_unavailable(backend)
    if why is not None:
        raise RuntimeError(why)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ["KERAS_BACKEND"] = backend
    import keras

    if keras.backend.backend() != backend:
        raise RuntimeError(f"Keras was already imported with the {keras.backend.backend()} "
                           f"backend in this process, not {backend}")
    return keras


def _sequential(keras, input_shape, layers, name):
    return keras.Sequential([keras.Input(shape=input_shape), *layers], name=name)


def _spec_cnn(keras):
    L = keras.layers
    return _sequential(keras, (28, 28, 1), [
        L.Conv2D(32, 5, padding="same", activation="relu"),
        L.Conv2D(32, 5, padding="same", activation="relu"), L.MaxPooling2D(2),
        L.Conv2D(64, 3, padding="same", activation="relu"),
        L.Conv2D(64, 3, padding="same", activation="relu"), L.MaxPooling2D(2),
        L.Flatten(), L.Dense(128, activation="relu"), L.Dense(10, activation="softmax"),
    ], "mnist_cnn")


def _lenet5(keras):
    L = keras.layers
    return _sequential(keras, (28, 28, 1), [
        L.Conv2D(6, 5, padding="same", activation="tanh"), L.AveragePooling2D(2),
        L.Conv2D(16, 5, padding="valid", activation="tanh"), L.AveragePooling2D(2),
        L.Flatten(), L.Dense(120, activation="tanh"), L.Dense(84, activation="tanh"),
        L.Dense(10, activation="softmax"),
    ], "lenet5")


def _fcn1d(keras):
    L = keras.layers
    layers = []
    for f, k in zip((128, 256, 128), (8, 5, 3)):
        layers += [L.Conv1D(f, k, padding="same"), L.BatchNormalization(momentum=0.9),
                   L.ReLU()]
    layers += [L.GlobalAveragePooling1D(), L.Dense(6, activation="softmax")]
    return _sequential(keras, (60, 1), layers, "fcn1d")


def _c3d_small(keras):
    L = keras.layers
    layers = []
    for i, f in enumerate((16, 32, 64)):
        layers += [L.Conv3D(f, 3, padding="same", use_bias=False), L.BatchNormalization(),
                   L.ReLU()]
        if i < 2:
            layers.append(L.MaxPooling3D(2))
    layers += [L.GlobalAveragePooling3D(), L.Dense(10, activation="softmax")]
    return _sequential(keras, (16, 32, 32, 1), layers, "c3d_small")


def _resnet20(keras):
    L = keras.layers

    def conv_bn(x, filters, k, strides, name):
        x = L.Conv2D(filters, k, strides=strides, padding="same", use_bias=False,
                     name=f"{name}_conv")(x)
        return L.BatchNormalization(name=f"{name}_bn")(x)

    inputs = keras.Input(shape=(32, 32, 3))
    x = L.ReLU()(conv_bn(inputs, 16, 3, 1, "stem_1"))
    for stage, filters in enumerate((16, 32, 64), start=1):
        for block in range(1, 4):
            strides, name = (2 if stage > 1 and block == 1 else 1), f"stage{stage}_block{block}"
            shortcut = x
            if strides != 1 or x.shape[-1] != filters:
                shortcut = conv_bn(x, filters, 1, strides, f"{name}_proj")
            y = L.ReLU()(conv_bn(x, filters, 3, strides, f"{name}_1"))
            x = L.ReLU()(L.Add()([conv_bn(y, filters, 3, 1, f"{name}_2"), shortcut]))
    x = L.GlobalAveragePooling2D()(x)
    outputs = L.Dense(10, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name="resnet20")


TWINS = {"mnist_cnn": _spec_cnn, "lenet5": _lenet5, "resnet20": _resnet20,
         "fcn1d": _fcn1d, "c3d_small": _c3d_small}


def build(keras, name: str):
    """The Keras twin of ``stridenet.zoo.get(name)`` (default arguments), uncompiled."""
    if name not in TWINS:
        raise ValueError(f"no Keras twin for {name!r}")
    return TWINS[name](keras)


def copy_weights(sn_model, kmodel, name: str) -> None:
    """Give the Keras twin stridenet's weights (same layouts, so copied as they are)."""
    ours = [layer for layer in sn_model.layers if layer.weights]
    if name == "resnet20":
        theirs = [kmodel.get_layer(layer.name) for layer in ours]
    else:
        theirs = [layer for layer in kmodel.layers if layer.weights]
    if len(ours) != len(theirs):
        raise RuntimeError(f"{name}: {len(ours)} weighted stridenet layers, "
                           f"{len(theirs)} Keras")
    for mine, twin in zip(ours, theirs):
        weights = [np.array(w) for w in mine.get_weights()]
        shapes = [tuple(w.shape) for w in twin.get_weights()]
        if [w.shape for w in weights] != shapes:
            raise RuntimeError(f"{name}: {mine.name} has weights of shapes "
                               f"{[w.shape for w in weights]}, its Keras twin {shapes}")
        twin.set_weights(weights)


def check_params(sn_model, kmodel, name: str) -> int:
    """Assert both models have the same parameter count; return it."""
    ours, theirs = sn_model.count_params(), kmodel.count_params()
    if ours != theirs:
        raise RuntimeError(f"{name}: parameter counts differ: stridenet {ours}, "
                           f"Keras {theirs}")
    return ours


def check_same(keras, sn_model, kmodel, x: np.ndarray, name: str, tol: float = 1e-4) -> float:
    """Max |difference| of the softmax outputs, inference then training mode (batch
    statistics); raises when above ``tol``. Call before any training step."""
    import stridenet as sn

    errs = []
    for training in (False, True):
        with sn.no_grad():
            ours = sn_model(x, training=training).numpy()
        theirs = keras.ops.convert_to_numpy(kmodel(x, training=training))
        errs.append(float(np.max(np.abs(ours - theirs))))
    if max(errs) > tol:
        raise RuntimeError(f"{name}: stridenet and Keras outputs differ by {errs} "
                           f"(inference, training) > {tol}")
    return max(errs)


def twin(keras, sn_model, name: str, x: np.ndarray):
    """The Keras twin with stridenet's weights, checked, compiled as stridenet's model
    is (Adam with Keras's defaults, sparse categorical cross-entropy): (model, max err)."""
    kmodel = build(keras, name)
    check_params(sn_model, kmodel, name)
    copy_weights(sn_model, kmodel, name)
    err = check_same(keras, sn_model, kmodel, x, name)
    kmodel.compile(optimizer=keras.optimizers.Adam(), loss="sparse_categorical_crossentropy")
    return kmodel, err
