"""One training step of a small CNN equals PyTorch's, for SGD (momentum) and Adam.

The same weights go into both frameworks (layouts converted: conv kernels
(KH, KW, C, F) <-> (F, C, KH, KW); the dense layer after Flatten has its rows
reordered from our (H, W, C) flattening to PyTorch's (C, H, W)).
"""

from __future__ import annotations

import numpy as np
import pytest

import stridenet as sn
from oracle_stats import record
from stridenet import layers as L

pytestmark = pytest.mark.usefixtures("kernel_path")  # on the NumPy and numba kernels

H = W = 8
C, F, CLASSES = 2, 4, 3


def our_model():
    sn.utils.set_random_seed(5)
    return sn.Sequential([
        L.Input((H, W, C)),
        L.Conv2D(F, 3, padding="same", activation="relu"),
        L.MaxPooling2D(2),
        L.Conv2D(F, 3, strides=2, padding="same", activation="relu"),  # asymmetric 'same'
        L.Flatten(),
        L.Dense(CLASSES),
    ])


def torch_model(torch, weights):
    nn = torch.nn
    k1, b1, k2, b2, dk, db = weights
    conv1, conv2 = nn.Conv2d(C, F, 3, padding=1), nn.Conv2d(F, F, 3, stride=2)
    dense = nn.Linear(2 * 2 * F, CLASSES)
    with torch.no_grad():
        conv1.weight.copy_(torch.tensor(k1.transpose(3, 2, 0, 1)))  # (F, C, KH, KW)
        conv1.bias.copy_(torch.tensor(b1))
        conv2.weight.copy_(torch.tensor(k2.transpose(3, 2, 0, 1)))
        conv2.bias.copy_(torch.tensor(b2))
        # our Flatten runs over (h, w, c); PyTorch's over (c, h, w)
        rows = dk.reshape(2, 2, F, CLASSES).transpose(2, 0, 1, 3).reshape(-1, CLASSES)
        dense.weight.copy_(torch.tensor(rows.T))
        dense.bias.copy_(torch.tensor(db))
    F_ = torch.nn.functional

    def forward(x):  # x: NCHW
        h = F_.max_pool2d(F_.relu(conv1(x)), 2)
        h = F_.relu(conv2(F_.pad(h, (0, 1, 0, 1))))  # 'same', stride 2 on 4x4: pad after only
        return dense(h.flatten(1))

    return [conv1, conv2, dense], forward


def to_ours(torch_layers):
    conv1, conv2, dense = torch_layers
    w = dense.weight.detach().numpy().T.reshape(F, 2, 2, CLASSES).transpose(1, 2, 0, 3)
    return [conv1.weight.detach().numpy().transpose(2, 3, 1, 0), conv1.bias.detach().numpy(),
            conv2.weight.detach().numpy().transpose(2, 3, 1, 0), conv2.bias.detach().numpy(),
            w.reshape(-1, CLASSES), dense.bias.detach().numpy()]


@pytest.mark.parametrize("name", ["sgd", "adam"])
def test_one_training_step_matches_torch(torch, name):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, H, W, C)).astype(np.float32)
    y = rng.integers(0, CLASSES, 16)
    model = our_model()
    if name == "sgd":
        opt = sn.optimizers.SGD(learning_rate=0.1, momentum=0.9, nesterov=True)
    else:
        opt = sn.optimizers.Adam(learning_rate=0.01, epsilon=1e-12)
    model.compile(optimizer=opt, loss=sn.losses.SparseCategoricalCrossentropy(from_logits=True))
    layers, forward = torch_model(torch, model.get_weights())
    params = [p for layer in layers for p in layer.parameters()]
    if name == "sgd":
        topt = torch.optim.SGD(params, lr=0.1, momentum=0.9, nesterov=True)
    else:
        topt = torch.optim.Adam(params, lr=0.01, eps=1e-12)
    for _ in range(2):  # two steps, so momentum / moment estimates matter
        model.train_step(x, y)
        topt.zero_grad()
        loss = torch.nn.functional.cross_entropy(forward(torch.tensor(x.transpose(0, 3, 1, 2))),
                                                 torch.tensor(y))
        loss.backward()
        topt.step()
    pairs = list(zip(model.get_weights(), to_ours(layers)))
    record(f"training step {name}", *pairs)
    for ours, theirs in pairs:
        np.testing.assert_allclose(ours, theirs, atol=1e-5, rtol=1e-5)
