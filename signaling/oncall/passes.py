"""Duty and call passes: signed links from the platform for on-demand tutoring.

A *pass* is a JWT (HS256, the join tokens' secret) like a join token, but bound to a
person, not a session: ``kind`` ``teacher_duty`` (a teacher goes on duty: id, name,
school, district, subjects, grades, rating if the platform has one) or
``student_call`` (a student finds and calls a teacher: id, name, school, grade).
The two kinds never stand in for each other or for a join token: a join token has
no ``kind`` and a pass has no ``sid``, and each verifier requires its own claims.
The platform mints them with ``POST /api/v1/oncall/passes`` (API key).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, get_args

import jwt

from signaling.server import tokens
from signaling.session.declarations import NewPass, OncallGrade, OncallSubject

KINDS: tuple[str, ...] = ("teacher_duty", "student_call")
# The nine subjects of the programme (seed 002), as stable codes the page translates.
SUBJECTS: tuple[str, ...] = get_args(OncallSubject)
GRADES: tuple[str, ...] = get_args(OncallGrade)
Subject = OncallSubject


@dataclass(frozen=True)
class Pass:
    kind: str
    person: str
    name: str
    school: str
    district: str
    subjects: tuple[str, ...]
    grades: tuple[str, ...]
    grade: str
    rating: float | None
    issued_at: int
    expires_at: int

    @property
    def teacher(self) -> bool:
        return self.kind == "teacher_duty"


def issue(secret: bytes, p: Pass) -> str:
    claims = {
        "sub": p.person, "kind": p.kind, "name": p.name, "school": p.school,
        "district": p.district, "subjects": list(p.subjects), "grades": list(p.grades),
        "grade": p.grade, "rating": p.rating, "iat": p.issued_at, "exp": p.expires_at,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)
        return jwt.encode(claims, secret, algorithm="HS256")


def verify(secret: bytes, token: object, *, now: float) -> Pass:
    """The pass, or :class:`~signaling.server.tokens.TokenError` (``no_token``,
    ``bad_token``, ``expired``), never another exception."""
    claims: Any = tokens.decode_pass(secret, token, missing="a pass is required",
                                     required=["sub", "kind", "name", "iat", "exp"])
    p = _pass(claims)
    if p.issued_at > now + tokens.LEEWAY_S:
        raise tokens.TokenError("bad_token", "the pass is not valid yet")
    if now >= p.expires_at:
        raise tokens.TokenError("expired", "the pass has expired")
    return p


def _strs(value: Any, allowed: tuple[str, ...]) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v in allowed
                                              for v in value):
        raise tokens.TokenError("bad_token", "the pass's claims are malformed")
    return tuple(value)


def _pass(claims: Any) -> Pass:
    bad = tokens.TokenError("bad_token", "the pass's claims are malformed")
    if not isinstance(claims, dict) or claims.get("kind") not in KINDS:
        raise bad
    texts = [claims.get(k, "") for k in ("sub", "name", "school", "district", "grade")]
    if not all(isinstance(t, str) for t in texts) or not texts[0] or not texts[1]:
        raise bad
    iat, exp, rating = claims["iat"], claims["exp"], claims.get("rating")
    if not (tokens._is_int(iat) and tokens._is_int(exp)):
        raise bad
    if rating is not None and (isinstance(rating, bool) or not isinstance(rating, int | float)):
        raise bad
    return Pass(claims["kind"], texts[0], texts[1], texts[2], texts[3],
                _strs(claims.get("subjects", []), SUBJECTS),
                _strs(claims.get("grades", []), GRADES), texts[4],
                None if rating is None else float(rating), iat, exp)


def from_request(new: NewPass, now: float) -> Pass:
    teacher = new.kind == "teacher_duty"
    return Pass(
        new.kind, new.person.id, new.person.name, new.person.school or "",
        new.person.district or "",
        tuple(dict.fromkeys(new.subjects)) if teacher else (),
        tuple(dict.fromkeys(new.grades)) if teacher else (),
        "" if teacher else (new.grade or ""),
        new.rating if teacher else None,
        int(now), int(now) + new.valid_hours * 3600)
