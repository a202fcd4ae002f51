"""Define-by-run automatic differentiation (first order)."""

from .function import Context, Function
from .grad_mode import enable_grad, is_grad_enabled, no_grad
from .math_ops import (
    abs,
    add,
    astype,
    clip,
    concatenate,
    div,
    exp,
    log,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    mul,
    neg,
    power,
    reshape,
    sqrt,
    stack,
    sub,
    sum,
    transpose,
    where,
)
from .tensor import Tensor, unbroadcast

__all__ = [
    "Context", "Function", "Tensor", "enable_grad", "is_grad_enabled", "no_grad", "unbroadcast",
    "abs", "add", "astype", "clip", "concatenate", "div", "exp", "log", "matmul", "max",
    "maximum", "mean", "min", "minimum", "mul", "neg", "power", "reshape", "sqrt", "stack",
    "sub", "sum", "transpose", "where",
]
