"""Signed, expiring URLs for files (uploaded pictures, later recordings).

A URL carries ``exp`` and ``sig = HMAC-SHA256(secret, path|exp)``; the server
hands such URLs only to a session's participants. Ids are random, never names.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlencode


def _sig(secret: bytes, path: str, expires: int) -> str:
    mac = hmac.new(secret, f"{path}|{expires}".encode(), hashlib.sha256)
    return mac.hexdigest()[:32]


def sign(secret: bytes, path: str, expires: int) -> str:
    """``path`` with ``?exp=…&sig=…`` appended."""
    return f"{path}?{urlencode({'exp': expires, 'sig': _sig(secret, path, expires)})}"


def check(secret: bytes, path: str, exp: str | None, sig: str | None, *, now: float) -> bool:
    if not exp or not sig or not exp.isdigit() or len(exp) > 12:
        return False
    expires = int(exp)
    return now < expires and hmac.compare_digest(_sig(secret, path, expires), sig)
