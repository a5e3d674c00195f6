"""Join tokens: compact JWS (JWT, HS256) binding a person to one session.

Signing and verification go through PyJWT with an explicit algorithm list
(``HS256`` only: the header's ``alg`` is checked, never trusted to pick an
algorithm). Before PyJWT sees a token it must pass a strict shape check: ASCII,
exactly three segments of the base64url alphabet, each the *canonical* encoding
of its bytes (so one token has one spelling: no alternative padding bits, no
stray characters). Time claims are checked here against the caller's clock:
``exp`` in the past, or ``iat``/``nbf`` more than :data:`LEEWAY_S` in the
future, are refused. Every refusal is a :class:`TokenError`, never another
exception.
"""

from __future__ import annotations

import base64
import binascii
import re
import warnings
from dataclasses import dataclass
from typing import Any

import jwt

# "observer": a supervisor's read-only seat (issue 16), bound to their staff username;
# minted by ``POST /api/v1/live/{id}/observe`` only, never in a session's people.
ROLES = ("instructor", "learner", "observer")
MAX_TOKEN_LEN = 4096
ALGORITHMS = ["HS256"]
REQUIRED_CLAIMS = ["sub", "sid", "role", "name", "iat", "exp"]
# Clocks of the platform that issues links and of this server may differ a little.
LEEWAY_S = 60
_SEGMENT = re.compile(r"[A-Za-z0-9_-]+")


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


def _canonical(segment: str) -> bool:
    """``segment`` is base64url (no padding) and exactly the encoding of what it decodes to."""
    if not _SEGMENT.fullmatch(segment):
        return False
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (ValueError, binascii.Error):
        return False
    return _b64(raw) == segment


def issue(secret: bytes, grant: Grant) -> str:
    """Return a signed token for ``grant``."""
    claims = {
        "sub": grant.person,
        "sid": grant.session,
        "role": grant.role,
        "name": grant.name,
        "iat": grant.issued_at,
        "exp": grant.expires_at,
    }
    with warnings.catch_warnings():
        # The secret's length is the operator's choice (generated ones are 32 random bytes).
        warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)
        return jwt.encode(claims, secret, algorithm="HS256")


def verify(secret: bytes, token: object, *, now: float, session: str | None = None) -> Grant:
    """Check shape, signature, algorithm, time claims and (optionally) the session.

    Raises :class:`TokenError` with code ``no_token``, ``bad_token`` or ``expired``
    (or ``wrong_session`` when ``session`` is given and differs); nothing else.
    """
    if token is None or token == "":
        raise TokenError("no_token", "a join token is required")
    if (
        not isinstance(token, str)
        or len(token) > MAX_TOKEN_LEN
        or not token.isascii()
        or token.count(".") != 2
        or not all(_canonical(part) for part in token.split("."))
    ):
        raise TokenError("bad_token", "the join token is malformed")
    claims = _decode(secret, token)
    grant = _grant_from_claims(claims)
    nbf = claims.get("nbf")
    if nbf is not None and not _is_int(nbf):
        raise TokenError("bad_token", "the join token's claims are malformed")
    if grant.issued_at > now + LEEWAY_S or (nbf is not None and nbf > now + LEEWAY_S):
        raise TokenError("bad_token", "the join token is not valid yet (issued in the future)")
    if now >= grant.expires_at:
        raise TokenError("expired", "the join link has expired")
    if session is not None and grant.session != session:
        raise TokenError("wrong_session", "the join token belongs to another session")
    return grant


def decode_pass(secret: bytes, token: object, *, required: list[str], missing: str) -> Any:
    """The claims of a person's signed pass (on-demand, booking): shape first, then the
    HS256 signature and the ``required`` claims; time claims are the caller's (it words
    them). :class:`TokenError` ``no_token`` (with the words ``missing``) or ``bad_token``,
    nothing else."""
    if token is None or token == "":
        raise TokenError("no_token", missing)
    if (not isinstance(token, str) or len(token) > MAX_TOKEN_LEN
            or not token.isascii() or token.count(".") != 2
            or not all(_canonical(part) for part in token.split("."))):
        raise TokenError("bad_token", "the pass is malformed")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)
            return jwt.decode(
                token, secret, algorithms=ALGORITHMS,
                options={"require": required, "verify_exp": False, "verify_iat": False,
                         "verify_nbf": False})
    except (jwt.InvalidTokenError, ValueError, RecursionError) as exc:
        raise TokenError("bad_token", "the pass is invalid") from exc


def _decode(secret: bytes, token: str) -> dict[str, Any]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)
            claims: dict[str, Any] = jwt.decode(
                token,
                secret,
                algorithms=ALGORITHMS,
                # Time claims are checked by ``verify`` against the caller's clock.
                options={
                    "require": REQUIRED_CLAIMS,
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
    except jwt.InvalidAlgorithmError as exc:
        raise TokenError("bad_token", "the join token uses an unsupported algorithm") from exc
    except jwt.InvalidSignatureError as exc:
        raise TokenError("bad_token", "the join token's signature is invalid") from exc
    except jwt.MissingRequiredClaimError as exc:
        raise TokenError("bad_token", f"the join token lacks the {exc.claim!r} claim") from exc
    except (jwt.InvalidTokenError, ValueError, RecursionError) as exc:
        raise TokenError("bad_token", "the join token is malformed") from exc
    return claims


def _is_int(value: Any) -> bool:
    """A NumericDate we can use: an int (not a bool) a float and a datetime can hold."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**53


def _grant_from_claims(claims: Any) -> Grant:
    if not isinstance(claims, dict):
        raise TokenError("bad_token", "the join token's claims are malformed")
    person, session, role, name = (claims[k] for k in ("sub", "sid", "role", "name"))
    issued_at, expires_at = claims["iat"], claims["exp"]
    strings_ok = all(isinstance(v, str) and v for v in (person, session, role, name))
    ints_ok = all(_is_int(v) for v in (issued_at, expires_at))
    if not (strings_ok and ints_ok) or role not in ROLES:
        raise TokenError("bad_token", "the join token's claims are malformed")
    return Grant(person, session, role, name, issued_at, expires_at)
