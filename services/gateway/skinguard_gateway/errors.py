"""The gateway's own errors: what went wrong with serving, and too many requests."""

from __future__ import annotations

from skinguard_contracts.errors import AppError, ServiceUnavailable


class ServingUnavailable(ServiceUnavailable):
    """The model server cannot be reached or is overloaded."""

    code = "serving_unavailable"


class ModelUnavailable(ServiceUnavailable):
    """The model server answers, but serves no version of the model (yet)."""

    code = "model_unavailable"


class ServingTimeout(AppError):
    status_code = 504
    code = "serving_timeout"

    def __init__(self, message: str, *, retry_after: int = 2, **kwargs) -> None:
        kwargs.setdefault("headers", {"Retry-After": str(retry_after)})
        super().__init__(message, **kwargs)


class ServingFailed(AppError):
    """The model server answered with an error, or with something the gateway cannot use."""

    status_code = 502
    code = "serving_error"


class RateLimited(AppError):
    status_code = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after)})
