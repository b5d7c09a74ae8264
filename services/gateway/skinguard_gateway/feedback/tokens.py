"""Feedback tokens: only whoever received a prediction may report its confirmed diagnosis.

A prediction's id is made by the server, and its token is ``HMAC-SHA256(feedback key, id)``,
returned only to the caller with the prediction. Feedback must quote both, so nobody can attach
a diagnosis to someone else's prediction (and drive the monitoring figures) by guessing ids.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid

TOKEN_LENGTH = 43  # characters: 256 bits, URL-safe base64 without padding


def new_prediction_id() -> str:
    return uuid.uuid4().hex


def feedback_token(key: str, prediction_id: str) -> str:
    import base64

    digest = hmac.new(key.encode(), prediction_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def token_matches(key: str, prediction_id: str, token: str) -> bool:
    return hmac.compare_digest(feedback_token(key, prediction_id), token)
