"""Reading PyTorch's legacy state-dict files without PyTorch: what they hold, and what is refused."""

from __future__ import annotations

import os
import pickle
import sys
import types
from collections import OrderedDict
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from skinguard_training.torch_checkpoint import LEGACY_MAGIC_NUMBER, LEGACY_PROTOCOL_VERSION, read_state_dict


class _Storage:
    def __init__(self, key: str, data: np.ndarray) -> None:
        self.key, self.data = key, data


class _Tensor:
    def __init__(self, storage: _Storage, offset: int, size: tuple, stride: tuple) -> None:
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride

    def __reduce__(self):
        rebuild = sys.modules["torch._utils"]._rebuild_tensor_v2
        return rebuild, (self.storage, self.offset, self.size, self.stride, False, OrderedDict())


@contextmanager
def fake_torch():
    """Just enough of a ``torch`` module for pickle to write references to its names."""
    torch, utils = types.ModuleType("torch"), types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args):  # pragma: no cover - never called, only referenced
        raise AssertionError

    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    float_storage = type("FloatStorage", (), {"__module__": "torch", "__qualname__": "FloatStorage"})
    torch.FloatStorage, utils._rebuild_tensor_v2 = float_storage, _rebuild_tensor_v2
    saved = {name: sys.modules.get(name) for name in ("torch", "torch._utils")}
    sys.modules.update({"torch": torch, "torch._utils": utils})
    try:
        yield float_storage
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name)
            else:
                sys.modules[name] = module


def write_legacy(path: Path, tensors: dict[str, _Tensor], *, header: object = None, keys: list | None = None) -> Path:
    storages = {tensor.storage.key: tensor.storage for tensor in tensors.values()}
    with fake_torch() as float_storage, path.open("wb") as file:

        class Pickler(pickle.Pickler):
            def persistent_id(self, obj):
                if isinstance(obj, _Storage):
                    return ("storage", float_storage, obj.key, "cpu", len(obj.data), None)
                return None

        pickle.dump(LEGACY_MAGIC_NUMBER, file)
        pickle.dump(LEGACY_PROTOCOL_VERSION, file)
        pickle.dump(header if header is not None else {"little_endian": True}, file)
        Pickler(file).dump(OrderedDict(tensors))
        pickle.dump(keys if keys is not None else list(storages), file)
        for storage in storages.values():
            file.write(np.int64(len(storage.data)).tobytes())
            file.write(storage.data.astype("<f4").tobytes())
    return path


def test_a_state_dict_reads_with_offsets_and_strides(tmp_path: Path) -> None:
    storage = _Storage("0", np.arange(12, dtype=np.float32))
    path = write_legacy(
        tmp_path / "ok.pth",
        {"weight": _Tensor(storage, 0, (3, 4), (4, 1)), "transposed": _Tensor(storage, 0, (4, 3), (1, 4))},
    )
    state = read_state_dict(path)
    assert state["weight"].tolist() == np.arange(12).reshape(3, 4).tolist()
    assert state["transposed"].tolist() == np.arange(12).reshape(3, 4).T.tolist()


class _RunsCode:
    def __reduce__(self):
        return os.getcwd, ()


def test_code_in_any_of_the_pickles_is_refused(tmp_path: Path) -> None:
    storage = _Storage("0", np.zeros(4, np.float32))
    tensors = {"w": _Tensor(storage, 0, (4,), (1,))}
    with pytest.raises(pickle.UnpicklingError, match="refusing to load"):
        read_state_dict(write_legacy(tmp_path / "header.pth", tensors, header=_RunsCode()))
    with pytest.raises(pickle.UnpicklingError, match="refusing to load"):
        read_state_dict(write_legacy(tmp_path / "keys.pth", tensors, keys=[_RunsCode()]))


@pytest.mark.parametrize(
    ("offset", "size", "stride", "message"),
    [
        (0, (4,), (0,), "malformed"),  # a zero stride repeats one element forever
        (0, (4,), (-1,), "malformed"),
        (-1, (4,), (1,), "malformed"),
        (0, (5,), (1,), "does not fit its storage"),
        (2, (2, 2), (2, 1), "does not fit its storage"),
    ],
)
def test_sizes_and_strides_that_do_not_match_the_storage_are_refused(
    tmp_path: Path, offset: int, size: tuple, stride: tuple, message: str
) -> None:
    storage = _Storage("0", np.zeros(4, np.float32))
    path = write_legacy(tmp_path / "bad.pth", {"w": _Tensor(storage, offset, size, stride)})
    with pytest.raises(ValueError, match=message):
        read_state_dict(path)


def test_a_storage_list_that_does_not_match_the_tensors_is_refused(tmp_path: Path) -> None:
    storage = _Storage("0", np.zeros(4, np.float32))
    path = write_legacy(tmp_path / "keys.pth", {"w": _Tensor(storage, 0, (4,), (1,))}, keys=["0", "1"])
    with pytest.raises(ValueError, match="other storages"):
        read_state_dict(path)
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(write_legacy(tmp_path / "full.pth", {"w": _Tensor(storage, 0, (4,), (1,))}).read_bytes()[:-3])
    with pytest.raises(ValueError, match="truncated"):
        read_state_dict(truncated)
