"""Leakage-free, label-stratified splits.

Images are grouped so that everything that could leak between splits stays together: the same
lesion, the same patient, and near-duplicates (perceptual hashes within a Hamming distance,
tolerant to flips, rotations and recolouring: ``near_duplicate`` computes the pairs from the
hashes) — transitively, via union-find. Whole groups are then assigned to splits, largest first,
each to the split whose per-label quota it fills best. The result depends only on the
candidates and the seed. The annotation service's dataset versions and the local training CLI
both split with ``split_dataset``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

import numpy as np

from skinguard_contracts.labels import CLASS_NAMES, SPLIT_NAMES, Label, SplitName

NearDuplicatePairs = Callable[[list[str], int], list[tuple[int, int]]]


@dataclass(frozen=True)
class Candidate:
    image_id: Hashable  # a database id, or a file's key
    label: Label
    lesion_id: str | None
    patient: str | None
    phash: str
    source: str | None = None


@dataclass(frozen=True)
class SplitResult:
    splits: dict[Hashable, SplitName]
    groups: dict[Hashable, str]  # image id -> group key
    report: dict


class _UnionFind:
    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def find(self, item: int) -> int:
        while self.parent[item] != item:
            self.parent[item] = self.parent[self.parent[item]]
            item = self.parent[item]
        return item

    def union(self, a: int, b: int) -> None:
        root_a, root_b = self.find(a), self.find(b)
        if root_a != root_b:
            self.parent[max(root_a, root_b)] = min(root_a, root_b)


def group_candidates(candidates: list[Candidate], near_pairs: list[tuple[int, int]]) -> list[list[int]]:
    """Indices of candidates, grouped by shared lesion, shared patient or near-duplication."""
    union = _UnionFind(len(candidates))
    for attribute in ("lesion_id", "patient"):
        first_seen: dict[str, int] = {}
        for index, candidate in enumerate(candidates):
            value = getattr(candidate, attribute)
            if value is not None:
                union.union(first_seen.setdefault(value, index), index)
    for a, b in near_pairs:
        union.union(a, b)
    groups: dict[int, list[int]] = defaultdict(list)
    for index in range(len(candidates)):
        groups[union.find(index)].append(index)
    return list(groups.values())


def _assign_groups(
    groups: list[list[int]], labels: list[str], fractions: dict[str, float], seed: int
) -> dict[int, SplitName]:
    rng = np.random.default_rng(seed)
    # Largest groups first; sorted() is stable, so ties keep the seeded order.
    order = sorted(rng.permutation(len(groups)).tolist(), key=lambda g: -len(groups[g]))
    totals = {label: labels.count(label) for label in CLASS_NAMES}
    targets = {split: {label: fractions[split] * totals[label] for label in CLASS_NAMES} for split in SPLIT_NAMES}
    assigned = {split: dict.fromkeys(CLASS_NAMES, 0) for split in SPLIT_NAMES}
    open_splits = [split for split in SPLIT_NAMES if fractions[split] > 0]
    placement: dict[int, SplitName] = {}
    for group_index in order:
        members = groups[group_index]
        counts = {label: sum(labels[m] == label for m in members) for label in CLASS_NAMES}

        # How much of each split's remaining per-label quota this group would fill (relative).
        need = {
            split: (
                sum(
                    counts[label] * (targets[split][label] - assigned[split][label]) / max(targets[split][label], 1.0)
                    for label in CLASS_NAMES
                ),
                fractions[split],
            )
            for split in open_splits
        }
        split = max(open_splits, key=need.__getitem__)
        for label in CLASS_NAMES:
            assigned[split][label] += counts[label]
        for member in members:
            placement[member] = split
    return placement


def leakage_report(
    candidates: list[Candidate],
    placement: dict[int, SplitName],
    groups: list[list[int]],
    near_pairs: list[tuple[int, int]],
    max_distance: int,
) -> dict:
    """Counts per split and crossings, checked independently of how the split was made."""
    per_split = {split: {"images": 0, "groups": 0, **dict.fromkeys(CLASS_NAMES, 0)} for split in SPLIT_NAMES}
    for index, candidate in enumerate(candidates):
        per_split[placement[index]]["images"] += 1
        per_split[placement[index]][candidate.label] += 1
    for members in groups:
        per_split[placement[members[0]]]["groups"] += 1

    def crossings(attribute: str) -> int:
        sides: dict[str, set[str]] = defaultdict(set)
        for index, candidate in enumerate(candidates):
            value = getattr(candidate, attribute)
            if value is not None:
                sides[value].add(placement[index])
        return sum(len(found) > 1 for found in sides.values())

    per_source: dict[str, dict[str, dict[str, int]]] = {}
    for index, candidate in enumerate(candidates):
        source = per_source.setdefault(
            candidate.source or "unknown", {split: dict.fromkeys(CLASS_NAMES, 0) for split in SPLIT_NAMES}
        )
        source[placement[index]][candidate.label] += 1
    return {
        "splits": per_split,
        "sources": dict(sorted(per_source.items())),  # class counts per source and split
        "groups": len(groups),
        "largest_group": max((len(members) for members in groups), default=0),
        "near_duplicate_pairs": len(near_pairs),
        "near_duplicate_max_distance": max_distance,
        "crossings": {
            "lesion": crossings("lesion_id"),
            "patient": crossings("patient"),
            "near_duplicate": sum(placement[a] != placement[b] for a, b in near_pairs),
            "group": sum(len({placement[m] for m in members}) > 1 for members in groups),
        },
    }


def split_dataset(
    candidates: list[Candidate],
    fractions: dict[str, float],
    seed: int,
    *,
    near_duplicate: NearDuplicatePairs,
    max_distance: int,
) -> SplitResult:
    """Group, then split ``candidates``; ``near_duplicate(hashes, max_distance)`` names the index
    pairs of near-duplicate hashes (``skinguard_imaging.near_duplicate_pairs``)."""
    ordered = sorted(candidates, key=lambda candidate: str(candidate.image_id))  # input order must not matter
    near_pairs = near_duplicate([candidate.phash for candidate in ordered], max_distance)
    groups = group_candidates(ordered, near_pairs)
    placement = _assign_groups(groups, [candidate.label for candidate in ordered], fractions, seed)
    group_keys = {}
    for members in groups:
        key = f"g-{min(str(ordered[m].image_id) for m in members)}"
        for member in members:
            group_keys[ordered[member].image_id] = key
    return SplitResult(
        splits={ordered[index].image_id: split for index, split in placement.items()},
        groups=group_keys,
        report=leakage_report(ordered, placement, groups, near_pairs, max_distance),
    )
