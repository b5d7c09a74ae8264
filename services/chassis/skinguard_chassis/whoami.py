"""``GET /api/me``: who the presented API key belongs to (the web app's sign-in asks this)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from .app import error_responses
from .auth import Principal, Role, authenticate


class WhoAmI(BaseModel):
    user_id: uuid.UUID
    name: str
    role: Role


router = APIRouter(tags=["identity"])


@router.get("/api/me", response_model=WhoAmI, summary="The caller's identity and role", responses=error_responses(401))
async def whoami(principal: Annotated[Principal, Depends(authenticate)]) -> WhoAmI:
    return WhoAmI(user_id=principal.user_id, name=principal.name, role=principal.role)
