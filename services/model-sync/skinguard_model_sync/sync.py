"""model-sync: place the versions the registry promotes into the model repository, atomically.

One cycle per model: download missing versions into a hidden temporary directory next to their
final place, rename it into place (atomic on one filesystem, so a server never sees half a
version), optionally wait until the server has them AVAILABLE, move the version labels in the
models config, then delete versions no longer wanted. A version a label pointed at before this
cycle is deleted only on the next one, after the server has re-read the config.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import grpc
from botocore.client import BaseClient
from botocore.exceptions import BotoCoreError, ClientError

from skinguard_contracts.keys import model_prefix, versions_index_key
from skinguard_contracts.versions import VersionsIndex
from skinguard_model_repository.layout import version_directories
from skinguard_model_repository.models_config import ensure_model, set_version_labels
from skinguard_protos.tensorflow_serving.apis import get_model_status_pb2, model_service_pb2_grpc
from skinguard_runtime.storage import s3_client

from .plan import plan_sync
from .settings import SyncSettings

log = logging.getLogger(__name__)

# What a serving version directory holds; the registry's plots, TFLite file and so on stay in S3.
SERVED_FILES = ("saved_model.pb", "fingerprint.pb", "metadata.json")
SERVED_DIRECTORIES = ("variables", "assets", "assets.extra")
_STATUS_DEADLINE_SECONDS = 5.0


class SyncError(Exception):
    """A model could not be synced this cycle; the next cycle tries again."""


@dataclass(frozen=True)
class SyncResult:
    model: str
    downloaded: list[int]
    removed: list[int]
    labels: dict[str, int]


class ModelSync:
    def __init__(self, settings: SyncSettings, client: BaseClient | None = None) -> None:
        self.settings = settings
        self._s3 = client or s3_client(settings)
        self._bucket = settings.s3_bucket
        self._applied_generation: dict[str, int] = {}  # per model: the newest index synced

    def sync_all(self) -> list[SyncResult]:
        """One cycle over every model; a model that fails is logged and skipped."""
        results = []
        for model in self.settings.models_to_sync:
            try:
                results.append(self.sync_model(model))
            except (SyncError, BotoCoreError, ClientError, OSError) as error:
                log.error("model %s not synced: %s", model, error)
        return results

    def sync_model(self, model: str) -> SyncResult:
        manifest = self._manifest(model)
        applied = self._applied_generation.get(model, 0)
        if manifest.generation < applied:
            raise SyncError(
                f"{versions_index_key(model)} is generation {manifest.generation}, older than "
                f"generation {applied} already applied: a stale write, not followed"
            )
        plan = plan_sync(manifest, self.settings.sync_keep_versions)
        base_path = self.settings.model_repository / model
        base_path.mkdir(parents=True, exist_ok=True)
        _remove_leftovers(base_path)
        on_disk = set(version_directories(base_path))
        downloaded = [version for version in sorted(plan.keep - on_disk) if self._download(model, version, base_path)]
        config_file = self.settings.model_config_file
        previous_labels = ensure_model(config_file, model, base_path) if config_file else {}
        if self.settings.sync_serving_address and plan.labels:
            self._wait_until_available(model, set(plan.labels.values()))
        if config_file is not None:
            set_version_labels(config_file, model, base_path, plan.labels)
        removed: list[int] = []
        if plan.keep:  # an empty plan looks like a registry mistake: keep what is served
            protected = plan.keep | set(previous_labels.values())
            removed = sorted(set(version_directories(base_path)) - protected)
            for version in removed:
                _remove_version(base_path, version)
        else:
            log.warning("%s promotes no version; nothing removed", versions_index_key(model))
        self._applied_generation[model] = manifest.generation
        log.info("synced model %s", model, extra={"downloaded": downloaded, "removed": removed, "labels": plan.labels})
        return SyncResult(model, downloaded, removed, plan.labels)

    def _manifest(self, model: str) -> VersionsIndex:
        key = versions_index_key(model)
        try:
            body = self._s3.get_object(Bucket=self._bucket, Key=key)["Body"].read()
        except ClientError as error:
            raise SyncError(f"cannot read s3://{self._bucket}/{key}: {error}") from error
        try:
            manifest = VersionsIndex.model_validate_json(body)
        except ValueError as error:
            raise SyncError(f"s3://{self._bucket}/{key} breaks the versions.json contract: {error}") from error
        if manifest.model != model:
            raise SyncError(f"s3://{self._bucket}/{key} describes model {manifest.model!r}, not {model!r}")
        return manifest

    def _served_files(self, model: str, version: int) -> dict[str, PurePosixPath]:
        """S3 key -> path inside the version directory, for the files a server needs."""
        prefix = model_prefix(model, version)
        files = {}
        for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=self._bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                relative = PurePosixPath(item["Key"].removeprefix(prefix))
                if ".." in relative.parts or not relative.parts:
                    raise SyncError(f"refusing S3 key {item['Key']}: it leaves the version directory")
                if str(relative) in SERVED_FILES or relative.parts[0] in SERVED_DIRECTORIES:
                    files[item["Key"]] = relative
        return files

    def _download(self, model: str, version: int, base_path: Path) -> bool:
        """Place one version; False (logged) when S3 has no SavedModel for it."""
        files = self._served_files(model, version)
        if PurePosixPath("saved_model.pb") not in files.values():
            log.error(
                "s3://%s/%s has no saved_model.pb; version not placed", self._bucket, model_prefix(model, version)
            )
            return False
        staging = Path(tempfile.mkdtemp(prefix=f".tmp-{version}-", dir=base_path))
        try:
            for key, relative in files.items():
                target = staging / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                self._s3.download_file(self._bucket, key, str(target))
            staging.chmod(0o755)  # mkdtemp's 0700 would hide it from a server running as another user
            staging.rename(base_path / str(version))
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        log.info("placed model %s version %d", model, version)
        return True

    def _wait_until_available(self, model: str, versions: set[int]) -> None:
        """Block until the server reports every version in ``versions`` AVAILABLE."""
        give_up_at = time.monotonic() + self.settings.sync_available_timeout_seconds
        request = get_model_status_pb2.GetModelStatusRequest()
        request.model_spec.name = model
        available = get_model_status_pb2.ModelVersionStatus.AVAILABLE
        with grpc.insecure_channel(self.settings.sync_serving_address) as channel:
            stub = model_service_pb2_grpc.ModelServiceStub(channel)
            while True:
                try:
                    response = stub.GetModelStatus(request, timeout=_STATUS_DEADLINE_SECONDS)
                    ready = {status.version for status in response.model_version_status if status.state == available}
                except grpc.RpcError as error:
                    log.info("model %s: status not available yet (%s)", model, error.code().name)
                    ready = set()
                if versions <= ready:
                    return
                if time.monotonic() >= give_up_at:
                    missing = sorted(versions - ready)
                    raise SyncError(f"versions {missing} of {model} not AVAILABLE in time; labels not moved")
                time.sleep(1.0)


def _remove_version(base_path: Path, version: int) -> None:
    """Rename out of sight first (atomic), then delete at leisure."""
    trash = base_path / f".trash-{version}-{uuid.uuid4().hex[:8]}"
    (base_path / str(version)).rename(trash)
    shutil.rmtree(trash)
    log.info("removed model %s version %d", base_path.name, version)


def _remove_leftovers(base_path: Path) -> None:
    """Temporary directories of an interrupted earlier cycle."""
    for entry in base_path.iterdir():
        if entry.is_dir() and entry.name.startswith((".tmp-", ".trash-")):
            shutil.rmtree(entry, ignore_errors=True)
