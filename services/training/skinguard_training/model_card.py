"""The model card of a version: ``model_card.json`` and ``model_card.md`` in its folder.

Built from what the run wrote there (``metadata.json``, ``evaluation.json``) plus, once known,
the version number, the gate's decision and the external evaluations. The worker rewrites both
files when the version is published and after each evaluation, so the card in S3 is always
current; the annotation service serves it (``GET /api/models/{name}/{version}/card``) and the
gateway shows its public part (``GET /model``).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from skinguard_contracts.keys import MODEL_CARD_JSON, MODEL_CARD_MARKDOWN, MODEL_METADATA
from skinguard_contracts.labels import CLASS_NAMES, SPLIT_NAMES
from skinguard_contracts.manifest import DatasetManifest
from skinguard_contracts.model_files import DEVICE_AUC_TOLERANCE, DeviceModel, ModelCard, ModelMetadata

INTENDED_USE = (
    "Decision support for triaging dermoscopic photos of a single skin lesion: it estimates the "
    "probability that the lesion is malignant (melanoma, basal cell carcinoma, actinic keratosis / "
    "intraepithelial carcinoma) so that suspicious lesions are seen by a clinician sooner."
)
NOT_A_DIAGNOSIS = (
    "This is not a diagnosis. A low risk does not rule out cancer; any lesion that changes, "
    "bleeds, itches or worries the patient must be examined by a qualified clinician."
)
_SUMMARY_METRICS = (
    "samples",
    "malignant",
    "roc_auc",
    "roc_auc_ci95",
    "sensitivity",
    "sensitivity_ci95",
    "specificity",
    "specificity_ci95",
    "ece",
    "ece_uncalibrated",
    "threshold",
)
_SLICE_GAP = 0.1  # a scored slice this far below the overall sensitivity is named a limitation


def training_data_summary(export: DatasetManifest) -> dict[str, Any]:
    """Class counts per split and per source, for the card's training-data section."""
    per_split = {name: Counter(image.label for image in export.split(name)) for name in SPLIT_NAMES}
    per_source: dict[str, Counter] = {}
    for name in SPLIT_NAMES:
        for image in export.split(name):
            per_source.setdefault(image.source, Counter())[image.label] += 1
    return {
        "class_counts": {name: {label: counts[label] for label in CLASS_NAMES} for name, counts in per_split.items()},
        "sources": {
            source: {label: counts[label] for label in CLASS_NAMES} for source, counts in sorted(per_source.items())
        },
    }


def summary(evaluation: dict[str, Any]) -> dict[str, Any]:
    """The headline figures of an evaluation (no bins, slices or reports)."""
    return {name: evaluation[name] for name in _SUMMARY_METRICS if name in evaluation}


def build_model_card(
    metadata: dict[str, Any],
    evaluation: dict[str, Any],
    *,
    version: int | None = None,
    gate: dict[str, Any] | None = None,
    external: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """The card as JSON. ``external`` are stored evaluations on other datasets (newest last)."""
    config = metadata["config"]
    operating = metadata["operating_point"]
    dataset = metadata["dataset"]
    return {
        "model": {
            "name": metadata["model_name"],
            "version": version,
            "architecture": config["model_type"],
            "input_size": metadata["input_size"],
            "created_at": metadata["created_at"],
            "code_version": metadata["code_version"],
        },
        "intended_use": INTENDED_USE,
        "not_a_diagnosis": NOT_A_DIAGNOSIS,
        "training_data": dataset,
        "recipe": {
            "weights": config["weights"],
            "epochs": config["epochs"],
            "best_epoch": metadata.get("best_epoch"),
            "optimizer": config["optimizer"],
            "learning_rate_schedule": config["learning_rate_schedule"],
            "augmentation": config["augmentation"],
            "colour_constancy": config["colour_constancy"],
            "test_time_augmentation": config["test_time_augmentation"],
        },
        "operating_point": {
            "decision_threshold": metadata["decision_threshold"],
            "chosen_on": "validation split",
            "target_sensitivity": operating.get("target_sensitivity"),
            "validation_sensitivity": operating["sensitivity"],
            "validation_specificity": operating["specificity"],
            # With sensitivity_per_diagnosis: the target held for each of these diagnoses too.
            "validation_sensitivity_by_diagnosis": operating.get("sensitivity_by_diagnosis"),
            "test_sensitivity": evaluation["sensitivity"],
            "test_specificity": evaluation["specificity"],
        },
        "calibration": {
            **metadata["calibration"],
            "fitted_on": "validation split",
            "test_ece_before": evaluation.get("ece_uncalibrated"),
            "test_ece_after": evaluation["ece"],
        },
        "risk_levels": {"thresholds": metadata["risk_thresholds"], "test": evaluation.get("risk_levels", {})},
        "metrics": {
            "in_distribution": {"dataset": "test split of the training dataset", **summary(evaluation)},
            "external": [dict(item) for item in external],
        },
        "slices": evaluation.get("slices", {}),
        "gate": gate,
        "limitations": limitations(metadata, evaluation, external),
        "on_device": [
            {
                key: device[key]
                for key in ("format", "file", "runtime", "bytes", "test_auc", "test_sensitivity", "test_specificity")
            }
            | {"auc_drop": device["auc_drop"], "within_tolerance": DeviceModel(**device).within_tolerance}
            for device in metadata.get("devices", [])
        ],
    }


def limitations(metadata: dict[str, Any], evaluation: dict[str, Any], external: Sequence[dict[str, Any]]) -> list[str]:
    """What the card must warn about, worked out from the data and the measurements."""
    dataset = metadata["dataset"]
    sources = sorted(dataset.get("sources", {}))
    notes = [
        f"Trained on photos from {len(sources)} source(s) ({', '.join(sources) or 'unrecorded'}); photos from "
        "other clinics, cameras or lighting may score differently.",
        "Skin type (Fitzpatrick) is not recorded in the training data: performance on darker skin is unknown.",
        "Trained on dermoscopic photos; not validated on ordinary phone photos.",
    ]
    if not external:
        notes.append(
            "No external validation yet: this version has not been evaluated on a dataset outside its training data."
        )
    for item in external:
        low_sensitivity = item.get("sensitivity") is not None and item["sensitivity"] < (
            (metadata["operating_point"].get("target_sensitivity") or 0) - _SLICE_GAP
        )
        if low_sensitivity:
            notes.append(
                f"On {item.get('dataset_name') or item.get('dataset_id')} the sensitivity at the operating point was "
                f"{item['sensitivity']:.2f}, below the target."
            )
    for device in metadata.get("devices", []):
        if not DeviceModel(**device).within_tolerance:
            notes.append(
                f"On-device format {device['format']} ({device['file']}) has a test ROC AUC {device['auc_drop']:.3f} "
                f"below the served model's (more than {DEVICE_AUC_TOLERANCE}): prefer the server, or another format."
            )
    for name, reason in metadata.get("devices_unavailable", {}).items():
        notes.append(f"On-device format {name} is not published: it could not be produced or run ({reason}).")
    counts = dataset.get("class_counts", {}).get("validation", {})
    total = sum(counts.values())
    if total:
        notes.append(
            f"Probabilities are calibrated where {counts.get('malignant', 0) / total:.0%} of photos were malignant "
            "(the validation split); where malignancy is rarer, as in screening, they overstate the risk."
        )
    overall = evaluation.get("sensitivity")
    for attribute, values in evaluation.get("slices", {}).items():
        for value, entry in values.items():
            if overall is not None and entry.get("sensitivity") is not None and entry["malignant"] >= 5:
                if entry["sensitivity"] < overall - _SLICE_GAP:
                    notes.append(
                        f"Lower sensitivity for {attribute} = {value}: {entry['sensitivity']:.2f} "
                        f"({entry['malignant']} malignant test photos) against {overall:.2f} overall."
                    )
    return notes


def write_model_card(
    directory: Path,
    *,
    version: int | None = None,
    gate: dict[str, Any] | None = None,
    external: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """Build the card from ``directory``'s metadata.json and evaluation.json and write both files."""
    metadata = ModelMetadata.model_validate_json((directory / MODEL_METADATA).read_text()).model_dump(mode="json")
    evaluation = json.loads((directory / "evaluation.json").read_text())
    card = ModelCard.model_validate(
        build_model_card(metadata, evaluation, version=version, gate=gate, external=external)
    )
    (directory / MODEL_CARD_JSON).write_text(card.model_dump_json(indent=2))
    (directory / MODEL_CARD_MARKDOWN).write_text(render_markdown(card.model_dump(mode="json")))
    return card.model_dump(mode="json")


def _by_diagnosis(sensitivities: dict[str, float] | None) -> str:
    if not sensitivities:
        return ""
    each = ", ".join(f"{code} {value:.3f}" for code, value in sorted(sensitivities.items()))
    return f" (the target held per malignant diagnosis; validation sensitivity {each})"


def render_markdown(card: dict[str, Any]) -> str:
    model = card["model"]
    version = "unpublished" if model["version"] is None else f"version {model['version']}"
    operating = card["operating_point"]
    calibration = card["calibration"]
    lines = [
        f"# Model card: {model['name']} {version}",
        "",
        f"{model['architecture']}, {model['input_size']} px input; created {model['created_at']} from code "
        f"{model['code_version']}.",
        "",
        "## Intended use",
        "",
        card["intended_use"],
        "",
        f"**{card['not_a_diagnosis']}**",
        "",
        "## Training data",
        "",
        _training_data(card["training_data"]),
        "",
        "## Operating point",
        "",
        f"Decision threshold {operating['decision_threshold']:.4f} on the calibrated malignant probability, chosen "
        f"on the {operating['chosen_on']}"
        + (
            f" for a sensitivity of at least {operating['target_sensitivity']:.2f}"
            if operating["target_sensitivity"]
            else " (fixed by hand)"
        )
        + f": validation sensitivity {operating['validation_sensitivity']:.3f}, specificity "
        f"{operating['validation_specificity']:.3f}"
        + _by_diagnosis(operating.get("validation_sensitivity_by_diagnosis"))
        + f"; test sensitivity {operating['test_sensitivity']:.3f}, specificity {operating['test_specificity']:.3f}.",
        "",
        "## Metrics",
        "",
        "| data | photos | malignant | ROC AUC [95% CI] | sensitivity [95% CI] | specificity [95% CI] | ECE |",
        "|---|---|---|---|---|---|---|",
        _metric_row(card["metrics"]["in_distribution"]["dataset"], card["metrics"]["in_distribution"]),
        *(
            _metric_row(f"external: {item.get('dataset_name') or item.get('dataset_id')}", item)
            for item in card["metrics"]["external"]
        ),
        "",
        "## Calibration",
        "",
        f"Method: {calibration['method']} (fitted on the {calibration['fitted_on']}); test ECE "
        f"{_number(calibration['test_ece_before'])} before, {_number(calibration['test_ece_after'])} after.",
        "",
        "## Risk levels (test split)",
        "",
        "| risk level | photos | malignant share |",
        "|---|---|---|",
        *(
            f"| {name} | {entry['count']} | {_number(entry['malignant_rate'])} |"
            for name, entry in card["risk_levels"]["test"].items()
        ),
        "",
        "## Slices (test split)",
        "",
        "| attribute | value | photos | malignant | ROC AUC | sensitivity | specificity |",
        "|---|---|---|---|---|---|---|",
        *(
            f"| {attribute} | {value} | {entry['samples']} | {entry['malignant']} | {_number(entry.get('roc_auc'))} "
            f"| {_number(entry.get('sensitivity'))} | {_number(entry.get('specificity'))} |"
            for attribute, values in card["slices"].items()
            for value, entry in values.items()
        ),
        "",
        "## Quality gate",
        "",
        (card["gate"] or {}).get("reason", "not yet decided"),
        "",
        "## On-device formats (test split, each run by its own runtime)",
        "",
        "| format | file | bytes | ROC AUC | AUC drop | sensitivity | specificity |",
        "|---|---|---|---|---|---|---|",
        *(
            f"| {entry['format']} | {entry['file']} | {entry['bytes']} | {_number(entry['test_auc'])} "
            f"| {_number(entry['auc_drop'])}{'' if entry['within_tolerance'] else ' (above tolerance)'} "
            f"| {_number(entry['test_sensitivity'])} | {_number(entry['test_specificity'])} |"
            for entry in card.get("on_device", [])
        ),
        "",
        "## Known limitations",
        "",
        *(f"- {note}" for note in card["limitations"]),
        "",
    ]
    return "\n".join(lines)


def _training_data(dataset: dict[str, Any]) -> str:
    sources = ", ".join(
        f"{source} ({counts['benign']} benign, {counts['malignant']} malignant)"
        for source, counts in dataset.get("sources", {}).items()
    )
    splits = ", ".join(f"{name} {count}" for name, count in dataset.get("images", {}).items())
    return (
        f"Dataset {dataset.get('id')} version {dataset.get('version')}; images per split: {splits}. "
        f"Sources: {sources or 'unrecorded'}."
    )


def _metric_row(name: str, metrics: dict[str, Any]) -> str:
    auc, sensitivity, specificity = (
        _with_interval(metrics, metric) for metric in ("roc_auc", "sensitivity", "specificity")
    )
    return (
        f"| {name} | {metrics.get('samples')} | {metrics.get('malignant')} | {auc} | {sensitivity} | {specificity} | "
        f"{_number(metrics.get('ece'))} |"
    )


def _with_interval(metrics: dict[str, Any], name: str) -> str:
    """A figure with its 95% interval when the metrics have one, as ``0.410 [0.271, 0.566]``."""
    interval = metrics.get(f"{name}_ci95")
    figure = _number(metrics.get(name))
    return f"{figure} [{interval[0]:.3f}, {interval[1]:.3f}]" if interval else figure


def _number(value: Any) -> str:
    return "—" if value is None else f"{value:.3f}"
