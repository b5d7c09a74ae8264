"""The served version for devices: what it is (``GET /models/current``) and its files.

The training worker lists a version's on-device files in its ``metadata.json`` (``devices``:
format, file, bytes, sha256, runtime, test figures) and puts them in ``models/<name>/<version>/``.
Only the served version's files are answered, and only after their bytes matched the SHA-256
the metadata names: a device never receives a model other than the one promoted. Files are
content-addressed, so a small in-memory cache keyed by SHA-256 saves S3 reads.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time
from collections import OrderedDict
from typing import Any

from botocore.exceptions import ClientError
from pydantic import ValidationError

from skinguard_contracts.errors import NotFound, ServiceUnavailable
from skinguard_contracts.keys import model_prefix
from skinguard_contracts.model_files import DeviceModel, ModelMetadata
from skinguard_runtime.storage import UNAVAILABLE, ObjectMissing, ObjectStore, StorageUnavailable

from ..predictions.service import NOTICE
from ..serving.client import ServedModel
from ..serving.public_card import PublicCards
from ..serving.version_metadata import VersionMetadataCache
from .schemas import CardSummary, CurrentModelOut, DeviceFormatOut, OperatingPointOut, PreprocessingOut

logger = logging.getLogger(__name__)

FILE_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}\.(?:tflite|onnx)$"  # what the file route accepts
FILE_CACHE_BYTES = 64 * 1024 * 1024
FILE_READ_TIMEOUT_SECONDS = 60.0
NOT_CACHED = {"Cache-Control": "no-store"}  # a 404 now may be a file once its version is promoted
CURRENT_REFRESH_SECONDS = 60.0  # how long an answer of GET /models/current is reused (the card may change)
REFUSED_SECONDS = 60  # a file found missing or not matching is not read again for this long
# A version whose metadata does not describe its preprocessing (older ones) had this one.
PREPROCESSING = (
    "skinguard_imaging.to_model_input(image_bytes, {size}): decode, apply the EXIF orientation, RGB, "
    "resize the whole image to {size}x{size} (cv2.INTER_AREA when shrinking, else cv2.INTER_LINEAR); "
    "uint8 0-255. Normalisation is inside the model."
)


class DeviceFileUnusable(ServiceUnavailable):
    """The store does not hold the file the metadata promises: refused, never served."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message, retry_after=REFUSED_SECONDS, code=code)


class FileCache:
    """File bytes by SHA-256, least recently used out first, at most ``max_bytes`` in all."""

    def __init__(self, max_bytes: int) -> None:
        self._max = max_bytes
        self._size = 0
        self._files: OrderedDict[str, bytes] = OrderedDict()

    def get(self, sha256: str) -> bytes | None:
        data = self._files.get(sha256)
        if data is not None:
            self._files.move_to_end(sha256)
        return data

    def put(self, sha256: str, data: bytes) -> None:
        if len(data) > self._max or sha256 in self._files:
            return
        while self._size + len(data) > self._max:
            _, evicted = self._files.popitem(last=False)
            self._size -= len(evicted)
        self._files[sha256] = data
        self._size += len(data)

    @property
    def size(self) -> int:
        return self._size


class DeviceModels:
    def __init__(
        self,
        store: ObjectStore,
        metadata: VersionMetadataCache,
        cards: PublicCards,
        *,
        file_timeout_seconds: float = FILE_READ_TIMEOUT_SECONDS,
        cache_bytes: int = FILE_CACHE_BYTES,
    ) -> None:
        self._store = store
        self._metadata = metadata
        self._cards = cards
        self._file_timeout = file_timeout_seconds
        self.files = FileCache(cache_bytes)
        self._reading: dict[str, asyncio.Lock] = {}
        self._refused: dict[str, tuple[float, DeviceFileUnusable]] = {}  # sha256 -> when, why
        self._answers: dict[tuple[str, int], tuple[float, bytes, str]] = {}  # the last answer per version

    async def metadata(self, model: ServedModel) -> ModelMetadata:
        """The served version's metadata as the tracker read it; read now if S3 was away then."""
        known = self._metadata.known(model.name, model.version)
        if known is None:
            await self._metadata.load(model)
            known = self._metadata.known(model.name, model.version)
        if known is None:
            raise StorageUnavailable(f"the metadata of version {model.version} cannot be read now; retry shortly")
        return known

    async def current(self, model: ServedModel) -> tuple[bytes, str]:
        """The JSON body of ``GET /models/current`` and its strong ETag (a hash of the body),
        rebuilt at most every ``CURRENT_REFRESH_SECONDS`` (apps revalidate often)."""
        answered = self._answers.get((model.name, model.version))
        if answered is not None and time.monotonic() - answered[0] < CURRENT_REFRESH_SECONDS:
            return answered[1], answered[2]
        body, etag = await self._describe(model)
        self._answers = {(model.name, model.version): (time.monotonic(), body, etag)}  # the served one only
        return body, etag

    async def _describe(self, model: ServedModel) -> tuple[bytes, str]:
        metadata = await self.metadata(model)
        card = await self._card(model)
        size = model.input_size
        operating = metadata.operating_point
        answer = CurrentModelOut(
            model_name=model.name,
            version=model.version,
            input_size=size,
            class_names=metadata.class_names,
            decision_threshold=metadata.decision_threshold,
            operating_point=OperatingPointOut(
                threshold=operating.get("threshold", metadata.decision_threshold),
                sensitivity=operating.get("sensitivity"),
                specificity=operating.get("specificity"),
                target_sensitivity=operating.get("target_sensitivity"),
            ),
            risk_thresholds=metadata.risk_thresholds,
            preprocessing=PreprocessingOut(
                description=metadata.preprocessing or PREPROCESSING.format(size=size),
                input_shape=[1, size, size, 3],
                test_time_augmentation=metadata.test_time_augmentation,
            ),
            notice=NOTICE,
            card=card,
            formats=[_format_of(model, entry) for entry in downloadable(metadata)],
        )
        body = answer.model_dump_json().encode()
        return body, f'"v{model.version}-{hashlib.sha256(body).hexdigest()[:32]}"'

    async def entry(self, model: ServedModel, name: str, version: int, file: str) -> DeviceModel:
        """The served version's entry for ``file``; ``NotFound`` for another version or an unlisted file."""
        if (name, version) != (model.name, model.version):
            raise NotFound(
                f"version {version} of {name} is not the served version; see GET /models/current",
                code="device_file_not_found",
                headers=dict(NOT_CACHED),
            )
        for entry in downloadable(await self.metadata(model)):
            if entry.file == file:
                return entry
        raise NotFound(
            f"version {version} of {name} has no on-device file {file}",
            code="device_file_not_found",
            headers=dict(NOT_CACHED),
        )

    async def content(self, model: ServedModel, entry: DeviceModel) -> bytes:
        """The file's bytes, from the cache or S3, checked against the metadata's SHA-256."""
        cached = self.files.get(entry.sha256)
        if cached is not None:
            return cached
        lock = self._reading.setdefault(entry.sha256, asyncio.Lock())
        try:
            async with lock:  # many devices asking at once after a promotion: one read
                cached = self.files.get(entry.sha256)
                if cached is not None:
                    return cached
                refused = self._refused.get(entry.sha256)
                if refused is not None and time.monotonic() - refused[0] < REFUSED_SECONDS:
                    raise refused[1].with_traceback(None)
                try:
                    data = await self._read(model, entry)
                except DeviceFileUnusable as error:
                    self._refused[entry.sha256] = (time.monotonic(), error)
                    raise
                self._refused.pop(entry.sha256, None)
                self.files.put(entry.sha256, data)
                return data
        finally:
            if not lock.locked():
                self._reading.pop(entry.sha256, None)

    async def _read(self, model: ServedModel, entry: DeviceModel) -> bytes:
        key = model_prefix(model.name, model.version) + entry.file
        try:
            async with asyncio.timeout(self._file_timeout):
                data = await self._store.get(key)
        except ObjectMissing as error:
            logger.error("%s is listed in the version's metadata but not in the store", key)
            raise DeviceFileUnusable(
                f"{entry.file} of version {model.version} is missing from the store", code="device_file_missing"
            ) from error
        except (ClientError, TimeoutError) as error:
            logger.warning("could not read %s: %s", key, error)
            raise StorageUnavailable(UNAVAILABLE) from error
        digest = await asyncio.to_thread(lambda: hashlib.sha256(data).hexdigest())
        if digest != entry.sha256 or len(data) != entry.bytes:
            logger.error(
                "%s does not match its metadata (sha256 %s, %d bytes; expected %s, %d bytes): not served",
                key,
                digest,
                len(data),
                entry.sha256,
                entry.bytes,
            )
            raise DeviceFileUnusable(
                f"{entry.file} of version {model.version} does not match its published SHA-256; not served",
                code="device_file_mismatch",
            )
        return data

    async def _card(self, model: ServedModel) -> CardSummary | None:
        try:
            card = await self._cards.get(model)
        except NotFound:
            return None
        except (ClientError, TimeoutError) as error:
            logger.warning("could not read the model card: %s", error)
            raise StorageUnavailable(UNAVAILABLE) from error
        return summarise(card)


def downloadable(metadata: ModelMetadata) -> list[DeviceModel]:
    """The version's on-device files whose names the file route accepts (all the worker writes)."""
    accepted = [entry for entry in metadata.devices if re.fullmatch(FILE_NAME_PATTERN, entry.file)]
    if len(accepted) < len(metadata.devices):
        logger.warning("on-device files with unexpected names are not offered: %s", metadata.devices)
    return accepted


def summarise(card: dict[str, Any]) -> CardSummary | None:
    """The short card from its public part; None (logged) when its figures have unexpected shapes."""
    metrics = card.get("metrics") or {}
    try:
        return CardSummary.model_validate(
            {
                "intended_use": card["intended_use"],
                "not_a_diagnosis": card["not_a_diagnosis"],
                "in_distribution": metrics.get("in_distribution"),
                "external": metrics.get("external") or [],
                "limitations": card["limitations"],
            }
        )
    except (ValidationError, KeyError) as error:
        logger.error("the model card cannot be summarised: %s", error)
        return None


def _format_of(model: ServedModel, entry: DeviceModel) -> DeviceFormatOut:
    return DeviceFormatOut(
        format=entry.format,
        url=f"/models/{model.name}/{model.version}/files/{entry.file}",
        file=entry.file,
        bytes=entry.bytes,
        sha256=entry.sha256,
        runtime=entry.runtime,
        input_dtype=entry.input_dtype,
        test_auc=entry.test_auc,
        test_sensitivity=entry.test_sensitivity,
        test_specificity=entry.test_specificity,
        auc_drop=entry.auc_drop,
        within_tolerance=entry.within_tolerance,
    )
