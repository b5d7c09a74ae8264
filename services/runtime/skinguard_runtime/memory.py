"""Handing freed memory back to the system after large requests.

CPython and glibc keep freed heap memory for reuse, so after a burst of large photos a service
would stay at its peak. ``malloc_trim(0)`` returns the free parts of glibc's arenas; elsewhere
(musl, macOS) it is a no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util


def _malloc_trim():
    name = ctypes.util.find_library("c")
    try:
        return getattr(ctypes.CDLL(name), "malloc_trim", None) if name else None
    except OSError:
        return None


_MALLOC_TRIM = _malloc_trim()


def return_memory_to_the_system() -> None:
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)
