"""Dark dermatoscope vignettes drawn around training photos.

A dermatoscope's lens often leaves the frame's corners black. In HAM10000 that ring is far more
common on malignant photos than on nevi (measured at 160 px, a 16 px corner darker than 50 of
255: nevi 2%, melanomas 15%, carcinomas 5-7%), so a network can learn "black corners =
malignant" and then misjudge another clinic, whose ring says nothing of the lesion. Drawing a
ring onto a share of the photos of both classes takes that cue away (the "microscope"
augmentation of SIIM-ISIC 2020 challenge entries). Albumentations has no such transform and
runs outside the graph, hence these few lines: a soft-edged circle per photo, in TensorFlow ops.
Measured on isic2020 within the run-to-run spread (README, "Model quality"), so it is off by default.
"""

from __future__ import annotations

import tensorflow as tf

_RADIUS = (0.45, 0.68)  # of the side; 0.5 touches the edges' middles, ~0.71 the corners
_CENTRE_SHIFT = 0.08  # of the side, either way on each axis
_EDGE = (0.005, 0.04)  # the ring's soft edge, of the side
_DARKNESS = (0.0, 35.0)  # the ring's grey level, 0-255


def draw_vignettes(pixels: tf.Tensor, seed: tf.Tensor, probability: float) -> tf.Tensor:
    """Float RGB ``(n, side, side, 3)`` with the outside of a random circle turned dark grey on
    each photo drawn with ``probability``; the others unchanged."""
    side = int(pixels.shape[1])
    count = tf.shape(pixels)[0]
    coin, radius, shift_x, shift_y, edge, darkness = tf.unstack(tf.random.stateless_uniform((6, count), seed))
    radius = (_RADIUS[0] + (_RADIUS[1] - _RADIUS[0]) * radius) * side
    edge = (_EDGE[0] + (_EDGE[1] - _EDGE[0]) * edge) * side
    darkness = _DARKNESS[0] + (_DARKNESS[1] - _DARKNESS[0]) * darkness
    middle = (side - 1) / 2
    centre_x = middle + (2 * shift_x - 1) * _CENTRE_SHIFT * side
    centre_y = middle + (2 * shift_y - 1) * _CENTRE_SHIFT * side
    coordinates = tf.range(side, dtype=tf.float32)
    distance = tf.sqrt(
        tf.square(coordinates[None, None, :] - centre_x[:, None, None])
        + tf.square(coordinates[None, :, None] - centre_y[:, None, None])
    )  # (n, side, side): rows are y, columns x
    outside = tf.sigmoid((distance - radius[:, None, None]) / edge[:, None, None])
    outside *= tf.cast(coin < probability, tf.float32)[:, None, None]
    outside = outside[..., None]
    return pixels * (1 - outside) + darkness[:, None, None, None] * outside
