"""A trained model's export answers, through the model server, its calibrated test-time-augmented
probability: computed here independently with numpy from the Keras model."""

from __future__ import annotations

import numpy as np
import pytest

from skinguard_protos.tensors import to_ndarray

from .helpers import DEADLINE, images, predict_request, wait_until

CALIBRATED = "calibrated"


@pytest.fixture(scope="module")
def calibrated_server(start_server, tmp_path_factory):
    import keras

    from skinguard_contracts.training_config import TrainingConfig
    from skinguard_training.calibration import Calibrator
    from skinguard_training.model_export import export_model
    from skinguard_training.networks import make_model

    keras.utils.set_random_seed(5)
    model = make_model(TrainingConfig(model_type="CNN", input_size=32))
    calibrators = {
        1: Calibrator("temperature", temperature=2.5),
        2: Calibrator("isotonic", knots=((0.0, 0.05), (0.4, 0.1), (0.6, 0.8), (1.0, 0.9))),
    }
    repository = tmp_path_factory.mktemp("calibrated")
    for version, calibrator in calibrators.items():
        export_model(
            model,
            repository / CALIBRATED / str(version),
            model_name=CALIBRATED,
            test_time_augmentation="flips",
            calibrator=calibrator,
        )
    server = start_server(repository, model_name=CALIBRATED)
    wait_until(lambda: len(server.statuses(CALIBRATED)) == 1)  # the newest version, by the default policy
    return server, model, calibrators


def test_served_probabilities_are_the_calibrated_average_over_flips(calibrated_server) -> None:
    server, model, calibrators = calibrated_server
    pixels = images(6)
    views = [pixels, pixels[:, :, ::-1], pixels[:, ::-1], pixels[:, ::-1, ::-1]]
    raw = np.mean([model.predict(view.astype(np.float32), verbose=0)[:, 1] for view in views], axis=0)
    response = server.prediction.Predict(
        predict_request(CALIBRATED, version=2, inputs={"image": pixels}), timeout=DEADLINE
    )
    served = to_ndarray(response.outputs["probabilities"])
    expected = calibrators[2].apply(raw)
    assert served[:, 1] == pytest.approx(expected, abs=1e-5)
    assert served.sum(axis=1) == pytest.approx(np.ones(6), abs=1e-6)
    assert not np.allclose(expected, raw, atol=1e-3)  # calibration changed the answer


def test_the_temperature_version_folds_its_temperature_into_the_graph(calibrated_server) -> None:
    from skinguard_training.model_export import load_served

    server, model, calibrators = calibrated_server
    pixels = images(4)
    views = [pixels, pixels[:, :, ::-1], pixels[:, ::-1], pixels[:, ::-1, ::-1]]
    raw = np.mean([model.predict(view.astype(np.float32), verbose=0)[:, 1] for view in views], axis=0)
    served = load_served(server.repository / CALIBRATED / "1")(pixels)
    assert served[:, 1] == pytest.approx(calibrators[1].apply(raw), abs=1e-5)
