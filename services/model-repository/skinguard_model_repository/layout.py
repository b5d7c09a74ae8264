"""The model repository layout shared by the server and model-sync.

``<repository>/<model_name>/<version>/`` with integer version directories; anything else under a
model directory (model-sync's hidden ``.tmp-*`` and ``.trash-*`` directories, stray files) is not
a version.
"""

from __future__ import annotations

import re
from pathlib import Path

_VERSION_NAME = re.compile(r"[0-9]+")


def version_directories(base_path: Path) -> list[int]:
    """The versions present under a model's base path, ascending; none if it does not exist."""
    try:
        entries = list(base_path.iterdir())
    except FileNotFoundError:
        return []
    return sorted(int(entry.name) for entry in entries if _VERSION_NAME.fullmatch(entry.name) and entry.is_dir())
