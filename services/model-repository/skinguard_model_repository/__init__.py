"""TensorFlow Serving's model repository, the contract between model-sync (writer) and the
model server (reader): ``layout`` (``<base path>/<version>/`` directories), ``models_config``
(the text-format ModelServerConfig with version labels) and their ``settings``."""
