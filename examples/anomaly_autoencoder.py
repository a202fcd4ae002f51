"""Flag an anomaly in a periodic series with a 1D convolutional autoencoder.

The recipe of Keras's time-series anomaly-detection example, on data made here: train a
Conv1D / Conv1DTranspose autoencoder to rebuild windows of a normal periodic signal,
take the largest reconstruction error seen in training, with a 10% margin for noise the
model has not seen, as the threshold, then flag the
windows of a new series whose error exceeds it. The new series carries an injected
anomaly -- a stretch where the cycle flattens out -- which the flagged windows must cover.

    python examples/anomaly_autoencoder.py           # trains for a few seconds, prints
"""

from __future__ import annotations

import numpy as np

import stridenet as sn
from stridenet import layers

WINDOW, PERIOD = 64, 24


def periodic(n: int, rng: np.random.Generator) -> np.ndarray:
    """A noisy cycle of period PERIOD with a slowly drifting amplitude: (n,) float32."""
    t = np.arange(n)
    amplitude = 1.0 + 0.2 * np.sin(2 * np.pi * t / (PERIOD * 17))
    return (amplitude * np.sin(2 * np.pi * t / PERIOD)
            + 0.1 * rng.standard_normal(n)).astype(np.float32)


def windows(series: np.ndarray, step: int = 1) -> np.ndarray:
    """Overlapping windows of a series: (n,) -> (count, WINDOW, 1)."""
    view = np.lib.stride_tricks.sliding_window_view(series, WINDOW)[::step]  # (count, W)
    return view[..., None].copy()  # (count, W, 1)


def autoencoder() -> sn.Sequential:
    """(N, 64, 1) -> (N, 16, 4) -> (N, 64, 1): strided Conv1D down, Conv1DTranspose up.

    The narrow middle (16 steps of 4 channels) keeps the cycle's shape but not the noise,
    so new noise costs no more than the training noise did."""
    return sn.Sequential([
        layers.Input((WINDOW, 1)),
        layers.Conv1D(16, 7, strides=2, padding="same", activation="relu"),
        layers.Conv1D(4, 7, strides=2, padding="same", activation="relu"),
        layers.Conv1DTranspose(16, 7, strides=2, padding="same", activation="relu"),
        layers.Conv1DTranspose(16, 7, strides=2, padding="same", activation="relu"),
        layers.Conv1D(1, 7, padding="same"),
    ], name="conv1d_autoencoder")


def reconstruction_error(model, x: np.ndarray) -> np.ndarray:
    """Mean absolute error of each window's reconstruction: (count,)."""
    return np.abs(model.predict(x, batch_size=256) - x).mean(axis=(1, 2))


def main(epochs: int = 20, seed: int = 0, verbose: int = 1) -> dict:
    rng = np.random.default_rng(seed)
    sn.utils.set_random_seed(seed)
    train = windows(periodic(3000, rng), step=2)
    model = autoencoder()
    model.compile(optimizer=sn.optimizers.Adam(3e-3), loss="mse")
    model.fit(train, train, batch_size=64, epochs=epochs, verbose=verbose)
    threshold = 1.1 * float(reconstruction_error(model, train).max())

    test = periodic(1200, rng)
    start, stop = 600, 640  # the injected anomaly: the cycle flattens to a constant
    test[start:stop] = test[start]
    errors = reconstruction_error(model, windows(test))
    flagged = np.flatnonzero(errors > threshold)  # window k covers samples k..k+63
    covers = [k for k in flagged if k <= stop - 1 and k + WINDOW - 1 >= start]
    result = {"threshold": threshold, "flagged": len(flagged), "windows": len(errors),
              "flagged_over_anomaly": len(covers),
              "false_alarms": len(flagged) - len(covers),
              "first": int(flagged.min()) if len(flagged) else None,
              "last": int(flagged.max()) if len(flagged) else None}
    if verbose:
        print(f"threshold (largest training error + 10%) {threshold:.4f}")
        print(f"{len(flagged)} of {len(errors)} windows flagged, {len(covers)} of them over "
              f"the anomaly at samples {start}-{stop - 1}, {result['false_alarms']} elsewhere")
    return result


if __name__ == "__main__":
    main()
