from __future__ import annotations

import numpy as np
import tensorflow as tf

from skinguard_contracts.training_config import TrainingConfig
from skinguard_training.augment import augment_batch, augmentation_policy
from skinguard_training.synthetic_hair import BANK_SIZE, draw_hairs, hair_masks

SEED = tf.constant([3, 5], dtype=tf.int64)
SKIN = np.array([220.0, 170.0, 150.0], np.float32)


def _skin(count: int, side: int = 64) -> tf.Tensor:
    return tf.constant(np.broadcast_to(SKIN, (count, side, side, 3)).copy())


def test_the_bank_is_the_same_every_time_and_holds_thin_hairs_sparse_and_dense() -> None:
    masks = hair_masks(160)
    assert masks.shape == (BANK_SIZE, 160, 160) and masks.dtype == np.uint8
    hair_masks.cache_clear()
    assert np.array_equal(masks, hair_masks(160))
    covered = (masks > 32).mean(axis=(1, 2))
    assert covered.min() > 0, "a layout without a hair"
    assert covered.max() < 0.5, "hairs cover the lesion"
    assert np.quantile(covered, 0.9) > 4 * np.quantile(covered, 0.1), "no sparse and dense layouts"


def test_hairs_darken_thin_strokes_brown_and_leave_the_rest_of_the_photo() -> None:
    photos = _skin(16)
    haired = draw_hairs(photos, SEED, 1.0).numpy()
    change = SKIN - haired
    assert change.min() > -1e-3, "a hair brightened the skin"
    darkened = change.max(axis=-1) > 1
    assert darkened.any(axis=(1, 2)).all(), "a photo drawn for hairs got none"
    assert darkened.mean() < 0.5
    strokes = haired[change.min(axis=-1) > 100]  # the hairs' cores
    assert len(strokes) and (strokes[:, 0] >= strokes[:, 1]).all() and (strokes[:, 1] >= strokes[:, 2]).all()


def test_the_probability_is_the_share_of_photos_that_get_hairs() -> None:
    haired = draw_hairs(_skin(400, side=32), SEED, 0.3).numpy()
    share = (np.abs(haired - SKIN).max(axis=(1, 2, 3)) > 1).mean()
    assert 0.22 < share < 0.38
    assert np.array_equal(draw_hairs(_skin(8), SEED, 0.0).numpy(), _skin(8).numpy())


def test_the_config_turns_hairs_on_in_the_training_augmentations() -> None:
    def darkest(config: TrainingConfig) -> float:
        policy = augmentation_policy(config)
        assert policy is not None
        return float(tf.reduce_min(augment_batch(tf.cast(_skin(8), tf.uint8), SEED, policy)))

    without = TrainingConfig(model_type="CNN", augmentation_strength=0.0)
    with_hairs = TrainingConfig(model_type="CNN", augmentation_strength=0.0, hair_augmentation=1.0)
    assert darkest(without) > 140  # plain skin stays skin through crops and rotations
    assert darkest(with_hairs) < 100
