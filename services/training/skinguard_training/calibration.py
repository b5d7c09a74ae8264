"""Calibrating malignant probabilities on the validation split: temperature scaling or isotonic.

A fitted ``Calibrator`` is plain data (a temperature, or the knots of a piecewise-linear
monotone map) so that it can be applied here with numpy, folded into the exported SavedModel
with TensorFlow ops (``export``) and written to the model card. Pure numpy, scipy and
scikit-learn: no TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from scipy.optimize import minimize_scalar
from sklearn.isotonic import IsotonicRegression
from sklearn.model_selection import StratifiedKFold

from skinguard_contracts.training_config import Calibration

from .quality import expected_calibration_error

_EPSILON = 1e-7
# Isotonic regression says 0 (or 1) for a block of validation photos with no malignant (or no
# benign) one among them; a few hundred photos cannot show a rate of exactly 0 (the rule of three
# puts 0 of 600 below 0.5% at 95%). The calibrated probability stays within these bounds.
ISOTONIC_FLOOR = 0.005
_TEMPERATURE_BOUNDS = (0.05, 20.0)
_CROSS_VALIDATION_FOLDS = 5

Method = Literal["temperature", "isotonic", "none"]


@dataclass(frozen=True)
class Calibrator:
    """``temperature``: ``sigmoid(logit(p) / T)``; ``isotonic``: linear interpolation between
    ``knots`` ``(p, calibrated p)``, constant outside them; ``none``: identity."""

    method: Method
    temperature: float = 1.0
    knots: tuple[tuple[float, float], ...] = field(default=())

    def apply(self, probabilities: np.ndarray) -> np.ndarray:
        probabilities = np.asarray(probabilities, dtype=np.float64)
        if self.method == "temperature":
            return _sigmoid(logit(probabilities) / self.temperature)
        if self.method == "isotonic":
            x, y = np.array(self.knots).T
            return np.interp(probabilities, x, y)
        return probabilities

    def as_dict(self) -> dict[str, Any]:
        described: dict[str, Any] = {"method": self.method}
        if self.method == "temperature":
            described["temperature"] = self.temperature
        if self.method == "isotonic":
            described["knots"] = [list(knot) for knot in self.knots]
        return described


def logit(probabilities: np.ndarray) -> np.ndarray:
    clipped = np.clip(probabilities, _EPSILON, 1 - _EPSILON)
    return np.log(clipped) - np.log1p(-clipped)


def fit_temperature(labels: np.ndarray, probabilities: np.ndarray) -> Calibrator:
    """The temperature minimising the negative log-likelihood (Guo et al. 2017), one parameter."""
    labels = np.asarray(labels, dtype=np.float64)
    logits = logit(np.asarray(probabilities, dtype=np.float64))

    def negative_log_likelihood(temperature: float) -> float:
        scaled = logits / temperature
        # log(1 + exp(-s)) for positives and log(1 + exp(s)) for negatives, stably.
        return float(np.mean(np.logaddexp(0.0, np.where(labels == 1, -scaled, scaled))))

    found = minimize_scalar(negative_log_likelihood, bounds=_TEMPERATURE_BOUNDS, method="bounded")
    return Calibrator("temperature", temperature=float(found.x))


def fit_isotonic(labels: np.ndarray, probabilities: np.ndarray) -> Calibrator:
    """Centred isotonic regression (Oron and Flournoy 2017): scikit-learn's isotonic fit, kept as
    one knot per block of pooled photos at the block's mean input, so the map rises strictly
    between blocks instead of being flat across each. A flat block gives every photo in it the
    same probability: the ranking (ROC AUC) inside it is lost and no decision threshold can fall
    within it. It never says less than ``ISOTONIC_FLOOR`` or more than ``1 - ISOTONIC_FLOOR``.
    scikit-learn has no centred variant; the knots are taken from its fit.
    """
    inputs = np.asarray(probabilities, dtype=np.float64)
    regression = IsotonicRegression(
        y_min=ISOTONIC_FLOOR, y_max=1 - ISOTONIC_FLOOR, increasing=True, out_of_bounds="clip"
    )
    fitted = regression.fit(inputs, np.asarray(labels, dtype=np.float64)).predict(inputs)
    # The fit is non-decreasing in the input, so each distinct fitted value is one run of photos.
    values, block = np.unique(fitted, return_inverse=True)
    centres = np.bincount(block, weights=inputs) / np.bincount(block)
    knots = tuple((float(x), float(y)) for x, y in zip(centres, values, strict=True))
    if len(knots) < 2:  # one block: a constant map still needs two knots to interpolate
        knots = ((0.0, knots[0][1]), (1.0, knots[0][1]))
    return Calibrator("isotonic", knots=knots)


_FITTERS = {"temperature": fit_temperature, "isotonic": fit_isotonic}


def fit_calibration(choice: Calibration, labels: np.ndarray, probabilities: np.ndarray, *, seed: int = 0) -> Calibrator:
    """The calibrator a config asks for; ``auto`` compares temperature and isotonic by their
    cross-validated ECE on these (validation) photos and keeps isotonic only if it is lower."""
    labels, probabilities = np.asarray(labels, dtype=int), np.asarray(probabilities, dtype=np.float64)
    if choice == "none":
        return Calibrator("none")
    if choice != "auto":
        return _FITTERS[choice](labels, probabilities)
    errors = {method: cross_validated_ece(method, labels, probabilities, seed=seed) for method in _FITTERS}
    method = "isotonic" if errors["isotonic"] < errors["temperature"] else "temperature"
    return _FITTERS[method](labels, probabilities)


def cross_validated_ece(method: str, labels: np.ndarray, probabilities: np.ndarray, *, seed: int = 0) -> float:
    """ECE of ``method`` fitted on k-1 folds and measured on the held-out fold, pooled."""
    folds = min(_CROSS_VALIDATION_FOLDS, int(np.bincount(labels, minlength=2).min()))
    if folds < 2:
        return float("inf") if method == "isotonic" else 0.0  # too few positives: temperature only
    calibrated = np.empty_like(probabilities)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for fit_rows, held_out in splitter.split(probabilities, labels):
        calibrated[held_out] = _FITTERS[method](labels[fit_rows], probabilities[fit_rows]).apply(
            probabilities[held_out]
        )
    return expected_calibration_error(labels, calibrated)


def _sigmoid(values: np.ndarray) -> np.ndarray:
    return 0.5 * (1 + np.tanh(values / 2))
