"""Signed, expiring URLs for files (uploaded pictures, later recordings).

A URL carries ``exp`` and ``sig = HMAC-SHA256(secret, path|exp)``; the server
hands such URLs only to a session's participants. Ids are random, never names.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from urllib.parse import urlencode


def _sig(secret: bytes, path: str, expires: int) -> str:
    mac = hmac.new(secret, f"{path}|{expires}".encode(), hashlib.sha256)
    return mac.hexdigest()[:32]


def sign(secret: bytes, path: str, expires: int) -> str:
    """``path`` with ``?exp=…&sig=…`` appended."""
    return f"{path}?{urlencode({'exp': expires, 'sig': _sig(secret, path, expires)})}"


log = logging.getLogger(__name__)
_EXP = re.compile(r"[0-9]{1,12}")
_SIG = re.compile(r"[0-9a-f]{32}")


def check(secret: bytes, path: str, exp: str | None, sig: str | None, *, now: float) -> bool:
    """``True`` for a signature this server made, not yet expired; ``False`` for anything else.

    ``exp`` must be 1–12 ASCII digits (``str.isdigit`` also accepts ``²``, which
    ``int`` refuses) and ``sig`` 32 lowercase hex digits, so nothing a client
    writes in the query string can raise.
    """
    if not exp or not sig or not _EXP.fullmatch(exp) or not _SIG.fullmatch(sig):
        log.info("refused a signed URL for %.80s: malformed exp or sig", path)
        return False
    expires = int(exp)
    return now < expires and hmac.compare_digest(_sig(secret, path, expires), sig)
