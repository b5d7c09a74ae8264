"""SkinGuard's gRPC contracts: TensorFlow Serving's client protos, compiled, without TensorFlow.

Generated modules live at their upstream paths under this package, e.g.
``skinguard_protos.tensorflow_serving.apis.predict_pb2`` and ``prediction_service_pb2_grpc``;
``skinguard_protos.tensors`` converts numpy arrays to and from ``TensorProto``. Every message is
registered in a descriptor pool of its own (``_pool``); protos/README.md explains why.
"""
