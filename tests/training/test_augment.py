from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from skinguard_training.augment import AugmentationPolicy, augment_batch

from .conftest import lesion_pixels

SEED = tf.constant([7, 11], dtype=tf.int64)


@pytest.fixture(scope="module")
def batch() -> tf.Tensor:
    labels = ["benign", "malignant"] * 4
    return tf.constant(np.stack([lesion_pixels(label, seed) for seed, label in enumerate(labels)]))


def _dihedral(image: np.ndarray) -> list[np.ndarray]:
    rotations = [np.rot90(image, k) for k in range(4)]
    return rotations + [rotation[:, ::-1] for rotation in rotations]


@pytest.mark.parametrize("strength", [0.0, 0.5, 1.0])
def test_shape_dtype_and_range_are_kept(batch: tf.Tensor, strength: float) -> None:
    for images in (batch, tf.cast(batch, tf.float32)):
        augmented = augment_batch(images, SEED, AugmentationPolicy(strength))
        assert augmented.shape == images.shape
        assert augmented.dtype == images.dtype
        assert 0 <= float(tf.reduce_min(augmented)) and float(tf.reduce_max(augmented)) <= 255


def test_the_same_seed_gives_the_same_batch_and_another_seed_another(batch: tf.Tensor) -> None:
    first = augment_batch(batch, SEED, AugmentationPolicy(1.0)).numpy()
    assert np.array_equal(first, augment_batch(batch, SEED, AugmentationPolicy(1.0)).numpy())
    assert not np.array_equal(
        first, augment_batch(batch, tf.constant([7, 12], tf.int64), AugmentationPolicy(1.0)).numpy()
    )


def test_at_strength_zero_every_image_is_a_flip_or_rotation_of_itself(batch: tf.Tensor) -> None:
    augmented = augment_batch(batch, SEED, AugmentationPolicy(0.0)).numpy()
    seen = set()
    for original, result in zip(batch.numpy(), augmented, strict=True):
        matches = [index for index, variant in enumerate(_dihedral(original)) if np.array_equal(variant, result)]
        assert matches, "not one of the 8 flips and rotations"
        seen.add(matches[0])
    assert len(seen) > 1, "every image got the same transform"


def test_orientations_are_drawn_per_image_with_all_eight_possible(batch: tf.Tensor) -> None:
    image = batch.numpy()[:1]
    variants = _dihedral(image[0])
    seen = set()
    for seed in range(64):
        result = augment_batch(tf.constant(image), tf.constant([seed, 0], tf.int64), AugmentationPolicy(0.0)).numpy()[0]
        seen.add(next(index for index, variant in enumerate(variants) if np.array_equal(variant, result)))
    assert seen == set(range(8))


def test_colour_jitter_changes_colours_more_at_higher_strength(batch: tf.Tensor) -> None:
    images = tf.cast(batch, tf.float32)

    def colour_change(strength: float) -> float:
        mean_colour = tf.reduce_mean(augment_batch(images, SEED, AugmentationPolicy(strength)), axis=(1, 2))
        return float(tf.reduce_mean(tf.abs(mean_colour - tf.reduce_mean(images, axis=(1, 2)))))

    assert colour_change(0.0) < 1e-3  # flips and rotations keep the mean colour
    assert 0 < colour_change(0.3) < colour_change(1.0)


def test_blur_smooths_some_images_at_full_strength(batch: tf.Tensor) -> None:
    def roughness(images: np.ndarray) -> np.ndarray:
        return np.abs(np.diff(images.astype(float), axis=2)).mean(axis=(1, 2, 3))

    before = roughness(batch.numpy())
    after = roughness(augment_batch(batch, SEED, AugmentationPolicy(1.0)).numpy())
    assert (after < 0.5 * before).any()  # contrast jitter alone lowers it by 30% at most
    assert (after > 0.7 * before).any()  # and not every image is blurred


def test_rotations_by_any_angle_and_crops_resample_but_keep_the_picture(batch: tf.Tensor) -> None:
    images = tf.cast(batch, tf.float32)
    warped = augment_batch(images, SEED, AugmentationPolicy(0.0, min_crop_area=0.5, any_angle=True)).numpy()
    assert warped.shape == images.shape
    for original, result in zip(batch.numpy(), warped, strict=True):
        assert not any(np.array_equal(variant.astype(np.float32), result) for variant in _dihedral(original))
    # Skin and lesion colours stay: the mean colour moves little without colour jitter.
    assert np.abs(warped.mean(axis=(1, 2)) - images.numpy().mean(axis=(1, 2))).max() < 25


def _disk(side: int = 64, radius: float = 0.15) -> np.ndarray:
    y, x = np.mgrid[0:side, 0:side]
    inside = (x - side / 2) ** 2 + (y - side / 2) ** 2 < (radius * side) ** 2
    return np.where(inside[..., None], 40, 220).astype(np.float32) * np.ones(3, np.float32)


def _largest_dark_patch(image: np.ndarray) -> int:
    from scipy import ndimage

    labelled, count = ndimage.label(image.mean(axis=-1) < 130)
    return int(np.bincount(labelled.ravel())[1:].max()) if count else 0


def test_zooming_out_shrinks_the_lesion_and_zooming_in_enlarges_it() -> None:
    disk = _disk()
    batch = tf.constant(np.repeat(disk[None], 8, axis=0))
    original = _largest_dark_patch(disk)
    zoomed_out = augment_batch(batch, SEED, AugmentationPolicy(0.0, min_crop_area=4.0, max_crop_area=4.0)).numpy()
    zoomed_in = augment_batch(batch, SEED, AugmentationPolicy(0.0, min_crop_area=0.5, max_crop_area=0.5)).numpy()
    # Four times the area in the frame: the lesion covers about a quarter of its pixels (aspect jitter aside).
    assert all(0.15 * original < _largest_dark_patch(image) < 0.4 * original for image in zoomed_out)
    assert all(_largest_dark_patch(image) > 1.5 * original for image in zoomed_in)
