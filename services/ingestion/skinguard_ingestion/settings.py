from __future__ import annotations

import dataclasses

from skinguard_imaging import ImageLimits
from skinguard_imaging.settings import ImageIntakeSettings


class IngestionSettings(ImageIntakeSettings):
    ingestion_host: str = "127.0.0.1"
    ingestion_port: int = 8001
    # Floor for both sides when an importer waives the minimum (HAM10000 copies are 200x150).
    low_resolution_floor: int = 128

    @property
    def low_resolution_limits(self) -> ImageLimits:
        floor = self.low_resolution_floor
        return dataclasses.replace(self.image_limits, min_width=floor, min_height=floor)
