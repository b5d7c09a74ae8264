"""One real (tiny) training run through the whole pipeline, and what it publishes."""

from __future__ import annotations

import hashlib
import json
import shutil

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.util import event_pb2
from tensorflow_serving.apis import prediction_log_pb2

from skinguard_contracts.model_files import DEVICE_FILES, ModelMetadata
from skinguard_imaging import to_model_input
from skinguard_training.calibration import Calibrator
from skinguard_training.device_models import onnx_model, onnx_predictor, tflite_predictor
from skinguard_training.model_card import build_model_card, render_markdown
from skinguard_training.model_export import export_model, load_served
from skinguard_training.pipeline import RunResult
from support import images

Run = tuple[RunResult, list[tuple[int, int, dict[str, float]]]]

_UINT8_BATCH = np.random.default_rng(0).integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def served(trained_run: Run):
    return tf.saved_model.load(str(trained_run[0].export.directory))


def test_the_savedmodel_gives_probabilities_for_a_uint8_batch(served) -> None:
    signature = served.signatures["serving_default"]
    (spec,) = signature.structured_input_signature[1].values()
    assert (spec.name, spec.dtype, spec.shape.as_list()) == ("image", tf.uint8, [None, 32, 32, 3])
    assert list(signature.structured_outputs) == ["probabilities"]

    probabilities = signature(image=tf.constant(_UINT8_BATCH))["probabilities"].numpy()
    assert probabilities.shape == (3, 2) and probabilities.dtype == np.float32
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert (probabilities >= 0).all()


def test_the_float32_signature_agrees_with_the_uint8_one(served) -> None:
    as_uint8 = served.signatures["serving_default"](image=tf.constant(_UINT8_BATCH))["probabilities"]
    as_float = served.signatures["serving_float32"](image=tf.constant(_UINT8_BATCH, tf.float32))["probabilities"]
    assert np.allclose(as_uint8.numpy(), as_float.numpy(), atol=1e-6)


def test_warmup_records_parse_with_the_official_protos_and_run(trained_run: Run, served) -> None:
    records = list(tf.data.TFRecordDataset(str(trained_run[0].export.warmup_path)).as_numpy_iterator())
    assert len(records) == 2
    for record, signature_name, dtype in zip(
        records, ("serving_default", "serving_float32"), (tf.uint8, tf.float32), strict=True
    ):
        log = prediction_log_pb2.PredictionLog.FromString(record)
        assert log.WhichOneof("log_type") == "predict_log"
        request = log.predict_log.request
        assert (request.model_spec.name, request.model_spec.signature_name) == ("skinguard", signature_name)
        image = tf.make_ndarray(request.inputs["image"])
        assert image.shape == (1, 32, 32, 3) and image.dtype == dtype.as_numpy_dtype
        assert served.signatures[signature_name](image=tf.constant(image))["probabilities"].shape == (1, 2)


def test_the_quantised_tflite_file_runs_and_agrees(trained_run: Run, served) -> None:
    result = trained_run[0]
    assert 0 < result.export.tflite_bytes < result.export.saved_model_bytes
    probabilities = tflite_predictor(result.export.tflite_path.read_bytes())(_UINT8_BATCH)
    assert probabilities.shape == (3, 2)
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    expected = served.signatures["serving_default"](image=tf.constant(_UINT8_BATCH))["probabilities"].numpy()
    assert np.abs(probabilities - expected).max() < 0.05


# How far each on-device format may be from the SavedModel (TF Serving) on the same pixels:
# ONNX runs the same float graph; dynamic-range TFLite quantises weights; full-integer TFLite
# weights and activations (its steps are 1/256 of the output range).
DEVICE_TOLERANCE = {"onnx": 1e-4, "tflite_dynamic": 0.05, "tflite_int8": 0.08}


def test_every_device_format_is_published_with_its_checksum_and_test_results(trained_run: Run) -> None:
    result = trained_run[0]
    metadata = ModelMetadata.model_validate_json(result.metadata_path.read_text())
    assert {device.format for device in metadata.devices} == set(DEVICE_FILES)
    reference = metadata.metrics["roc_auc"]
    for device in metadata.devices:
        content = (result.export.directory / device.file).read_bytes()
        assert device.file == DEVICE_FILES[device.format][0]
        assert device.bytes == len(content) and device.sha256 == hashlib.sha256(content).hexdigest()
        assert device.input_dtype == "uint8" and 0 <= device.test_sensitivity <= 1
        assert device.auc_drop == pytest.approx(reference - device.test_auc, abs=1e-6)
    card = json.loads((result.export.directory / "model_card.json").read_text())
    assert [entry["format"] for entry in card["on_device"]] == [device.format for device in metadata.devices]
    assert "On-device formats" in (result.export.directory / "model_card.md").read_text()


def test_the_int8_file_is_integer_through_the_network_with_uint8_input(trained_run: Run) -> None:
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=(trained_run[0].export.directory / "model_int8.tflite").read_bytes())
    [model_input] = interpreter.get_input_details()
    assert model_input["dtype"] == np.uint8
    elements: dict[str, int] = {}
    for detail in interpreter.get_tensor_details():
        name = np.dtype(detail["dtype"]).name
        elements[name] = elements.get(name, 0) + int(np.prod(detail["shape"]))
    # The network's weights and activations are int8; only the colour-constancy arithmetic
    # before it (quantised, it divides by zero on dark photos), the head and what follows it
    # (quantised, low probabilities tie and the calibration loses the operating point) stay float.
    assert elements["int8"] >= 0.9 * sum(elements.values()), elements
    for kept_float in ("/colour_constancy", "/probabilities", "served_probability", "StatefulPartitionedCall"):
        tensors = [detail for detail in interpreter.get_tensor_details() if kept_float in detail["name"]]
        dtypes = {np.dtype(detail["dtype"]).name for detail in tensors}
        assert "float32" in dtypes and "int8" not in dtypes, (kept_float, dtypes)


def test_device_formats_fed_the_shared_preprocessing_agree_with_serving(trained_run: Run, served) -> None:
    directory = trained_run[0].export.directory
    photos = [images.jpeg(300, 240, seed=seed) for seed in range(6)]
    pixels = np.stack([to_model_input(photo, 32) for photo in photos])
    # Dark photos too: quantised, Shades of Gray divided by zero on them (LiteRT refused to run).
    pixels = np.concatenate([pixels, pixels[:2] // 12, np.zeros_like(pixels[:1])])
    expected = served.signatures["serving_default"](image=tf.constant(pixels))["probabilities"].numpy()
    predictors = {
        "tflite_int8": tflite_predictor((directory / "model_int8.tflite").read_bytes()),
        "tflite_dynamic": tflite_predictor((directory / "model.tflite").read_bytes()),
        "onnx": onnx_predictor((directory / "model.onnx").read_bytes()),
    }
    for name, predict in predictors.items():
        difference = np.abs(predict(pixels) - expected).max()
        assert difference <= DEVICE_TOLERANCE[name], (name, difference)


def test_metadata_describes_the_model_its_data_and_metrics(trained_run: Run) -> None:
    result = trained_run[0]
    metadata = json.loads(result.metadata_path.read_text())
    assert metadata["class_names"] == ["benign", "malignant"]
    assert metadata["input"] == {
        "name": "image",
        "signature": "serving_default",
        "dtype": "uint8",
        "shape": [None, 32, 32, 3],
        "float32_signature": "serving_float32",
    }
    assert metadata["output"] == {"name": "probabilities", "dtype": "float32", "shape": [None, 2]}
    assert "to_model_input" in metadata["preprocessing"] and "x / 255" in metadata["preprocessing"]
    assert "Shades of Gray" in metadata["preprocessing"]
    assert metadata["dataset"] == {
        "id": "dataset-1",
        "version": 3,
        "images": {"train": 16, "validation": 4, "test": 4},
        "class_counts": {
            name: {"benign": n // 2, "malignant": n // 2} for name, n in (("train", 16), ("validation", 4), ("test", 4))
        },
        "sources": {"unknown": {"benign": 12, "malignant": 12}},
    }
    assert metadata["decision_threshold"] == result.operating_point.threshold
    assert metadata["operating_point"]["target_sensitivity"] == 0.95
    assert metadata["calibration"]["method"] in ("temperature", "isotonic")
    assert metadata["test_time_augmentation"] == "flips"
    thresholds = metadata["risk_thresholds"]
    assert thresholds["benign_low"] > thresholds["benign_low_medium"]
    assert thresholds["malignant_high"] > thresholds["malignant_medium_high"]
    assert metadata["config"]["model_type"] == "CNN" and metadata["config"]["input_size"] == 32
    assert metadata["metrics"]["roc_auc"] == result.evaluation["roc_auc"]
    assert metadata["sizes"] == {
        "saved_model_bytes": result.export.saved_model_bytes,
        "tflite_bytes": result.export.tflite_bytes,
    }
    assert metadata["code_version"]


def test_evaluation_history_and_plots_are_written(trained_run: Run) -> None:
    result = trained_run[0]
    directory = result.export.directory
    evaluation = json.loads((directory / "evaluation.json").read_text())
    assert evaluation == result.evaluation
    assert evaluation["samples"] == 4 and sum(map(sum, evaluation["confusion_matrix"])) == 4
    assert {"accuracy", "precision", "recall", "sensitivity", "specificity", "roc_auc"} <= evaluation.keys()
    assert {"roc_auc_ci95", "ece", "ece_uncalibrated", "reliability", "slices", "operating_point"} <= evaluation.keys()
    assert evaluation["threshold"] == result.operating_point.threshold
    history = json.loads((directory / "history.json").read_text())
    assert history == result.history
    assert len(history["loss"]) == len(history["val_auc"]) == 2
    assert 1 <= result.best_epoch <= 2
    assert history["val_auc"][result.best_epoch - 1] == max(history["val_auc"])
    for plot in (
        "evaluation_confusion_matrix",
        "evaluation_roc_curve",
        "evaluation_reliability",
        "training_curves",
    ):
        assert (directory / "plots" / f"{plot}.png").read_bytes().startswith(b"\x89PNG")


def test_the_served_model_is_the_calibrated_one_the_test_split_was_scored_with(trained_run: Run, served) -> None:
    result = trained_run[0]
    validation = json.loads((result.export.directory / "validation.json").read_text())
    assert validation["calibration"] == result.calibrator.as_dict()
    # The operating point was chosen on validation to reach the target (four photos: all malignant found).
    assert validation["sensitivity"] >= result.operating_point.sensitivity - 1e-9 >= 0.95 - 1e-9


def test_the_model_card_has_every_section(trained_run: Run) -> None:
    directory = trained_run[0].export.directory
    card = json.loads((directory / "model_card.json").read_text())
    assert {
        "intended_use",
        "not_a_diagnosis",
        "training_data",
        "operating_point",
        "metrics",
        "calibration",
        "risk_levels",
        "slices",
        "limitations",
    } <= card.keys()
    in_distribution = card["metrics"]["in_distribution"]
    assert in_distribution["roc_auc"] == trained_run[0].evaluation["roc_auc"]
    # The operating point's sensitivity and specificity come with their 95% intervals, on the card too.
    low, high = in_distribution["sensitivity_ci95"]
    assert low <= in_distribution["sensitivity"] <= high
    assert any("No external validation yet" in note for note in card["limitations"])
    markdown = (directory / "model_card.md").read_text()
    assert "This is not a diagnosis" in markdown and "| risk level |" in markdown
    assert f"{in_distribution['sensitivity']:.3f} [{low:.3f}, {high:.3f}]" in markdown


def test_the_card_names_each_diagnosis_the_target_held_for(trained_run: Run) -> None:
    directory = trained_run[0].export.directory
    metadata = json.loads((directory / "metadata.json").read_text())
    metadata["operating_point"]["sensitivity_by_diagnosis"] = {"mel": 0.952, "bcc": 0.974}

    card = build_model_card(metadata, trained_run[0].evaluation)

    assert card["operating_point"]["validation_sensitivity_by_diagnosis"] == {"mel": 0.952, "bcc": 0.974}
    assert "validation sensitivity bcc 0.974, mel 0.952" in render_markdown(card)
    pooled = build_model_card(json.loads((directory / "metadata.json").read_text()), trained_run[0].evaluation)
    assert "per malignant diagnosis" not in render_markdown(pooled)


def test_progress_is_reported_every_batch_and_after_each_epoch(trained_run: Run) -> None:
    progress = trained_run[1]
    # 16 train images in batches of 4, log_every_n_batches=1: four reports, then the epoch's.
    assert [(epoch, batch) for epoch, batch, _ in progress] == [(e, b) for e in (1, 2) for b in (1, 2, 3, 4, 4)]
    assert "val_auc" not in progress[0][2] and {"loss", "auc"} <= progress[0][2].keys()
    assert "val_auc" in progress[4][2]


def test_tensorboard_gets_per_epoch_scalars_and_travels_with_the_version(trained_run: Run) -> None:
    log_dir = trained_run[0].export.directory / "tensorboard"
    tags = set()
    for events in log_dir.glob("*/events.out.tfevents.*"):
        for record in tf.data.TFRecordDataset(str(events)).as_numpy_iterator():
            event = event_pb2.Event.FromString(record)
            tags.update((events.parent.name, value.tag) for value in event.summary.value)
    assert {("train", "epoch_loss"), ("validation", "epoch_loss"), ("validation", "epoch_auc")} <= tags


def test_the_gateway_reads_the_decision_and_risk_thresholds_training_wrote(trained_run: Run) -> None:
    from skinguard_contracts.model_files import ModelMetadata

    metadata_json = trained_run[0].metadata_path.read_text()
    card = ModelMetadata.model_validate_json(metadata_json)
    metadata = json.loads(metadata_json)
    assert card.decision_threshold == pytest.approx(metadata["decision_threshold"])
    assert card.risk_thresholds.model_dump() == pytest.approx(metadata["risk_thresholds"])


def test_a_format_that_cannot_be_made_is_recorded_not_fatal(trained_run: Run, tmp_path, monkeypatch) -> None:
    from skinguard_training import device_models

    directory = tmp_path / "version"
    shutil.copytree(trained_run[0].export.directory, directory)
    (directory / "model_int8.tflite").unlink()

    def refuse(*_args, **_kwargs):
        raise RuntimeError("tflite/kernels/div.cc:262 data[i] != zero_point was not true.")

    monkeypatch.setattr(device_models, "full_integer_tflite", refuse)
    devices, unavailable = device_models.export_device_models(
        directory,
        size=32,
        representative=_UINT8_BATCH,
        test_pixels=_UINT8_BATCH,
        test_labels=np.array([0, 1, 1]),
        threshold=0.5,
        reference_auc=1.0,
    )
    assert [device.format for device in devices] == ["tflite_dynamic", "onnx"]
    assert unavailable == {"tflite_int8": "RuntimeError: tflite/kernels/div.cc:262 data[i] != zero_point was not true."}
    assert not (directory / "model_int8.tflite").exists()


@pytest.mark.parametrize(
    "calibrator",
    [Calibrator("temperature", temperature=1.7), Calibrator("isotonic", knots=((0.0, 0.05), (0.5, 0.4), (1.0, 0.97)))],
    ids=["temperature", "isotonic"],
)
def test_every_calibration_exports_to_onnx_and_agrees(trained_run: Run, tmp_path, calibrator) -> None:
    """onnxruntime runs each calibration's ops (it has no Log1p kernel, for one)."""
    model = keras.saving.load_model(trained_run[0].checkpoint, compile=False)
    exported = export_model(model, tmp_path / "version", model_name="skinguard", calibrator=calibrator)
    expected = load_served(exported.directory)(_UINT8_BATCH)
    onnx = onnx_predictor(onnx_model(exported.directory, 32))(_UINT8_BATCH)
    assert np.abs(onnx - expected).max() < 1e-4
