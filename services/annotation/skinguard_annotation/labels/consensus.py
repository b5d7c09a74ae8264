"""Consensus of the current labels of each image, computed in SQL so it can be filtered.

Majority of current labels; a tie is broken by the summed confidence (a label without a
confidence weighs 1); a tie in both goes to ``malignant``, the label whose miss costs more.
An image is disputed when the share of labels disagreeing with the majority exceeds the
configured threshold. An admin's current adjudication decides the label and settles the dispute.
"""

from __future__ import annotations

from sqlalchemy import Float, Select, case, cast, func, select

from ..tables import Adjudication, Annotation


def consensus_query(dispute_threshold: float) -> Select:
    """One row per labelled image: image_id, label, benign, malignant, annotators, agreement,
    disputed, adjudicated."""
    weight = func.coalesce(Annotation.confidence, 1.0)
    malignant = func.count().filter(Annotation.label == "malignant")
    benign = func.count().filter(Annotation.label == "benign")
    malignant_weight = func.coalesce(func.sum(weight).filter(Annotation.label == "malignant"), 0.0)
    benign_weight = func.coalesce(func.sum(weight).filter(Annotation.label == "benign"), 0.0)
    majority = case(
        (malignant > benign, "malignant"),
        (benign > malignant, "benign"),
        (malignant_weight >= benign_weight, "malignant"),
        else_="benign",
    )
    votes = (
        select(
            Annotation.image_id.label("image_id"),
            majority.label("majority"),
            benign.label("benign"),
            malignant.label("malignant"),
            func.count().label("annotators"),
        )
        .where(Annotation.superseded_at.is_(None))
        .group_by(Annotation.image_id)
        .subquery()
    )
    decision = select(Adjudication.image_id, Adjudication.label).where(Adjudication.superseded_at.is_(None)).subquery()
    label = func.coalesce(decision.c.label, votes.c.majority)
    agreeing = case((label == "malignant", votes.c.malignant), else_=votes.c.benign)
    minority_share = cast(func.least(votes.c.malignant, votes.c.benign), Float) / votes.c.annotators
    return select(
        votes.c.image_id.label("image_id"),
        label.label("label"),
        votes.c.benign.label("benign"),
        votes.c.malignant.label("malignant"),
        votes.c.annotators.label("annotators"),
        (cast(agreeing, Float) / votes.c.annotators).label("agreement"),
        ((minority_share > dispute_threshold) & decision.c.label.is_(None)).label("disputed"),
        decision.c.label.is_not(None).label("adjudicated"),
    ).outerjoin(decision, decision.c.image_id == votes.c.image_id)
