"""Request parameters every service declares the same way, bounded to what the database holds."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Path, Query
from pydantic import AfterValidator

MAX_INT32 = 2**31 - 1


def _representable(value: datetime | None) -> datetime | None:
    """A moment PostgreSQL can compare with ``timestamptz``: it must convert to UTC."""
    if value is not None:
        try:
            (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
        except OverflowError as error:
            raise ValueError("the date is outside the representable range") from error
    return value


Offset = Annotated[int, Query(ge=0, le=MAX_INT32, description="items to skip")]
Moment = Annotated[datetime | None, AfterValidator(_representable), Query()]
VersionNumber = Annotated[int, Path(ge=1, le=MAX_INT32)]
ModelName = Annotated[str, Path(min_length=1, max_length=64)]
