"""Settings shared by every service; each service extends ``CommonSettings`` with its own fields.

All values come from environment variables prefixed ``SKINGUARD_`` and are validated at start.
"""

from __future__ import annotations

from typing import ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET_PREFIX = "dev-"  # placeholder secrets start with this; refused outside dev and test


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SKINGUARD_", extra="ignore")

    env: Literal["dev", "test", "prod"] = "dev"
    log_level: str = "INFO"
    log_json: bool = True

    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/skinguard"
    database_pool_size: int = 10
    # Connecting and waiting for a pooled connection; statements get six times this.
    database_timeout_seconds: float = 5.0

    redis_url: str = "redis://127.0.0.1:6379/0"

    s3_endpoint_url: str | None = None
    s3_public_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    s3_access_key: str = "dev-access-key"
    s3_secret_key: SecretStr = SecretStr("dev-secret-key")
    s3_bucket: str = "skinguard"
    # Each S3 wait (connect, then each read) is bounded by this, with one retry: an S3 outage
    # answers 503 in seconds. Services that move large files (worker, model-sync) raise it.
    s3_timeout_seconds: float = 3.0
    presigned_url_ttl_seconds: int = 300

    # What the service talks to: with SKINGUARD_ENV=prod, the secrets of these must be real.
    uses: ClassVar[frozenset[str]] = frozenset({"database", "s3"})

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> CommonSettings:
        if self.env == "prod":
            for name, value in self._secrets().items():
                if value.startswith(DEV_SECRET_PREFIX) or len(value) < 16:
                    what = (
                        f"the password of SKINGUARD_{name.split()[0].upper()}"
                        if " " in name
                        else f"SKINGUARD_{name.upper()}"
                    )
                    raise ValueError(
                        f"{what} is missing, a placeholder or shorter than 16 characters; "
                        "set a real secret for SKINGUARD_ENV=prod"
                    )
        return self

    def _secrets(self) -> dict[str, str]:
        """Secret name -> value, of what this service ``uses``; subclasses add their own keys."""
        secrets: dict[str, str] = {}
        if "s3" in self.uses:
            secrets["s3_secret_key"] = self.s3_secret_key.get_secret_value()
        if "database" in self.uses:
            secrets["database_url password"] = urlsplit(self.database_url).password or ""
        if "redis" in self.uses:
            secrets["redis_url password"] = urlsplit(self.redis_url).password or ""
        return secrets
