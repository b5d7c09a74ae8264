"""The original design's augmentations, done in TensorFlow ops on whole batches.

Per image: a random one of the 8 flips and 90-degree rotations (a random transpose, left-right
flip and top-bottom flip give each of them with equal chance, which is what horizontal flip,
vertical flip and rotate-90 together produce), then, scaled by ``strength``, colour jitter
(brightness, contrast, saturation, hue) and, for some images, a Gaussian blur. Every random draw
is stateless from ``seed``, so a batch and a seed always give the same output.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

# Ranges at strength 1; strength s scales each: a factor is drawn from 1 +- s * range.
_BRIGHTNESS = 0.25
_CONTRAST = 0.25
_SATURATION = 0.25
_HUE_DEGREES = 18.0
_BLUR_PROBABILITY = 0.5  # of an image being blurred, at strength 1
_BLUR_SIGMA = (0.5, 1.5)  # pixels
_BLUR_RADIUS = 4  # taps each side: covers about 3 sigma

# RGB <-> YIQ: brightness scales Y, saturation scales and hue rotates the (I, Q) chroma plane.
_RGB_TO_YIQ = np.array([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]], np.float32)
_YIQ_TO_RGB = np.linalg.inv(_RGB_TO_YIQ).astype(np.float32)


def augment_batch(images: tf.Tensor, seed: tf.Tensor, strength: float) -> tf.Tensor:
    """Augment a batch ``(n, side, side, 3)`` of RGB pixels 0-255; ``seed`` is two integers.

    Returns a tensor of the same shape and dtype, in 0-255 (rounded for integer dtypes).
    """
    geometry_seed, colour_seed, blur_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 3))
    pixels = _random_dihedral(tf.cast(images, tf.float32), geometry_seed)
    if strength > 0:
        pixels = _colour_jitter(pixels, colour_seed, strength)
        pixels = _random_blur(pixels, blur_seed, strength)
    pixels = tf.clip_by_value(pixels, 0.0, 255.0)
    if images.dtype.is_integer:
        pixels = tf.round(pixels)
    return tf.cast(pixels, images.dtype)


def _random_dihedral(pixels: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    transpose, mirror_left_right, mirror_top_bottom = _coins(pixels, seed, count=3, probability=0.5)
    pixels = tf.where(transpose, tf.transpose(pixels, (0, 2, 1, 3)), pixels)
    pixels = tf.where(mirror_left_right, tf.reverse(pixels, axis=[2]), pixels)
    return tf.where(mirror_top_bottom, tf.reverse(pixels, axis=[1]), pixels)


def _colour_jitter(pixels: tf.Tensor, seed: tf.Tensor, strength: float) -> tf.Tensor:
    """One per-image 3x3 colour matrix (brightness, saturation, hue), then contrast about the mean."""
    brightness, contrast, saturation, hue = tf.unstack(
        tf.random.stateless_uniform((4, tf.shape(pixels)[0]), seed, minval=-1.0, maxval=1.0) * strength
    )
    brightness, contrast, saturation = 1 + _BRIGHTNESS * brightness, 1 + _CONTRAST * contrast, 1 + _SATURATION * saturation
    angle = hue * math.radians(_HUE_DEGREES)
    cos, sin = saturation * tf.cos(angle), saturation * tf.sin(angle)
    ones, zeros = tf.ones_like(angle), tf.zeros_like(angle)
    yiq_change = tf.stack(
        [tf.stack([ones, zeros, zeros], -1), tf.stack([zeros, cos, -sin], -1), tf.stack([zeros, sin, cos], -1)], axis=1
    )  # (n, 3, 3)
    colour = brightness[:, None, None] * (_YIQ_TO_RGB @ yiq_change @ _RGB_TO_YIQ)
    pixels = tf.einsum("nhwc,ndc->nhwd", pixels, colour)
    mean = tf.reduce_mean(pixels, axis=(1, 2), keepdims=True)
    return (pixels - mean) * contrast[:, None, None, None] + mean


def _random_blur(pixels: tf.Tensor, seed: tf.Tensor, strength: float) -> tf.Tensor:
    """Separable Gaussian blur with a per-image sigma; images not drawn get an identity kernel."""
    coin_seed, sigma_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    (blurred,) = _coins(pixels, coin_seed, count=1, probability=_BLUR_PROBABILITY * strength)
    sigma = tf.random.stateless_uniform((tf.shape(pixels)[0], 1), sigma_seed, *_BLUR_SIGMA)
    offsets = tf.range(-_BLUR_RADIUS, _BLUR_RADIUS + 1, dtype=tf.float32)
    gaussian = tf.exp(-0.5 * tf.square(offsets / sigma))
    identity = tf.cast(tf.equal(offsets, 0.0), tf.float32)[None, :]
    taps = tf.where(blurred[:, :, 0, 0], gaussian / tf.reduce_sum(gaussian, axis=1, keepdims=True), identity)
    taps = taps[:, None, None, :]  # (n, 1, 1, taps)
    return _convolve_axis(_convolve_axis(pixels, taps, axis=1), taps, axis=2)


def _convolve_axis(pixels: tf.Tensor, taps: tf.Tensor, axis: int) -> tf.Tensor:
    """Weighted sum of shifted copies along one spatial axis, borders reflected."""
    padding = [[0, 0], [0, 0], [0, 0], [0, 0]]
    padding[axis] = [_BLUR_RADIUS, _BLUR_RADIUS]
    padded = tf.pad(pixels, padding, mode="REFLECT")
    length = tf.shape(pixels)[axis]
    total = tf.zeros_like(pixels)
    for tap in range(2 * _BLUR_RADIUS + 1):
        shifted = padded[:, tap : tap + length] if axis == 1 else padded[:, :, tap : tap + length]
        total += taps[..., tap : tap + 1] * shifted
    return total


def _coins(pixels: tf.Tensor, seed: tf.Tensor, *, count: int, probability: float) -> list[tf.Tensor]:
    """``count`` per-image booleans shaped ``(n, 1, 1, 1)``, each true with ``probability``."""
    draws = tf.random.stateless_uniform((count, tf.shape(pixels)[0], 1, 1, 1), seed)
    return tf.unstack(draws < probability)
