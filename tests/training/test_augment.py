from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from skinguard_training.augment import augment_batch

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
        augmented = augment_batch(images, SEED, strength)
        assert augmented.shape == images.shape
        assert augmented.dtype == images.dtype
        assert 0 <= float(tf.reduce_min(augmented)) and float(tf.reduce_max(augmented)) <= 255


def test_the_same_seed_gives_the_same_batch_and_another_seed_another(batch: tf.Tensor) -> None:
    first = augment_batch(batch, SEED, 1.0).numpy()
    assert np.array_equal(first, augment_batch(batch, SEED, 1.0).numpy())
    assert not np.array_equal(first, augment_batch(batch, tf.constant([7, 12], tf.int64), 1.0).numpy())


def test_at_strength_zero_every_image_is_a_flip_or_rotation_of_itself(batch: tf.Tensor) -> None:
    augmented = augment_batch(batch, SEED, 0.0).numpy()
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
        result = augment_batch(tf.constant(image), tf.constant([seed, 0], tf.int64), 0.0).numpy()[0]
        seen.add(next(index for index, variant in enumerate(variants) if np.array_equal(variant, result)))
    assert seen == set(range(8))


def test_colour_jitter_changes_colours_more_at_higher_strength(batch: tf.Tensor) -> None:
    images = tf.cast(batch, tf.float32)

    def colour_change(strength: float) -> float:
        mean_colour = tf.reduce_mean(augment_batch(images, SEED, strength), axis=(1, 2))
        return float(tf.reduce_mean(tf.abs(mean_colour - tf.reduce_mean(images, axis=(1, 2)))))

    assert colour_change(0.0) < 1e-3  # flips and rotations keep the mean colour
    assert 0 < colour_change(0.3) < colour_change(1.0)


def test_blur_smooths_some_images_at_full_strength(batch: tf.Tensor) -> None:
    def roughness(images: np.ndarray) -> np.ndarray:
        return np.abs(np.diff(images.astype(float), axis=2)).mean(axis=(1, 2, 3))

    before = roughness(batch.numpy())
    after = roughness(augment_batch(batch, SEED, 1.0).numpy())
    assert (after < 0.5 * before).any()  # contrast jitter alone lowers it by 25% at most
    assert (after > 0.7 * before).any()  # and not every image is blurred
