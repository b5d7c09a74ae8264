"""The quality gate: which candidate versions may be promoted, and why (every check named)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class GatePolicy:
    """What a candidate must reach on its test split (and, when configured, an external dataset)."""

    min_auc: float = 0.75  # test ROC AUC floor
    margin: float = 0.02  # how much worse than the promoted version's test AUC a candidate may be
    sensitivity_tolerance: float = 0.05  # test sensitivity may fall this far below the target
    max_ece: float = 0.1  # test expected calibration error ceiling
    external_dataset: str | None = None  # a dataset version id every candidate is evaluated on
    external_min_auc: float = 0.7
    external_min_sensitivity: float = 0.8

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class GateEvidence:
    """A candidate's measurements: test split, its target sensitivity, and the external result if any."""

    test_auc: float | None
    test_sensitivity: float | None
    test_ece: float | None
    target_sensitivity: float | None  # None: the threshold was fixed by hand, no target to meet
    external_auc: float | None = None
    external_sensitivity: float | None = None


@dataclass(frozen=True)
class GateCheck:
    name: str
    passed: bool
    reason: str


@dataclass(frozen=True)
class GateDecision:
    promote: bool
    reason: str
    checks: tuple[GateCheck, ...] = ()

    def as_dict(self, policy: GatePolicy, baseline: float | None) -> dict[str, Any]:
        return {
            "promote": self.promote,
            "reason": self.reason,
            "checks": [asdict(check) for check in self.checks],
            "policy": policy.as_dict(),
            "baseline": baseline,
        }


def decide(evidence: GateEvidence, promoted_auc: float | None, policy: GatePolicy) -> GateDecision:
    """Promote only when every check passes: test AUC (floor, and not worse than the promoted
    version by more than the margin), test sensitivity at the operating point against its target,
    test ECE, and the external dataset's AUC and sensitivity when one is configured.
    The reason names every check, passed or failed."""
    checks = [_auc_check(evidence.test_auc, promoted_auc, policy)]
    checks.append(_sensitivity_check(evidence, policy))
    if evidence.test_ece is None:
        checks.append(GateCheck("ece", False, "no test ECE"))
    else:
        passed = evidence.test_ece <= policy.max_ece
        relation = "within" if passed else "above"
        checks.append(GateCheck("ece", passed, f"test ECE {evidence.test_ece:.4f} is {relation} {policy.max_ece:.4f}"))
    if policy.external_dataset is not None:
        checks.extend(_external_checks(evidence, policy))
    failed = [check for check in checks if not check.passed]
    reason = "; ".join(check.reason for check in failed or checks)
    return GateDecision(not failed, ("rejected: " if failed else "promoted: ") + reason, tuple(checks))


def _auc_check(auc: float | None, promoted_auc: float | None, policy: GatePolicy) -> GateCheck:
    if auc is None:
        return GateCheck("auc", False, "no test ROC AUC (the test split lacks one of the classes)")
    if auc < policy.min_auc:
        return GateCheck("auc", False, f"test AUC {auc:.4f} is below the floor {policy.min_auc:.4f}")
    if promoted_auc is not None and auc < promoted_auc - policy.margin:
        return GateCheck(
            "auc",
            False,
            f"test AUC {auc:.4f} is worse than the promoted model's {promoted_auc:.4f} "
            f"by more than {policy.margin:.4f}",
        )
    baseline = "" if promoted_auc is None else f" (promoted model: {promoted_auc:.4f})"
    return GateCheck("auc", True, f"test AUC {auc:.4f} passes the floor {policy.min_auc:.4f}{baseline}")


def _sensitivity_check(evidence: GateEvidence, policy: GatePolicy) -> GateCheck:
    if evidence.test_sensitivity is None:
        return GateCheck("sensitivity", False, "no test sensitivity")
    if evidence.target_sensitivity is None:
        return GateCheck(
            "sensitivity",
            True,
            f"test sensitivity {evidence.test_sensitivity:.4f} (threshold fixed by hand, no target)",
        )
    floor = evidence.target_sensitivity - policy.sensitivity_tolerance
    passed = evidence.test_sensitivity >= floor - 1e-12
    relation = "reaches" if passed else "is below"
    return GateCheck(
        "sensitivity",
        passed,
        f"test sensitivity {evidence.test_sensitivity:.4f} at the operating point {relation} {floor:.4f} "
        f"(target {evidence.target_sensitivity:.4f} - tolerance {policy.sensitivity_tolerance:.4f})",
    )


def _external_checks(evidence: GateEvidence, policy: GatePolicy) -> list[GateCheck]:
    where = f"external dataset {policy.external_dataset}"
    checks = []
    for name, value, floor in (
        ("external_auc", evidence.external_auc, policy.external_min_auc),
        ("external_sensitivity", evidence.external_sensitivity, policy.external_min_sensitivity),
    ):
        label = name.removeprefix("external_").replace("auc", "AUC")
        if value is None:
            checks.append(GateCheck(name, False, f"no {label} on the {where}"))
            continue
        passed = value >= floor
        relation = "reaches" if passed else "is below"
        checks.append(GateCheck(name, passed, f"{label} {value:.4f} on the {where} {relation} {floor:.4f}"))
    return checks
