"""Training augmentations, done in TensorFlow ops on whole batches.

They attack what differs between clinics rather than between lesions: framing, orientation,
camera colour and exposure. Per image, scaled by the policy:

* geometry: a random resized crop (a share of the area between ``min_crop_area`` and
  ``max_crop_area``, above 1 zooming out; aspect ratio 3:4 to 4:3), a rotation by any angle and
  a mirror flip, as one affine warp with the border reflected; without ``any_angle`` and crops,
  one of the 8 flips and 90-degree rotations;
* colour: brightness, contrast, saturation, hue and gamma jitter, and for some images a
  Gaussian blur;
* artefacts: for a share of the images, synthetic hairs drawn first (``synthetic_hair``), so the
  geometry and colour changes apply to them too; for another share, a dermatoscope's dark ring
  drawn around the framed photo before the colour changes (``vignette``).

Every random draw is stateless from ``seed``, so a batch and a seed always give the same output.
Built for speed on CPU: the geometry is one projective-transform kernel per batch, the colour
jitter one per-image affine map, and only the images drawn for blurring are convolved.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from skinguard_contracts.training_config import TrainingConfig

from .synthetic_hair import draw_hairs
from .vignette import draw_vignettes

# Ranges at strength 1; strength s scales each: a factor is drawn from 1 +- s * range.
_BRIGHTNESS = 0.3
_CONTRAST = 0.3
_SATURATION = 0.3
_HUE_DEGREES = 18.0
_LOG_GAMMA = math.log(1.4)  # gamma drawn log-uniformly from 1/1.4 to 1.4
_BLUR_PROBABILITY = 0.3  # of an image being blurred, at strength 1
_BLUR_SIGMA = (0.5, 1.5)  # pixels
_BLUR_RADIUS = 4  # taps each side: covers about 3 sigma
_LOG_ASPECT = math.log(4 / 3)  # crops' aspect ratio drawn log-uniformly from 3:4 to 4:3

# RGB <-> YIQ: brightness scales Y, saturation scales and hue rotates the (I, Q) chroma plane.
_RGB_TO_YIQ = np.array([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]], np.float32)
_YIQ_TO_RGB = np.linalg.inv(_RGB_TO_YIQ).astype(np.float32)


@dataclass(frozen=True)
class AugmentationPolicy:
    """How strongly to augment: ``strength`` scales the colour ranges (0: none)."""

    strength: float = 1.0
    min_crop_area: float = 1.0  # 1: no cropping
    any_angle: bool = False  # rotate by any angle, not only 90-degree steps
    max_crop_area: float = 1.0  # above 1: zoom out too, the lesion shrinks inside a reflected border
    hair_probability: float = 0.0  # share of images that get synthetic hairs
    vignette_probability: float = 0.0  # share of images that get a dark ring around them

    @property
    def dihedral_only(self) -> bool:
        return self.min_crop_area >= 1 and self.max_crop_area <= 1 and not self.any_angle


def augment_batch(images: tf.Tensor, seed: tf.Tensor, policy: AugmentationPolicy) -> tf.Tensor:
    """Augment a batch ``(n, side, side, 3)`` of RGB pixels 0-255; ``seed`` is two integers.

    Returns a tensor of the same shape and dtype, in 0-255 (rounded for integer dtypes).
    """
    geometry_seed, colour_seed, blur_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 3))
    dtype = images.dtype
    if policy.hair_probability > 0:
        # Its own seed, so the other draws are the same with and without hairs.
        hair_seed = tf.random.experimental.stateless_fold_in(seed, 3)
        images = draw_hairs(tf.cast(images, tf.float32), hair_seed, policy.hair_probability)
    if policy.dihedral_only:
        pixels = tf.cast(_random_dihedral(images, geometry_seed), tf.float32)
    else:
        pixels = _random_warp(tf.cast(images, tf.float32), geometry_seed, policy)
    if policy.vignette_probability > 0:
        # The ring belongs to the camera's frame, so it comes after the crop and rotation.
        vignette_seed = tf.random.experimental.stateless_fold_in(seed, 4)
        pixels = draw_vignettes(pixels, vignette_seed, policy.vignette_probability)
    if policy.strength > 0:
        pixels = _colour_jitter(pixels, colour_seed, policy.strength)
        pixels = _random_blur(tf.clip_by_value(pixels, 0.0, 255.0), blur_seed, policy.strength)
    pixels = tf.clip_by_value(pixels, 0.0, 255.0)
    if dtype.is_integer:
        pixels = tf.round(pixels)
    return tf.cast(pixels, dtype)


def _random_dihedral(images: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """Each image moved by one of the 8 orientations: a gather with a precomputed pixel order."""
    side = _square_side(images)
    grid = np.arange(side * side, dtype=np.int32).reshape(side, side)
    rotations = [np.rot90(grid, turns) for turns in range(4)]
    orders = tf.constant(np.stack([order.ravel() for order in rotations + [r[:, ::-1] for r in rotations]]))
    count = tf.shape(images)[0]
    chosen = tf.random.stateless_uniform((count,), seed, minval=0, maxval=8, dtype=tf.int32)
    flat = tf.reshape(images, (count, side * side, 3))
    return tf.reshape(tf.gather(flat, tf.gather(orders, chosen), batch_dims=1), tf.shape(images))


def _random_warp(images: tf.Tensor, seed: tf.Tensor, policy: AugmentationPolicy) -> tf.Tensor:
    """Random resized crop, rotation and mirror flip of float images as one affine map each.

    Each output pixel ``p`` samples the input at ``centre + R F D (p - middle)``: ``D`` scales
    the output square onto the crop, ``F`` mirrors, ``R`` rotates; bilinear, border reflected.
    """
    side = _square_side(images)
    count = tf.shape(images)[0]
    draws = tf.random.stateless_uniform((6, count), seed)
    area = policy.min_crop_area + (policy.max_crop_area - policy.min_crop_area) * draws[0]
    aspect = tf.exp((2 * draws[1] - 1) * _LOG_ASPECT)
    longest = tf.maximum(tf.sqrt(area), 1.0)  # a zoomed-in crop stays inside the image
    crop_width = tf.minimum(tf.sqrt(area * aspect), longest) * side
    crop_height = tf.minimum(tf.sqrt(area / aspect), longest) * side
    centre_x = crop_width / 2 + draws[2] * (side - crop_width) - 0.5
    centre_y = crop_height / 2 + draws[3] * (side - crop_height) - 0.5
    if policy.any_angle:
        angle = draws[4] * 2 * math.pi
    else:
        angle = tf.floor(draws[4] * 4) * (math.pi / 2)
    mirror = tf.where(draws[5] < 0.5, -1.0, 1.0)
    scale_x, scale_y = mirror * crop_width / side, crop_height / side
    cos, sin = tf.cos(angle), tf.sin(angle)
    a00, a01, a10, a11 = cos * scale_x, -sin * scale_y, sin * scale_x, cos * scale_y
    middle = (side - 1) / 2
    transforms = tf.stack(
        [
            a00,
            a01,
            centre_x - (a00 + a01) * middle,
            a10,
            a11,
            centre_y - (a10 + a11) * middle,
            tf.zeros_like(angle),
            tf.zeros_like(angle),
        ],
        axis=1,
    )
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=transforms,
        output_shape=tf.constant([side, side]),
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="REFLECT",
    )


def _square_side(images: tf.Tensor) -> int:
    side = images.shape[1]
    if side is None or side != images.shape[2]:
        raise ValueError(f"augmentation needs square images of a known size, not {images.shape}")
    return int(side)


def _colour_jitter(pixels: tf.Tensor, seed: tf.Tensor, strength: float) -> tf.Tensor:
    """Brightness, saturation and hue as one per-image 3x3 colour matrix, contrast about the
    image's mean colour (together one affine map per image), then a gamma curve."""
    jitter_seed, gamma_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    brightness, contrast, saturation, hue = tf.unstack(
        tf.random.stateless_uniform((4, tf.shape(pixels)[0]), jitter_seed, minval=-1.0, maxval=1.0) * strength
    )
    brightness, contrast, saturation = (
        1 + _BRIGHTNESS * brightness,
        1 + _CONTRAST * contrast,
        1 + _SATURATION * saturation,
    )
    angle = hue * math.radians(_HUE_DEGREES)
    cos, sin = saturation * tf.cos(angle), saturation * tf.sin(angle)
    ones, zeros = tf.ones_like(angle), tf.zeros_like(angle)
    yiq_change = tf.stack(
        [tf.stack([ones, zeros, zeros], -1), tf.stack([zeros, cos, -sin], -1), tf.stack([zeros, sin, cos], -1)], axis=1
    )  # (n, 3, 3)
    colour = brightness[:, None, None] * (_YIQ_TO_RGB @ yiq_change @ _RGB_TO_YIQ)
    # (x C - m C) * c + m C, with m the mean colour, is x (c C) + (1 - c) m C.
    mean_colour = tf.einsum("nc,ndc->nd", tf.reduce_mean(pixels, axis=(1, 2)), colour)
    shift = (1 - contrast)[:, None] * mean_colour
    jittered = tf.einsum("nhwc,ndc->nhwd", pixels, contrast[:, None, None] * colour) + shift[:, None, None, :]
    gamma = tf.exp(
        tf.random.stateless_uniform((tf.shape(pixels)[0], 1, 1, 1), gamma_seed, -1.0, 1.0) * strength * _LOG_GAMMA
    )
    return 255.0 * tf.pow(tf.clip_by_value(jittered, 0.0, 255.0) / 255.0, gamma)


def _random_blur(pixels: tf.Tensor, seed: tf.Tensor, strength: float) -> tf.Tensor:
    """A separable Gaussian blur with a per-image sigma, on the images drawn for it."""
    coin_seed, sigma_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    count = tf.shape(pixels)[0]
    drawn = tf.where(tf.random.stateless_uniform((count,), coin_seed) < _BLUR_PROBABILITY * strength)[:, 0]
    sigma = tf.gather(tf.random.stateless_uniform((count, 1), sigma_seed, *_BLUR_SIGMA), drawn)
    offsets = tf.range(-_BLUR_RADIUS, _BLUR_RADIUS + 1, dtype=tf.float32)
    taps = tf.exp(-0.5 * tf.square(offsets / sigma))
    taps /= tf.reduce_sum(taps, axis=1, keepdims=True)
    return tf.cond(
        tf.size(drawn) > 0,
        lambda: tf.tensor_scatter_nd_update(pixels, drawn[:, None], _blur(tf.gather(pixels, drawn), taps)),
        lambda: pixels,
    )


def _blur(images: tf.Tensor, taps: tf.Tensor) -> tf.Tensor:
    """Convolve each image with its own taps, rows then columns, borders reflected.

    The images are laid side by side as channels of one picture, so a depthwise convolution
    gives each its own kernel.
    """
    count, height, width = tf.shape(images)[0], images.shape[1], images.shape[2]
    channels = tf.reshape(tf.transpose(images, (1, 2, 0, 3)), (1, height, width, count * 3))
    padding = [[0, 0], [_BLUR_RADIUS, _BLUR_RADIUS], [_BLUR_RADIUS, _BLUR_RADIUS], [0, 0]]
    per_channel = tf.transpose(tf.repeat(taps, 3, axis=0))  # (taps, count * 3), as channels are laid out
    size = 2 * _BLUR_RADIUS + 1
    vertical = tf.reshape(per_channel, (size, 1, count * 3, 1))
    horizontal = tf.reshape(per_channel, (1, size, count * 3, 1))
    blurred = tf.nn.depthwise_conv2d(tf.pad(channels, padding, mode="REFLECT"), vertical, (1, 1, 1, 1), "VALID")
    blurred = tf.nn.depthwise_conv2d(blurred, horizontal, (1, 1, 1, 1), "VALID")
    return tf.transpose(tf.reshape(blurred, (height, width, count, 3)), (2, 0, 1, 3))


def augmentation_policy(config: TrainingConfig) -> AugmentationPolicy | None:
    """The config's augmentations for the train split, or None when they are turned off."""
    if not config.augmentation:
        return None
    return AugmentationPolicy(
        config.augmentation_strength,
        config.min_crop_area,
        config.rotate_any_angle,
        config.max_crop_area,
        config.hair_augmentation,
        config.vignette_augmentation,
    )
