"""Talking to TensorFlow Serving: the ``ModelClient`` contract, its gRPC and in-memory implementations,
and the tracker that follows the version a label points to."""
