"""What each served version's ``metadata.json`` tells the gateway: its decision and risk thresholds.

The training worker writes ``models/<name>/<version>/metadata.json`` (``ModelMetadata``, the
contract) to S3, with ``decision_threshold`` (the operating point chosen on validation) and
``risk_thresholds`` measured on calibrated probabilities. The gateway reads it once per
version. A version without the file, or with an invalid one, gets the defaults for good
(0.5 and the original risk rules: versions are written once); an unreachable S3 means the
defaults until a later refresh reads the file.
"""

from __future__ import annotations

import asyncio
import logging

from botocore.exceptions import ClientError
from pydantic import ValidationError

from skinguard_contracts.errors import AppError
from skinguard_contracts.keys import model_metadata_key
from skinguard_contracts.model_files import ModelMetadata
from skinguard_runtime.storage import ObjectMissing, ObjectStore

from .client import ServedModel

logger = logging.getLogger(__name__)

DEFAULT_METADATA = ModelMetadata()


class VersionMetadataCache:
    """The metadata of the versions served so far, each read from S3 once."""

    def __init__(self, store: ObjectStore, *, timeout_seconds: float) -> None:
        self._store = store
        self._timeout = timeout_seconds
        self._known: dict[tuple[str, int], ModelMetadata] = {}

    def get(self, name: str, version: int) -> ModelMetadata:
        return self._known.get((name, version), DEFAULT_METADATA)

    def known(self, name: str, version: int) -> ModelMetadata | None:
        """The version's metadata once read (the defaults when it has no usable file); None until then."""
        return self._known.get((name, version))

    async def load(self, model: ServedModel) -> None:
        """Read the version's metadata unless it is known; never raises."""
        if (model.name, model.version) in self._known:
            return
        key = model_metadata_key(model.name, model.version)
        try:
            async with asyncio.timeout(self._timeout):
                data = await self._store.get(key)
        except ObjectMissing:
            logger.info("no %s: the original risk rules apply", key)
            self._known[model.name, model.version] = DEFAULT_METADATA
            return
        except (AppError, ClientError, TimeoutError) as error:
            logger.warning("could not read %s (%s); the original risk rules apply until it can be read", key, error)
            return
        try:
            metadata = ModelMetadata.model_validate_json(data)
        except ValidationError as error:
            logger.error("%s is invalid; the original risk rules apply: %s", key, error)
            metadata = DEFAULT_METADATA
        self._known[model.name, model.version] = metadata
