"""SPEC section 3's summary table, checked the same way wherever a test prints it."""

from __future__ import annotations

SHAPES = ["(None, 28, 28, 32)", "(None, 28, 28, 32)", "(None, 14, 14, 32)",
          "(None, 14, 14, 64)", "(None, 14, 14, 64)", "(None, 7, 7, 64)", "(None, 3136)",
          "(None, 128)", "(None, 10)"]
PARAMS = ["832", "25,632", "0", "18,496", "36,928", "0", "0", "401,536", "1,290"]


def assert_spec_summary(out: str) -> None:
    """``out`` (what ``model.summary()`` printed) has the SPEC rows, in order, and totals."""
    rows = [line for line in out.splitlines() if line.strip().startswith(
        ("conv2d", "max_pooling2d", "flatten", "dense"))]
    assert len(rows) == 9, out
    for row, shape, p in zip(rows, SHAPES, PARAMS):
        assert shape in row and row.split()[-1] == p, row
    assert "Total params: 484,714" in out
    assert "Trainable params: 484,714" in out and "Non-trainable params: 0" in out
