"""Consensus of the current labels of each image, computed in SQL so it can be filtered.

Majority of current labels; a tie is broken by the summed confidence (a label without a
confidence weighs 1); a tie in both goes to ``malignant``, the label whose miss costs more.
An image is disputed when the share of labels disagreeing with the consensus exceeds the
configured threshold.
"""

from __future__ import annotations

from sqlalchemy import Float, Select, case, cast, func, select

from ..tables import Annotation


def consensus_query(dispute_threshold: float) -> Select:
    """One row per labelled image: image_id, label, benign, malignant, annotators, agreement, disputed."""
    current = Annotation.superseded_at.is_(None)
    weight = func.coalesce(Annotation.confidence, 1.0)
    malignant = func.count().filter(Annotation.label == "malignant")
    benign = func.count().filter(Annotation.label == "benign")
    malignant_weight = func.coalesce(func.sum(weight).filter(Annotation.label == "malignant"), 0.0)
    benign_weight = func.coalesce(func.sum(weight).filter(Annotation.label == "benign"), 0.0)
    total = func.count()
    label = case(
        (malignant > benign, "malignant"),
        (benign > malignant, "benign"),
        (malignant_weight >= benign_weight, "malignant"),
        else_="benign",
    )
    minority_share = cast(func.least(malignant, benign), Float) / total
    return (
        select(
            Annotation.image_id.label("image_id"),
            label.label("label"),
            benign.label("benign"),
            malignant.label("malignant"),
            total.label("annotators"),
            (cast(func.greatest(malignant, benign), Float) / total).label("agreement"),
            (minority_share > dispute_threshold).label("disputed"),
        )
        .where(current)
        .group_by(Annotation.image_id)
    )
