from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status
from pydantic import BaseModel, Field

from skinguard_chassis.app import error_responses
from skinguard_chassis.auth import AdminDep
from skinguard_chassis.params import ModelName, Offset, VersionNumber
from skinguard_chassis.sessions import SessionDep
from skinguard_registry.records import JobState

from . import service
from .schemas import (
    EvaluationIn,
    EvaluationList,
    EvaluationOut,
    ModelVersionList,
    ModelVersionOut,
    TrainingJobIn,
    TrainingJobOut,
    TrainingJobPage,
)

router = APIRouter(tags=["training"])


@router.post(
    "/api/datasets/{dataset_id}/training-jobs",
    response_model=TrainingJobOut,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Queue a training job on a dataset version",
    description="The config is the full TrainingConfig; invalid values are refused with 422 before anything is queued.",
    responses=error_responses(401, 403, 404, 422, 503),
)
async def create_job(
    dataset_id: uuid.UUID, body: TrainingJobIn, request: Request, session: SessionDep, principal: AdminDep
) -> TrainingJobOut:
    job = await service.create_job(
        session,
        request.app.state.queue,
        request.app.state.store,
        request.app.state.settings.s3_bucket,
        principal,
        dataset_id,
        body,
    )
    return TrainingJobOut.of(job)


@router.get(
    "/api/training-jobs",
    response_model=TrainingJobPage,
    summary="List training jobs",
    responses=error_responses(401, 403),
)
async def list_jobs(
    session: SessionDep,
    _: AdminDep,
    state: JobState | None = None,
    dataset_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> TrainingJobPage:
    jobs, total = await service.list_jobs(session, state=state, dataset_id=dataset_id, limit=limit, offset=offset)
    return TrainingJobPage(items=[TrainingJobOut.of(job) for job in jobs], total=total, limit=limit, offset=offset)


@router.get(
    "/api/training-jobs/{job_id}",
    response_model=TrainingJobOut,
    summary="A job's state, progress (epoch, batch, metrics) and error",
    responses=error_responses(401, 403, 404),
)
async def get_job(job_id: uuid.UUID, session: SessionDep, _: AdminDep) -> TrainingJobOut:
    return TrainingJobOut.of(await service.get_job(session, job_id))


@router.post(
    "/api/training-jobs/{job_id}/cancel",
    response_model=TrainingJobOut,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Cancel a job: at once when queued, within one batch when running",
    responses=error_responses(401, 403, 404, 409),
)
async def cancel_job(job_id: uuid.UUID, request: Request, session: SessionDep, _: AdminDep) -> TrainingJobOut:
    return TrainingJobOut.of(await service.cancel_job(session, request.app.state.queue, job_id))


@router.get(
    "/api/models",
    response_model=ModelVersionList,
    summary="Model versions in the registry",
    responses=error_responses(401, 403),
)
async def list_models(
    session: SessionDep, _: AdminDep, name: Annotated[str | None, Query(max_length=64)] = None
) -> ModelVersionList:
    return ModelVersionList(items=[ModelVersionOut.of(v) for v in await service.list_versions(session, name)])


@router.post(
    "/api/models/{model_name}/{version}/promote",
    response_model=ModelVersionOut,
    summary="Promote a version by hand (overrides the gate); the promoted one is archived",
    responses=error_responses(401, 403, 404, 409, 503),
)
async def promote(
    model_name: ModelName, version: VersionNumber, request: Request, session: SessionDep, _: AdminDep
) -> ModelVersionOut:
    return ModelVersionOut.of(await service.promote_version(session, request.app.state.store, model_name, version))


@router.post(
    "/api/models/{model_name}/{version}/rollback",
    response_model=ModelVersionList,
    summary="Withdraw the promoted version; the one promoted before it returns",
    description="Answers the versions of the model after the change.",
    responses=error_responses(401, 403, 404, 409, 503),
)
async def rollback(
    model_name: ModelName, version: VersionNumber, request: Request, session: SessionDep, _: AdminDep
) -> ModelVersionList:
    await service.rollback_version(session, request.app.state.store, model_name, version)
    return ModelVersionList(items=[ModelVersionOut.of(v) for v in await service.list_versions(session, model_name)])


@router.post(
    "/api/models/{model_name}/{version}/evaluations",
    response_model=EvaluationOut,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Queue an evaluation of this exact version on a dataset version",
    description="The worker scores the exported SavedModel (as served) on the dataset's images at the version's "
    "decision threshold: ROC AUC with a bootstrap 95% CI, sensitivity, specificity, ECE, confusion matrix, ROC and "
    "reliability plots, and the same per source, body site, sex, age band and diagnosis.",
    responses=error_responses(401, 403, 404, 422, 503),
)
async def create_evaluation(
    model_name: ModelName,
    version: VersionNumber,
    body: EvaluationIn,
    request: Request,
    session: SessionDep,
    principal: AdminDep,
) -> EvaluationOut:
    evaluation = await service.create_evaluation(
        session,
        request.app.state.queue,
        request.app.state.store,
        request.app.state.settings.s3_bucket,
        principal,
        model_name,
        version,
        body,
    )
    return EvaluationOut.of(evaluation)


@router.get(
    "/api/models/{model_name}/{version}/evaluations",
    response_model=EvaluationList,
    summary="A version's evaluations, newest first",
    responses=error_responses(401, 403, 404),
)
async def list_evaluations(
    model_name: ModelName, version: VersionNumber, session: SessionDep, _: AdminDep
) -> EvaluationList:
    evaluations = await service.list_evaluations(session, model_name, version)
    return EvaluationList(items=[EvaluationOut.of(evaluation) for evaluation in evaluations])


@router.get(
    "/api/models/{model_name}/{version}/evaluations/{evaluation_id}",
    response_model=EvaluationOut,
    summary="One evaluation: its state and, once done, its result",
    responses=error_responses(401, 403, 404),
)
async def get_evaluation(
    model_name: ModelName, version: VersionNumber, evaluation_id: uuid.UUID, session: SessionDep, _: AdminDep
) -> EvaluationOut:
    return EvaluationOut.of(await service.get_evaluation(session, model_name, version, evaluation_id))


@router.get(
    "/api/models/{model_name}/{version}/card",
    summary="The version's model card (model_card.json)",
    description="Intended use, training data, operating point, metrics in-distribution and external with "
    "intervals, slices, calibration, risk levels, the gate's decision and known limitations.",
    responses=error_responses(401, 403, 404, 503),
)
async def model_card(
    model_name: ModelName, version: VersionNumber, request: Request, session: SessionDep, _: AdminDep
) -> dict:
    return await service.model_card(session, request.app.state.store, model_name, version)


class PlotList(BaseModel):
    plots: list[str] = Field(description="file names, for GET .../plots/{name}")


PlotName = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,100}\.png$")]


@router.get(
    "/api/models/{model_name}/{version}/plots",
    response_model=PlotList,
    summary="The version's plots: training curves; ROC, confusion matrix and reliability per split",
    responses=error_responses(401, 403, 404, 503),
)
async def list_plots(
    model_name: ModelName, version: VersionNumber, request: Request, session: SessionDep, _: AdminDep
) -> PlotList:
    return PlotList(plots=await service.plot_names(session, request.app.state.store, model_name, version))


@router.get(
    "/api/models/{model_name}/{version}/plots/{name}",
    summary="One plot (PNG)",
    responses={200: {"content": {"image/png": {}}, "description": "The plot"}, **error_responses(401, 403, 404, 503)},
)
async def get_plot(
    model_name: ModelName, version: VersionNumber, name: PlotName, request: Request, session: SessionDep, _: AdminDep
) -> Response:
    data = await service.plot(session, request.app.state.store, model_name, version, name)
    return Response(data, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})
