"""The served version's model card, as a mobile app shows it (``GET /model``).

The worker writes ``models/<name>/<version>/model_card.json`` when it publishes a version and
rewrites it after each evaluation, so the gateway re-reads it at most every
``refresh_seconds``. Only the public part is answered: what the model is for, the data it learnt
from (sources and class counts), its operating point, its measured quality in-distribution and
on external data, calibration, risk levels and known limitations.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from botocore.exceptions import ClientError
from pydantic import ValidationError

from skinguard_contracts.errors import AppError, NotFound
from skinguard_contracts.keys import model_card_key
from skinguard_contracts.model_files import ModelCard
from skinguard_runtime.storage import ObjectMissing, ObjectStore

from .client import ServedModel

logger = logging.getLogger(__name__)


class PublicCards:
    """Reads the served version's model card from S3, caching it for ``refresh_seconds``."""

    def __init__(self, store: ObjectStore, *, timeout_seconds: float, refresh_seconds: float = 300.0) -> None:
        self._store = store
        self._timeout = timeout_seconds
        self._refresh = refresh_seconds
        self._cached: dict[tuple[str, int], tuple[float, dict[str, Any]]] = {}

    async def get(self, model: ServedModel) -> dict[str, Any]:
        """The public card; ``NotFound`` when the version has none, a 503 when S3 cannot be read."""
        key = (model.name, model.version)
        cached = self._cached.get(key)
        if cached is not None and time.monotonic() - cached[0] < self._refresh:
            return cached[1]
        try:
            async with asyncio.timeout(self._timeout):
                data = await self._store.get(model_card_key(model.name, model.version))
            card = ModelCard.model_validate_json(data).public()
        except ObjectMissing as error:
            raise NotFound(
                f"version {model.version} of {model.name} has no model card", code="no_model_card"
            ) from error
        except ValidationError as error:
            raise NotFound(f"the model card of version {model.version} is unreadable", code="no_model_card") from error
        except (AppError, ClientError, TimeoutError) as error:
            if cached is not None:  # an older read beats none while S3 is away
                logger.warning("could not re-read the model card (%s); answering the cached one", error)
                return cached[1]
            raise
        self._cached[key] = (time.monotonic(), card)
        return card
