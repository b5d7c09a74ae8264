from __future__ import annotations

import dataclasses

from pydantic import Field, SecretStr

from skinguard_imaging import ImageLimits
from skinguard_imaging.settings import ImageIntakeSettings


class IngestionSettings(ImageIntakeSettings):
    ingestion_host: str = "127.0.0.1"
    ingestion_port: int = 8001
    # Floor for both sides when an importer waives the minimum (HAM10000 copies are 200x150).
    low_resolution_floor: int = 128
    # Keyed hash that turns patient identifiers into pseudonyms; ingestion is the only service
    # that ever sees a raw patient id, so the only one that holds the key.
    pseudonym_key: SecretStr = SecretStr("dev-pseudonym-key")
    # Objects whose upload never committed (images/orphans.py): removed once this old, checked this often.
    orphan_grace_seconds: float = Field(3600, gt=0)
    orphan_sweep_seconds: float = Field(600, gt=0)

    def _secrets(self) -> dict[str, str]:
        return {**super()._secrets(), "pseudonym_key": self.pseudonym_key.get_secret_value()}

    @property
    def low_resolution_limits(self) -> ImageLimits:
        floor = self.low_resolution_floor
        return dataclasses.replace(self.image_limits, min_width=floor, min_height=floor)
