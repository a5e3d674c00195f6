"""A micro-lesson and the rules of publishing and finding one: pure (standard library).

The bounds are the tutoring policy's ``[micro_lessons]`` numbers (:class:`MicroPolicy`,
read from the policy in effect by :func:`parse_policy`); a request over a bound is
refused whole, naming the field, and nothing changes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

# The programme's nine subjects and three grades, as the passes spell them
# (signaling.session.declarations.OncallSubject / OncallGrade).
SUBJECTS = ("chinese", "math", "english", "morality_law", "physics", "chemistry", "biology",
            "history", "geography")
GRADES = ("7", "8", "9")
MAX_TITLE = 80
MAX_POINT = 60  # a knowledge point (知识点): a short name, e.g. 一元二次方程的根与系数
MAX_ID = 64
ORDERS = ("newest", "most_watched")
States = Literal["preparing", "ready", "failed", "unpublished"]
LESSON_ID = re.compile(r"ml_[A-Za-z0-9_-]{12,24}")
_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


class BadInput(Exception):
    """A request field that is missing, malformed or over a bound (REST 400/409)."""

    def __init__(self, field: str, message: str, *, code: str = "invalid") -> None:
        super().__init__(message)
        self.field, self.message, self.code = field, message, code


class PolicyError(ValueError):
    """The ``[micro_lessons]`` table is malformed; the message names the field."""


@dataclass(frozen=True)
class MicroPolicy:
    """Every number of micro-lessons (``[micro_lessons]`` in the tutoring policy TOML)."""

    max_per_teacher: int = 30  # published or preparing (unpublished ones do not count)
    min_length_s: int = 10
    max_length_s: int = 900  # 15 minutes: a 微课 explains one knowledge point
    max_preparing: int = 5  # publishes waiting for their file, on this node
    serve_lead_s: int = 10  # media seconds sent at once when a response starts
    # Then media seconds per wall second, in percent: a little above 100 so that a
    # player's buffer refills after a stall; not much, since what is sent ahead of
    # playing at the end of a lesson is never observed as watched.
    serve_pace_percent: int = 103
    slack_s: int = 2  # one chunk: what a response earns beyond the wall time it took
    max_served_rows: int = 5000  # served-range rows per viewer and lesson (~7 h of watching)

    def wire(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def parse_policy(data: Mapping[str, Any]) -> MicroPolicy:
    """The ``[micro_lessons]`` table of a decoded policy TOML (absent: the defaults)."""
    raw = data.get("micro_lessons", {})
    if not isinstance(raw, Mapping):
        raise PolicyError("micro_lessons: must be a table")
    names = {f.name for f in fields(MicroPolicy)}
    for key, value in raw.items():
        if key not in names:
            raise PolicyError(f"micro_lessons.{key}: not a number of micro-lessons")
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise PolicyError(f"micro_lessons.{key}: must be a whole number of at least 1")
    out = MicroPolicy(**raw)
    if out.min_length_s > out.max_length_s:
        raise PolicyError("micro_lessons.min_length_s: at most max_length_s")
    if out.serve_pace_percent < 100:
        raise PolicyError("micro_lessons.serve_pace_percent: at least 100 (slower than "
                          "real time, a player would stall)")
    return out



@dataclass(frozen=True)
class Publish:
    """A validated publish request: part ``[start_s, end_s)`` of a recording."""

    recording_id: str
    start_s: float
    end_s: float
    title: str
    subject: str
    grade: str
    knowledge_point: str


@dataclass(frozen=True)
class Lesson:
    lesson_id: str
    teacher_id: str
    teacher_name: str
    school: str
    session_id: str
    recording_id: str
    start_s: float
    end_s: float
    title: str
    subject: str
    grade: str
    knowledge_point: str
    state: str
    error: str
    created_at: str
    lead_s: float = 0.0  # the file starts at the keyframe this far before start_s
    duration_s: float = 0.0
    bytes: int = 0
    views: int = 0  # distinct viewers the server sent bytes to

    def wire(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Search:
    subject: str | None = None
    grade: str | None = None
    knowledge_point: str | None = None  # a part of the knowledge point's name
    order: str = "newest"
    limit: int = 50


def _text(body: Mapping[str, Any], key: str, limit: int) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value.strip():
        raise BadInput(key, f"{key} is required (text)")
    value = " ".join(value.split())
    if len(value) > limit:
        raise BadInput(key, f"{key} is at most {limit} characters")
    return value


def _seconds(body: Mapping[str, Any], key: str) -> float:
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value \
            or value < 0 or value > 10 * 86400:
        raise BadInput(key, f"{key} must be a number of seconds, 0 or more")
    return float(value)


def parse_publish(body: Any, bounds: MicroPolicy) -> Publish:
    """The publish body, or :class:`BadInput` naming the first bad field."""
    if not isinstance(body, dict):
        raise BadInput("body", "the body must be a JSON object")
    recording = body.get("recording_id")
    if not isinstance(recording, str) or not _ID.fullmatch(recording):
        raise BadInput("recording_id", "recording_id is required (a recording's id)")
    start, end = _seconds(body, "start_s"), _seconds(body, "end_s")
    if end <= start:
        raise BadInput("end_s", "end_s must be after start_s")
    if end - start < bounds.min_length_s:
        raise BadInput("end_s", f"a micro-lesson lasts at least {bounds.min_length_s} s",
                       code="too_short")
    if end - start > bounds.max_length_s:
        raise BadInput("end_s", f"a micro-lesson lasts at most {bounds.max_length_s} s",
                       code="too_long")
    subject, grade = body.get("subject"), body.get("grade")
    if subject not in SUBJECTS:
        raise BadInput("subject", "subject must be one of " + ", ".join(SUBJECTS))
    if grade not in GRADES:
        raise BadInput("grade", "grade must be 7, 8 or 9")
    return Publish(recording, start, end, _text(body, "title", MAX_TITLE), subject, grade,
                   _text(body, "knowledge_point", MAX_POINT))


def check_within(p: Publish, recording_s: float) -> None:
    """The part must lie inside the recording (half a second of rounding allowed)."""
    if p.end_s > recording_s + 0.5:
        raise BadInput("end_s", f"the recording lasts {recording_s:.1f} s", code="out_of_range")


def parse_search(query: Mapping[str, str]) -> Search:
    subject = query.get("subject") or None
    grade = query.get("grade") or None
    point = query.get("knowledge_point") or None
    order = query.get("order") or "newest"
    raw = query.get("limit") or "50"
    if subject is not None and subject not in SUBJECTS:
        raise BadInput("subject", "subject must be one of " + ", ".join(SUBJECTS))
    if grade is not None and grade not in GRADES:
        raise BadInput("grade", "grade must be 7, 8 or 9")
    if point is not None and len(point) > MAX_POINT:
        raise BadInput("knowledge_point", f"knowledge_point is at most {MAX_POINT} characters")
    if order not in ORDERS:
        raise BadInput("order", "order must be newest or most_watched")
    if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= 200):
        raise BadInput("limit", "limit must be 1 to 200")
    return Search(subject, grade, point, order, int(raw))
