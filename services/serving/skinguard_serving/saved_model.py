"""The TensorFlow servable: a SavedModel version directory loaded with ``tf.saved_model.load``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

from skinguard_protos.tensorflow.core.protobuf import meta_graph_pb2
from skinguard_protos.tensorflow_serving.apis import predict_pb2, prediction_log_pb2

from .errors import FailedPrecondition, InvalidArgument, ServingError

SERVING_TAG = "serve"
WARMUP_FILE = Path("assets.extra") / "tf_serving_warmup_requests"


def configure_tensorflow(intra_op_threads: int, inter_op_threads: int) -> None:
    """Size TensorFlow's thread pools (0 lets TensorFlow decide); call before the first load."""
    tf.config.threading.set_intra_op_parallelism_threads(intra_op_threads)
    tf.config.threading.set_inter_op_parallelism_threads(inter_op_threads)


class SavedModelServable:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._module = tf.saved_model.load(str(path), tags=[SERVING_TAG])
        self._signature_defs = _read_signature_defs(path)

    @property
    def signature_defs(self) -> Mapping[str, meta_graph_pb2.SignatureDef]:
        """Every signature of the ``serve`` meta graph, as GetModelMetadata reports them."""
        return self._signature_defs

    def run(self, signature_name: str, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        function = self._module.signatures.get(signature_name)
        if function is None:
            raise FailedPrecondition(f'Serving signature key "{signature_name}" not found.')
        try:
            outputs = function(**{name: tf.constant(array) for name, array in inputs.items()})
        except tf.errors.OpError as error:
            raise ServingError.from_canonical_code(error.error_code, error.message) from error
        except (TypeError, ValueError) as error:  # the function's own argument checks
            raise InvalidArgument(str(error)) from error
        return {name: tensor.numpy() for name, tensor in outputs.items()}

    def warmup_requests(self) -> list[predict_pb2.PredictRequest]:
        """The Predict requests of ``assets.extra/tf_serving_warmup_requests`` (a TFRecord file)."""
        path = self.path / WARMUP_FILE
        if not path.exists():
            return []
        requests = []
        for record in tf.data.TFRecordDataset(str(path)).as_numpy_iterator():
            log = prediction_log_pb2.PredictionLog.FromString(record)
            if not log.HasField("predict_log"):
                raise FailedPrecondition(f"{path}: only PredictLog warmup records are supported")
            requests.append(log.predict_log.request)
        return requests


def _read_signature_defs(path: Path) -> dict[str, meta_graph_pb2.SignatureDef]:
    saved_model = saved_model_pb2.SavedModel.FromString((path / "saved_model.pb").read_bytes())
    for meta_graph in saved_model.meta_graphs:
        if SERVING_TAG in meta_graph.meta_info_def.tags:
            # TensorFlow's SignatureDef and the vendored one share the wire format.
            return {
                name: meta_graph_pb2.SignatureDef.FromString(signature.SerializeToString())
                for name, signature in meta_graph.signature_def.items()
            }
    raise FailedPrecondition(f"{path} has no meta graph tagged {SERVING_TAG!r}")
