"""Input PostgreSQL cannot store is refused at the door with 422, whatever the route.

PostgreSQL text cannot hold NUL characters, UTF-8 cannot hold unpaired surrogates, JSON columns
cannot hold NaN or Infinity, and BIGINT stops at 2**63 - 1; such values used to reach the
database and come back as 500s. This middleware checks the path, the query string and JSON
bodies (up to ``MAX_CHECKED_JSON_BYTES``; larger ones are image payloads with their own checks)
once for every route, so no route can forget. Multipart text fields are checked where they are
declared (``storable_text``).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .http import send_json_error

MAX_CHECKED_JSON_BYTES = 1024 * 1024
_INT64 = 2**63 - 1


class Unstorable(ValueError):
    pass


def check_text(text: str, where: str) -> None:
    if "\x00" in text:
        raise Unstorable(f"{where}: text must not contain NUL characters")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise Unstorable(f"{where}: text must be valid Unicode (no unpaired surrogates)") from error


def storable_text(value: str | None) -> str | None:
    """A pydantic ``AfterValidator`` for text fields outside JSON bodies (form fields)."""
    if value is not None:
        try:
            check_text(value, "field")
        except Unstorable as error:
            raise ValueError(str(error)) from error
    return value


def _number(text: str) -> int:
    value = int(text)
    if abs(value) > _INT64:
        raise Unstorable("numbers must fit in 64 bits")
    return value


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise Unstorable("numbers must be finite")
    return value


def _constant(name: str) -> Any:
    raise Unstorable(f"{name} is not a number JSON allows")


def check_json(body: bytes) -> None:
    try:
        document = json.loads(body, parse_int=_number, parse_float=_finite, parse_constant=_constant)
    except (ValueError, RecursionError) as error:
        if isinstance(error, Unstorable):
            raise
        return  # not JSON: the route's own validation answers
    stack = [document]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            check_text(item, "body")
        elif isinstance(item, dict):
            for key, value in item.items():
                check_text(key, "body key")
                stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)


def check_url(scope: Scope) -> None:
    check_text(scope["path"], "path")
    raw = unquote_to_bytes(scope.get("query_string", b"").replace(b"+", b" "))
    if b"\x00" in raw:
        raise Unstorable("query: text must not contain NUL characters")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise Unstorable("query: text must be valid UTF-8") from error


class StorableInputMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            check_url(scope)
        except Unstorable as error:
            await send_json_error(send, 422, "invalid", str(error))
            return
        headers = dict(scope["headers"])
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        declared = headers.get(b"content-length", b"")
        large = declared.isdigit() and int(declared) > MAX_CHECKED_JSON_BYTES
        if content_type != b"application/json" or large:
            await self.app(scope, receive, send)
            return
        # Buffer the body (also a chunked one, without a length) up to the limit, then check it.
        messages: list[Message] = []
        body = b""
        complete = False
        while len(body) <= MAX_CHECKED_JSON_BYTES:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            if not message.get("more_body", False):
                complete = True
                break
        if complete:
            try:
                check_json(body)
            except Unstorable as error:
                await send_json_error(send, 422, "invalid", str(error))
                return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)
