"""``Tensor``: an ndarray plus the tape that produced it.

The tape is define-by-run: every differentiable call made while recording is
enabled leaves a ``Node`` on its output, pointing at its inputs. ``backward``
walks those nodes from the output in reverse topological order, calling each
``Function.backward`` once with the summed gradient of its output.
"""

from __future__ import annotations

import numbers

import numpy as np

from .. import config


def _as_array(data, dtype=None) -> np.ndarray:
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        return np.asarray(data, dtype=dtype)
    if isinstance(data, np.ndarray | np.generic):
        return np.asarray(data)
    arr = np.asarray(data)
    # Python floats become float64 in NumPy; stridenet's default float is floatx.
    if arr.dtype == np.float64:
        arr = arr.astype(config.floatx())
    return arr


def unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum ``grad`` down to ``shape``: the adjoint of NumPy broadcasting."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)


def _accumulate(t, g) -> None:
    """t.grad += g (a fresh array in t's dtype when t has none yet)."""
    g_own = g.astype(t.dtype, copy=True)
    t.grad = g_own if t.grad is None else t.grad + g_own


class Tensor:
    """An n-dimensional array that can record how it was computed.

    ``Tensor(data, requires_grad=False, dtype=None)``. Floating ndarrays keep
    their dtype; Python floats become ``config.floatx()`` (float32).
    """

    __array_ufunc__ = None  # make ``ndarray + Tensor`` call Tensor.__radd__

    def __init__(self, data, requires_grad: bool = False, dtype=None):
        arr = _as_array(data, dtype)
        if requires_grad and not np.issubdtype(arr.dtype, np.floating):
            raise TypeError(
                f"only floating point tensors can require gradients, got dtype {arr.dtype}"
            )
        self.data: np.ndarray = arr
        self.grad: np.ndarray | None = None
        self.requires_grad = bool(requires_grad)
        self._node = None
        self._retain = False

    @classmethod
    def _from_array(cls, arr: np.ndarray, requires_grad: bool = False) -> Tensor:
        t = cls.__new__(cls)
        t.data = np.asarray(arr)
        t.grad = None
        t.requires_grad = requires_grad
        t._node = None
        t._retain = False
        return t

    # -- array protocol and properties ------------------------------------
    def __array__(self, dtype=None, copy=None):
        if dtype is not None and np.dtype(dtype) != self.data.dtype:
            return self.data.astype(dtype)
        return self.data.copy() if copy else self.data

    def numpy(self) -> np.ndarray:
        """The underlying array (shared, not copied)."""
        return self.data

    def item(self):
        return self.data.item()

    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def is_leaf(self) -> bool:
        return self._node is None

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="Tensor(")
        grad = ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor({body}, dtype={self.dtype}{grad})"

    def detach(self) -> Tensor:
        """The same data with no history."""
        return Tensor._from_array(self.data)

    def requires_grad_(self, flag: bool = True) -> Tensor:
        if flag and not np.issubdtype(self.dtype, np.floating):
            raise TypeError(f"only floating point tensors can require gradients, got {self.dtype}")
        self.requires_grad = flag
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this non-leaf tensor after ``backward``."""
        self._retain = True

    def zero_grad(self) -> None:
        self.grad = None

    # -- backward ---------------------------------------------------------
    def _topological_order(self) -> list:
        """Nodes reachable from self's node through the edges, output first."""
        order, seen = [], set()
        stack = [(self._node, False)]
        while stack:
            node, done = stack.pop()
            if done:
                order.append(node)
                continue
            if id(node) in seen:
                continue
            seen.add(id(node))
            stack.append((node, True))
            for edge in node.edges:
                if edge is not None and not isinstance(edge[0], Tensor) \
                        and id(edge[0]) not in seen:
                    stack.append((edge[0], False))
        order.reverse()
        return order

    def backward(self, grad=None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into ``.grad`` of every leaf that requires it.

        ``grad`` is the upstream gradient; it may be omitted for a one-element tensor.
        """
        if not self.requires_grad:
            raise RuntimeError("backward() on a tensor that does not require grad")
        if grad is None:
            if self.size != 1:
                raise ValueError(
                    f"backward() without grad needs a one-element tensor, got shape {self.shape}"
                )
            grad = np.ones_like(self.data)
        else:
            grad = np.asarray(grad.data if isinstance(grad, Tensor) else grad, dtype=self.dtype)
            if grad.shape != self.shape:
                raise ValueError(f"grad has shape {grad.shape}, expected {self.shape}")
        if self._node is None:  # a leaf: its gradient is the upstream one
            _accumulate(self, grad)
            return
        grads = {id(self._node): grad}  # summed gradient of each node's output
        leaves = {}  # id -> (leaf, summed gradient), in the order first reached
        for node in self._topological_order():
            g = grads.pop(id(node), None)
            if g is None:
                continue
            out = node.output()
            if out is not None and out._retain:
                _accumulate(out, g)
            if node.ctx is None:
                raise RuntimeError(
                    "backward through a graph a second time: pass retain_graph=True the first time"
                )
            in_grads = node.fn.backward(node.ctx, g)
            if not isinstance(in_grads, tuple):
                in_grads = (in_grads,)
            for edge, need, ig in zip(node.edges, node.ctx.needs_input_grad, in_grads):
                if edge is None or not need or ig is None:
                    continue
                target, shape = edge
                ig = unbroadcast(np.asarray(ig), shape)
                key = id(target)
                # Out of place: a backward may hand the same array to two inputs.
                if isinstance(target, Tensor):
                    leaves[key] = (target, leaves[key][1] + ig if key in leaves else ig)
                else:
                    grads[key] = grads[key] + ig if key in grads else ig
            if not retain_graph:
                node.release()
        for leaf, g in leaves.values():
            _accumulate(leaf, g)

    # -- operators (defined in math_ops) -----------------------------------
    def __add__(self, other):
        return _m.add(self, other)

    def __radd__(self, other):
        return _m.add(other, self)

    def __sub__(self, other):
        return _m.sub(self, other)

    def __rsub__(self, other):
        return _m.sub(other, self)

    def __mul__(self, other):
        return _m.mul(self, other)

    def __rmul__(self, other):
        return _m.mul(other, self)

    def __truediv__(self, other):
        return _m.div(self, other)

    def __rtruediv__(self, other):
        return _m.div(other, self)

    def __neg__(self):
        return _m.neg(self)

    def __pow__(self, exponent):
        if not isinstance(exponent, numbers.Real):
            raise TypeError("Tensor ** x needs a real number exponent")
        return _m.power(self, exponent)

    def __matmul__(self, other):
        return _m.matmul(self, other)

    def __rmatmul__(self, other):
        return _m.matmul(other, self)

    def __getitem__(self, index):
        return _m.getitem(self, index)

    # Comparisons are not differentiable: they return plain boolean arrays.
    def __lt__(self, other):
        return self.data < _as_array(other)

    def __le__(self, other):
        return self.data <= _as_array(other)

    def __gt__(self, other):
        return self.data > _as_array(other)

    def __ge__(self, other):
        return self.data >= _as_array(other)

    __hash__ = object.__hash__

    def sum(self, axis=None, keepdims=False):
        return _m.sum(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        return _m.mean(self, axis=axis, keepdims=keepdims)

    def max(self, axis=None, keepdims=False):
        return _m.max(self, axis=axis, keepdims=keepdims)

    def min(self, axis=None, keepdims=False):
        return _m.min(self, axis=axis, keepdims=keepdims)

    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], tuple | list):
            shape = tuple(shape[0])
        return _m.reshape(self, shape)

    def transpose(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], tuple | list):
            axes = tuple(axes[0])
        return _m.transpose(self, axes or None)

    @property
    def T(self):
        return _m.transpose(self, None)

    def flatten(self):
        return _m.reshape(self, (-1,))

    def exp(self):
        return _m.exp(self)

    def log(self):
        return _m.log(self)

    def sqrt(self):
        return _m.sqrt(self)

    def abs(self):
        return _m.abs(self)

    def clip(self, lo=None, hi=None):
        return _m.clip(self, lo, hi)

    def astype(self, dtype):
        return _m.astype(self, dtype)


from . import math_ops as _m  # noqa: E402  (math_ops needs Tensor defined first)
