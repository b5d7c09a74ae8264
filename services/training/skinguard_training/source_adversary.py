"""A class-conditional source adversary (``source_adversary``): CDANN (Li et al. 2018, "Deep
domain generalization via conditional invariant adversarial networks") with Ganin et al. 2016's
gradient reversal.

When a dataset mixes sources whose classes are unevenly spread (kaggle-mvb's non-HAM photos are
all malignant), a network can learn where a photo came from instead of the lesion. A small head
here learns to tell, within each class, which source a photo's pooled features came from; the
gradient it sends into the network is reversed, so the network learns features from which the
source cannot be told once the class is known. Conditioning on the class leaves the features
free to carry the class (an adversary on the source alone would erase the class too wherever
the sources' class balance differs).

Only the training model has the head: ``with_source_adversary`` wraps the classifier in a model
taking ``image``, ``source`` and ``label`` that returns the classifier's probabilities unchanged
and adds the adversary's loss; the classifier alone is exported.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from skinguard_contracts.labels import CLASS_NAMES
from skinguard_contracts.manifest import ExportedImage

FEATURES_LAYER = "pool"  # the classifier's pooled features, before the head's dropout
_HIDDEN_UNITS = 128


@tf.custom_gradient
def reverse_gradient(features):
    """Identity forwards; the gradient comes back negated."""
    return tf.identity(features), lambda upstream: -upstream


@keras.saving.register_keras_serializable(package="skinguard")
class SourceAdversary(keras.layers.Layer):
    """Inputs ``[probabilities, features, source, label]``; returns ``probabilities`` as they are
    and adds ``weight`` times the cross-entropy of telling ``source`` from ``features`` given
    ``label`` (one softmax over the sources per class)."""

    def __init__(self, sources: int, weight: float, **kwargs) -> None:
        super().__init__(**kwargs)
        self.sources = sources
        self.weight = weight
        self.hidden = keras.layers.Dense(_HIDDEN_UNITS, activation="relu", name="hidden")
        self.logits = keras.layers.Dense(len(CLASS_NAMES) * sources, name="logits")

    def build(self, input_shapes) -> None:
        features_shape = input_shapes[1]
        self.hidden.build(features_shape)
        self.logits.build((*features_shape[:-1], _HIDDEN_UNITS))

    def call(self, inputs):
        probabilities, features, source, label = inputs
        logits = ops.reshape(self.logits(self.hidden(reverse_gradient(features))), (-1, len(CLASS_NAMES), self.sources))
        of_class = ops.one_hot(ops.cast(ops.reshape(label, (-1,)), "int32"), len(CLASS_NAMES))
        logits = ops.sum(logits * of_class[:, :, None], axis=1)
        loss = keras.losses.sparse_categorical_crossentropy(ops.reshape(source, (-1,)), logits, from_logits=True)
        self.add_loss(self.weight * ops.mean(loss))
        return probabilities

    def compute_output_shape(self, input_shapes):
        return input_shapes[0]

    def get_config(self) -> dict:
        return {**super().get_config(), "sources": self.sources, "weight": self.weight}


def with_source_adversary(classifier: keras.Model, sources: int, weight: float) -> keras.Model:
    """The training model around ``classifier`` (which keeps its own layers and weights)."""
    source = keras.Input((), dtype="int32", name="source")
    label = keras.Input((), dtype="int32", name="label")
    features = classifier.get_layer(FEATURES_LAYER).output
    outputs = SourceAdversary(sources, weight, name="source_adversary")([classifier.output, features, source, label])
    return keras.Model([classifier.input, source, label], outputs, name=f"{classifier.name}_with_source_adversary")


def source_indices(images: Sequence[ExportedImage]) -> tuple[np.ndarray, tuple[str, ...]]:
    """Each image's index into the sorted names of the sources present."""
    names = tuple(sorted({image.source for image in images}))
    return np.array([names.index(image.source) for image in images], dtype=np.int32), names
