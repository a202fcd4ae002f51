"""One data-parallel scenario, run by tests/test_distribute.py under ``mpiexec -n 2`` (or as
a single process for the reference): ``python run.py MODE OUT_DIR``.

Each rank writes what the test compares into OUT_DIR: its weights (``rank{r}.npz``), and
rank 0 the logs and results (``result.json``).
"""

from __future__ import annotations

import json
import os
import signal
import sys

import numpy as np

import stridenet as sn

MODE, OUT = sys.argv[1], sys.argv[2]
RANK = sn.distribute.rank()


def data(n=52):  # 52 samples at batch 16: three full global batches and one of 4
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, 8, 8, 2)).astype(np.float32)
    return x, rng.integers(0, 3, n)


def model(units=3, seed=1, bn=None):
    # every rank starts from different weights: fit must broadcast rank 0's
    sn.utils.set_random_seed(seed + (RANK if MODE != "disagree" else 0))
    layers = [sn.layers.Input((8, 8, 2)), sn.layers.Conv2D(4, 3, activation="relu")]
    if bn is not None:  # "sync" or "local" statistics
        layers.append(sn.layers.BatchNormalization(synchronized=bn == "sync"))
    layers += [sn.layers.Flatten(), sn.layers.Dense(units)]
    m = sn.Sequential(layers)
    m.compile(optimizer=sn.optimizers.Adam(1e-2),
              loss=sn.losses.SparseCategoricalCrossentropy(from_logits=True),
              metrics=["accuracy"])
    return m


class Trip(sn.callbacks.Callback):
    """Fails (or dies) on rank 1 at its third batch."""

    def on_train_batch_end(self, batch, logs=None):
        if RANK == 1 and batch == 2:
            if MODE == "die":
                os.kill(os.getpid(), signal.SIGKILL)
            raise RuntimeError("rank 1 tripped on purpose")


def save(m, **result):
    weights = {f"w{i}": w for i, w in enumerate(m.get_weights())}
    np.savez(os.path.join(OUT, f"rank{RANK}.npz"), **weights)
    if RANK == 0:
        with open(os.path.join(OUT, "result.json"), "w") as f:
            json.dump(result, f)


x, y = data()
if MODE in ("train", "bn", "bnlocal"):
    m = model(bn={"bn": "sync", "bnlocal": "local"}.get(MODE))
    h = m.fit(x, y, batch_size=16, epochs=2, verbose=0)
    ev = m.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    pred = m.predict(x, batch_size=8)
    save(m, history=h.history, evaluate=ev, predict=pred.tolist())
elif MODE == "resume":
    m = model()
    m.fit(x, y, batch_size=16, epochs=1, verbose=0)
    path = os.path.join(OUT, "epoch1.safetensors")
    if RANK == 0:
        m.save(path)
    comm = sn.distribute.get_comm()
    if comm is not None:
        comm.barrier()  # the file exists before any rank reads it
    m = sn.models.load_model(path)
    h = m.fit(x, y, batch_size=16, epochs=2, initial_epoch=1, verbose=0)
    save(m, history=h.history)
elif MODE in ("raise", "die"):
    m = model()
    m.fit(x, y, batch_size=4, epochs=3, verbose=0, callbacks=[Trip()])
    save(m)
elif MODE == "disagree":
    m = model(units=3 + RANK)
    m.fit(x, y, batch_size=16, epochs=1, verbose=0)
    save(m)
elif MODE == "progress":
    m = model()
    log = os.path.join(OUT, "log.csv")
    m.fit(x, y, batch_size=16, epochs=2, verbose=1, callbacks=[sn.callbacks.CSVLogger(log)])
    save(m)
else:
    raise SystemExit(f"unknown mode {MODE!r}")
