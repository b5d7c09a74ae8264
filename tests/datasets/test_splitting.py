"""Grouped, stratified splitting on constructed cases (no servers)."""

from __future__ import annotations

import uuid

from skinguard_datasets.splitting import Candidate, split_dataset
from skinguard_imaging import near_duplicate_pairs

FRACTIONS = {"train": 0.6, "validation": 0.2, "test": 0.2}


def distinct_hash(index: int) -> str:
    # Far apart in every orientation: random 64-bit values with a fixed generator.
    import random

    return f"{random.Random(index).getrandbits(64):016x}"


def candidates(count: int, **shared) -> list[Candidate]:
    made = []
    for index in range(count):
        fields = {"lesion_id": None, "patient": None, "phash": distinct_hash(index)}
        fields.update({key: value(index) for key, value in shared.items()})
        made.append(Candidate(uuid.UUID(int=index + 1), "malignant" if index % 3 == 0 else "benign", **fields))
    return made


def test_lesions_patients_and_near_duplicates_never_cross():
    items = candidates(
        90,
        lesion_id=lambda i: f"L{i // 3}" if i < 30 else None,
        patient=lambda i: f"P{i // 5}" if 30 <= i < 60 else None,
    )
    # Images 60-89 come in near-duplicate pairs: identical hashes.
    items = [
        c if i < 60 else Candidate(c.image_id, c.label, None, None, distinct_hash(1000 + (i - 60) // 2))
        for i, c in enumerate(items)
    ]
    result = split_dataset(items, FRACTIONS, seed=7, near_duplicate=near_duplicate_pairs, max_distance=10)
    crossings = result.report["crossings"]
    assert crossings == {"lesion": 0, "patient": 0, "near_duplicate": 0, "group": 0}
    assert result.report["near_duplicate_pairs"] >= 15
    for group in set(result.groups.values()):
        members = [image for image, key in result.groups.items() if key == group]
        assert len({result.splits[m] for m in members}) == 1


def test_split_is_stratified_and_close_to_the_fractions():
    result = split_dataset(candidates(300), FRACTIONS, seed=1, near_duplicate=near_duplicate_pairs, max_distance=10)
    report = result.report["splits"]
    for split, fraction in FRACTIONS.items():
        assert abs(report[split]["images"] - 300 * fraction) <= 3
        assert abs(report[split]["malignant"] - 100 * fraction) <= 2


def test_same_seed_same_split_whatever_the_input_order():
    items = candidates(60, lesion_id=lambda i: f"L{i // 4}")
    first = split_dataset(items, FRACTIONS, seed=42, near_duplicate=near_duplicate_pairs, max_distance=10)
    again = split_dataset(
        list(reversed(items)), FRACTIONS, seed=42, near_duplicate=near_duplicate_pairs, max_distance=10
    )
    assert first.splits == again.splits
    other = split_dataset(items, FRACTIONS, seed=43, near_duplicate=near_duplicate_pairs, max_distance=10)
    assert other.splits != first.splits


def test_zero_fraction_split_stays_empty():
    result = split_dataset(
        candidates(20),
        {"train": 0.9, "validation": 0.0, "test": 0.1},
        seed=0,
        near_duplicate=near_duplicate_pairs,
        max_distance=10,
    )
    assert result.report["splits"]["validation"]["images"] == 0


def test_file_keys_work_as_ids_and_sources_are_counted_per_split():
    items = [
        Candidate(
            f"clinic-{index % 2}/{index}.jpg",
            "malignant" if index % 4 == 0 else "benign",
            None,
            None,
            distinct_hash(index),
            f"clinic-{index % 2}",
        )
        for index in range(40)
    ]
    result = split_dataset(items, FRACTIONS, seed=3, near_duplicate=near_duplicate_pairs, max_distance=10)
    assert set(result.splits) == {item.image_id for item in items}
    sources = result.report["sources"]
    assert set(sources) == {"clinic-0", "clinic-1"}
    counted = sum(counts[label] for splits in sources.values() for counts in splits.values() for label in counts)
    assert counted == 40
