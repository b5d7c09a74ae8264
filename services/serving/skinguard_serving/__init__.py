"""SkinGuard serving: a local model server speaking TensorFlow Serving's gRPC API, and model-sync.

``skinguard-model-server`` hosts the SavedModels of a TensorFlow Serving model repository;
``skinguard-model-sync`` fills that repository with the versions the registry promotes.
"""
