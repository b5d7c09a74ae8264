from __future__ import annotations

import cv2
import numpy as np
import pytest

from skinguard_imaging import measure_quality


def test_flat_image_has_no_blur_signal_and_no_contrast() -> None:
    metrics = measure_quality(np.full((240, 320, 3), 90, np.uint8), file_size=1234)

    assert (metrics.width, metrics.height, metrics.file_size) == (320, 240, 1234)
    assert metrics.blur_score == 0.0
    assert metrics.contrast_score == 0.0
    assert metrics.brightness_score == pytest.approx(90.0)


def test_brightness_is_the_mean_grey_level_of_a_constant_colour() -> None:
    metrics = measure_quality(np.full((10, 10, 3), (200, 100, 50), np.uint8), file_size=1)

    # ITU-R BT.601 luma: 0.299 R + 0.587 G + 0.114 B = 124.2, rounded to a grey level.
    assert metrics.brightness_score == pytest.approx(124.2, abs=0.5)


def test_contrast_is_the_standard_deviation_of_grey_levels() -> None:
    half_black_half_white = np.zeros((100, 100, 3), np.uint8)
    half_black_half_white[:, 50:] = 255

    metrics = measure_quality(half_black_half_white, file_size=1)

    assert metrics.brightness_score == pytest.approx(127.5)
    assert metrics.contrast_score == pytest.approx(127.5)


def test_checkerboard_is_sharp() -> None:
    cells = np.indices((256, 256)).sum(axis=0) // 8 % 2
    checkerboard = np.repeat((cells * 255).astype(np.uint8)[..., None], 3, axis=2)

    assert measure_quality(checkerboard, file_size=1).blur_score > 1000


@pytest.mark.parametrize("sigma", [1.0, 3.0])
def test_blurring_lowers_the_blur_score(sigma: float, lesion_like) -> None:
    sharp = lesion_like(seed=3)
    sharp[::16, :] = 0  # add fine detail for the Laplacian to find
    blurred = cv2.GaussianBlur(sharp, (0, 0), sigmaX=sigma)

    sharp_score = measure_quality(sharp, file_size=1).blur_score
    blurred_score = measure_quality(blurred, file_size=1).blur_score

    assert blurred_score < sharp_score / 4
