"""Plain NumPy forward/backward pairs: ``*_forward(...) -> (y, cache)``,
``*_backward(dy, cache, needs) -> grads``. No Tensor in sight."""
