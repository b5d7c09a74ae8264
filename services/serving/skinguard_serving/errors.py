"""Errors the model server answers with, each with the gRPC status TensorFlow Serving uses."""

from __future__ import annotations

import grpc


class ServingError(Exception):
    code: grpc.StatusCode = grpc.StatusCode.INTERNAL

    def __init__(self, message: str, code: grpc.StatusCode | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    @classmethod
    def from_canonical_code(cls, value: int, message: str) -> ServingError:
        """An error with the gRPC status whose number is ``value`` (TensorFlow's codes are gRPC's)."""
        code = next((code for code in grpc.StatusCode if code.value[0] == value), grpc.StatusCode.UNKNOWN)
        return cls(message, code)


class NotFound(ServingError):
    code = grpc.StatusCode.NOT_FOUND


class InvalidArgument(ServingError):
    code = grpc.StatusCode.INVALID_ARGUMENT


class FailedPrecondition(ServingError):
    code = grpc.StatusCode.FAILED_PRECONDITION


class Unavailable(ServingError):
    code = grpc.StatusCode.UNAVAILABLE


class DeadlineExceeded(ServingError):
    code = grpc.StatusCode.DEADLINE_EXCEEDED
