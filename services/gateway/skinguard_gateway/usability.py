"""Refusing photos the model cannot judge, with a reason the person taking them can act on."""

from __future__ import annotations

from dataclasses import dataclass

from skinguard_contracts.errors import Invalid
from skinguard_imaging import QualityMetrics
from skinguard_imaging.skin_photo import check_skin_photo

RETAKE = "Hold the phone steady about 10 cm from the skin, let it focus and retake the photo"


@dataclass(frozen=True, slots=True)
class UsabilityThresholds:
    """0 turns a check off."""

    min_blur_score: float = 0.0
    min_brightness: float = 0.0
    max_brightness: float = 0.0
    refuse_non_skin: bool = False  # documents, landscapes, objects: ``not_skin``


def check_usability(quality: QualityMetrics, thresholds: UsabilityThresholds) -> None:
    """Raise ``image_too_blurry``, ``image_too_dark``, ``image_overexposed`` or ``not_skin`` (422)
    for a photo the model cannot judge."""
    if quality.blur_score < thresholds.min_blur_score:
        raise Invalid(
            f"The photo is too blurry to assess (sharpness {quality.blur_score:.1f}, needs at least "
            f"{thresholds.min_blur_score:g}). {RETAKE} in good light.",
            code="image_too_blurry",
        )
    if quality.brightness_score < thresholds.min_brightness:
        raise Invalid(
            f"The photo is too dark to assess (brightness {quality.brightness_score:.0f} of 255, needs at least "
            f"{thresholds.min_brightness:g}). {RETAKE} in daylight or a well-lit room.",
            code="image_too_dark",
        )
    if thresholds.max_brightness and quality.brightness_score > thresholds.max_brightness:
        raise Invalid(
            f"The photo is overexposed (brightness {quality.brightness_score:.0f} of 255, at most "
            f"{thresholds.max_brightness:g}). {RETAKE} without the flash and out of direct sunlight.",
            code="image_overexposed",
        )
    if thresholds.refuse_non_skin:
        check_skin_photo(quality.skin_score)
