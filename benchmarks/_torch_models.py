"""PyTorch twins of the stridenet zoo models, with stridenet's weights copied in.

Each twin has the same layers, padding and parameter count as the stridenet model and,
once ``copy_weights`` has run, computes the same function (checked by ``check_same``):

* kernels ``(*K, C_in, F)`` become ``(F, C_in, *K)`` (1D, 2D and 3D alike); dense
  kernels are transposed;
* the first dense layer after a flatten has its rows reordered from stridenet's
  ``(H, W, C)`` flattening to torch's ``(C, H, W)`` one;
* batch norm keeps Keras's epsilon (1e-3) and the model's momentum (Keras 0.99 = torch
  0.01; the FCN's 0.9 = torch 0.1); the running variances still drift apart by a factor
  n/(n-1) per update (torch folds in the unbiased batch variance, Keras the biased one),
  which changes the values a trained model computes, not the work;
* Keras's "same" for the FCN's even kernel of 8 pads 3 before and 4 after: the twin pads
  explicitly (``ZeroPad1d``, what torch's ``padding="same"`` does inside, with a warning);
* a stride-2 "same" 3x3 convolution on an even size pads (0, 1) (the Keras rule:
  the odd cell goes to the bottom/right), which torch's symmetric ``padding=`` cannot
  express, so the twin pads explicitly (``ZeroPad2d``) before an unpadded conv;
* the twin returns logits (the loss is ``F.cross_entropy``, as a torch user writes it);
  inference applies the softmax that stridenet's last layer holds.

torch is imported by the caller and passed in, so this module loads without it.
"""

from __future__ import annotations

import numpy as np


def _spec_cnn(nn):
    return nn.Sequential(
        nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(),
        nn.Conv2d(32, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(),
        nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10),
    )


def _lenet5(nn):
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.Tanh(), nn.AvgPool2d(2),
        nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2),
        nn.Flatten(), nn.Linear(400, 120), nn.Tanh(), nn.Linear(120, 84), nn.Tanh(),
        nn.Linear(84, 10),
    )


def _fcn1d(nn):
    layers, cin = [], 1
    for f, k in zip((128, 256, 128), (8, 5, 3)):
        if k % 2 == 0:  # "same", even kernel: (k - 1) // 2 before, the rest after
            layers += [nn.ZeroPad1d(((k - 1) // 2, k // 2)), nn.Conv1d(cin, f, k)]
        else:
            layers.append(nn.Conv1d(cin, f, k, padding=k // 2))
        layers += [nn.BatchNorm1d(f, eps=1e-3, momentum=0.1), nn.ReLU()]
        cin = f
    return nn.Sequential(*layers, nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(128, 6))


def _c3d_small(nn):
    layers, cin = [], 1
    for i, f in enumerate((16, 32, 64)):
        layers += [nn.Conv3d(cin, f, 3, padding=1, bias=False),
                   nn.BatchNorm3d(f, eps=1e-3, momentum=0.01), nn.ReLU()]
        if i < 2:
            layers.append(nn.MaxPool3d(2))
        cin = f
    return nn.Sequential(*layers, nn.AdaptiveAvgPool3d(1), nn.Flatten(), nn.Linear(64, 10))


def _resnet20(torch):
    nn, F = torch.nn, torch.nn.functional

    def bn(c):
        return nn.BatchNorm2d(c, eps=1e-3, momentum=0.01)

    def conv3x3(cin, cout, stride):
        if stride == 1:
            return nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        return nn.Sequential(nn.ZeroPad2d((0, 1, 0, 1)),
                             nn.Conv2d(cin, cout, 3, stride=stride, bias=False))

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1, self.bn1 = conv3x3(cin, cout, stride), bn(cout)
            self.conv2, self.bn2 = conv3x3(cout, cout, 1), bn(cout)
            self.proj = None
            if stride != 1 or cin != cout:
                self.proj = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False),
                                          bn(cout))

        def forward(self, x):
            shortcut = x if self.proj is None else self.proj(x)
            y = F.relu(self.bn1(self.conv1(x)))
            return F.relu(self.bn2(self.conv2(y)) + shortcut)

    class ResNet20(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem_conv, self.stem_bn = nn.Conv2d(3, 16, 3, padding=1, bias=False), bn(16)
            stages, cin = [], 16
            for s, cout in enumerate((16, 32, 64)):
                blocks = []
                for b in range(3):
                    blocks.append(Block(cin, cout, 2 if s > 0 and b == 0 else 1))
                    cin = cout
                stages.append(nn.Sequential(*blocks))
            self.stages = nn.Sequential(*stages)
            self.fc = nn.Linear(64, 10)

        def forward(self, x):
            x = self.stages(F.relu(self.stem_bn(self.stem_conv(x))))
            return self.fc(x.mean(dim=(2, 3)))

    return ResNet20()


def build(torch, name: str):
    """The torch twin of ``stridenet.zoo.get(name)`` (default arguments)."""
    if name == "resnet20":
        return _resnet20(torch)
    twins = {"mnist_cnn": _spec_cnn, "lenet5": _lenet5, "fcn1d": _fcn1d, "c3d_small": _c3d_small}
    if name not in twins:
        raise ValueError(f"no torch twin for {name!r}")
    return twins[name](torch.nn)


def memory_format(torch, x_ndim: int, channels_last: bool):
    """torch's memory format for a batch of ``x_ndim`` dimensions; None where torch has
    no channels-last format (1D data)."""
    if not channels_last:
        return torch.contiguous_format
    return {4: torch.channels_last, 5: torch.channels_last_3d}.get(x_ndim)


def to_torch(torch, x: np.ndarray):
    """A channels-last batch ``(N, *S, C)`` as a contiguous ``(N, C, *S)`` tensor."""
    order = (0, x.ndim - 1, *range(1, x.ndim - 1))  # (N, *S, C) -> (N, C, *S)
    return torch.from_numpy(np.ascontiguousarray(x.transpose(order)))


def _resnet_module(torch, model, sn_name: str):
    """The torch module holding stridenet layer ``sn_name`` of ResNet-20."""
    if sn_name == "predictions":
        return model.fc
    if sn_name.startswith("stem_"):
        return model.stem_conv if sn_name.endswith("conv") else model.stem_bn
    stage, block, part, kind = sn_name.split("_")  # e.g. stage2_block1_proj_conv
    blk = model.stages[int(stage[5:]) - 1][int(block[5:]) - 1]
    if part == "proj":
        return blk.proj[0 if kind == "conv" else 1]
    mod = getattr(blk, f"{kind}{part}")
    return mod[-1] if isinstance(mod, torch.nn.Sequential) else mod  # (pad, conv)


def _weighted(nn):
    """torch module classes that hold weights."""
    return nn.modules.conv._ConvNd, nn.Linear, nn.modules.batchnorm._BatchNorm


def _weighted_pairs(torch, sn_model, model, name):
    """(stridenet layer, torch module, flattened (H, W, C) or None) per weighted layer."""
    import stridenet as sn
    from stridenet.models.summary import layer_io_shapes

    io = layer_io_shapes(sn_model)
    if name == "resnet20":
        return [(layer, _resnet_module(torch, model, layer.name), None)
                for layer, _, _ in io if layer.weights]
    mods = [m for m in model if isinstance(m, _weighted(torch.nn))]
    pairs, hwc = [], None
    for layer, in_shape, _ in io:
        if isinstance(layer, sn.layers.Flatten):
            hwc = tuple(in_shape[1:])  # the next dense layer reads (H, W, C)-ordered rows
        elif layer.weights:
            pairs.append((layer, mods[len(pairs)] if len(pairs) < len(mods) else None, hwc))
            hwc = None
    if len(pairs) != len(mods) or pairs[-1][1] is None:
        raise RuntimeError(f"{name}: {len(pairs)} weighted stridenet layers, {len(mods)} torch")
    return pairs


def copy_weights(torch, sn_model, model, name) -> None:
    """Give the torch twin stridenet's weights, layouts converted."""
    nn = torch.nn
    with torch.no_grad():
        for layer, mod, hwc in _weighted_pairs(torch, sn_model, model, name):
            if isinstance(mod, nn.modules.batchnorm._BatchNorm):
                for attr, var in (("weight", layer.gamma), ("bias", layer.beta),
                                  ("running_mean", layer.moving_mean),
                                  ("running_var", layer.moving_variance)):
                    getattr(mod, attr).copy_(torch.from_numpy(np.array(var.data)))
                continue
            k = np.asarray(layer.kernel.data)
            if isinstance(mod, nn.modules.conv._ConvNd):
                w = k.transpose(k.ndim - 1, k.ndim - 2, *range(k.ndim - 2))  # -> (F, C, *K)
            elif hwc is not None:  # rows (h, w, c) -> columns (c, h, w)
                w = k.reshape(*hwc, -1).transpose(3, 2, 0, 1).reshape(k.shape[1], -1)
            else:
                w = k.T
            mod.weight.copy_(torch.from_numpy(np.ascontiguousarray(w)))
            if layer.bias is not None:
                mod.bias.copy_(torch.from_numpy(np.array(layer.bias.data)))
            elif mod.bias is not None:
                raise RuntimeError(f"{layer.name}: torch layer has a bias, stridenet's none")


def param_counts(torch, model) -> tuple[int, int]:
    """(trainable, total) with batch-norm running statistics counted like Keras does."""
    trainable = sum(p.numel() for p in model.parameters())
    stats = sum(m.running_mean.numel() + m.running_var.numel() for m in model.modules()
                if isinstance(m, torch.nn.modules.batchnorm._BatchNorm))
    return trainable, trainable + stats


def check_params(torch, sn_model, model, name) -> int:
    """Assert both models have the same parameter counts; return the total."""
    sn_counts = (sum(w.size for w in sn_model.trainable_weights), sn_model.count_params())
    counts = param_counts(torch, model)
    if sn_counts != counts:
        raise RuntimeError(f"{name}: parameter counts differ (trainable, total): "
                           f"stridenet {sn_counts}, torch {counts}")
    return counts[1]


def check_same(torch, sn_model, model, x: np.ndarray, name: str, tol: float = 1e-4) -> float:
    """Max |difference| of the softmax outputs, inference then training mode (batch
    statistics); raises when above ``tol``. Call before any training step."""
    import stridenet as sn

    xt = to_torch(torch, x)
    errs = []
    for training in (False, True):
        with sn.no_grad():
            ours = sn_model(x, training=training).numpy()
        model.train(training)
        with torch.no_grad():
            theirs = torch.softmax(model(xt), dim=1).numpy()
        errs.append(float(np.max(np.abs(ours - theirs))))
    model.eval()
    if max(errs) > tol:
        raise RuntimeError(f"{name}: stridenet and torch outputs differ by {errs} "
                           f"(inference, training) > {tol}")
    return max(errs)
