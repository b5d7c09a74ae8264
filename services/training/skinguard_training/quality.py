"""How good a model's malignant probabilities are: metrics at a threshold, the operating point,
calibration error, confidence intervals and risk bands. Pure numpy and scikit-learn, no TensorFlow.

Malignant is the positive class (label 1): sensitivity is the share of malignant lesions called
malignant, specificity the share of benign lesions called benign.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy.stats import binomtest
from sklearn.metrics import classification_report, confusion_matrix, roc_auc_score

from skinguard_contracts.labels import CLASS_NAMES

CALIBRATION_BINS = 15
BOOTSTRAP_RESAMPLES = 2000
CONFIDENCE_LEVEL = 0.95
# Risk bands: "low" is the widest benign band whose measured malignancy rate stays below
# LOW_RISK_RATE, "low-medium" below LOW_MEDIUM_RISK_RATE; on the malignant side "high" is the
# widest top band with at least HIGH_RISK_RATE malignant, "medium-high" MEDIUM_HIGH_RISK_RATE.
LOW_RISK_RATE = 0.02
LOW_MEDIUM_RISK_RATE = 0.05
MEDIUM_HIGH_RISK_RATE = 0.25
HIGH_RISK_RATE = 0.5
_EDGE = 1e-6  # thresholds stay this far inside (0, 1)
# The threshold sits this far below the score it was chosen at. Isotonic calibration maps many
# photos to one plateau value; at exactly that value, float32 rounding in TF Serving, LiteRT or
# onnxruntime would flip the whole plateau's decision one way or the other.
DECISION_MARGIN = 1e-5


# A malignant diagnosis with fewer validation photos than this does not set the threshold on its
# own: one photo of 20 already moves its sensitivity by 0.05.
MIN_DIAGNOSIS_PHOTOS = 20


@dataclass(frozen=True)
class OperatingPoint:
    threshold: float  # malignant probability from which the answer is "malignant"
    sensitivity: float
    specificity: float
    target_sensitivity: float | None = None  # None: the threshold was fixed by hand
    # With the target held per diagnosis: each counted malignant diagnosis's sensitivity.
    sensitivity_by_diagnosis: dict[str, float] | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def operating_point(
    labels: np.ndarray,
    probabilities: np.ndarray,
    target_sensitivity: float,
    diagnoses: np.ndarray | None = None,
) -> OperatingPoint:
    """The highest threshold whose sensitivity on these labels reaches ``target_sensitivity``.

    With ``diagnoses`` (one code or None per photo), the sensitivity must also reach it on the
    photos of each malignant diagnosis that has at least ``MIN_DIAGNOSIS_PHOTOS`` of them: the
    target then holds for melanoma itself, not only on average over a mix in which carcinomas,
    easier to find, may dominate. The highest such threshold keeps the most specificity.
    Raises ``ValueError`` without both classes.
    """
    labels, probabilities = _checked(labels, probabilities)
    malignant = labels == 1
    groups = {"malignant": malignant}
    if diagnoses is not None:
        codes = np.asarray(diagnoses, dtype=object)
        for code in sorted({str(code) for code in codes[malignant] if code is not None}):
            group = malignant & (codes == code)
            if group.sum() >= MIN_DIAGNOSIS_PHOTOS:
                groups[code] = group
    highest = min(_highest_threshold_reaching(probabilities[group], target_sensitivity) for group in groups.values())
    # Inside (0, 1), as the metadata contract wants: a saturated score of exactly 1 still passes.
    threshold = float(min(max(highest - DECISION_MARGIN, _EDGE), 1 - _EDGE))
    found = probabilities >= threshold
    return OperatingPoint(
        threshold=threshold,
        sensitivity=float(found[malignant].mean()),
        specificity=float(1 - found[~malignant].mean()),
        target_sensitivity=target_sensitivity,
        sensitivity_by_diagnosis=(
            {code: float(found[group].mean()) for code, group in groups.items() if code != "malignant"}
            if diagnoses is not None
            else None
        ),
    )


def _highest_threshold_reaching(positive_scores: np.ndarray, target_sensitivity: float) -> float:
    """The highest score at or above which ``target_sensitivity`` of these scores lie: the k-th
    highest, k the fewest photos that make up the target share."""
    needed = int(np.ceil(target_sensitivity * len(positive_scores) - 1e-9))
    return float(np.sort(positive_scores)[::-1][max(needed, 1) - 1])


def threshold_metrics(labels: np.ndarray, probabilities: np.ndarray, threshold: float) -> dict[str, Any]:
    """Accuracy, precision, sensitivity, specificity, confusion matrix and report at ``threshold``."""
    labels = np.asarray(labels, dtype=int)
    predicted = (np.asarray(probabilities) >= threshold).astype(int)
    matrix = confusion_matrix(labels, predicted, labels=[0, 1])
    (true_negative, false_positive), (false_negative, true_positive) = matrix.tolist()
    report = classification_report(
        labels, predicted, labels=[0, 1], target_names=list(CLASS_NAMES), output_dict=True, zero_division=0
    )
    return {
        "threshold": float(threshold),
        "samples": len(labels),
        "accuracy": _ratio(np.trace(matrix), matrix.sum()),
        "precision": _ratio(true_positive, true_positive + false_positive),
        "recall": _ratio(true_positive, true_positive + false_negative),
        "sensitivity": _ratio(true_positive, true_positive + false_negative),
        "specificity": _ratio(true_negative, true_negative + false_positive),
        "sensitivity_ci95": proportion_interval(true_positive, true_positive + false_negative),
        "specificity_ci95": proportion_interval(true_negative, true_negative + false_positive),
        "confusion_matrix": matrix.tolist(),  # rows: true class, columns: predicted, as CLASS_NAMES
        "classification_report": report,
    }


def proportion_interval(successes: int, total: int, level: float = CONFIDENCE_LEVEL) -> list[float] | None:
    """Wilson score interval of a proportion such as a sensitivity (16 of 39 melanomas found:
    0.41 [0.27, 0.57]); None when nothing was counted. Wilson keeps its coverage near the
    nominal level for small counts and proportions near 0 or 1, where the normal one does not."""
    if total == 0:
        return None
    interval = binomtest(int(successes), int(total)).proportion_ci(confidence_level=level, method="wilson")
    return [float(interval.low), float(interval.high)]


def roc_auc(labels: np.ndarray, probabilities: np.ndarray) -> float | None:
    """ROC AUC, or None when the labels hold one class only."""
    labels = np.asarray(labels, dtype=int)
    if len(np.unique(labels)) < 2:
        return None
    return float(roc_auc_score(labels, probabilities))


def bootstrap_auc_interval(
    labels: np.ndarray,
    probabilities: np.ndarray,
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    level: float = CONFIDENCE_LEVEL,
    seed: int = 0,
) -> tuple[float, float] | None:
    """Percentile bootstrap interval of the ROC AUC, resampling each class on its own.

    Stratified resampling keeps both classes in every resample (39 melanomas among 2,700
    photos would otherwise leave some resamples without one). None without both classes.
    """
    labels = np.asarray(labels, dtype=int)
    probabilities = np.asarray(probabilities, dtype=float)
    positives, negatives = probabilities[labels == 1], probabilities[labels == 0]
    if not len(positives) or not len(negatives):
        return None
    rng = np.random.default_rng(seed)
    aucs = np.empty(resamples)
    for index in range(resamples):
        drawn_positives = rng.choice(positives, len(positives))
        drawn_negatives = np.sort(rng.choice(negatives, len(negatives)))
        # AUC = P(positive > negative) + P(tie) / 2, counted with two binary searches.
        below = np.searchsorted(drawn_negatives, drawn_positives, side="left")
        at_or_below = np.searchsorted(drawn_negatives, drawn_positives, side="right")
        aucs[index] = (below + at_or_below).sum() / (2 * len(positives) * len(negatives))
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(aucs, [tail, 100 - tail])
    return float(low), float(high)


def reliability(labels: np.ndarray, probabilities: np.ndarray, bins: int = CALIBRATION_BINS) -> dict[str, Any]:
    """Equal-width bins of the malignant probability: count, mean probability and malignant share
    per bin, and the expected calibration error (ECE, the count-weighted mean gap).

    scikit-learn's ``calibration_curve`` drops empty bins and reports no counts or ECE, so the
    binning is done here.
    """
    labels, probabilities = np.asarray(labels, dtype=int), np.asarray(probabilities, dtype=float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(probabilities, edges[1:-1], right=False), 0, bins - 1)
    counts = np.bincount(which, minlength=bins)
    predicted_sum = np.bincount(which, weights=probabilities, minlength=bins)
    observed_sum = np.bincount(which, weights=labels, minlength=bins)
    filled = counts > 0
    mean_predicted = np.where(filled, predicted_sum / np.maximum(counts, 1), np.nan)
    observed_rate = np.where(filled, observed_sum / np.maximum(counts, 1), np.nan)
    gaps = np.abs(np.nan_to_num(mean_predicted) - np.nan_to_num(observed_rate))
    ece = float((counts * gaps).sum() / max(len(labels), 1))
    return {
        "ece": ece,
        "bins": [
            {
                "low": float(edges[index]),
                "high": float(edges[index + 1]),
                "count": int(counts[index]),
                "mean_probability": None if not filled[index] else float(mean_predicted[index]),
                "malignant_rate": None if not filled[index] else float(observed_rate[index]),
            }
            for index in range(bins)
        ],
    }


def expected_calibration_error(labels: np.ndarray, probabilities: np.ndarray, bins: int = CALIBRATION_BINS) -> float:
    return reliability(labels, probabilities, bins)["ece"]


def risk_thresholds(labels: np.ndarray, probabilities: np.ndarray, decision_threshold: float) -> dict[str, float]:
    """The gateway's risk thresholds, measured on calibrated probabilities of labelled photos.

    Benign answers (probability below ``decision_threshold``) are "low" risk below the widest
    cut-off whose photos were malignant at most ``LOW_RISK_RATE`` of the time, "low-medium"
    below the one for ``LOW_MEDIUM_RISK_RATE``; malignant answers are "high" above the lowest
    cut-off whose photos above it were still malignant at least ``HIGH_RISK_RATE`` of the time,
    "medium-high" for ``MEDIUM_HIGH_RISK_RATE``. Returned as the gateway reads them: benign
    thresholds on the benign probability, malignant ones on the malignant probability.
    """
    labels, probabilities = _checked(labels, probabilities)
    low = _widest_cut_below(labels, probabilities, LOW_RISK_RATE, decision_threshold)
    low_medium = max(_widest_cut_below(labels, probabilities, LOW_MEDIUM_RISK_RATE, decision_threshold), low)
    medium_high = _lowest_cut_above(labels, probabilities, MEDIUM_HIGH_RISK_RATE, decision_threshold)
    high = max(_lowest_cut_above(labels, probabilities, HIGH_RISK_RATE, decision_threshold), medium_high)
    # The gateway wants probabilities inside (0, 1) in strict order.
    low = min(max(low, _EDGE), 1 - 4 * _EDGE)
    low_medium = min(max(low_medium, low + _EDGE), 1 - 3 * _EDGE)
    medium_high = min(max(medium_high, _EDGE), 1 - 2 * _EDGE)
    high = min(max(high, medium_high + _EDGE), 1 - _EDGE)
    return {
        "benign_low": 1 - low,
        "benign_low_medium": 1 - low_medium,
        "malignant_high": high,
        "malignant_medium_high": medium_high,
    }


def risk_band_rates(
    labels: np.ndarray, probabilities: np.ndarray, thresholds: dict[str, float], decision_threshold: float
) -> dict[str, dict[str, Any]]:
    """Photos and malignant share per risk level, as the gateway would assign them."""
    labels, probabilities = np.asarray(labels, dtype=int), np.asarray(probabilities, dtype=float)
    low, low_medium = 1 - thresholds["benign_low"], 1 - thresholds["benign_low_medium"]
    high, medium_high = thresholds["malignant_high"], thresholds["malignant_medium_high"]
    malignant = probabilities >= decision_threshold
    bands = {
        "low": ~malignant & (probabilities < low),
        "low-medium": ~malignant & (probabilities >= low) & (probabilities < low_medium),
        "medium": (~malignant & (probabilities >= low_medium)) | (malignant & (probabilities <= medium_high)),
        "medium-high": malignant & (probabilities > medium_high) & (probabilities <= high),
        "high": malignant & (probabilities > high),
    }
    return {
        name: {
            "count": int(mask.sum()),
            "malignant_rate": _ratio(labels[mask].sum(), mask.sum()) if mask.any() else None,
        }
        for name, mask in bands.items()
    }


def _widest_cut_below(labels: np.ndarray, probabilities: np.ndarray, rate: float, ceiling: float) -> float:
    """The largest cut-off ``c <= ceiling`` such that photos below ``c`` are malignant at most ``rate``."""
    order = np.argsort(probabilities, kind="stable")
    scores, sorted_labels = probabilities[order], labels[order]
    below = np.arange(1, len(scores) + 1)
    rates = np.cumsum(sorted_labels) / below  # malignant share of the photos up to each one
    allowed = np.flatnonzero((rates <= rate) & (scores < ceiling))
    if not len(allowed):
        return float(min(scores[0], ceiling)) if len(scores) else 0.0
    last = int(allowed[-1])
    following = scores[last + 1] if last + 1 < len(scores) else ceiling
    return float(min((scores[last] + following) / 2, ceiling))


def _lowest_cut_above(labels: np.ndarray, probabilities: np.ndarray, rate: float, floor: float) -> float:
    """The smallest cut-off ``c >= floor`` such that photos above ``c`` are malignant at least ``rate``."""
    order = np.argsort(-probabilities, kind="stable")
    scores, sorted_labels = probabilities[order], labels[order]
    above = np.arange(1, len(scores) + 1)
    rates = np.cumsum(sorted_labels) / above
    allowed = np.flatnonzero((rates >= rate) & (scores > floor))
    if not len(allowed):
        return float(max(floor, scores[0] if len(scores) else floor))
    last = int(allowed[-1])
    following = scores[last + 1] if last + 1 < len(scores) else floor
    return float(max((scores[last] + following) / 2, floor))


def _checked(labels: np.ndarray, probabilities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    labels, probabilities = np.asarray(labels, dtype=int), np.asarray(probabilities, dtype=float)
    if labels.shape != probabilities.shape or len(np.unique(labels)) < 2:
        raise ValueError("need matching labels and probabilities with both classes")
    return labels, probabilities


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator / denominator) if denominator else 0.0
