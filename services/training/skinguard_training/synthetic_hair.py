"""Synthetic hairs drawn across training photos.

HAM10000's nevi are nearly hairless while its melanomas and carcinomas, and the photos of other
clinics (isic2020, of both classes), often are not: a network can learn "hair or thin dark
strokes = malignant". Drawing hairs onto a share of the photos of both classes takes that cue
away (hair augmentation, common in SIIM-ISIC 2020 challenge entries; Bissoto et al. 2022 on
artefact-based generalisation). No augmentation library draws hairs into a TensorFlow graph,
hence this module: a fixed bank of hair masks drawn once with OpenCV, blended in graph.
Measured on isic2020 within the run-to-run spread (README, "Model quality"), so it is off by default.
"""

from __future__ import annotations

import functools
import math

import cv2
import numpy as np
import tensorflow as tf

BANK_SIZE = 256  # hair layouts; the crop, rotation and flip after them vary each one further
MAX_HAIRS = 40  # per layout; the count is drawn log-uniformly from 1, so sparse layouts dominate
_SUPERSAMPLING = 4  # hairs are drawn 4x larger and reduced, so widths can be below a pixel
_WIDTH_PIXELS = (0.5, 1.6)  # at a 160-pixel side; scaled with the side
_LENGTH = (0.3, 1.2)  # of the side
_BEND = 0.25  # the curve's middle moves up to this share of its length sideways
_DARKNESS = (10.0, 90.0)  # hair colour's brightness, 0-255; tinted brown below
_BROWN = np.array([1.0, 0.8, 0.65], np.float32)


@functools.lru_cache(maxsize=4)
def hair_masks(side: int) -> np.ndarray:
    """``(BANK_SIZE, side, side)`` uint8 opacities (255: hair); the same for a side every time."""
    random = np.random.default_rng(20200)
    big = side * _SUPERSAMPLING
    masks = np.empty((BANK_SIZE, side, side), np.uint8)
    for index in range(BANK_SIZE):
        canvas = np.zeros((big, big), np.uint8)
        count = round(math.exp(random.uniform(0, math.log(MAX_HAIRS))))
        for _ in range(count):
            _draw_hair(canvas, random, side)
        masks[index] = cv2.resize(canvas, (side, side), interpolation=cv2.INTER_AREA)
    return masks


def _draw_hair(canvas: np.ndarray, random: np.random.Generator, side: int) -> None:
    """One hair: a quadratic Bezier curve through a point of the frame, of random width and opacity."""
    big = canvas.shape[0]
    middle = random.uniform(0, 1, 2) * big
    angle = random.uniform(0, 2 * math.pi)
    length = random.uniform(*_LENGTH) * big
    start, end = middle + np.array([[-0.5], [0.5]]) * length * np.array([math.cos(angle), math.sin(angle)])
    normal = np.array([-math.sin(angle), math.cos(angle)])
    control = middle + random.uniform(-_BEND, _BEND) * length * normal
    steps = np.linspace(0, 1, 32)[:, None]
    curve = (1 - steps) ** 2 * start + 2 * (1 - steps) * steps * control + steps**2 * end
    width = random.uniform(*_WIDTH_PIXELS) * side / 160 * _SUPERSAMPLING
    opacity = int(random.uniform(0.6, 1.0) * 255)
    points = np.round(curve).astype(np.int32).reshape(-1, 1, 2)
    hair = np.zeros_like(canvas)
    cv2.polylines(hair, [points], isClosed=False, color=opacity, thickness=max(1, round(width)), lineType=cv2.LINE_AA)
    np.maximum(canvas, hair, out=canvas)


def draw_hairs(pixels: tf.Tensor, seed: tf.Tensor, probability: float) -> tf.Tensor:
    """Float RGB ``(n, side, side, 3)`` with hairs of one dark colour per photo blended onto
    each photo drawn with ``probability``; the others unchanged."""
    side = int(pixels.shape[1])
    coin_seed, pick_seed, colour_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 3))
    count = tf.shape(pixels)[0]
    drawn = tf.cast(tf.random.stateless_uniform((count,), coin_seed) < probability, tf.float32)
    chosen = tf.random.stateless_uniform((count,), pick_seed, minval=0, maxval=BANK_SIZE, dtype=tf.int32)
    opacity = tf.gather(tf.constant(hair_masks(side)), chosen)
    opacity = tf.cast(opacity, tf.float32)[..., None] * (drawn[:, None, None, None] / 255.0)
    darkness = tf.random.stateless_uniform((count, 1, 1, 1), colour_seed, *_DARKNESS)
    return pixels * (1 - opacity) + darkness * _BROWN * opacity
