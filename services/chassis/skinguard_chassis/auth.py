"""API-key authentication with roles.

Clients send ``Authorization: Bearer <token>``. Only the SHA-256 of a token is stored, so a
database leak reveals no usable key. Each key belongs to a user id and carries one role.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import DateTime, Enum, Select, String, func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from skinguard_contracts.errors import Forbidden, Unauthorized
from skinguard_database import Base, connection_lost

TOKEN_PREFIX = "sg_"


class Role(enum.StrEnum):
    uploader = "uploader"
    annotator = "annotator"
    importer = "importer"  # bulk imports: uploads and labels under one "import" identity
    admin = "admin"


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[Role] = mapped_column(Enum(Role, name="api_role"))
    user_id: Mapped[uuid.UUID] = mapped_column(default=uuid.uuid4)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    key_id: uuid.UUID
    user_id: uuid.UUID
    role: Role
    name: str

    @property
    def is_admin(self) -> bool:
        return self.role is Role.admin


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_api_key(
    session: AsyncSession, *, name: str, role: Role, user_id: uuid.UUID | None = None
) -> tuple[ApiKey, str]:
    """Create a key and return it with its token; the token is shown once and never stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(name=name, role=role, user_id=user_id or uuid.uuid4(), key_hash=hash_token(token))
    session.add(key)
    await session.flush()
    return key, token


_bearer = HTTPBearer(auto_error=False, description="API key: `Authorization: Bearer sg_...`")


async def authenticate(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized()
    query = select(ApiKey).where(ApiKey.key_hash == hash_token(credentials.credentials), ApiKey.revoked_at.is_(None))
    for attempt in (1, 2):  # an idempotent read: once more on a fresh connection if the first was lost
        try:
            async with request.app.state.sessionmaker() as session:
                key = await session.scalar(query)
            break
        except DBAPIError as error:
            if attempt == 2 or not connection_lost(error):
                raise
    if key is None:
        raise Unauthorized("unknown or revoked API key")
    return Principal(key_id=key.id, user_id=key.user_id, role=key.role, name=key.name)


def require_roles(role: Role, *more: Role):
    """Dependency: the caller must hold one of these roles; admins always pass."""
    allowed = {role, *more, Role.admin}

    async def check(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if principal.role not in allowed:
            names = ", ".join(sorted(role.value for role in allowed))
            raise Forbidden(f"this action needs one of the roles: {names}")
        return principal

    return check


# The routes only admins may use (consensus, datasets, training, models, monitoring).
AdminDep = Annotated[Principal, Depends(require_roles(Role.admin))]


# Who sees which images, the one rule every route asks: uploaders and importers see (fetch, label,
# list, erase) only the images they stored; annotators and admins see all of them.
def sees_only_own_images(principal: Principal) -> bool:
    return principal.role in (Role.uploader, Role.importer)


def visible_images(query: Select, principal: Principal, owner: Any) -> Select:
    """``query`` narrowed to the images ``principal`` may see; ``owner`` is the uploader column."""
    return query.where(owner == principal.user_id) if sees_only_own_images(principal) else query


def require_patient_search(principal: Principal) -> None:
    """Searching by a raw patient id hashes it with the secret key: for anyone else it would be an
    oracle mapping guessable ids to the pseudonyms they see. Only admins may."""
    if not principal.is_admin:
        raise Forbidden("only admins may search by patient id", code="patient_search_forbidden")
