from __future__ import annotations

import numpy as np
import tensorflow as tf

from skinguard_contracts.training_config import TrainingConfig
from skinguard_training.augment import augment_batch, augmentation_policy
from skinguard_training.vignette import draw_vignettes

SEED = tf.constant([7, 11], dtype=tf.int64)
SKIN = np.array([220.0, 170.0, 150.0], np.float32)


def _skin(count: int, side: int = 64) -> tf.Tensor:
    return tf.constant(np.broadcast_to(SKIN, (count, side, side, 3)).copy())


def _corners(images: np.ndarray, size: int = 4) -> np.ndarray:
    """Each image's four corner patches, ``(n, 4, size, size, 3)``."""
    return np.stack(
        [images[:, :size, :size], images[:, :size, -size:], images[:, -size:, :size], images[:, -size:, -size:]], axis=1
    )


def test_a_ring_darkens_a_corner_and_leaves_the_middle() -> None:
    ringed = draw_vignettes(_skin(16), SEED, 1.0).numpy()
    darkest_corner = _corners(ringed, size=1).max(axis=(2, 3, 4)).min(axis=1)
    assert darkest_corner.max() < 0.6 * SKIN.max(), "a photo without a darkened corner"
    assert np.median(darkest_corner) < 40, "rings too faint"
    middle = ringed[:, 24:40, 24:40]
    assert np.abs(middle - SKIN).max() < 1, "the ring covers the lesion"
    assert ringed.min() >= 0 and ringed.max() <= SKIN.max() + 1e-3


def test_rings_differ_in_size_and_the_same_seed_draws_the_same_rings() -> None:
    ringed = draw_vignettes(_skin(64), SEED, 1.0).numpy()
    dark_share = (ringed.max(axis=-1) < 100).mean(axis=(1, 2))
    assert dark_share.min() > 0.002 and dark_share.max() > 10 * dark_share.min()
    assert np.array_equal(ringed, draw_vignettes(_skin(64), SEED, 1.0).numpy())


def test_the_probability_is_the_share_of_photos_that_get_a_ring() -> None:
    ringed = draw_vignettes(_skin(400, side=32), SEED, 0.3).numpy()
    share = (np.abs(ringed - SKIN).max(axis=(1, 2, 3)) > 50).mean()
    assert 0.22 < share < 0.38
    assert np.array_equal(draw_vignettes(_skin(8), SEED, 0.0).numpy(), _skin(8).numpy())


def test_the_config_turns_rings_on_in_the_training_augmentations() -> None:
    def darkest_corner(config: TrainingConfig) -> float:
        policy = augmentation_policy(config)
        assert policy is not None
        augmented = augment_batch(tf.cast(_skin(8), tf.uint8), SEED, policy).numpy()
        return float(_corners(augmented).max(axis=(2, 3, 4)).min())

    without = TrainingConfig(model_type="CNN", augmentation_strength=0.0)
    with_rings = TrainingConfig(model_type="CNN", augmentation_strength=0.0, vignette_augmentation=1.0)
    assert darkest_corner(without) > 140  # plain skin stays skin through crops and rotations
    assert darkest_corner(with_rings) < 40
