"""Dataset versions: freeze which images, which consensus label, which split — once.

Freezing writes the manifest to S3 first and the rows second (as uploads do): if the rows
cannot be committed, the manifest is removed again. Rows are immutable (database triggers).
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from skinguard_chassis.auth import Principal
from skinguard_chassis.sessions import on_rollback
from skinguard_contracts.errors import Invalid, NotFound
from skinguard_contracts.keys import dataset_manifest_key as manifest_key
from skinguard_contracts.keys import job_dataset_key
from skinguard_contracts.labels import SPLIT_NAMES
from skinguard_contracts.manifest import DatasetHeader, DatasetManifest, ExportedImage, Splits, coded_label_fields
from skinguard_datasets.splitting import Candidate, split_dataset
from skinguard_imaging import NEAR_DUPLICATE_MAX_DISTANCE, near_duplicate_pairs
from skinguard_runtime.storage import ObjectStore

from ..labels.consensus import consensus_query
from ..tables import Annotation, Dataset, DatasetImage, ImageView
from .schemas import DatasetIn

_IDS_PER_QUERY = 5000  # bound parameters per query stay far below PostgreSQL's 32,767


async def _candidates(session: AsyncSession, request: DatasetIn, dispute_threshold: float) -> list[tuple]:
    consensus = consensus_query(dispute_threshold).subquery()
    query = (
        select(ImageView, consensus.c.label)
        .join(consensus, consensus.c.image_id == ImageView.id)
        .where(consensus.c.annotators >= request.filters.min_annotators)
    )
    if request.filters.sources:
        query = query.where(ImageView.source.in_(request.filters.sources))
    if request.filters.exclude_disputed:
        query = query.where(consensus.c.disputed.is_(False))
    return list((await session.execute(query)).all())


def image_metadata(image: ImageView, group: str) -> dict[str, Any]:
    return {
        **image.meta,
        "sha256": image.image_hash,
        "format": image.format,
        "width": image.width,
        "height": image.height,
        "lesion_id": image.lesion_id,
        "patient_pseudonym": image.patient_pseudonym,
        "source": image.source,
        "group": group,
    }


async def create_dataset(
    session: AsyncSession,
    store: ObjectStore,
    principal: Principal,
    request: DatasetIn,
    *,
    bucket: str,
    dispute_threshold: float,
) -> Dataset:
    rows = await _candidates(session, request, dispute_threshold)
    if not rows:
        raise Invalid("no labelled images match the filters", code="empty_dataset")
    seed = request.seed if request.seed is not None else secrets.randbelow(2**63)
    candidates = [
        Candidate(image.id, label, image.lesion_id, image.patient_pseudonym, image.phash, image.source)
        for image, label in rows
    ]
    label_metadata = await consensus_label_metadata(session, rows)
    result = await asyncio.to_thread(
        lambda: split_dataset(
            candidates,
            request.splits.as_dict(),
            seed,
            near_duplicate=near_duplicate_pairs,
            max_distance=NEAR_DUPLICATE_MAX_DISTANCE,
        )
    )

    # One writer per dataset name picks the next version number.
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"dataset:{request.name}"))))
    latest = await session.scalar(select(func.max(Dataset.version)).where(Dataset.name == request.name))
    dataset_id = uuid.uuid4()
    dataset = Dataset(
        id=dataset_id,
        name=request.name,
        version=(latest or 0) + 1,
        description=request.description,
        image_count=len(rows),
        train_split=request.splits.train,
        val_split=request.splits.validation,
        test_split=request.splits.test,
        seed=seed,
        filters=request.filters.model_dump(),
        leakage_report=result.report,
        manifest_url=f"s3://{bucket}/{manifest_key(dataset_id)}",
        created_by=principal.user_id,
    )
    members = {image.id: (image, label) for image, label in rows}
    manifest = build_export(
        dataset,
        [
            (image, label, result.splits[image.id], result.groups[image.id], label_metadata.get(image.id, {}))
            for image, label in members.values()
        ],
        url_of=lambda image: f"s3://{bucket}/{image.object_key}",
    )
    membership = manifest.membership().model_dump_json().encode()
    await store.put_if_absent(manifest_key(dataset.id), membership, "application/json")
    on_rollback(session, lambda: store.delete(manifest_key(dataset.id)))  # no rows, no manifest
    session.add(dataset)
    session.add_all(
        DatasetImage(
            dataset_id=dataset.id,
            image_id=image_id,
            label=label,
            split=result.splits[image_id],
            group_key=result.groups[image_id],
            label_metadata=label_metadata.get(image_id, {}),
        )
        for image_id, (_, label) in members.items()
    )
    await session.flush()
    return dataset


async def consensus_label_metadata(session: AsyncSession, rows: list[tuple]) -> dict[uuid.UUID, dict[str, Any]]:
    """Per image, the coded fields (``LABEL_FIELDS``: diagnosis, age, sex) its current annotations
    agreeing with the consensus gave besides the label, the newest annotation's value winning.
    Free text is not kept: these rows outlive an erased image."""
    consensus = {image.id: label for image, label in rows}
    ids = list(consensus)
    merged: dict[uuid.UUID, dict[str, Any]] = {}
    for start in range(0, len(ids), _IDS_PER_QUERY):
        found = await session.execute(
            select(Annotation.image_id, Annotation.label, Annotation.meta)
            .where(Annotation.superseded_at.is_(None), Annotation.image_id.in_(ids[start : start + _IDS_PER_QUERY]))
            .order_by(Annotation.created_at, Annotation.id)
        )
        for image_id, label, meta in found:
            if meta and consensus[image_id] == label:
                merged.setdefault(image_id, {}).update(coded_label_fields(meta))
    return merged


def build_export(
    dataset: Dataset,
    members: list[tuple[ImageView, str, str, str, dict[str, Any]]],
    *,
    url_of: Callable[[ImageView], str],
) -> DatasetManifest:
    """The export document (the manifest contract): ``members`` are (image, label, split, group, label metadata)."""
    ordered = sorted(members, key=lambda member: str(member[0].id))
    return DatasetManifest(
        dataset=DatasetHeader(
            id=str(dataset.id),
            name=dataset.name,
            version=dataset.version,
            seed=dataset.seed,
            image_count=dataset.image_count,
            exported_images=len(ordered),
        ),
        images=[
            ExportedImage(
                id=str(image.id),
                url=url_of(image),
                label=label,
                metadata={**image_metadata(image, group), "label_metadata": label_metadata},
            )
            for image, label, _, group, label_metadata in ordered
        ],
        splits=Splits(
            **{split: [str(image.id) for image, _, side, *_ in ordered if side == split] for split in SPLIT_NAMES}
        ),
    )


async def get_dataset(session: AsyncSession, dataset_id: uuid.UUID) -> Dataset:
    dataset = await session.get(Dataset, dataset_id)
    if dataset is None:
        raise NotFound(f"no dataset with id {dataset_id}")
    return dataset


async def list_datasets(session: AsyncSession, *, name: str | None, limit: int, offset: int):
    query = select(Dataset)
    if name is not None:
        query = query.where(Dataset.name == name)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    page = await session.scalars(query.order_by(Dataset.created_at.desc(), Dataset.id).limit(limit).offset(offset))
    return list(page), total or 0


async def export_dataset(
    session: AsyncSession, dataset: Dataset, url_of: Callable[[ImageView], str]
) -> DatasetManifest:
    """The frozen membership as stored; images erased since freezing are left out."""
    rows = await session.execute(
        select(ImageView, DatasetImage.label, DatasetImage.split, DatasetImage.group_key, DatasetImage.label_metadata)
        .join(DatasetImage, DatasetImage.image_id == ImageView.id)
        .where(DatasetImage.dataset_id == dataset.id)
    )
    members = [tuple(row) for row in rows]
    return build_export(dataset, members, url_of=url_of)


def s3_url_of(bucket: str) -> Callable[[ImageView], str]:
    return lambda image: f"s3://{bucket}/{image.object_key}"


async def snapshot_for_job(
    session: AsyncSession, store: ObjectStore, bucket: str, dataset: Dataset, job_id: uuid.UUID
) -> None:
    """Write the dataset's export as of now (erased images left out, ``s3://`` URLs, only the
    fields a job uses) where the job will read it, ``jobs/<id>/dataset.json``; removed again if
    the request rolls back."""
    export = await export_dataset(session, dataset, s3_url_of(bucket))
    key = job_dataset_key(job_id)
    await store.put(key, export.for_worker().model_dump_json().encode(), "application/json")
    on_rollback(session, lambda: store.delete(key))
