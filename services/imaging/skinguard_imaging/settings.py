"""Settings of every service that takes photos in (ingestion, gateway): the intake limits."""

from __future__ import annotations

from skinguard_runtime.settings import CommonSettings

from .intake import ImageLimits


class ImageIntakeSettings(CommonSettings):
    max_upload_bytes: int = 10 * 1024 * 1024
    min_image_width: int = 224
    min_image_height: int = 224
    max_image_pixels: int = 40_000_000

    @property
    def image_limits(self) -> ImageLimits:
        return ImageLimits(
            max_bytes=self.max_upload_bytes,
            min_width=self.min_image_width,
            min_height=self.min_image_height,
            max_pixels=self.max_image_pixels,
        )
