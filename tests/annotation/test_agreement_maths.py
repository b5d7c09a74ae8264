"""Kappa statistics against values computed by hand (no servers)."""

from __future__ import annotations

import uuid

import numpy as np
import pytest

from skinguard_annotation.labels.agreement import (
    cohen_kappa,
    fleiss_kappa,
    overall_agreement,
    pairwise_agreement,
)


def test_cohen_kappa_by_hand():
    # po = 5/6; chance: A says benign 4/6, B 3/6 -> pe = 4/6*3/6 + 2/6*3/6 = 1/2; kappa = (5/6-1/2)/(1/2) = 2/3
    a = ["benign", "benign", "malignant", "malignant", "benign", "benign"]
    b = ["benign", "malignant", "malignant", "malignant", "benign", "benign"]
    observed, kappa = cohen_kappa(a, b)
    assert observed == pytest.approx(5 / 6)
    assert kappa == pytest.approx(2 / 3)


def test_cohen_kappa_perfect_and_chance_level():
    assert cohen_kappa(["benign", "malignant"], ["benign", "malignant"])[1] == pytest.approx(1.0)
    # Systematic disagreement on balanced labels: po = 0, pe = 1/2 -> kappa = -1
    assert cohen_kappa(["benign", "malignant"], ["malignant", "benign"])[1] == pytest.approx(-1.0)


def test_kappa_is_undefined_when_everyone_uses_one_label():
    assert cohen_kappa(["benign"] * 3, ["benign"] * 3) == (1.0, None)
    assert fleiss_kappa(np.array([[3, 0], [2, 0]])) is None


def test_fleiss_kappa_by_hand():
    # Items x (benign, malignant), 3 raters each.
    # P_i = 1, 1/3, 1, 1/3 -> mean 2/3; shares 6/12 and 6/12 -> Pe = 1/2; kappa = (2/3 - 1/2)/(1/2) = 1/3
    counts = np.array([[3, 0], [2, 1], [0, 3], [1, 2]])
    assert fleiss_kappa(counts) == pytest.approx(1 / 3)


def test_fleiss_kappa_with_varying_raters_ignores_single_label_items():
    # Items with one label carry no agreement information and are dropped.
    # Remaining: [2,0] P=1, [1,1] P=0 -> mean 1/2; shares 3/4, 1/4 -> Pe = 10/16; kappa = (1/2-5/8)/(3/8) = -1/3
    counts = np.array([[2, 0], [1, 1], [1, 0]])
    assert fleiss_kappa(counts) == pytest.approx(-1 / 3)


def test_votes_to_pairs_and_overall():
    images = [uuid.UUID(int=i) for i in range(4)]
    a, b, c = (uuid.UUID(int=100 + i) for i in range(3))
    table = [
        ("benign", "benign", "benign"),
        ("benign", "benign", "malignant"),
        ("malignant", "malignant", "malignant"),
        ("benign", "malignant", "malignant"),
    ]
    votes = [
        (image, rater, row[k]) for image, row in zip(images, table, strict=True) for k, rater in enumerate((a, b, c))
    ]
    overall = overall_agreement(votes)
    assert (overall.images, overall.annotators, overall.labels) == (4, 3, 12)
    assert overall.fleiss_kappa == pytest.approx(1 / 3)
    pairs = {(p.annotator_a, p.annotator_b): p for p in pairwise_agreement(votes)}
    ab = pairs[(a, b)]
    # a: b,b,m,b  b: b,b,m,m -> po 3/4; pe = 3/4*2/4 + 1/4*2/4 = 1/2 -> kappa 1/2
    assert (ab.images, ab.observed_agreement, ab.kappa) == (4, pytest.approx(3 / 4), pytest.approx(1 / 2))
