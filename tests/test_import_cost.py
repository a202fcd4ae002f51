"""`import stridenet` loads the model API and nothing it does not need.

Issue 13 asks for `import stridenet` under 0.3 s; that time is measured by the benchmark,
not asserted here. What is asserted is the cause: the optional libraries (numba,
matplotlib, tqdm, safetensors, onnx, h5py, mpi4py) and the heavy standard-library
modules (urllib.request brings ssl, http and email) stay unloaded until a feature that
needs them is used, and the lazily imported subpackages still work by attribute.
"""

from __future__ import annotations

import json
import subprocess
import sys

NOT_AT_IMPORT = ["numba", "matplotlib", "tqdm", "safetensors", "onnx", "onnxruntime", "h5py",
                 "mpi4py", "torch", "PIL", "urllib.request", "ssl", "http.client", "csv",
                 "stridenet.datasets", "stridenet.zoo", "stridenet.explain", "stridenet.viz",
                 "stridenet.callbacks", "stridenet.cli", "stridenet.interop"]


def _modules_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys, json\n"
                          "print(json.dumps(sorted(sys.modules)))"],
                         capture_output=True, text=True, check=True, timeout=120)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_import_loads_no_optional_library():
    loaded = _modules_after("import stridenet")
    assert "stridenet.layers" in loaded and "stridenet.models" in loaded
    assert sorted(m for m in NOT_AT_IMPORT if m in loaded) == []


def test_lazy_subpackages_work_by_attribute_and_from_import():
    loaded = _modules_after(
        "import stridenet as sn\n"
        "assert callable(sn.zoo.mnist_cnn) and sn.callbacks.EarlyStopping\n"
        "from stridenet import datasets\n"
        "assert datasets.mnist.load_data\n"
        "assert 'zoo' in dir(sn) and 'Sequential' in dir(sn)\n")
    assert {"stridenet.zoo", "stridenet.callbacks", "stridenet.datasets"} <= loaded


def test_unknown_attribute_is_an_attribute_error():
    import stridenet

    try:
        stridenet.no_such_thing  # noqa: B018 - the attribute access is the test
    except AttributeError as e:
        assert "no_such_thing" in str(e)
    else:
        raise AssertionError("stridenet.no_such_thing did not raise")
