"""What each model version's ``metadata.json`` tells the gateway: its decision and risk thresholds.

The training worker writes ``models/<name>/<version>/metadata.json`` to S3. The gateway reads it
once per version and uses two optional keys:

- ``decision_threshold`` (written by training): the malignant probability from which the
  answer is "Malignant"; 0.5 when absent.
- ``risk_thresholds`` (written by a calibration step, all four keys)::

      "risk_thresholds": {"benign_low": 0.93, "benign_low_medium": 0.75,
                          "malignant_high": 0.7, "malignant_medium_high": 0.45}

  The predicted class's probability above ``*_low``/``*_high`` gives "low"/"high" risk, above
  ``benign_low_medium``/``malignant_medium_high`` "low-medium"/"medium-high", else "medium".
  Absent, the original rules apply (0.9, 0.7, 0.8, 0.6).

A missing or invalid file means the defaults for good (versions are written once); an
unreachable S3 means the defaults until a later refresh reads the file.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from skinguard_common.errors import AppError
from skinguard_common.registry import model_prefix
from skinguard_common.storage import ObjectMissing, ObjectStore

from .client import ServedModel

logger = logging.getLogger(__name__)

Probability = Annotated[float, Field(gt=0, lt=1)]


class RiskThresholds(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    benign_low: Probability
    benign_low_medium: Probability
    malignant_high: Probability
    malignant_medium_high: Probability

    @model_validator(mode="after")
    def _ordered(self) -> RiskThresholds:
        if not (self.benign_low > self.benign_low_medium and self.malignant_high > self.malignant_medium_high):
            raise ValueError("benign_low must exceed benign_low_medium and malignant_high malignant_medium_high")
        return self


ORIGINAL_RISK_RULES = RiskThresholds(
    benign_low=0.9, benign_low_medium=0.7, malignant_high=0.8, malignant_medium_high=0.6
)


class ModelCard(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    decision_threshold: float = Field(0.5, gt=0, lt=1)
    risk_thresholds: RiskThresholds = ORIGINAL_RISK_RULES


DEFAULT_CARD = ModelCard()


def metadata_key(name: str, version: int) -> str:
    return f"{model_prefix(name, version)}metadata.json"


class ModelCards:
    """The cards of the versions served so far, each read from S3 once."""

    def __init__(self, store: ObjectStore, *, timeout_seconds: float) -> None:
        self._store = store
        self._timeout = timeout_seconds
        self._cards: dict[tuple[str, int], ModelCard] = {}

    def get(self, name: str, version: int) -> ModelCard:
        return self._cards.get((name, version), DEFAULT_CARD)

    async def load(self, model: ServedModel) -> None:
        """Read the version's card unless it is known; never raises."""
        if (model.name, model.version) in self._cards:
            return
        key = metadata_key(model.name, model.version)
        try:
            async with asyncio.timeout(self._timeout):
                data = await self._store.get(key)
        except ObjectMissing:
            logger.info("no %s: the original risk rules apply", key)
            self._cards[model.name, model.version] = DEFAULT_CARD
            return
        except (AppError, ClientError, TimeoutError) as error:
            logger.warning("could not read %s (%s); the original risk rules apply until it can be read", key, error)
            return
        try:
            card = ModelCard.model_validate_json(data)
        except ValidationError as error:
            logger.error("%s is invalid; the original risk rules apply: %s", key, error)
            card = DEFAULT_CARD
        self._cards[model.name, model.version] = card
