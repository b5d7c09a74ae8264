"""model-sync: copies promoted model versions from S3 into the model repository, atomically."""
