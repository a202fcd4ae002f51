"""Read a PyTorch ``.pt``/``.pth`` file without torch and without running code from it.

Since PyTorch 1.6 ``torch.save`` writes a zip archive: ``<name>/data.pkl`` is a pickle of
the saved object, in which each tensor is a call ``torch._utils._rebuild_tensor_v2(storage,
offset, size, stride, ...)`` and each storage a persistent id ``("storage", torch.
FloatStorage, key, location, numel)`` whose bytes are the member ``<name>/data/<key>``.

A pickle can call any importable function, so a plain ``pickle.load`` of a foreign file
runs whatever it names (``os.system`` included). Here ``find_class`` allows only the few
names a plain state dict uses, each mapped onto a NumPy stand-in (never the real object):
tensor and parameter rebuilding, the storage classes, and ``collections.OrderedDict``.
Anything else is refused before it is called. Tensors come back as NumPy arrays.
"""

from __future__ import annotations

import collections
import io
import os
import pickle
import zipfile

import numpy as np

# storage class -> NumPy dtype ("bfloat16" is widened to float32 below)
_STORAGE_DTYPES = {
    "FloatStorage": "float32", "DoubleStorage": "float64", "HalfStorage": "float16",
    "BFloat16Storage": "bfloat16", "LongStorage": "int64", "IntStorage": "int32",
    "ShortStorage": "int16", "CharStorage": "int8", "ByteStorage": "uint8",
    "BoolStorage": "bool", "UntypedStorage": "uint8",
}


class UnsafeTorchFile(pickle.UnpicklingError):
    """The file names a Python object outside the allowed tensor-rebuilding set."""


class _StorageType:
    def __init__(self, name: str):
        self.name, self.dtype = name, _STORAGE_DTYPES[name]


def _rebuild_tensor(storage, offset, size, stride, *_ignored):
    """The NumPy array a ``_rebuild_tensor_v2`` call describes (a copy, C order)."""
    flat = storage
    size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
    if len(size) != len(stride) or any(s < 0 for s in size) or any(s < 0 for s in stride):
        raise ValueError(f"tensor of size {size} with stride {stride} is malformed")
    if 0 in size:
        return np.zeros(size, dtype=flat.dtype)
    if int(np.prod(size, dtype=np.float64)) > 1024 * max(flat.size, 1):
        # stride 0 repeats cells: a few bytes could otherwise ask for terabytes
        raise ValueError(f"tensor of size {size} repeats its storage of {flat.size} elements "
                         f"more than 1024 times; refused")
    last = int(offset) + sum((n - 1) * s for n, s in zip(size, stride))
    if offset < 0 or last >= flat.size:
        raise ValueError(f"tensor of size {size}, stride {stride}, offset {offset} reaches "
                         f"past its storage of {flat.size} elements")
    view = np.lib.stride_tricks.as_strided(flat[int(offset):], shape=size,
                                           strides=[s * flat.itemsize for s in stride],
                                           writeable=False)
    return np.array(view)  # (size...), contiguous


def _rebuild_parameter(data, requires_grad=False, hooks=None, state=None):
    return data


_ALLOWED = {
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("collections", "OrderedDict"): collections.OrderedDict,
    **{("torch", name): _StorageType(name) for name in _STORAGE_DTYPES},
    ("torch.storage", "UntypedStorage"): _StorageType("UntypedStorage"),
}


class _Unpickler(pickle.Unpickler):
    def __init__(self, data: bytes, load_storage, path: str):
        super().__init__(io.BytesIO(data))
        self._load_storage, self._path = load_storage, path

    def find_class(self, module, name):
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise UnsafeTorchFile(
                f"file {self._path} refers to {module}.{name}, which is not a tensor, storage "
                f"or OrderedDict: refused, nothing was run (save a plain state_dict, or use "
                f"safetensors)") from None

    def persistent_load(self, pid):
        if (not isinstance(pid, tuple) or len(pid) < 5 or pid[0] != "storage"
                or not isinstance(pid[1], _StorageType)):
            raise UnsafeTorchFile(f"file {self._path} has an unknown persistent id {pid!r}")
        _, stype, key, _location, numel = pid[:5]
        return self._load_storage(stype, str(key), int(numel))


def _bfloat16_to_float32(raw: np.ndarray) -> np.ndarray:
    return (raw.astype(np.uint32) << 16).view(np.float32)


def read_torch_file(filepath):
    """The object a ``torch.save`` zip file holds, tensors as NumPy arrays.

    Raises ValueError naming the file when it is not a PyTorch zip file, is truncated or
    corrupt, and ``UnsafeTorchFile`` when its pickle names anything but tensors, storages
    and OrderedDicts (nothing from the file is run).
    """
    path = os.fspath(filepath)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no such PyTorch file: {path}")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"file {path} is not a PyTorch zip file (torch.save since PyTorch "
                         f"1.6); a legacy or truncated file cannot be read safely: re-save it "
                         f"with a current torch.save, or as safetensors")
    try:
        with zipfile.ZipFile(path) as zf:
            return _read_zip(zf, path)
    except (zipfile.BadZipFile, EOFError, OSError, KeyError) as err:
        raise ValueError(f"file {path} is corrupt or truncated: {err}") from None
    except UnsafeTorchFile:
        raise
    except pickle.UnpicklingError as err:
        raise ValueError(f"file {path} is corrupt: its pickle does not read ({err})") from None


def _read_zip(zf: zipfile.ZipFile, path: str):
    names = zf.namelist()
    pkls = [n for n in names if n.endswith("data.pkl") and n.count("/") == 1]
    if len(pkls) != 1:
        raise ValueError(f"file {path} is a zip archive but not a PyTorch file: no "
                         f"<name>/data.pkl in it")
    prefix = pkls[0][: -len("data.pkl")]
    order = "little"
    if prefix + "byteorder" in names:
        order = zf.read(prefix + "byteorder").decode("ascii", "replace").strip()
    cache: dict = {}

    def load_storage(stype: _StorageType, key: str, numel: int) -> np.ndarray:
        if key not in cache:
            member = f"{prefix}data/{key}"
            if member not in names:
                raise ValueError(f"file {path} lacks the tensor data {member}")
            raw = zf.read(member)
            base = "uint16" if stype.dtype == "bfloat16" else stype.dtype
            dt = np.dtype(base).newbyteorder("<" if order == "little" else ">")
            if len(raw) % dt.itemsize:
                raise ValueError(f"file {path}: {member} holds {len(raw)} bytes, not a whole "
                                 f"number of {stype.name} elements")
            arr = np.frombuffer(raw, dtype=dt).astype(dt.newbyteorder("="))
            if stype.dtype == "bfloat16":
                arr = _bfloat16_to_float32(arr)
            cache[key] = arr
        arr = cache[key]
        if stype.name != "UntypedStorage" and arr.size < numel:
            raise ValueError(f"file {path}: storage {key} should hold {numel} elements, has "
                             f"{arr.size} (truncated?)")
        return arr

    return _Unpickler(zf.read(pkls[0]), load_storage, path).load()
