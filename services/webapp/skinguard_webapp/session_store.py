"""Sign-in sessions in Redis: a random id in an HttpOnly cookie; the API key stays server-side.

The API key is kept encrypted (AES-GCM) under a key derived from the session id, which only the
browser holds (Redis stores the id's SHA-256): a copy of Redis yields neither usable session ids
nor API keys. Signing out deletes the entry; an entry expires after an idle period and at a hard
maximum age.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import time
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from redis.asyncio import Redis
from redis.exceptions import RedisError

from skinguard_contracts.errors import ServiceUnavailable

_PREFIX = "webapp:session:"


@dataclass(frozen=True)
class Identity:
    user_id: str
    name: str
    role: str


@dataclass(frozen=True)
class WebSession:
    identity: Identity
    csrf_token: str
    api_key: str


def _entry_key(session_id: str) -> str:
    return _PREFIX + hashlib.sha256(session_id.encode()).hexdigest()


def _cipher(session_id: str) -> AESGCM:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"skinguard-webapp-session").derive(
        session_id.encode()
    )
    return AESGCM(key)


class SessionsUnavailable(ServiceUnavailable):
    def __init__(self) -> None:
        super().__init__("the session store is unavailable; retry shortly", code="sessions_unavailable")


class SessionStore:
    def __init__(self, redis: Redis, *, idle_seconds: int, max_seconds: int) -> None:
        self._redis = redis
        self._idle = idle_seconds
        self._max = max_seconds

    async def create(self, identity: Identity, api_key: str) -> tuple[str, WebSession]:
        session_id = secrets.token_urlsafe(32)
        nonce = os.urandom(12)
        sealed = nonce + _cipher(session_id).encrypt(nonce, api_key.encode(), None)
        session = WebSession(identity, secrets.token_urlsafe(32), api_key)
        entry = {
            "user_id": identity.user_id,
            "name": identity.name,
            "role": identity.role,
            "csrf_token": session.csrf_token,
            "sealed_key": base64.b64encode(sealed).decode(),
            "expires_at": time.time() + self._max,
        }
        try:
            await self._redis.set(_entry_key(session_id), json.dumps(entry), ex=min(self._idle, self._max))
        except RedisError as error:
            raise SessionsUnavailable() from error
        return session_id, session

    async def get(self, session_id: str) -> WebSession | None:
        """The session, its idle timer restarted; None when unknown, expired or revoked."""
        key = _entry_key(session_id)
        try:
            raw = await self._redis.get(key)
            if raw is None:
                return None
            entry = json.loads(raw)
            remaining = entry["expires_at"] - time.time()
            if remaining <= 0:
                await self._redis.delete(key)
                return None
            await self._redis.expire(key, int(min(self._idle, remaining)) or 1)
        except RedisError as error:
            raise SessionsUnavailable() from error
        sealed = base64.b64decode(entry["sealed_key"])
        api_key = _cipher(session_id).decrypt(sealed[:12], sealed[12:], None).decode()
        identity = Identity(entry["user_id"], entry["name"], entry["role"])
        return WebSession(identity, entry["csrf_token"], api_key)

    async def revoke(self, session_id: str) -> None:
        try:
            await self._redis.delete(_entry_key(session_id))
        except RedisError as error:
            raise SessionsUnavailable() from error
