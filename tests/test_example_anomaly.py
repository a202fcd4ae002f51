"""The 1D convolutional autoencoder example flags the anomaly injected in a periodic series."""

from __future__ import annotations

import importlib.util
import os

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "examples", "anomaly_autoencoder.py")


def test_the_autoencoder_flags_the_injected_anomaly_and_nothing_else():
    spec = importlib.util.spec_from_file_location("anomaly_autoencoder", EXAMPLE)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    result = example.main(epochs=20, seed=0, verbose=0)
    assert result["flagged_over_anomaly"] >= 10  # windows over samples 600-639
    assert result["false_alarms"] == 0
    # every flagged window overlaps the anomaly: window k covers samples k..k+63
    assert 600 - 63 <= result["first"] and result["last"] <= 639
