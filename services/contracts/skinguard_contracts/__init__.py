"""What crosses the seams between SkinGuard's services, defined once.

Every writer and every reader of an S3 object, a Celery task or a label uses these modules:

- ``labels``: the two classes, the diagnoses behind them, the split names;
- ``keys``: where each kind of object lives in the bucket;
- ``manifest``: a frozen dataset version's manifest (the dataset export format);
- ``versions``: ``models/<name>/versions.json``, the index model-sync follows;
- ``model_files``: a model version's ``metadata.json`` and ``model_card.json``;
- ``tasks``: Celery task names, the queue, the cancel flag;
- ``training_config``: the configuration of a training run.

Pure pydantic: no database, web framework, cloud SDK or TensorFlow.
"""
