"""The class-conditional source adversary: its loss, its reversed gradient, and runs that use it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest
import tensorflow as tf

from skinguard_contracts.manifest import DatasetManifest, ExportedImage
from skinguard_contracts.training_config import TrainingConfig
from skinguard_training import data
from skinguard_training.data import make_dataset
from skinguard_training.model_export import load_served
from skinguard_training.networks import make_model
from skinguard_training.pipeline import run_training
from skinguard_training.source_adversary import (
    SourceAdversary,
    reverse_gradient,
    source_indices,
    with_source_adversary,
)
from skinguard_training.train import train

from .conftest import TINY_CONFIG, fetch_from


def test_gradient_reversal_is_the_identity_forwards_and_negates_the_gradient() -> None:
    x = tf.constant([[1.0, -2.0, 3.0]])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = reverse_gradient(x)
        loss = tf.reduce_sum(y * tf.constant([[2.0, 5.0, -1.0]]))
    np.testing.assert_array_equal(y.numpy(), x.numpy())
    np.testing.assert_array_equal(tape.gradient(loss, x).numpy(), [[-2.0, -5.0, 1.0]])


def _adversary(sources: int, weight: float) -> SourceAdversary:
    layer = SourceAdversary(sources, weight)
    layer.build([(None, 2), (None, 4), (None,), (None,)])
    generator = np.random.default_rng(0)
    layer.set_weights([generator.normal(size=w.shape).astype(np.float32) for w in layer.get_weights()])
    return layer


def test_the_loss_is_the_cross_entropy_of_the_source_among_the_true_class_logits() -> None:
    layer = _adversary(sources=3, weight=0.5)
    probabilities = np.array([[0.9, 0.1], [0.3, 0.7]], np.float32)
    features = np.array([[0.5, -1.0, 2.0, 0.0], [1.5, 0.2, -0.3, 1.0]], np.float32)
    source, label = np.array([2, 0], np.int32), np.array([0, 1], np.int32)

    returned = layer([probabilities, features, source, label])

    # By hand: hidden ReLU, then 2 x 3 logits (one row of sources per class); the true class's row.
    hidden_kernel, hidden_bias, kernel, bias = layer.get_weights()
    logits = (np.maximum(features @ hidden_kernel + hidden_bias, 0) @ kernel + bias).reshape(2, 2, 3)
    rows = logits[np.arange(2), label]
    log_softmax = rows - np.log(np.exp(rows).sum(axis=1, keepdims=True))
    expected = 0.5 * -log_softmax[np.arange(2), source].mean()
    np.testing.assert_array_equal(np.asarray(returned), probabilities)
    assert len(layer.losses) == 1
    np.testing.assert_allclose(float(layer.losses[0]), expected, rtol=1e-5)


def test_the_network_gets_the_reversed_gradient_and_the_adversary_its_own() -> None:
    config = TrainingConfig(**{**TINY_CONFIG, "dropout": 0.0})
    classifier = make_model(config)
    model = with_source_adversary(classifier, sources=2, weight=1.0)
    adversary = model.get_layer("source_adversary")
    pixels = np.random.default_rng(1).uniform(0, 255, (4, 32, 32, 3)).astype(np.float32)
    source, label = np.array([0, 1, 1, 0], np.int32), np.array([0, 0, 1, 1], np.int32)

    def gradients(reversed_: bool) -> list[np.ndarray]:
        with tf.GradientTape() as tape:
            if reversed_:
                model([pixels, source, label], training=True)
                loss = model.losses[0]
            else:  # the same loss on features whose gradient is not reversed
                features = keras.Model(classifier.input, classifier.get_layer("pool").output)(pixels, training=True)
                hidden = adversary.hidden(features)
                logits = tf.reshape(adversary.logits(hidden), (-1, 2, 2))
                rows = tf.reduce_sum(logits * tf.one_hot(label, 2)[:, :, None], axis=1)
                loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(source, rows))
        variables = [*classifier.trainable_variables, *adversary.trainable_variables]
        return [g.numpy() if g is not None else None for g in tape.gradient(loss, variables)]

    adversarial, plain = gradients(True), gradients(False)
    network = len(classifier.trainable_variables)
    head = {id(v) for v in classifier.get_layer("probabilities").trainable_variables}
    for variable, got, want in zip(classifier.trainable_variables, adversarial[:network], plain[:network], strict=True):
        if id(variable) in head:
            assert got is None and want is None  # the class head is not on the adversary's path
        else:
            np.testing.assert_allclose(got, -want, rtol=1e-4, atol=1e-6)
    assert any(np.abs(g).max() > 0 for g in adversarial[:network] if g is not None)
    for got, want in zip(adversarial[network:], plain[network:], strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)


def test_source_indices_follow_the_sorted_source_names() -> None:
    images = [
        ExportedImage(id=str(i), url=f"file:///{i}", label="benign", metadata=metadata)
        for i, metadata in enumerate([{"source": "kaggle-mvb"}, {"source": "ham10000"}, {}, {"source": "ham10000"}])
    ]
    indices, names = source_indices(images)
    assert names == ("ham10000", "kaggle-mvb", "unknown")
    assert indices.tolist() == [1, 0, 2, 0]


def test_batches_with_sources_carry_each_images_own_source_and_label() -> None:
    pixels = np.zeros((10, 32, 32, 3), np.uint8)
    pixels[:, 0, 0, 0] = np.arange(10)  # each image's index, to trace it through the shuffle
    labels = np.array([0, 1] * 5, np.int32)
    sources = np.array([0, 0, 1, 1, 2, 2, 0, 1, 2, 0], np.int32)
    targets = np.arange(10, 20, dtype=np.int32)
    split = data.SplitData(ids=tuple(map(str, range(10))), pixels=pixels, labels=labels)

    batches = list(make_dataset(split, 4, shuffle=True, seed=3, targets=targets, sources=sources).as_numpy_iterator())

    seen = []
    for (batch_pixels, batch_sources, batch_labels), batch_targets in batches:
        index = batch_pixels[:, 0, 0, 0].astype(int)
        assert batch_sources.tolist() == sources[index].tolist()
        assert batch_labels.tolist() == labels[index].tolist()
        assert batch_targets.tolist() == targets[index].tolist()
        seen.extend(index.tolist())
    assert sorted(seen) == list(range(10))


def _two_sources(tiny_dataset: tuple[dict[str, Any], dict[str, bytes]], *, train_sources: int) -> dict[str, Any]:
    manifest, _ = tiny_dataset
    train = set(manifest["splits"]["train"])
    images = []
    for index, image in enumerate(manifest["images"]):
        source = "clinic-b" if index % 4 < 2 and (image["id"] not in train or train_sources == 2) else "clinic-a"
        images.append({**image, "metadata": {"source": source}})
    return {**manifest, "images": images}


def test_train_fits_against_the_adversary_and_returns_the_classifier(tmp_path: Path) -> None:
    config = TrainingConfig(**{**TINY_CONFIG, "epochs": 1, "source_adversary": 1.0})
    generator = np.random.default_rng(0)
    pixels = generator.uniform(0, 255, (8, 32, 32, 3)).astype(np.uint8)
    split = data.SplitData(ids=tuple(map(str, range(8))), pixels=pixels, labels=np.array([0, 1] * 4, np.int32))
    sources = np.array([0, 0, 1, 1] * 2, np.int32)
    batches = make_dataset(split, 4, sources=sources)

    result = train(config, batches, batches, work_dir=tmp_path, sources=2)

    assert [tensor.name for tensor in result.model.inputs] == ["image"]
    assert "source_adversary" not in [layer.name for layer in result.model.layers]
    kept = keras.saving.load_model(result.checkpoint, compile=False)
    np.testing.assert_allclose(kept.predict(pixels, verbose=0), result.model.predict(pixels, verbose=0), atol=1e-6)


@pytest.mark.parametrize("train_sources", [2, 1])
def test_a_run_on_two_sources_exports_the_classifier_alone(
    tiny_dataset: tuple[dict[str, Any], dict[str, bytes]], tmp_path: Path, train_sources: int
) -> None:
    manifest = _two_sources(tiny_dataset, train_sources=train_sources)
    assert len({image.source for image in DatasetManifest.model_validate(manifest).split("train")}) == train_sources
    config = TrainingConfig(**{**TINY_CONFIG, "epochs": 1, "source_adversary": 0.5})

    result = run_training(manifest, fetch_from(tiny_dataset[1]), config, tmp_path)

    assert load_served(result.export.directory)(np.zeros((2, 32, 32, 3), np.uint8)).shape == (2, 2)
    assert len(result.history["loss"]) == 1
    assert result.checkpoint.name == ("classifier.keras" if train_sources == 2 else "best.keras")
