"""The gRPC services: TensorFlow Serving's PredictionService and ModelService."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

import grpc

from skinguard_protos.tensorflow_serving.apis import (
    get_model_metadata_pb2,
    get_model_status_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
)

from .errors import InvalidArgument, ServingError
from .manager import ModelManager
from .metrics import ServingMetrics
from .predict import model_metadata, predict, validate_metadata_request

log = logging.getLogger(__name__)

Response = TypeVar("Response")


class _Answering:
    """Turns a handler's ServingError into its gRPC status, and records every call's metrics."""

    def __init__(self, manager: ModelManager, metrics: ServingMetrics) -> None:
        self._manager = manager
        self._metrics = metrics

    def _answer(  # type: ignore[return]  # context.abort always raises
        self, api: str, request, context: grpc.ServicerContext, handle: Callable[[], tuple[Response, int | None]]
    ) -> Response:
        started = time.perf_counter()
        version: int | None = None
        code = grpc.StatusCode.OK
        try:
            response, version = handle()
            return response
        except ServingError as error:
            code = error.code
            context.abort(code, error.message)
        except Exception:
            log.exception("%s failed", api)
            code = grpc.StatusCode.INTERNAL
            context.abort(code, f"{api} failed unexpectedly; see the model server's log")
        finally:
            # Model names from requests label metrics only when configured: bounded cardinality.
            name = request.model_spec.name
            model = name if self._manager.is_configured(name) else "other"
            self._metrics.observe_request(
                api, model, "" if version is None else str(version), code.name, time.perf_counter() - started
            )


def _require_model_spec(request) -> None:
    if not request.HasField("model_spec"):
        raise InvalidArgument("Missing ModelSpec")


class PredictionService(_Answering, prediction_service_pb2_grpc.PredictionServiceServicer):
    def Predict(self, request: predict_pb2.PredictRequest, context: grpc.ServicerContext):
        def handle():
            _require_model_spec(request)
            loaded = self._manager.resolve(request.model_spec)
            return predict(loaded, request, context.time_remaining()), loaded.version

        return self._answer("Predict", request, context, handle)

    def GetModelMetadata(self, request: get_model_metadata_pb2.GetModelMetadataRequest, context: grpc.ServicerContext):
        def handle():
            _require_model_spec(request)
            validate_metadata_request(request)
            loaded = self._manager.resolve(request.model_spec)
            return model_metadata(loaded), loaded.version

        return self._answer("GetModelMetadata", request, context, handle)


class ModelService(_Answering, model_service_pb2_grpc.ModelServiceServicer):
    def GetModelStatus(self, request: get_model_status_pb2.GetModelStatusRequest, context: grpc.ServicerContext):
        def handle():
            _require_model_spec(request)
            statuses = self._manager.version_statuses(request.model_spec)
            return get_model_status_pb2.GetModelStatusResponse(model_version_status=statuses), None

        return self._answer("GetModelStatus", request, context, handle)
