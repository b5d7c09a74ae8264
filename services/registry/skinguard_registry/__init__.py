"""The model registry: ``records`` (tables), ``gate`` (the quality gate), ``promotion``."""
