"""How every write API's request body is read: unknown fields and coerced types are refused.

``strict``: ``true`` or ``"0.5"`` is not a number and ``"1"`` not an integer (an int is still a
float). UUIDs arrive as JSON strings, so a UUID field is a ``JsonUuid`` (lax for that field).
"""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import ConfigDict, Strict

WRITE_MODEL = ConfigDict(extra="forbid", strict=True)
JsonUuid = Annotated[uuid.UUID, Strict(False)]
