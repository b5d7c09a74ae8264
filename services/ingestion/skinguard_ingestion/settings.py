from __future__ import annotations

import dataclasses

from skinguard_common.imaging import ImageLimits
from skinguard_common.settings import CommonSettings


class IngestionSettings(CommonSettings):
    ingestion_host: str = "127.0.0.1"
    ingestion_port: int = 8001
    max_upload_bytes: int = 10 * 1024 * 1024
    min_image_width: int = 224
    min_image_height: int = 224
    max_image_pixels: int = 40_000_000
    # Floor for both sides when an importer waives the minimum (HAM10000 copies are 200x150).
    low_resolution_floor: int = 128

    @property
    def image_limits(self) -> ImageLimits:
        return ImageLimits(
            max_bytes=self.max_upload_bytes,
            min_width=self.min_image_width,
            min_height=self.min_image_height,
            max_pixels=self.max_image_pixels,
        )

    @property
    def low_resolution_limits(self) -> ImageLimits:
        floor = self.low_resolution_floor
        return dataclasses.replace(self.image_limits, min_width=floor, min_height=floor)
