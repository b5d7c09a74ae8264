"""The models config file: TensorFlow Serving's text-format ``ModelServerConfig``.

Parsed with the vendored ``model_server_config.proto`` itself, so the local server accepts exactly
the files ``tensorflow_model_server --model_config_file`` accepts (and rejects the same typos).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from google.protobuf import text_format

from skinguard_protos.tensorflow_serving.config import model_server_config_pb2

TENSORFLOW_PLATFORM = "tensorflow"
_WRITTEN_BY_SYNC = "# Maintained by skinguard-model-sync: it rewrites version_labels (comments are not kept).\n"


class ConfigError(ValueError):
    """The models config cannot be read or is not one this server can serve."""


@dataclass(frozen=True)
class VersionPolicy:
    """Which version directories of a model are loaded (``ServableVersionPolicy``)."""

    kind: Literal["latest", "all", "specific"] = "latest"
    num_versions: int = 1
    versions: frozenset[int] = frozenset()

    @classmethod
    def from_proto(cls, policy: model_server_config_pb2.FileSystemStoragePathSourceConfig.ServableVersionPolicy):
        match policy.WhichOneof("policy_choice"):
            case "all":
                return cls("all")
            case "specific":
                return cls("specific", versions=frozenset(policy.specific.versions))
            case "latest":
                return cls("latest", num_versions=max(policy.latest.num_versions, 1))
        return cls()

    def select(self, on_disk: Iterable[int]) -> set[int]:
        found = set(on_disk)
        if self.kind == "all":
            return found
        if self.kind == "specific":
            return found & self.versions
        return set(sorted(found)[-self.num_versions :])


@dataclass(frozen=True)
class ModelConfig:
    name: str
    base_path: Path  # holds the numbered version directories
    policy: VersionPolicy = VersionPolicy()
    labels: Mapping[str, int] = field(default_factory=dict)


def parse_model_server_config(text: str) -> list[ModelConfig]:
    config = model_server_config_pb2.ModelServerConfig()
    try:
        text_format.Parse(text, config)
    except text_format.ParseError as error:
        raise ConfigError(f"models config is not a text-format ModelServerConfig: {error}") from error
    if config.WhichOneof("config") == "custom_model_config":
        raise ConfigError("custom_model_config is not supported; list the models in model_config_list")
    models = [_model(entry) for entry in config.model_config_list.config]
    names = [model.name for model in models]
    if duplicates := sorted({name for name in names if names.count(name) > 1}):
        raise ConfigError(f"models config lists {', '.join(duplicates)} more than once")
    return models


def read_model_config_file(path: Path) -> list[ModelConfig]:
    try:
        text = path.read_text()
    except OSError as error:
        raise ConfigError(f"cannot read models config {path}: {error}") from error
    return parse_model_server_config(text)


def ensure_model(path: Path, model_name: str, base_path: Path) -> dict[str, int]:
    """List ``model_name`` in the config file if it is not (see ``set_version_labels``); its labels."""
    return _update_model(path, model_name, base_path, labels=None)


def set_version_labels(path: Path, model_name: str, base_path: Path, labels: Mapping[str, int]) -> dict[str, int]:
    """Make ``labels`` the version labels of ``model_name`` in the config file; return the old ones.

    A model missing from the file (or a missing file) is added with the ``all`` version policy:
    model-sync decides which versions are on disk, so the server loads each of them.
    """
    return _update_model(path, model_name, base_path, labels)


def _update_model(path: Path, model_name: str, base_path: Path, labels: Mapping[str, int] | None) -> dict[str, int]:
    config = model_server_config_pb2.ModelServerConfig()
    if path.exists():
        text_format.Parse(path.read_text(), config)
    entries = config.model_config_list.config
    entry = next((entry for entry in entries if entry.name == model_name), None)
    added = entry is None
    if entry is None:
        entry = entries.add(name=model_name, base_path=str(base_path), model_platform=TENSORFLOW_PLATFORM)
        entry.model_version_policy.all.SetInParent()
    previous = dict(entry.version_labels)
    if labels is not None and previous != dict(labels):
        entry.ClearField("version_labels")
        entry.version_labels.update(labels)
    if added or dict(entry.version_labels) != previous:
        _write_atomically(path, _WRITTEN_BY_SYNC + text_format.MessageToString(config))
    return previous


def _model(entry: model_server_config_pb2.ModelConfig) -> ModelConfig:
    if not entry.name or not entry.base_path:
        entry_text = text_format.MessageToString(entry, as_one_line=True)
        raise ConfigError(f"every model needs a name and a base_path: {entry_text}")
    platform = entry.model_platform
    if not platform and entry.model_type == model_server_config_pb2.TENSORFLOW:
        platform = TENSORFLOW_PLATFORM
    if platform != TENSORFLOW_PLATFORM:
        raise ConfigError(
            f"model {entry.name}: model_platform must be {TENSORFLOW_PLATFORM!r}, not {platform!r}"
            if platform
            else f"model {entry.name}: Illegal setting neither model_type(deprecated) nor model_platform."
        )
    return ModelConfig(
        name=entry.name,
        base_path=Path(entry.base_path),
        policy=VersionPolicy.from_proto(entry.model_version_policy),
        labels=dict(entry.version_labels),
    )


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=f".{path.name}.", delete=False) as temporary:
        temporary.write(text)
    os.chmod(temporary.name, 0o644)  # readable by a server running as another user
    os.replace(temporary.name, path)
