"""Sign-in, sign-out, who is signed in, and the API front (every call with the session's key)."""

from __future__ import annotations

from typing import Annotated

import httpx
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from skinguard_contracts.errors import NotFound, Unauthorized

from .screens import screens_for
from .security import UNSAFE_METHODS, require_csrf_token, require_same_origin
from .session_store import Identity, SessionStore, WebSession
from .upstreams import UpstreamUnavailable, forward

COOKIE = "sg_session"
router = APIRouter()


class SignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    api_key: str = Field(min_length=1, max_length=200, description="the person's SkinGuard API key")


def _sessions(request: Request) -> SessionStore:
    return request.app.state.sessions


async def current_session(request: Request) -> WebSession:
    """The signed-in session; writes must also pass the CSRF check."""
    session_id = request.cookies.get(COOKIE)
    session = await _sessions(request).get(session_id) if session_id else None
    if session is None:
        raise Unauthorized("sign in first: no session, or it has ended", code="no_session")
    if request.method in UNSAFE_METHODS:
        require_csrf_token(request, session.csrf_token)
    return session


SessionDep = Annotated[WebSession, Depends(current_session)]


def _describe(session: WebSession) -> dict:
    return {
        "user": {"name": session.identity.name, "role": session.identity.role, "user_id": session.identity.user_id},
        "csrf_token": session.csrf_token,
        "screens": [{"path": screen.path, "title": screen.title} for screen in screens_for(session.identity.role)],
    }


@router.get("/session", tags=["session"])
async def who_is_signed_in(session: SessionDep) -> dict:
    return _describe(session)


@router.post("/session", tags=["session"])
async def sign_in(body: SignIn, request: Request) -> JSONResponse:
    """Exchange an API key for a session cookie; the key is checked with the annotation service."""
    require_same_origin(request)
    upstream = request.app.state.upstreams["annotation"]
    try:
        answer = await request.app.state.http.get(
            upstream.base_url + "/api/me", headers={"authorization": f"Bearer {body.api_key}"}
        )
    except (httpx.TransportError, httpx.TimeoutException) as error:
        raise UpstreamUnavailable("annotation") from error
    if answer.status_code == 401:
        raise Unauthorized("this API key is unknown or revoked", code="unknown_key")
    if answer.status_code != 200:
        raise UpstreamUnavailable("annotation")
    me = answer.json()
    session_id, session = await _sessions(request).create(
        Identity(str(me["user_id"]), str(me["name"]), str(me["role"])), body.api_key
    )
    response = JSONResponse(_describe(session))
    settings = request.app.state.settings
    response.set_cookie(
        COOKIE,
        session_id,
        max_age=settings.session_max_seconds,
        path="/",
        secure=settings.secure_cookies,
        httponly=True,
        samesite="strict",
    )
    return response


@router.delete("/session", status_code=204, tags=["session"])
async def sign_out(request: Request, _: SessionDep) -> Response:
    await _sessions(request).revoke(request.cookies[COOKIE])
    response = Response(status_code=204)
    response.delete_cookie(COOKIE, path="/", secure=request.app.state.settings.secure_cookies, httponly=True)
    return response


@router.api_route("/api/{service}/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], tags=["api"])
async def api(service: str, rest: str, request: Request, session: SessionDep):
    upstream = request.app.state.upstreams.get(service)
    if upstream is None:
        raise NotFound(f"no API {service!r}: annotation, ingestion or monitoring")
    answer = await forward(request.app.state.http, upstream, service, rest, request, session.api_key)
    if answer.status_code == 401:  # the key was revoked since sign-in: the session ends with it
        await answer.background()  # type: ignore[misc]
        await _sessions(request).revoke(request.cookies[COOKIE])
        raise Unauthorized("your API key is no longer valid; sign in again", code="session_ended")
    return answer
