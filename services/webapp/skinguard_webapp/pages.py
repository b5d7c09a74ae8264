"""Page URLs: each is the one page (``static/index.html``) whose script draws the screen. A page
the role may not open answers 403 (the script then says so); no session, a redirect to sign-in."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from skinguard_contracts.errors import NotFound

from .screens import BY_PATH, screens_for
from .session_routes import COOKIE

STATIC = Path(__file__).parent / "static"
INDEX = STATIC / "index.html"
router = APIRouter(include_in_schema=False)


def _page(request: Request, status_code: int = 200) -> Response:
    return FileResponse(INDEX, status_code=status_code, headers={"cache-control": "no-cache"})


async def _role(request: Request) -> str | None:
    session_id = request.cookies.get(COOKIE)
    session = await request.app.state.sessions.get(session_id) if session_id else None
    return session.identity.role if session else None


@router.get("/")
async def home(request: Request) -> Response:
    role = await _role(request)
    if role is None:
        return RedirectResponse("/sign-in", status_code=303)
    screens = screens_for(role)
    return RedirectResponse(f"/{screens[0].path}" if screens else "/sign-in", status_code=303)


@router.get("/sign-in")
async def sign_in_page(request: Request) -> Response:
    return _page(request)


@router.get("/{screen}")
@router.get("/{screen}/{rest:path}")
async def screen_page(screen: str, request: Request, rest: str = "") -> Response:
    found = BY_PATH.get(screen)
    if found is None:
        raise NotFound(f"no page /{screen}")
    role = await _role(request)
    if role is None:
        return RedirectResponse(f"/sign-in?next=/{screen}", status_code=303)
    return _page(request, 200 if role in found.roles else 403)
