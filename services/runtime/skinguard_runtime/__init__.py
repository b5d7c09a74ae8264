"""What every SkinGuard process runs on: ``settings`` (environment, validated), ``logging``, ``storage`` (S3)."""
