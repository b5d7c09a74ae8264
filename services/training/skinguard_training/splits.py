"""Leakage-free splits for datasets that come without one (the CLI's local folders).

Images of one group (a lesion, or a cluster of near-duplicate photos) always land in the same
split, so no test image has a recoloured or rotated twin in training. Groups are dealt out per
class (by their majority label) to the split furthest below its share, largest groups first.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from skinguard_common.imaging import near_duplicate_pairs

from .dataset_export import SPLIT_NAMES, SplitName


def near_duplicate_groups(hashes: Sequence[str], given_groups: Sequence[str | None]) -> list[int]:
    """Group index per image: images joined by a shared given group or near-duplicate hashes."""
    parent = list(range(len(hashes)))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    first_with_group: dict[str, int] = {}
    links = list(near_duplicate_pairs(list(hashes)))
    for index, group in enumerate(given_groups):
        if group is not None:
            links.append((first_with_group.setdefault(group, index), index))
    for a, b in links:
        parent[root(a)] = root(b)
    roots = [root(index) for index in range(len(hashes))]
    numbering = {value: number for number, value in enumerate(dict.fromkeys(roots))}
    return [numbering[value] for value in roots]


def grouped_stratified_split(
    labels: Sequence[str], groups: Sequence[int], fractions: dict[SplitName, float], seed: int
) -> list[SplitName]:
    """The split of each image; ``fractions`` (summing to 1) are met as closely as groups allow."""
    members: dict[int, list[int]] = {}
    for index, group in enumerate(groups):
        members.setdefault(group, []).append(index)
    rng = np.random.default_rng(seed)
    assignment: list[SplitName] = ["train"] * len(labels)
    for label in sorted(set(labels)):
        stratum = [
            indices for indices in members.values() if Counter(labels[i] for i in indices).most_common(1)[0][0] == label
        ]
        order = rng.permutation(len(stratum))
        stratum = sorted((stratum[i] for i in order), key=len, reverse=True)
        total = sum(len(indices) for indices in stratum)
        placed = dict.fromkeys(SPLIT_NAMES, 0)
        for indices in stratum:
            split = max(SPLIT_NAMES, key=lambda name: fractions[name] * total - placed[name])
            placed[split] += len(indices)
            for index in indices:
                assignment[index] = split
    return assignment
