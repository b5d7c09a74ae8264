"""What model-sync wants on disk, decided from the registry's ``versions.json`` alone.

The contract is ``skinguard_contracts.versions.VersionsIndex``: the registry writes
``models/<model>/versions.json`` = ``{"model": name, "versions": [{"version": 3,
"status": "promoted", "labels": ["stable"]}, ...]}``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from skinguard_contracts.versions import VersionsIndex

log = logging.getLogger(__name__)

STABLE = "stable"
_RETIRED = {"rejected", "archived"}


@dataclass(frozen=True)
class SyncPlan:
    keep: frozenset[int]  # versions that belong on disk
    labels: dict[str, int]  # the version labels the server's config gets


def plan_sync(manifest: VersionsIndex, keep_promoted: int) -> SyncPlan:
    """Keep the newest ``keep_promoted`` promoted versions plus every labelled one.

    Labels come from the manifest; ``stable`` defaults to the newest promoted version. Labels on
    rejected or archived versions are ignored: those versions leave the server.
    """
    labels: dict[str, int] = {}
    for entry in manifest.versions:
        for label in entry.labels:
            if entry.status in _RETIRED:
                log.warning("label %s ignored: %s version %d is %s", label, manifest.model, entry.version, entry.status)
            else:
                labels[label] = entry.version
    promoted = sorted(entry.version for entry in manifest.versions if entry.status == "promoted")
    if promoted and STABLE not in labels:
        labels[STABLE] = promoted[-1]
    return SyncPlan(keep=frozenset(promoted[-keep_promoted:]) | frozenset(labels.values()), labels=labels)
