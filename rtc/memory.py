"""glibc's allocator, seen from Python: its heap figures (debugging) and ``malloc_trim``.

Both are optional: on another C library (musl, macOS) they are absent and
:func:`mallinfo` and :func:`trim` return ``None``.
"""

from __future__ import annotations

import ctypes
import ctypes.util


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
        "uordblks", "fordblks", "keepcost")]


def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallinfo2.restype = _MallInfo2
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
        libc.malloc_trim.restype = ctypes.c_int
    except (OSError, AttributeError):  # not glibc, or older than 2.33 (no mallinfo2)
        return None
    return libc


_LIBC = _libc()


def mallinfo() -> dict[str, int] | None:
    """Bytes in use, free but kept in the heap, and in mmap'd chunks (all arenas)."""
    if _LIBC is None:
        return None
    info = _LIBC.mallinfo2()
    return {"in_use": int(info.uordblks), "free": int(info.fordblks), "mmap": int(info.hblkhd)}


def trim() -> bool | None:
    """``malloc_trim(0)``: give the free pages of every arena back to the system.
    Whether some were given back; ``None`` without glibc (nothing done)."""
    return None if _LIBC is None else bool(_LIBC.malloc_trim(0))
