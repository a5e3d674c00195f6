"""Booking passes: a person's signed link from the platform to the booking pages.

A JWT (HS256, the join tokens' secret) as :mod:`signaling.oncall.passes`' are, bound to
a person: ``kind`` ``booking_teacher`` (a 指导教师 publishes slots and schedules lectures
and reviews) or ``booking_learner`` (a 学员教师 books and enrols). It never stands in
for a join token (no ``sid``) or a duty pass (another ``kind``), and neither of those
for it: each verifier requires its own claims. The platform mints them with
``POST /api/v1/bookings/passes`` (API key); the reminders carry one per person.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import jwt

from signaling.booking.rules import Who
from signaling.server import tokens

KINDS = ("booking_teacher", "booking_learner")
_TEXTS = ("name", "school", "district", "school_id", "district_code")


@dataclass(frozen=True)
class Pass:
    kind: str
    who: Who
    issued_at: int
    expires_at: int

    @property
    def teacher(self) -> bool:
        return self.kind == "booking_teacher"


def issue(secret: bytes, p: Pass) -> str:
    w = p.who
    claims = {"sub": w.id, "kind": p.kind, "name": w.name, "school": w.school,
              "district": w.district, "school_id": w.school_id,
              "district_code": w.district_code, "iat": p.issued_at, "exp": p.expires_at}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)
        return jwt.encode(claims, secret, algorithm="HS256")


def verify(secret: bytes, token: object, *, now: float) -> Pass:
    """The pass, or :class:`~signaling.server.tokens.TokenError` (``no_token``,
    ``bad_token``, ``expired``), never another exception."""
    claims: Any = tokens.decode_pass(secret, token, missing="a booking pass is required",
                                     required=["sub", "kind", "name", "iat", "exp"])
    bad = tokens.TokenError("bad_token", "the pass's claims are malformed")
    if not isinstance(claims, dict) or claims.get("kind") not in KINDS:
        raise bad
    found = [claims.get("sub")] + [claims.get(k, "") for k in _TEXTS]
    texts = [t for t in found if isinstance(t, str)]
    if len(texts) != len(found) or not texts[0] or not texts[1]:
        raise bad
    iat, exp = claims["iat"], claims["exp"]
    if not (tokens._is_int(iat) and tokens._is_int(exp)):
        raise bad
    if iat > now + tokens.LEEWAY_S:
        raise tokens.TokenError("bad_token", "the pass is not valid yet")
    if now >= exp:
        raise tokens.TokenError("expired", "the pass has expired")
    return Pass(claims["kind"], Who(*texts), iat, exp)
