"""The supervisor report (监督机制, issue 9 item 7): sessions with irregular behaviour,
each flag with the facts behind it.

Seed 001 (三.3): "市级协调小组办公室建立监督机制，对在线研修的各环节工作进行全程监督，重点监督
教师在线研修过程中的各种不规范研修行为。主要采取网络核查和现场调查相结合的方式，按照一定周期对
不规范研修行为进行核实". This module is the 网络核查 (the check from the network's
records): it reads session records (``docs/record.md``) and, when there are any, the
per-minute evidence rows, and lists what a supervisor should look at. A flag is not a
verdict and pays or withholds nothing; the credit rules do that. Every flag carries its
``evidence``: the minutes, intervals (ISO UTC, half-open) and counts it was decided on.

The kinds (:data:`KINDS` has one line each; ``docs/supervision.md`` the whole text):

``instructor_not_publishing``
    An instructor's ``publishing`` covers less than ``min_publishing_share`` of their
    active time (silent, or camera off, or both, for most of the time they were paid).
    Without ``publishing`` in the record the per-minute rows stand in for it (a second
    is publishing when its audio level is louder than ``voiced_dbov`` or it brought at
    least ``live_video_fps`` video frames).
``no_media_evidence``
    A presence-basis record (no ``publishing``, no rows): the instructors' teaching
    could not be checked, only their presence.
``alone``
    An instructor active while no learner was active, ``alone_min_minutes`` or more in
    total over the session.
``overlap``
    One person active in two sessions at the same time for ``overlap_min_minutes`` or
    more; flagged on the later session (sessions ordered by their first active instant,
    ties by ``session_id``), both sessions listed.
``same_place``
    Where the programme's policy withholds points for same school / same district
    (``[school_rule]``), an instructor and a learner of the session from the same
    school or district (codes compared; names only when a side has no code, then the
    flag says ``by_name``).
``same_pair_daily``
    The same instructor and learner (sessions with one learner: one_to_one, review)
    met on ``same_pair_days`` consecutive open days or more, or on every open day of a
    shorter report window (at least 2). "Consecutive" skips days on which the
    programme is closed (weekends in tutoring, holidays, vacations).
``text_rules``
    Feedback or a review report whose text fails the text rules
    (:func:`recorder.credits.texts.text_problem`: visible and distinct characters, the
    policy's numbers).
``text_window``
    Feedback or a report submitted before the session started, after the feedback
    window (from ``ended_at``, or the last active instant), for a session nobody was
    active in, or a report by a reviewer who was never present.
``black_video``
    ``black_minutes`` or more consecutive minutes in which a person's video frames
    arrived but no second reached ``live_video_fps`` (a disabled camera sends black
    frames at about 1 fps).
``frozen_video``
    ``frozen_minutes`` or more consecutive minutes of video at a live frame rate with no
    keyframe and fewer than ``frozen_max_bytes_per_frame`` bytes a frame on average (a
    picture that does not change encodes to tiny delta frames).
``publishing_unsupported``
    Minutes the record says a person was publishing (30 s or more of the minute) whose
    evidence row shows neither a voiced second nor a second of live video, or that have
    no row at all: the record and the evidence disagree.
``outside_open_hours``
    Anyone of the session active outside the programme's open hours
    (:meth:`recorder.credits.calendar.Calendar.open_intervals`),
    ``outside_min_minutes`` or more in total.

Every threshold is a field of :class:`SupervisionRules`, read from the optional
``[supervision]`` table of the policy file (:meth:`SupervisionRules.from_table`).

Pure: standard library only, no I/O (the CSV is built in memory).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, timedelta
from fractions import Fraction
from typing import Any

from recorder.credits.calendar import Calendar, from_us
from recorder.credits.intervals import IntervalSet, difference, intersect, normalize, total, union
from recorder.credits.places import Place, same_place
from recorder.credits.policy import Policy
from recorder.credits.records import RecordError, parse_timestamp
from recorder.credits.texts import text_problem, visible, window_end_us

US_PER_SECOND = 1_000_000
US_PER_MINUTE = 60 * US_PER_SECOND
MAX_LISTED = 20  # intervals or minutes listed in one flag's evidence (the count is always whole)
_MAX_GAP_DAYS = 62  # two meetings further apart than this are never "consecutive"

KINDS: Mapping[str, str] = {
    "instructor_not_publishing": "instructor silent or camera off for most of their active time",
    "no_media_evidence": "presence-basis record: teaching could not be checked",
    "alone": "instructor active with no learner active",
    "overlap": "one person active in two sessions at once",
    "same_place": "instructor and learner from the same school or district",
    "same_pair_daily": "the same instructor and learner on consecutive open days",
    "text_rules": "feedback or report text fails the text rules",
    "text_window": "feedback or report outside the session's window",
    "black_video": "video frames below a live frame rate for minutes (camera off)",
    "frozen_video": "live-rate video without keyframes and with tiny frames for minutes",
    "publishing_unsupported": "publishing in the record without media in the evidence rows",
    "outside_open_hours": "active time outside the programme's open hours",
}
_KIND_ORDER = {kind: n for n, kind in enumerate(KINDS)}


class SupervisionError(ValueError):
    """The ``[supervision]`` table is malformed; the message names the key."""


@dataclass(frozen=True)
class SupervisionRules:
    """Every threshold of the supervisor report. The defaults are documented in
    ``docs/supervision.md``; a policy file's ``[supervision]`` table overrides any of them."""

    min_publishing_share: Fraction = Fraction(1, 2)  # of the instructor's active time
    alone_min_minutes: int = 10  # instructor without any learner, in total
    overlap_min_minutes: int = 1  # one person in two sessions at once
    same_pair_days: int = 5  # consecutive open days of one instructor–learner pair
    outside_min_minutes: int = 5  # active outside open hours, in total
    black_minutes: int = 3  # consecutive minutes of frames below live_video_fps
    frozen_minutes: int = 5  # consecutive minutes of live-rate frames without keyframes …
    frozen_max_bytes_per_frame: int = 200  # … and smaller than this on average
    live_video_fps: int = 5  # frames in one second that make it live video ([evidence]'s)
    voiced_dbov: int = -50  # audio louder than this is voice ([evidence]'s)
    unsupported_min_minutes: int = 1  # publishing minutes the rows do not support

    @classmethod
    def from_table(cls, table: Mapping[str, Any] | None) -> SupervisionRules:
        """The rules of a ``[supervision]`` table (``Policy.supervision``: key → number);
        keys not given keep their default. Unknown keys and impossible values raise
        :class:`SupervisionError` naming the key."""
        if not table:
            return cls()
        known = {f.name: f for f in fields(cls)}
        values: dict[str, Any] = {}
        for key, raw in table.items():
            spec = known.get(key)
            if spec is None:
                raise SupervisionError(
                    f"supervision.{key}: unknown key; known: {', '.join(sorted(known))}"
                )
            number = _fraction(raw, key)
            if spec.name == "min_publishing_share":
                if not 0 <= number <= 1:
                    raise SupervisionError(f"supervision.{key}: must be between 0 and 1")
                values[key] = number
                continue
            if number.denominator != 1:
                raise SupervisionError(f"supervision.{key}: must be a whole number")
            whole = int(number)
            if key == "voiced_dbov":
                if not -127 <= whole <= 0:
                    raise SupervisionError(f"supervision.{key}: must be within -127 … 0")
            elif whole < 1 or (key == "same_pair_days" and whole < 2):
                least = 2 if key == "same_pair_days" else 1
                raise SupervisionError(f"supervision.{key}: must be at least {least}")
            values[key] = whole
        return cls(**values)

    def to_json(self) -> dict[str, Any]:
        return {f.name: _number_json(getattr(self, f.name)) for f in fields(self)}


def rules_of(policy: Policy) -> SupervisionRules:
    """The rules of a policy: its ``[supervision]`` table over the defaults, where
    ``live_video_fps`` and ``voiced_dbov`` default to the policy's ``[evidence]``
    numbers (the ones the server derived ``publishing`` with)."""
    table: dict[str, Any] = {
        "live_video_fps": policy.evidence.live_video_fps,
        "voiced_dbov": policy.evidence.voiced_dbov,
    }
    table.update(policy.supervision)
    return SupervisionRules.from_table(table)


def _fraction(raw: object, key: str) -> Fraction:
    if isinstance(raw, bool):
        raise SupervisionError(f"supervision.{key}: must be a number")
    try:
        if isinstance(raw, Fraction | int):
            return Fraction(raw)
        if isinstance(raw, float | str):
            return Fraction(str(raw))
    except (ValueError, ZeroDivisionError) as exc:
        raise SupervisionError(f"supervision.{key}: must be a number, got {raw!r}") from exc
    raise SupervisionError(f"supervision.{key}: must be a number, got {raw!r}")


def _number_json(value: int | Fraction) -> int | str:
    if isinstance(value, int):
        return value
    if value.denominator == 1:
        return int(value)
    return f"{float(value):g}" if (10**6 * value).denominator == 1 else str(value)


# --- the flags ------------------------------------------------------------------------


@dataclass(frozen=True)
class Flag:
    """One irregularity of one session: who, in words, and the facts it rests on."""

    session_id: str
    kind: str
    people: tuple[str, ...]
    summary: str
    evidence: Mapping[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "kind": self.kind,
            "people": list(self.people),
            "summary": self.summary,
            "evidence": dict(self.evidence),
        }


CSV_COLUMNS = ("session_id", "kind", "people", "summary", "evidence")


def flags_csv(flags: Iterable[Flag]) -> str:
    """One row per flag: session_id, kind, people (space-separated), summary, and the
    evidence as compact JSON (keys sorted). RFC 4180 quoting, ``\\r\\n`` line ends."""
    out = _Lines()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for flag in flags:
        writer.writerow((
            flag.session_id, flag.kind, " ".join(flag.people), flag.summary,
            json.dumps(flag.evidence, ensure_ascii=False, separators=(",", ":"), sort_keys=True),
        ))
    return "".join(out.parts)


class _Lines:
    """What ``csv.writer`` writes to, kept in memory (no I/O module needed)."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        self.parts.append(text)
        return len(text)


def report_json(
    flags: Sequence[Flag],
    *,
    sessions: int,
    rules: Mapping[str, SupervisionRules],
    window: tuple[date, date] | None = None,
) -> dict[str, Any]:
    """The JSON report: the window, how many sessions were read, the thresholds used
    per programme, counts per kind, and every flag."""
    counts: dict[str, int] = {}
    for flag in flags:
        counts[flag.kind] = counts.get(flag.kind, 0) + 1
    return {
        "from": window[0].isoformat() if window else None,
        "to": window[1].isoformat() if window else None,
        "sessions": sessions,
        "rules": {name: r.to_json() for name, r in sorted(rules.items())},
        "counts": {kind: counts[kind] for kind in KINDS if kind in counts},
        "flags": [flag.to_json() for flag in flags],
    }


# --- what is read from a record -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Person:
    id: str
    role: str
    school: Place
    district: Place


@dataclass(frozen=True, slots=True)
class _Text:
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
    people: tuple[_Person, ...]
    active: Mapping[str, IntervalSet]
    publishing: Mapping[str, IntervalSet] | None  # None: a presence-basis record
    texts: tuple[_Text, ...]
    ended_at: int | None
    start: int | None  # first active instant of anyone
    end: int | None  # last active instant of anyone

    @property
    def instructors(self) -> tuple[_Person, ...]:
        return tuple(p for p in self.people if p.role == "instructor")

    @property
    def learners(self) -> tuple[_Person, ...]:
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
    people: dict[str, _Person] = {}
    for i, raw in enumerate(raw_people):
        if not isinstance(raw, dict):
            raise RecordError(f"people[{i}]", "must be an object")
        pid = _text_field(raw, "id", f"people[{i}].")
        if pid in people:
            raise RecordError(f"people[{i}].id", f"duplicate person id {pid!r}")
        role = raw.get("role")
        if role not in ("instructor", "learner"):
            raise RecordError(f"people[{i}].role", 'must be "instructor" or "learner"')
        people[pid] = _Person(
            pid, role,
            Place(_opt_text(raw, "school_id", i), _opt_text(raw, "school", i)),
            Place(_opt_text(raw, "district_code", i), _opt_text(raw, "district", i)),
        )
    active = _interval_map(obj, "active", people, required=True)
    assert active is not None
    publishing = _interval_map(obj, "publishing", people, required=False)
    texts: list[_Text] = []
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
            texts.append(_Text(pid, what, at, text))
    ended = obj.get("ended_at")
    ended_at = None if ended is None else parse_timestamp(ended, "ended_at")
    starts = [ivs[0][0] for ivs in active.values() if ivs]
    ends = [ivs[-1][1] for ivs in active.values() if ivs]
    return SessionFacts(
        sid, programme, form, tuple(people.values()), active, publishing, tuple(texts),
        ended_at, min(starts) if starts else None, max(ends) if ends else None,
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
    obj: Mapping[str, Any], key: str, people: Mapping[str, _Person], *, required: bool
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
        out.setdefault(person, []).append(MinuteRow(
            person, minute,
            _count(raw, "video_frames", at), _count(raw, "video_keyframes", at),
            _count(raw, "video_bytes", at), _count(raw, "voiced_s", at),
            _frames(raw, at), _per_second(raw, "audio_level", at, nulls=True),
        ))
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


# --- the report -----------------------------------------------------------------------

RowsBySession = Mapping[str, Sequence[Mapping[str, Any]]]


def supervise(
    records: Iterable[object],
    evidence: RowsBySession | None,
    *,
    policies: Mapping[str, Policy],
    calendar: Calendar,
    rules: SupervisionRules | Mapping[str, SupervisionRules] | None = None,
    window: tuple[date, date] | None = None,
) -> list[Flag]:
    """Every flag of a batch of session records, ordered by session start, session id
    and kind.

    ``evidence``: session id → its per-minute rows (``GET /sessions/{id}/evidence``),
    or None. ``policies``: programme → policy (open hours, school rule, text numbers).
    ``rules``: one set for all, per programme, or None for each policy's own
    (:func:`rules_of`). ``window``: the report's inclusive local dates, used by
    ``same_pair_daily`` ("every open day of a shorter window").
    """
    sessions: list[SessionFacts] = []
    seen: set[str] = set()
    for obj in records:
        facts = parse_session(obj, policies)
        if facts.session_id in seen:
            raise RecordError("session_id", f"duplicate {facts.session_id!r}")
        seen.add(facts.session_id)
        sessions.append(facts)
    per_programme = _rules_by_programme(rules, policies)
    rows_of: dict[str, dict[str, list[MinuteRow]]] = {}
    if evidence:
        for facts in sessions:
            raw = evidence.get(facts.session_id)
            if raw:
                rows_of[facts.session_id] = parse_rows(list(raw), f"evidence.{facts.session_id}")
    flags: list[Flag] = []
    for facts in sessions:
        policy = policies[facts.programme]
        flags.extend(_session_flags(
            facts, rows_of.get(facts.session_id), per_programme[facts.programme], policy, calendar,
        ))
    flags.extend(_overlaps(sessions, per_programme, calendar))
    flags.extend(_same_pairs(sessions, per_programme, policies, calendar, window))
    order = {f.session_id: (f.start if f.start is not None else 0, f.session_id) for f in sessions}
    flags.sort(key=lambda f: (order[f.session_id], _KIND_ORDER[f.kind], f.people))
    return flags


def _rules_by_programme(
    rules: SupervisionRules | Mapping[str, SupervisionRules] | None,
    policies: Mapping[str, Policy],
) -> dict[str, SupervisionRules]:
    if isinstance(rules, SupervisionRules):
        return dict.fromkeys(policies, rules)
    given = rules or {}
    return {name: given.get(name) or rules_of(policy) for name, policy in policies.items()}


def _session_flags(
    s: SessionFacts,
    rows: dict[str, list[MinuteRow]] | None,
    rules: SupervisionRules,
    policy: Policy,
    calendar: Calendar,
) -> list[Flag]:
    flags: list[Flag] = []
    flags.extend(_publishing(s, rows, rules, calendar))
    flags.extend(_alone(s, rules, calendar))
    flags.extend(_same_place(s, policy))
    flags.extend(_texts(s, policy))
    if rows:
        flags.extend(_video(s, rows, rules, calendar))
        flags.extend(_unsupported(s, rows, rules))
    flags.extend(_outside(s, rules, policy, calendar))
    return flags


def _publishing(
    s: SessionFacts, rows: dict[str, list[MinuteRow]] | None, rules: SupervisionRules,
    calendar: Calendar,
) -> list[Flag]:
    teachers = [p for p in s.instructors if _minutes(s.present(p.id)) >= 1]
    if not teachers:
        return []
    if s.publishing is None and not rows:
        return [Flag(
            s.session_id, "no_media_evidence", tuple(p.id for p in teachers),
            "presence-basis record: no media evidence, so teaching was not checked "
            "(only presence)",
            {"basis": "presence", "instructors": [p.id for p in teachers]},
        )]
    flags = []
    for p in teachers:
        active = s.present(p.id)
        if s.publishing is not None:
            basis = "record"
            published = s.publishing.get(p.id, ())
        else:
            basis = "evidence rows"
            published = union(*(r.publishing(rules) for r in (rows or {}).get(p.id, ())))
        teaching = intersect(published, active)
        share = Fraction(total(teaching), total(active))
        if share >= rules.min_publishing_share:
            continue
        active_min, teaching_min = _minutes(active), _minutes(teaching)
        quiet = difference(active, teaching)
        flags.append(Flag(
            s.session_id, "instructor_not_publishing", (p.id,),
            f"{p.id} published {teaching_min} of {active_min} active min "
            f"({_percent(share)}, under {_percent(rules.min_publishing_share)}); "
            f"the longest quiet stretch {_longest(quiet, calendar)}",
            {
                "basis": basis,
                "active_minutes": active_min,
                "publishing_minutes": teaching_min,
                "share": _number_json(_round3(share)),
                "min_share": _number_json(rules.min_publishing_share),
                "not_publishing_minutes": _minutes(quiet),
                **_listed("not_publishing", quiet),
            },
        ))
    return flags


def _alone(s: SessionFacts, rules: SupervisionRules, calendar: Calendar) -> list[Flag]:
    learners = union(*(s.present(p.id) for p in s.learners))
    flags = []
    for p in s.instructors:
        active = s.present(p.id)
        alone = difference(active, learners)
        minutes = _minutes(alone)
        if minutes < rules.alone_min_minutes:
            continue
        flags.append(Flag(
            s.session_id, "alone", (p.id,),
            f"{p.id} alone for {minutes} of {_minutes(active)} active min "
            f"(longest {_longest(alone, calendar)})"
            + ("; no learner was ever present" if not learners else ""),
            {
                "alone_minutes": minutes,
                "active_minutes": _minutes(active),
                "learner_minutes": _minutes(learners),
                **_listed("alone", alone),
            },
        ))
    return flags


def _same_place(s: SessionFacts, policy: Policy) -> list[Flag]:
    check_school, check_district = policy.same_school_no_points, policy.same_district_no_points
    if not (check_school or check_district):
        return []
    flags = []
    for teacher in s.instructors:
        matches = []
        for learner in s.learners:
            school, school_by_name = same_place(teacher.school, learner.school, district=False)
            district, district_by_name = same_place(
                teacher.district, learner.district, district=True
            )
            school, district = school and check_school, district and check_district
            if not (school or district):
                continue
            matches.append({
                "learner": learner.id,
                "same": "school and district" if school and district
                else "school" if school else "district",
                "by_name": (school and school_by_name) or (district and district_by_name),
                "instructor_place": _place_json(teacher),
                "learner_place": _place_json(learner),
            })
        if not matches:
            continue
        by_name = any(m["by_name"] for m in matches)
        words = "; ".join(f"same {m['same']} as {m['learner']}" for m in matches[:5])
        more = f" and {len(matches) - 5} more" if len(matches) > 5 else ""
        flags.append(Flag(
            s.session_id, "same_place", (teacher.id, *(str(m["learner"]) for m in matches)),
            f"{teacher.id}: {words}{more}" + (" (compared by name)" if by_name else ""),
            {"instructor": teacher.id, "by_name": by_name, "matches": matches},
        ))
    return flags


def _place_json(p: _Person) -> dict[str, str]:
    return {
        "school_id": p.school.code, "school": p.school.name,
        "district_code": p.district.code, "district": p.district.name,
    }


def _texts(s: SessionFacts, policy: Policy) -> list[Flag]:
    flags = []
    anchor = s.ended_at if s.ended_at is not None else s.end
    hours = policy.feedback_window_hours
    for t in s.texts:
        if t.what == "feedback":
            min_chars, min_distinct = policy.feedback_min_chars, policy.feedback_min_distinct
        else:
            min_chars, min_distinct = policy.report_min_chars, policy.report_min_distinct
        if t.text is not None:
            problem = text_problem(t.text, min_chars=min_chars, min_distinct=min_distinct)
            if problem is not None:
                shown = visible(t.text)
                flags.append(Flag(
                    s.session_id, "text_rules", (t.person,),
                    f"{t.what} of {t.person} {problem}",
                    {
                        "what": t.what, "person": t.person,
                        "submitted_at": _iso(t.submitted_at),
                        "code_points": len(t.text), "visible_chars": len(shown),
                        "distinct_chars": len(set(shown)),
                        "min_chars": min_chars, "min_distinct": min_distinct,
                        "problem": problem,
                    },
                ))
        when = _window_problem(s, t, anchor, hours)
        if when is not None:
            flags.append(Flag(
                s.session_id, "text_window", (t.person,), f"{t.what} of {t.person}: {when}",
                {
                    "what": t.what, "person": t.person, "submitted_at": _iso(t.submitted_at),
                    "session_start": _iso(s.start) if s.start is not None else None,
                    "window_end": _iso(window_end_us(anchor, hours))
                    if anchor is not None else None,
                    "anchored_on": "ended_at" if s.ended_at is not None else "last active",
                    "problem": when,
                },
            ))
    return flags


def _window_problem(s: SessionFacts, t: _Text, anchor: int | None, hours: int) -> str | None:
    if s.start is None or anchor is None:
        return "nobody was ever active in the session"
    if t.what == "report" and not s.present(t.person):
        return "the reviewer was never present"
    if t.submitted_at < s.start:
        return "submitted before the session started"
    if t.submitted_at > window_end_us(anchor, hours):
        span = f"{hours // 24} days" if hours % 24 == 0 else f"{hours} hours"
        return f"submitted after the {span} window"
    return None


def _video(
    s: SessionFacts, rows: dict[str, list[MinuteRow]], rules: SupervisionRules,
    calendar: Calendar,
) -> list[Flag]:
    flags = []
    fps = rules.live_video_fps
    for person in s.people:
        mine = rows.get(person.id, [])
        black = [r for r in mine if r.video_frames > 0 and r.live_seconds(fps) == 0]
        frozen = [
            r for r in mine
            if r.video_frames > 0 and r.live_seconds(fps) > 0 and r.video_keyframes == 0
            and r.video_bytes < rules.frozen_max_bytes_per_frame * r.video_frames
        ]
        for kind, minutes, need, words in (
            ("black_video", black, rules.black_minutes,
             f"video below {fps} frames a second"),
            ("frozen_video", frozen, rules.frozen_minutes,
             f"live-rate video without a keyframe, under {rules.frozen_max_bytes_per_frame} "
             "bytes a frame"),
        ):
            runs = [run for run in _runs(minutes) if len(run) >= need]
            if not runs:
                continue
            spans = normalize((run[0].minute, run[-1].minute + US_PER_MINUTE) for run in runs)
            count = sum(len(run) for run in runs)
            in_runs = [r for run in runs for r in run]
            flags.append(Flag(
                s.session_id, kind, (person.id,),
                f"{person.id}: {words} for {count} min "
                f"(longest {max(len(run) for run in runs)} min in a row, "
                f"{_local_span(calendar, spans[0])} first)",
                {
                    "minutes": count,
                    "threshold_minutes": need,
                    "frames": sum(r.video_frames for r in in_runs),
                    "keyframes": sum(r.video_keyframes for r in in_runs),
                    "bytes": sum(r.video_bytes for r in in_runs),
                    "live_video_fps": fps,
                    **_listed("runs", spans),
                },
            ))
    return flags


def _runs(rows: Sequence[MinuteRow]) -> list[list[MinuteRow]]:
    """Rows (in time order) split into runs of consecutive minutes."""
    runs: list[list[MinuteRow]] = []
    for row in rows:
        if runs and row.minute == runs[-1][-1].minute + US_PER_MINUTE:
            runs[-1].append(row)
        else:
            runs.append([row])
    return runs


def _unsupported(
    s: SessionFacts, rows: dict[str, list[MinuteRow]], rules: SupervisionRules
) -> list[Flag]:
    if s.publishing is None:
        return []
    flags = []
    for person in s.people:
        published = s.publishing.get(person.id, ())
        if not published:
            continue
        by_minute = {r.minute: r for r in rows.get(person.id, [])}
        first = published[0][0] // US_PER_MINUTE * US_PER_MINUTE
        bad: list[int] = []
        minute = first
        while minute < published[-1][1]:
            covered = total(intersect(published, ((minute, minute + US_PER_MINUTE),)))
            if covered >= 30 * US_PER_SECOND:
                row = by_minute.get(minute)
                if row is None or (
                    row.voiced_seconds(rules.voiced_dbov) == 0
                    and row.live_seconds(rules.live_video_fps) == 0
                ):
                    bad.append(minute)
            minute += US_PER_MINUTE
        if len(bad) < rules.unsupported_min_minutes:
            continue
        missing = sum(1 for m in bad if m not in by_minute)
        flags.append(Flag(
            s.session_id, "publishing_unsupported", (person.id,),
            f"{person.id}: {len(bad)} publishing min with no voice and no live video in the "
            f"evidence" + (f" ({missing} with no row at all)" if missing else ""),
            {
                "minutes": len(bad),
                "without_row": missing,
                "listed_minutes": [_iso(m) for m in bad[:MAX_LISTED]],
                **({"minutes_not_listed": len(bad) - MAX_LISTED} if len(bad) > MAX_LISTED else {}),
            },
        ))
    return flags


def _outside(
    s: SessionFacts, rules: SupervisionRules, policy: Policy, calendar: Calendar
) -> list[Flag]:
    if s.start is None or s.end is None:
        return []
    everyone = union(*s.active.values())
    open_set = calendar.open_intervals(policy.open_hours, s.start, s.end)
    outside = difference(everyone, open_set)
    minutes = _minutes(outside)
    if minutes < rules.outside_min_minutes:
        return []
    who = tuple(p.id for p in s.people if _minutes(intersect(s.present(p.id), outside)) >= 1)
    return [Flag(
        s.session_id, "outside_open_hours", who,
        f"{minutes} of {_minutes(everyone)} active min outside open hours "
        f"({_longest(outside, calendar)} the longest)",
        {
            "outside_minutes": minutes,
            "active_minutes": _minutes(everyone),
            **_listed("outside", outside),
            **_listed("open", open_set),
        },
    )]


def _overlaps(
    sessions: Sequence[SessionFacts], rules: Mapping[str, SupervisionRules], calendar: Calendar
) -> list[Flag]:
    order = sorted(
        (s for s in sessions if s.start is not None),
        key=lambda s: (s.start, s.session_id),
    )
    rank = {s.session_id: n for n, s in enumerate(order)}
    by_person: dict[str, list[SessionFacts]] = {}
    for s in order:
        for p in s.people:
            if s.present(p.id):
                by_person.setdefault(p.id, []).append(s)
    flags = []
    for person, mine in sorted(by_person.items()):
        for i, a in enumerate(mine):
            a_set = a.present(person)
            for b in mine[i + 1:]:
                b_set = b.present(person)
                if b_set[0][0] >= a_set[-1][1] or a_set[0][0] >= b_set[-1][1]:
                    continue
                both = intersect(a_set, b_set)
                minutes = _minutes(both)
                later = b if rank[b.session_id] > rank[a.session_id] else a
                earlier = a if later is b else b
                if minutes < rules[later.programme].overlap_min_minutes:
                    continue
                flags.append(Flag(
                    later.session_id, "overlap", (person,),
                    f"{person} active in {earlier.session_id} and {later.session_id} at once "
                    f"for {minutes} min (from {_local(calendar, both[0][0])})",
                    {
                        "person": person,
                        "sessions": [earlier.session_id, later.session_id],
                        "minutes": minutes,
                        **_listed("both", both),
                    },
                ))
    return flags


def _same_pairs(
    sessions: Sequence[SessionFacts],
    rules: Mapping[str, SupervisionRules],
    policies: Mapping[str, Policy],
    calendar: Calendar,
    window: tuple[date, date] | None,
) -> list[Flag]:
    met: dict[tuple[str, str, str], dict[date, list[SessionFacts]]] = {}
    for s in sessions:
        learners = s.learners
        if len(learners) != 1 or s.start is None or not s.present(learners[0].id):
            continue
        on = calendar.local_date(s.start)
        for instructor in s.instructors:
            if s.present(instructor.id):
                key = (s.programme, instructor.id, learners[0].id)
                met.setdefault(key, {}).setdefault(on, []).append(s)
    flags = []
    for (programme, teacher, learner), days in sorted(met.items()):
        policy = policies[programme]

        def is_open(day: date, policy: Policy = policy) -> bool:
            return bool(calendar.windows_on(policy.open_hours, day))

        need = rules[programme].same_pair_days
        if window is not None:
            open_days = sum(
                1 for n in range((window[1] - window[0]).days + 1)
                if is_open(window[0] + timedelta(days=n))
            )
            need = max(2, min(need, open_days))
        ordered: list[date | None] = [*sorted(days), None]
        run = [ordered[0]] if ordered[0] is not None else []
        for next_day in ordered[1:]:
            if next_day is not None and _consecutive(run[-1], next_day, is_open):
                run.append(next_day)
                continue
            if len(run) >= need:
                in_run = sorted(
                    (s for d in run for s in days[d]), key=lambda s: (s.start, s.session_id)
                )
                flags.append(Flag(
                    in_run[-1].session_id, "same_pair_daily", (teacher, learner),
                    f"{teacher} and {learner} met on {len(run)} consecutive open days "
                    f"({run[0].isoformat()} to {run[-1].isoformat()})",
                    {
                        "days": [d.isoformat() for d in run],
                        "sessions": [s.session_id for s in in_run],
                        "run_days": len(run),
                        "needed_days": need,
                    },
                ))
            if next_day is not None:
                run = [next_day]
    return flags


def _consecutive(before: date, after: date, is_open: Callable[[date], bool]) -> bool:
    """Whether no open day lies strictly between the two dates."""
    gap = (after - before).days
    if gap > _MAX_GAP_DAYS:
        return False
    return not any(is_open(before + timedelta(days=n)) for n in range(1, gap))


# --- small helpers --------------------------------------------------------------------


def _minutes(s: IntervalSet) -> int:
    return total(s) // US_PER_MINUTE


def _iso(us: int) -> str:
    """µs since the epoch → ``2022-03-07T10:00:00Z`` (milliseconds when not whole)."""
    moment = from_us(us)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if us % US_PER_SECOND:
        text += f".{moment.microsecond // 1000:03d}"
    return text + "Z"


def _listed(name: str, s: IntervalSet) -> dict[str, Any]:
    """``{name: [[start, end], …]}`` (ISO), at most :data:`MAX_LISTED`, plus how many more."""
    out: dict[str, Any] = {name: [[_iso(a), _iso(b)] for a, b in s[:MAX_LISTED]]}
    if len(s) > MAX_LISTED:
        out[f"{name}_not_listed"] = len(s) - MAX_LISTED
    return out


def _local(calendar: Calendar, us: int) -> str:
    return f"{calendar.local_datetime(us):%m-%d %H:%M}"


def _local_span(calendar: Calendar, iv: tuple[int, int]) -> str:
    a, b = calendar.local_datetime(iv[0]), calendar.local_datetime(iv[1])
    end = f"{b:%H:%M}" if a.date() == b.date() else f"{b:%m-%d %H:%M}"
    return f"{a:%m-%d %H:%M}–{end}"


def _longest(s: IntervalSet, calendar: Calendar) -> str:
    if not s:
        return "none"
    a, b = max(s, key=lambda iv: (iv[1] - iv[0], -iv[0]))
    return f"{(b - a) // US_PER_MINUTE} min at {_local_span(calendar, (a, b))}"


def _percent(share: Fraction) -> str:
    return f"{float(share) * 100:.0f}%"


def _round3(value: Fraction) -> Fraction:
    return Fraction(round(value * 1000), 1000)


__all__ = [
    "CSV_COLUMNS", "KINDS", "Flag", "MinuteRow", "SessionFacts", "SupervisionError",
    "SupervisionRules", "flags_csv", "parse_rows", "parse_session", "report_json", "rules_of",
    "supervise",
]
