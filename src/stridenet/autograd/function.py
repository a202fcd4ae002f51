"""``Function``: one differentiable step with a hand-written backward.

A Function works on plain ndarrays: ``forward(ctx, *arrays, **params)`` returns
the output array and stores on ``ctx`` what the backward pass needs;
``backward(ctx, dy)`` returns one gradient per input (``None`` where
``ctx.needs_input_grad[i]`` is False or the input is not differentiable).
``Function.apply`` wraps this in Tensors and records it on the tape when an
input requires a gradient and recording is enabled.
"""

from __future__ import annotations

import weakref

from .grad_mode import is_grad_enabled


class Context:
    """Scratch space shared between ``forward`` and ``backward`` of one call."""

    def __init__(self, needs_input_grad: tuple[bool, ...]):
        self.needs_input_grad = needs_input_grad
        self.saved: tuple = ()

    def save_for_backward(self, *arrays) -> None:
        self.saved = arrays


class Node:
    """A recorded call: which Function ran, its context, and where its gradients go.

    ``edges`` has one entry per input: None (no gradient wanted), or ``(target, shape)``
    with target the input's own Node (an intermediate result) or the input Tensor itself
    (a leaf). A node does not hold its intermediate inputs, so their arrays are freed as
    soon as nothing else uses them -- only what a ``ctx`` saved for backward stays, as in
    PyTorch. ``output`` is a weak reference to the result (for ``retain_grad``).
    """

    __slots__ = ("fn", "ctx", "edges", "output")

    def __init__(self, fn, ctx, edges):
        self.fn = fn
        self.ctx = ctx
        self.edges = edges
        self.output = None

    def release(self) -> None:
        # Drop the saved arrays once used, so activations are freed during backward.
        self.ctx = None


class Function:
    """Base class: subclasses define static ``forward`` and ``backward``."""

    @staticmethod
    def forward(ctx, *arrays, **params):  # pragma: no cover - interface
        raise NotImplementedError

    @staticmethod
    def backward(ctx, dy):  # pragma: no cover - interface
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs, **params):
        """Run ``forward`` on the inputs' arrays; record the call if needed.

        ``inputs`` are Tensors, ndarrays (constants) or ``None``.
        """
        from .tensor import Tensor

        arrays = tuple(t.data if isinstance(t, Tensor) else t for t in inputs)
        record = is_grad_enabled()
        needs = tuple(isinstance(t, Tensor) and t.requires_grad for t in inputs) if record \
            else (False,) * len(inputs)
        record = record and any(needs)
        ctx = Context(needs if record else (False,) * len(inputs))
        y = cls.forward(ctx, *arrays, **params)
        out = Tensor._from_array(y, requires_grad=record)
        if record:
            edges = tuple((t._node if t._node is not None else t, t.shape) if need else None
                          for t, need in zip(inputs, needs))
            node = Node(cls, ctx, edges)
            node.output = weakref.ref(out)
            out._node = node
        return out
