"""What the report reads: a session record's facts and its per-minute evidence rows
(parsed from their JSON, ``docs/record.md``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from recorder.credits.intervals import IntervalSet, normalize
from recorder.credits.places import Place
from recorder.credits.records import RecordError, parse_timestamp
from recorder.credits.supervision.rules import US_PER_SECOND, SupervisionRules

# --- what is read from a record -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PersonFacts:
    id: str
    role: str
    school: Place
    district: Place


@dataclass(frozen=True, slots=True)
class TextFacts:
    person: str
    what: str  # "feedback" | "report"
    submitted_at: int
    text: str | None  # None: the record carries no text (version 1 reports)


@dataclass(frozen=True)
class SessionFacts:
    """What the supervisor report reads of one session record (validated)."""

    session_id: str
    programme: str
    form: str
    people: tuple[PersonFacts, ...]
    active: Mapping[str, IntervalSet]
    publishing: Mapping[str, IntervalSet] | None  # None: a presence-basis record
    texts: tuple[TextFacts, ...]
    ended_at: int | None
    start: int | None  # first active instant of anyone
    end: int | None  # last active instant of anyone

    @property
    def instructors(self) -> tuple[PersonFacts, ...]:
        return tuple(p for p in self.people if p.role == "instructor")

    @property
    def learners(self) -> tuple[PersonFacts, ...]:
        return tuple(p for p in self.people if p.role == "learner")

    def present(self, pid: str) -> IntervalSet:
        return self.active.get(pid, ())


def parse_session(obj: object, programmes: Iterable[str] | None = None) -> SessionFacts:
    """Validate what the report needs of one decoded record (a :class:`RecordError`
    names the field). ``programmes``: the programmes a policy was given for."""
    if isinstance(obj, SessionFacts):
        return obj
    if not isinstance(obj, dict):
        raise RecordError("", "a session record must be a JSON object")
    sid = _text_field(obj, "session_id")
    programme = _text_field(obj, "programme")
    if programmes is not None and programme not in set(programmes):
        raise RecordError("programme", f"no policy for programme {programme!r}")
    form = _text_field(obj, "form")
    raw_people = obj.get("people")
    if not isinstance(raw_people, list) or not raw_people:
        raise RecordError("people", "must be a non-empty list")
    people: dict[str, PersonFacts] = {}
    for i, raw in enumerate(raw_people):
        if not isinstance(raw, dict):
            raise RecordError(f"people[{i}]", "must be an object")
        pid = _text_field(raw, "id", f"people[{i}].")
        if pid in people:
            raise RecordError(f"people[{i}].id", f"duplicate person id {pid!r}")
        role = raw.get("role")
        if role not in ("instructor", "learner"):
            raise RecordError(f"people[{i}].role", 'must be "instructor" or "learner"')
        people[pid] = PersonFacts(
            pid,
            role,
            Place(_opt_text(raw, "school_id", i), _opt_text(raw, "school", i)),
            Place(_opt_text(raw, "district_code", i), _opt_text(raw, "district", i)),
        )
    active = _interval_map(obj, "active", people, required=True)
    assert active is not None
    publishing = _interval_map(obj, "publishing", people, required=False)
    texts: list[TextFacts] = []
    kinds = (("feedback", "feedback", "learner"), ("report", "reports", "instructor"))
    for what, key, role in kinds:
        value = obj.get(key)
        if value is None:
            continue
        if not isinstance(value, dict):
            raise RecordError(key, "must be an object keyed by person id")
        for pid, entry in value.items():
            where = f"{key}.{pid}"
            person = people.get(pid)
            if person is None:
                raise RecordError(where, "not a person of this session")
            if person.role != role:
                raise RecordError(where, f"only a {role} may have {key}")
            if not isinstance(entry, dict):
                raise RecordError(where, "must be an object with submitted_at")
            text = entry.get("text")
            if text is not None and not isinstance(text, str):
                raise RecordError(f"{where}.text", "must be a string")
            at = parse_timestamp(entry.get("submitted_at"), f"{where}.submitted_at")
            texts.append(TextFacts(pid, what, at, text))
    ended = obj.get("ended_at")
    ended_at = None if ended is None else parse_timestamp(ended, "ended_at")
    starts = [ivs[0][0] for ivs in active.values() if ivs]
    ends = [ivs[-1][1] for ivs in active.values() if ivs]
    return SessionFacts(
        sid,
        programme,
        form,
        tuple(people.values()),
        active,
        publishing,
        tuple(texts),
        ended_at,
        min(starts) if starts else None,
        max(ends) if ends else None,
    )


def _text_field(obj: Mapping[str, Any], key: str, where: str = "") -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value.strip():
        raise RecordError(f"{where}{key}", "must be a non-empty string")
    return value


def _opt_text(raw: Mapping[str, Any], key: str, i: int) -> str:
    value = raw.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise RecordError(f"people[{i}].{key}", "must be a string")
    return value


def _interval_map(
    obj: Mapping[str, Any], key: str, people: Mapping[str, PersonFacts], *, required: bool
) -> dict[str, IntervalSet] | None:
    value = obj.get(key)
    if value is None:
        if required:
            raise RecordError(key, "must be an object keyed by person id")
        return None
    if not isinstance(value, dict):
        raise RecordError(key, "must be an object keyed by person id")
    out: dict[str, IntervalSet] = {}
    for pid, pairs in value.items():
        where = f"{key}.{pid}"
        if pid not in people:
            raise RecordError(where, "not a person of this session")
        if not isinstance(pairs, list):
            raise RecordError(where, "must be a list of [start, end] pairs")
        parsed = []
        for i, pair in enumerate(pairs):
            if not isinstance(pair, list) or len(pair) != 2:
                raise RecordError(f"{where}[{i}]", "must be a pair [start, end]")
            start = parse_timestamp(pair[0], f"{where}[{i}][0]")
            end = parse_timestamp(pair[1], f"{where}[{i}][1]")
            if end < start:
                raise RecordError(f"{where}[{i}]", "end is before start")
            parsed.append((start, end))
        out[pid] = normalize(parsed)
    return out


# --- the evidence rows ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MinuteRow:
    """What the report reads of one per-minute evidence row (``docs/record.md``)."""

    person: str
    minute: int  # µs, the minute's start
    video_frames: int
    video_keyframes: int
    video_bytes: int
    voiced_s: int
    frames: tuple[int, ...] | None  # per second
    audio_level: tuple[int | None, ...] | None  # per second, -dBov; None: no audio

    def live_seconds(self, fps: int) -> int:
        """Seconds that brought at least ``fps`` video frames."""
        if self.frames is not None:
            return sum(1 for n in self.frames if n >= fps)
        return 60 if self.video_frames >= fps * 60 else 0

    def voiced_seconds(self, dbov: int) -> int:
        if self.audio_level is not None:
            return sum(1 for lv in self.audio_level if lv is not None and -lv > dbov)
        return self.voiced_s

    def publishing(self, rules: SupervisionRules) -> IntervalSet:
        """Seconds voiced or with live video, as intervals (the stand-in for the record's
        ``publishing``; no voice hold)."""
        fps, dbov = rules.live_video_fps, rules.voiced_dbov
        if self.frames is None or self.audio_level is None:
            seconds = max(self.live_seconds(fps), self.voiced_seconds(dbov))
            return ((self.minute, self.minute + seconds * US_PER_SECOND),) if seconds else ()
        out = []
        for s in range(min(len(self.frames), len(self.audio_level))):
            level = self.audio_level[s]
            if self.frames[s] >= fps or (level is not None and -level > dbov):
                at = self.minute + s * US_PER_SECOND
                out.append((at, at + US_PER_SECOND))
        return normalize(out)


def parse_rows(rows: object, where: str = "evidence") -> dict[str, list[MinuteRow]]:
    """Person → their rows in time order. A malformed row raises :class:`RecordError`."""
    if not isinstance(rows, list):
        raise RecordError(where, "must be a list of per-minute rows")
    out: dict[str, list[MinuteRow]] = {}
    for i, raw in enumerate(rows):
        at = f"{where}[{i}]"
        if not isinstance(raw, dict):
            raise RecordError(at, "must be an object")
        person = _text_field(raw, "person", f"{at}.")
        minute = parse_timestamp(raw.get("minute"), f"{at}.minute")
        out.setdefault(person, []).append(
            MinuteRow(
                person,
                minute,
                _count(raw, "video_frames", at),
                _count(raw, "video_keyframes", at),
                _count(raw, "video_bytes", at),
                _count(raw, "voiced_s", at),
                _frames(raw, at),
                _per_second(raw, "audio_level", at, nulls=True),
            )
        )
    for person_rows in out.values():
        person_rows.sort(key=lambda r: r.minute)
    return out


def _count(raw: Mapping[str, Any], key: str, at: str) -> int:
    value = raw.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RecordError(f"{at}.{key}", "must be a whole number ≥ 0")
    return value


def _frames(raw: Mapping[str, Any], at: str) -> tuple[int, ...] | None:
    value = _per_second(raw, "frames", at, nulls=False)
    return None if value is None else tuple(n or 0 for n in value)


def _per_second(
    raw: Mapping[str, Any], key: str, at: str, *, nulls: bool
) -> tuple[int | None, ...] | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or len(value) > 60:
        raise RecordError(f"{at}.{key}", "must be a list of at most 60 numbers")
    for n in value:
        if (n is None and not nulls) or (
            n is not None and (isinstance(n, bool) or not isinstance(n, int))
        ):
            raise RecordError(f"{at}.{key}", "must be a list of whole numbers")
    return tuple(value)
