from __future__ import annotations

from collections import Counter

from skinguard_training.splits import grouped_stratified_split, near_duplicate_groups

FRACTIONS = {"train": 0.7, "validation": 0.15, "test": 0.15}


def test_groups_never_straddle_splits_and_each_split_gets_its_share_of_each_class() -> None:
    labels, groups = [], []
    for group in range(120):
        size = 1 + group % 3
        labels += ["malignant" if group % 5 < 2 else "benign"] * size
        groups += [group] * size

    splits = grouped_stratified_split(labels, groups, FRACTIONS, seed=0)

    split_of_group = {}
    for group, split in zip(groups, splits, strict=True):
        assert split_of_group.setdefault(group, split) == split
    for label in ("benign", "malignant"):
        counts = Counter(split for split, image_label in zip(splits, labels, strict=True) if image_label == label)
        total = sum(counts.values())
        for name, fraction in FRACTIONS.items():
            assert abs(counts[name] - fraction * total) <= 3, (label, name, counts)


def test_the_split_is_reproducible_and_depends_on_the_seed() -> None:
    labels = ["benign", "malignant"] * 50
    groups = list(range(100))
    first = grouped_stratified_split(labels, groups, FRACTIONS, seed=1)
    assert grouped_stratified_split(labels, groups, FRACTIONS, seed=1) == first
    assert grouped_stratified_split(labels, groups, FRACTIONS, seed=2) != first


def test_groups_join_given_ids_and_near_duplicate_hashes() -> None:
    hashes = ["0000000000000000", "0000000000000003", "ffffffffffffffff", "0f0f0f0f0f0f0f0f"]
    groups = near_duplicate_groups(hashes, [None, None, "lesion-1", "lesion-1"])
    assert groups[0] == groups[1]  # 2 bits apart
    assert groups[2] == groups[3]  # the same lesion
    assert groups[0] != groups[2]
