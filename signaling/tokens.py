"""Join tokens: compact JWS (JWT, HS256) binding a person to one session.

Written against RFC 7519/7515 with the standard library so the one place that
decides who may enter a room has no third-party surface. Only HS256 is
accepted; the header's ``alg`` is checked, never trusted to pick an algorithm.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

ROLES = ("instructor", "learner")
MAX_TOKEN_LEN = 4096


class TokenError(Exception):
    """A token was refused. ``code`` is one of the protocol's connect_error codes."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Grant:
    """What a verified token says: who, in which session, as what, until when."""

    person: str
    session: str
    role: str
    name: str
    issued_at: int
    expires_at: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: bytes, signing_input: bytes) -> bytes:
    return hmac.new(secret, signing_input, hashlib.sha256).digest()


def issue(secret: bytes, grant: Grant) -> str:
    """Return a signed token for ``grant``."""
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    claims = {
        "sub": grant.person,
        "sid": grant.session,
        "role": grant.role,
        "name": grant.name,
        "iat": grant.issued_at,
        "exp": grant.expires_at,
    }
    payload = _b64(json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode())
    signing_input = f"{header}.{payload}".encode("ascii")
    return f"{header}.{payload}.{_b64(_sign(secret, signing_input))}"


def verify(secret: bytes, token: object, *, now: float, session: str | None = None) -> Grant:
    """Check signature, algorithm, expiry and (optionally) the session; return the grant.

    Raises :class:`TokenError` with code ``no_token``, ``bad_token`` or ``expired``
    (or ``wrong_session`` when ``session`` is given and differs).
    """
    if token is None or token == "":
        raise TokenError("no_token", "a join token is required")
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LEN or token.count(".") != 2:
        raise TokenError("bad_token", "the join token is malformed")
    header_b64, payload_b64, sig_b64 = token.split(".")
    try:
        header = json.loads(_unb64(header_b64))
        signature = _unb64(sig_b64)
    except (ValueError, UnicodeDecodeError) as exc:
        raise TokenError("bad_token", "the join token is malformed") from exc
    if not isinstance(header, dict) or header.get("alg") != "HS256":
        raise TokenError("bad_token", "the join token uses an unsupported algorithm")
    expected = _sign(secret, f"{header_b64}.{payload_b64}".encode("ascii"))
    if not hmac.compare_digest(expected, signature):
        raise TokenError("bad_token", "the join token's signature is invalid")
    try:
        claims: Any = json.loads(_unb64(payload_b64))
    except (ValueError, UnicodeDecodeError) as exc:
        raise TokenError("bad_token", "the join token is malformed") from exc
    grant = _grant_from_claims(claims)
    if now >= grant.expires_at:
        raise TokenError("expired", "the join link has expired")
    if session is not None and grant.session != session:
        raise TokenError("wrong_session", "the join token belongs to another session")
    return grant


def _grant_from_claims(claims: Any) -> Grant:
    if not isinstance(claims, dict):
        raise TokenError("bad_token", "the join token's claims are malformed")
    try:
        person, session, role, name = (claims[k] for k in ("sub", "sid", "role", "name"))
        issued_at, expires_at = claims["iat"], claims["exp"]
    except KeyError as exc:
        raise TokenError("bad_token", f"the join token lacks the {exc.args[0]!r} claim") from exc
    strings_ok = all(isinstance(v, str) and v for v in (person, session, role, name))
    ints_ok = all(isinstance(v, int) and not isinstance(v, bool) for v in (issued_at, expires_at))
    if not (strings_ok and ints_ok) or role not in ROLES:
        raise TokenError("bad_token", "the join token's claims are malformed")
    return Grant(person, session, role, name, issued_at, expires_at)
