"""Session records: parse and validate before anything is computed.

A record is the JSON object docs/record.md defines (``session_id``, ``programme``,
``form``, ``people``, ``active``, optional ``replay``, ``feedback``, ``reports``; since
version 2 optional ``started_at``/``ended_at``, ``voiced``, ``publishing``,
``receiving``, people's ``school_id``/``district_code``, reports' ``text`` and
tutoring ``marks``); many records are JSON Lines. Unknown extra fields are ignored.
A malformed record raises :class:`RecordError` whose message starts with the
field path, e.g. ``people[1].role: must be "instructor" or "learner"``; for a
batch the message starts with the line number. A batch is validated entirely
before any computation, so it never half-applies.

Timestamps are ISO-8601 with an offset and become exact integer microseconds
since the Unix epoch (no float ever touches them).

Choices where the issue is silent:

- ``one_to_one``: exactly one instructor and one learner. ``lecture`` and ``classroom``:
  exactly one instructor, any number of learners. ``review``: exactly one learner and
  1–3 reviewers (people with role ``instructor``); more than the policy's maximum is invalid.
- ``school`` and ``district`` are required (non-empty) for training, where the same
  school/district rule needs them, and optional for tutoring.
- ``active``, ``replay``, ``feedback`` and ``reports`` may only name people of the
  session; ``replay`` and ``feedback`` only learners, ``reports`` only instructors.
  A person missing from ``active`` was never present. ``replay`` is used for lectures
  only and ``reports`` for reviews only; elsewhere they are accepted and ignored.
- An interval whose end is before its start is invalid; an empty one (end = start) is dropped.
- In a batch, two records with the same ``session_id`` are invalid.
- ``voiced``, ``publishing`` and ``receiving`` are validated like ``active`` (people of
  the session, any role). A record with ``publishing`` (even ``{}``; ``null`` is absent)
  is on the *evidence* basis; without it, on the *presence* basis, where
  ``publishing``, ``receiving`` and ``voiced`` are taken to be ``active`` so that an
  older record computes as before.
- ``school_id`` and ``district_code`` are optional strings (empty means absent).
  ``marks`` may only name learners; their fields are optional strings (``marked_at`` a
  timestamp) kept as given, for display.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, NamedTuple

from recorder.credits.calendar import to_us
from recorder.credits.intervals import IntervalSet, normalize
from recorder.credits.places import Place

FORMS: Mapping[str, tuple[str, ...]] = {
    "training": ("lecture", "one_to_one", "review"),
    "tutoring": ("one_to_one", "classroom"),
}
ROLES = ("instructor", "learner")
PRESENCE = "presence"  # basis of a record without media evidence: from ``active``
EVIDENCE = "evidence"  # basis of a record with ``publishing``
MARK_FIELDS = ("problem", "subject", "knowledge_point", "marked_at", "by")
# The record-level fields version 2 added.
_V2_FIELDS = frozenset(("publishing", "voiced", "receiving", "started_at", "ended_at", "marks"))


class RecordError(ValueError):
    """A session record is malformed. ``field`` is the path of the offending field."""

    def __init__(self, field: str, problem: str, *, line: int | None = None) -> None:
        self.field = field
        self.problem = problem
        self.line = line
        prefix = f"line {line}: " if line is not None else ""
        super().__init__(f"{prefix}{field}: {problem}" if field else f"{prefix}{problem}")

    def at_line(self, line: int) -> RecordError:
        return RecordError(self.field, self.problem, line=line)


class Person(NamedTuple):
    id: str
    role: str  # "instructor" | "learner"
    school: str  # names, for display
    district: str
    school_id: str = ""  # codes (record v2), "" when the record has none
    district_code: str = ""
    # What the same-school / same-district rule compares (places.Place.key), worked out
    # once per distinct person rather than per session: a code, or a normalised name.
    school_key: str = ""
    district_key: str = ""
    school_by_name: bool = False
    district_by_name: bool = False


def make_person(
    pid: str, role: str, school: str, district: str, school_id: str = "", district_code: str = ""
) -> Person:
    """A :class:`Person` with the keys the place rule compares (see recorder.credits.places)."""
    school_key, school_by_name = _place_key(school_id, school, False)
    district_key, district_by_name = _place_key(district_code, district, True)
    return Person(pid, role, school, district, school_id, district_code,
                  school_key, district_key, school_by_name, district_by_name)


@lru_cache(maxsize=1 << 16)
def _place_key(code: str, name: str, district: bool) -> tuple[str, bool]:
    """:meth:`Place.key`, once per distinct school or district (a few thousand of them
    against a hundred thousand people): a pure function, so remembering it is safe."""
    return Place(code, name).key(district=district)


class Feedback(NamedTuple):
    submitted_at: int  # µs since the epoch
    rating: int  # 1..5
    text: str


class Mark(NamedTuple):
    """A teacher's mark of a tutoring session for one student (seed 000: 学生、问题、学科、
    知识点): display only, kept as the record gives it."""

    problem: str = ""
    subject: str = ""
    knowledge_point: str = ""
    marked_at: str = ""  # ISO-8601 as given (validated)
    by: str = ""

    def to_json(self, learner: str) -> dict[str, str]:
        return {"learner": learner, "problem": self.problem, "subject": self.subject,
                "knowledge_point": self.knowledge_point, "marked_at": self.marked_at,
                "by": self.by}


class SessionRecord(NamedTuple):
    """A validated session record. Interval sets are in normal form, in µs.

    Named tuples (this, :class:`Person`, :class:`Feedback`, :class:`Mark`) rather than
    frozen dataclasses: as immutable, and made several times per session of a statement
    of millions, where a frozen dataclass sets each field through ``object.__setattr__``.
    """

    session_id: str
    programme: str
    form: str
    people: tuple[Person, ...]
    active: Mapping[str, IntervalSet]
    replay: Mapping[str, IntervalSet]
    feedback: Mapping[str, Feedback]
    reports: Mapping[str, int]  # reviewer id → submitted_at µs
    # Earliest active timestamp of anyone / "the latest end of any active interval";
    # None when nobody was ever active.
    start: int | None
    end: int | None
    instructors: tuple[Person, ...]  # in the order of ``people``
    learners: tuple[Person, ...]
    # Record v2. On the presence basis voiced, publishing and receiving are ``active``.
    basis: str  # PRESENCE or EVIDENCE
    voiced: Mapping[str, IntervalSet]
    publishing: Mapping[str, IntervalSet]
    receiving: Mapping[str, IntervalSet]
    started: int | None  # started_at / ended_at, µs; None when the record has none
    ended: int | None
    report_texts: Mapping[str, str]  # reviewer → text (a version 1 report has none)
    marks: Mapping[str, Mark]  # learner → the teacher's mark


def _str(obj: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> str:
    value = obj.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise RecordError(f"{where}{key}", "must be a non-empty string")
    return value


def parse_timestamp(value: object, where: str) -> int:
    """ISO-8601 with an offset → integer µs since the epoch."""
    if not isinstance(value, str):
        raise RecordError(where, "must be an ISO-8601 timestamp string")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise RecordError(where, f"not an ISO-8601 timestamp: {value!r}") from exc
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise RecordError(where, f"timestamp needs a UTC offset (e.g. Z or +08:00): {value!r}")
    return to_us(moment)


def _intervals(value: object, where: str) -> IntervalSet:
    if not isinstance(value, list):
        raise RecordError(where, "must be a list of [start, end] pairs")
    pairs = []
    for i, pair in enumerate(value):
        at = f"{where}[{i}]"
        if not isinstance(pair, list) or len(pair) != 2:
            raise RecordError(at, "must be a pair [start, end]")
        start = parse_timestamp(pair[0], f"{at}[0]")
        end = parse_timestamp(pair[1], f"{at}[1]")
        if end < start:
            raise RecordError(at, "end is before start")
        pairs.append((start, end))
    return normalize(pairs)


def _person_map(
    obj: Mapping[str, Any], key: str, people: Mapping[str, Person], role: str | None
) -> dict[str, Any]:
    value = obj.get(key, {})
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RecordError(key, "must be an object keyed by person id")
    for pid in value:
        person = people.get(pid)
        if person is None:
            raise RecordError(f"{key}.{pid}", "not a person of this session")
        if role is not None and person.role != role:
            raise RecordError(f"{key}.{pid}", f"only a {role} may have {key}")
    return value


def parse_record(obj: object, *, max_reviewers: int = 3) -> SessionRecord:
    """Validate one decoded JSON object and return a :class:`SessionRecord`.

    ``max_reviewers`` is the policy's limit; seed: "每次检课指导教师不超过3位".
    """
    if isinstance(obj, SessionRecord):
        return obj
    if type(obj) is dict:
        fast = _parse_plain(obj, max_reviewers)
        if fast is not None:
            return fast
    return _parse_checked(obj, max_reviewers)


# --- the fast path ---------------------------------------------------------------------
#
# A statement reads millions of records, nearly all of them well formed. _parse_plain
# accepts only records that are plainly valid and builds exactly what _parse_checked
# builds for them; at the first thing out of the ordinary it gives up (None) and the
# checked path runs, which names the offending field. So the fast path never decides
# what is an error and never words a message. It skips the per-field path strings
# and helper calls that the checked path needs for its messages.

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)
_Giveup = (TypeError, ValueError, KeyError, AttributeError, IndexError)
# A named tuple made from all its fields at once, without the Python-level __new__ its
# class generates (a frame of 20 arguments per record): the same tuple, made by tuple.
_new = tuple.__new__


def _us(text: object) -> int:
    """:func:`parse_timestamp` of a plainly valid timestamp; raises on anything else."""
    if type(text) is not str:
        raise TypeError
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError
    return (moment - _EPOCH) // _ONE_US  # to_us, inlined: five or more per record


def _plain_intervals(value: object) -> IntervalSet:
    if type(value) is not list:
        raise TypeError
    if len(value) == 1:  # the usual presence: one interval, already in normal form
        pair = value[0]
        if type(pair) is not list or len(pair) != 2:
            raise TypeError
        start, end = _us(pair[0]), _us(pair[1])
        if end < start:
            raise ValueError
        return ((start, end),) if end > start else ()
    pairs = []
    for pair in value:
        if type(pair) is not list or len(pair) != 2:
            raise TypeError
        start, end = _us(pair[0]), _us(pair[1])
        if end < start:
            raise ValueError
        pairs.append((start, end))
    return normalize(pairs)


def _plain_text(value: object) -> bool:
    # _str's rule: a str with something besides whitespace (s.strip() != "").
    return type(value) is str and value != "" and not value.isspace()


# Person id → (a copy of the raw person object it was validated from, the Person), per
# programme: a raw object equal to the copy is the same Person (a dict comparison in C,
# cheaper than the six look-ups and the tuple a key of its fields took).
PeopleMemo = dict[str, dict[Any, tuple[dict[str, Any], Person]]]
_PEOPLE_LIMIT = 500_000  # people remembered per programme before the memo starts afresh


def parse_record_memo(obj: object, max_reviewers: int, people: PeopleMemo) -> SessionRecord:
    """:func:`parse_record`, remembering the people it met: the same teachers and learners
    come back session after session, and each one's validation and Person are then one
    look-up. ``people`` belongs to the caller (a statement's engine), so nothing is global.
    """
    if isinstance(obj, SessionRecord):
        return obj
    if type(obj) is dict:
        fast = _parse_plain(obj, max_reviewers, people)
        if fast is not None:
            return fast
    return _parse_checked(obj, max_reviewers)


def _plain_person(
    pid: Any, role: Any, school: Any, district: Any, school_id: Any, district_code: Any,
    needs_place: bool,
) -> Person | None:
    """The Person of plainly valid fields, or None (the checked path will say why)."""
    if not _plain_text(pid) or role not in ROLES:
        return None
    if school_id is None:
        school_id = ""
    elif type(school_id) is not str:
        return None
    if district_code is None:
        district_code = ""
    elif type(district_code) is not str:
        return None
    if school is None:
        if needs_place:
            return None
        school = ""
    elif not _plain_text(school):
        return None
    if district is None:
        if needs_place:
            return None
        district = ""
    elif not _plain_text(district):
        return None
    return make_person(pid, role, school, district, school_id, district_code)


def plain_people(
    raw_people: list[Any], programme: str, form: str, max_reviewers: int,
    memo: PeopleMemo | None,
) -> tuple[dict[str, Person], list[Person], list[Person]] | None:
    """A plain record's people by id, its instructors and its learners (in order), each
    remembered in ``memo`` by programme (validation differs: school, district); ``None``
    where the checked path must word what is wrong (a bad person, a repeated id, the
    form's roles not met). Shared by :func:`parse_record_memo` and the statement's fast
    lane (``fastlane.py``)."""
    needs_place = programme == "training"
    known = None
    if memo is not None:
        known = memo.get(programme)
        if known is None or len(known) >= _PEOPLE_LIMIT:
            known = memo[programme] = {}
    people: dict[str, Person] = {}
    instructors: list[Person] = []
    learners: list[Person] = []
    for raw in raw_people:
        if type(raw) is not dict:
            return None
        pid = raw.get("id", "")
        found = known.get(pid) if known is not None else None
        person: Person | None
        if found is not None and found[0] == raw:
            person = found[1]
        else:
            person = _plain_person(
                pid, raw.get("role", ""), raw.get("school"), raw.get("district"),
                raw.get("school_id"), raw.get("district_code"), needs_place)
            if person is None:
                return None
            if known is not None:
                # A copy: the caller's object may change after (it is theirs).
                known[pid] = (dict(raw), person)
        if pid in people:
            return None
        if person.role == "instructor":
            instructors.append(person)
        else:
            learners.append(person)
        people[pid] = person
    n_in, n_le = len(instructors), len(learners)
    if form == "one_to_one":
        if n_in != 1 or n_le != 1:
            return None
    elif form == "review":
        if n_le != 1 or not 1 <= n_in <= max_reviewers:
            return None
    elif n_in != 1:
        return None
    return people, instructors, learners


def _parse_plain(
    obj: dict[str, Any], max_reviewers: int, memo: PeopleMemo | None = None
) -> SessionRecord | None:
    try:
        return _parse_plain_or_raise(obj, max_reviewers, memo)
    except _Giveup:
        return None


def _parse_plain_or_raise(
    obj: dict[str, Any], max_reviewers: int, memo: PeopleMemo | None
) -> SessionRecord | None:
    # A missing field reads as "", which is never plainly valid: the checked path words it.
    session_id = obj.get("session_id", "")
    programme = obj.get("programme", "")
    form = obj.get("form", "")
    if not _plain_text(session_id) or programme not in FORMS or form not in FORMS[programme]:
        return None
    raw_people = obj.get("people")
    if type(raw_people) is not list or not raw_people:
        return None
    found = plain_people(raw_people, programme, form, max_reviewers, memo)
    if found is None:
        return None
    people, instructors, learners = found

    raw_active = obj.get("active")
    if type(raw_active) is not dict:
        return None
    active: dict[str, IntervalSet] = {}
    start = end = None
    for pid, value in raw_active.items():
        if pid not in people:
            return None
        ivs = active[pid] = _plain_intervals(value)
        if ivs:
            first, last = ivs[0][0], ivs[-1][1]
            if start is None or first < start:
                start = first
            if end is None or last > end:
                end = last

    replay: dict[str, IntervalSet] = {}
    raw_replay = obj.get("replay")
    if raw_replay is not None:
        if type(raw_replay) is not dict:
            return None
        for pid, value in raw_replay.items():
            if people[pid].role != "learner":
                return None
            replay[pid] = _plain_intervals(value)

    feedback: dict[str, Feedback] = {}
    raw_feedback = obj.get("feedback")
    if raw_feedback is not None:
        if type(raw_feedback) is not dict:
            return None
        for pid, raw in raw_feedback.items():
            if people[pid].role != "learner" or type(raw) is not dict:
                return None
            rating = raw.get("rating")
            text = raw.get("text", "")
            if type(rating) is not int or not 1 <= rating <= 5 or type(text) is not str:
                return None
            feedback[pid] = _new(Feedback, (_us(raw.get("submitted_at")), rating, text))

    reports: dict[str, int] = {}
    report_texts: dict[str, str] = {}
    raw_reports = obj.get("reports")
    if raw_reports is not None:
        if type(raw_reports) is not dict:
            return None
        for pid, raw in raw_reports.items():
            if people[pid].role != "instructor" or type(raw) is not dict:
                return None
            reports[pid] = _us(raw.get("submitted_at"))
            text = raw.get("text")
            if text is not None:
                if type(text) is not str:
                    return None
                report_texts[pid] = text

    # Record v2: media evidence, the session's own start and end, marks.
    voiced: Mapping[str, IntervalSet]
    publishing: Mapping[str, IntervalSet]
    receiving: Mapping[str, IntervalSet]
    marks: dict[str, Mark] = {}
    if obj.keys().isdisjoint(_V2_FIELDS):  # a version 1 record: one look instead of six
        return _new(SessionRecord, (
            session_id, programme, form, tuple(people.values()), active, replay, feedback,
            reports, start, end, tuple(instructors), tuple(learners),
            PRESENCE, active, active, active, None, None, report_texts, marks,
        ))
    raw_publishing = obj.get("publishing")
    if raw_publishing is None:
        if obj.get("voiced") is not None or obj.get("receiving") is not None:
            return None  # evidence without publishing: rare, the checked path validates it
        basis = PRESENCE
        voiced = publishing = receiving = active
    else:
        basis = EVIDENCE
        publishing = _plain_person_sets(raw_publishing, people)
        voiced = _plain_person_sets(obj.get("voiced"), people)
        receiving = _plain_person_sets(obj.get("receiving"), people)
    started_at, ended_at = obj.get("started_at"), obj.get("ended_at")
    started = None if started_at is None else _us(started_at)
    ended = None if ended_at is None else _us(ended_at)
    raw_marks = obj.get("marks")
    if raw_marks is not None:
        if type(raw_marks) is not dict:
            return None
        for pid, raw in raw_marks.items():
            if people[pid].role != "learner" or type(raw) is not dict:
                return None
            values = [raw.get(key) for key in MARK_FIELDS]
            if any(value is not None and type(value) is not str for value in values):
                return None
            if values[3] is not None:
                _us(values[3])  # marked_at
            marks[pid] = Mark(*(value or "" for value in values))
        if len(marks) > 1:
            marks = _in_order(marks, learners)

    return _new(SessionRecord, (
        session_id, programme, form, tuple(people.values()), active, replay, feedback, reports,
        start, end, tuple(instructors), tuple(learners),
        basis, voiced, publishing, receiving, started, ended, report_texts, marks,
    ))


def _in_order(marks: dict[str, Mark], people: Iterable[Person]) -> dict[str, Mark]:
    """Marks in the order of the record's people (shown in that order, whatever order
    the object had)."""
    return {p.id: marks[p.id] for p in people if p.id in marks}


def _plain_person_sets(value: object, people: Mapping[str, Person]) -> dict[str, IntervalSet]:
    """person → intervals of people of the session (``voiced`` and the like)."""
    if value is None:
        return {}
    if type(value) is not dict:
        raise TypeError
    out = {}
    for pid, intervals in value.items():
        if pid not in people:
            raise KeyError(pid)
        out[pid] = _plain_intervals(intervals)
    return out


# --- the checked path --------------------------------------------------------------------


def _parse_checked(obj: object, max_reviewers: int) -> SessionRecord:
    """Validate field by field; the first problem raises a :class:`RecordError` naming it."""
    if not isinstance(obj, dict):
        raise RecordError("", "a session record must be a JSON object")
    session_id = _str(obj, "session_id", "")
    programme = obj.get("programme")
    if not isinstance(programme, str) or programme not in FORMS:
        raise RecordError("programme", 'must be "training" or "tutoring"')
    form = obj.get("form")
    if not isinstance(form, str) or form not in FORMS[programme]:
        allowed = " or ".join(f'"{f}"' for f in FORMS[programme])
        raise RecordError("form", f"for {programme} must be {allowed}")

    raw_people = obj.get("people")
    if not isinstance(raw_people, list) or not raw_people:
        raise RecordError("people", "must be a non-empty list")
    people: dict[str, Person] = {}
    for i, raw in enumerate(raw_people):
        where = f"people[{i}]."
        if not isinstance(raw, dict):
            raise RecordError(f"people[{i}]", "must be an object")
        pid = _str(raw, "id", where)
        if pid in people:
            raise RecordError(f"{where}id", f"duplicate person id {pid!r}")
        role = raw.get("role")
        if role not in ROLES:
            raise RecordError(f"{where}role", 'must be "instructor" or "learner"')
        needs_place = programme == "training"
        school = _str(raw, "school", where, required=needs_place)
        district = _str(raw, "district", where, required=needs_place)
        school_id = _opt_str(raw, "school_id", where)
        district_code = _opt_str(raw, "district_code", where)
        people[pid] = make_person(pid, role, school, district, school_id, district_code)
    _check_roles(form, people.values(), max_reviewers)

    raw_active = obj.get("active")
    if not isinstance(raw_active, dict):
        raise RecordError("active", "must be an object keyed by person id")
    _person_map(obj, "active", people, None)
    active = {pid: _intervals(v, f"active.{pid}") for pid, v in raw_active.items()}
    basis = EVIDENCE if obj.get("publishing") is not None else PRESENCE
    if basis == EVIDENCE:
        voiced, publishing, receiving = (
            {pid: _intervals(v, f"{key}.{pid}")
             for pid, v in _person_map(obj, key, people, None).items()}
            for key in ("voiced", "publishing", "receiving")
        )
    else:  # a record without media evidence computes from presence (docs/record.md)
        for key in ("voiced", "receiving"):
            for pid, v in _person_map(obj, key, people, None).items():
                _intervals(v, f"{key}.{pid}")  # still checked, though not used
        voiced = publishing = receiving = active
    started = _opt_timestamp(obj, "started_at")
    ended = _opt_timestamp(obj, "ended_at")

    raw_replay = _person_map(obj, "replay", people, "learner")
    replay = {pid: _intervals(v, f"replay.{pid}") for pid, v in raw_replay.items()}

    feedback: dict[str, Feedback] = {}
    for pid, raw in _person_map(obj, "feedback", people, "learner").items():
        where = f"feedback.{pid}"
        if not isinstance(raw, dict):
            raise RecordError(where, "must be an object with submitted_at, rating, text")
        rating = raw.get("rating")
        if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
            raise RecordError(f"{where}.rating", "must be a whole number from 1 to 5")
        text = raw.get("text", "")
        if not isinstance(text, str):
            raise RecordError(f"{where}.text", "must be a string")
        submitted = parse_timestamp(raw.get("submitted_at"), f"{where}.submitted_at")
        feedback[pid] = Feedback(submitted, rating, text)

    reports: dict[str, int] = {}
    report_texts: dict[str, str] = {}
    for pid, raw in _person_map(obj, "reports", people, "instructor").items():
        if not isinstance(raw, dict):
            raise RecordError(f"reports.{pid}", "must be an object with submitted_at")
        reports[pid] = parse_timestamp(raw.get("submitted_at"), f"reports.{pid}.submitted_at")
        text = raw.get("text")
        if text is not None:
            if not isinstance(text, str):
                raise RecordError(f"reports.{pid}.text", "must be a string")
            report_texts[pid] = text

    marks: dict[str, Mark] = {}
    for pid, raw in _person_map(obj, "marks", people, "learner").items():
        where = f"marks.{pid}"
        if not isinstance(raw, dict):
            raise RecordError(where, "must be an object with problem, subject, knowledge_point")
        for key in MARK_FIELDS:
            value = raw.get(key)
            if value is not None and not isinstance(value, str):
                raise RecordError(f"{where}.{key}", "must be a string")
        if raw.get("marked_at") is not None:
            parse_timestamp(raw["marked_at"], f"{where}.marked_at")
        marks[pid] = Mark(*(raw.get(key) or "" for key in MARK_FIELDS))
    if len(marks) > 1:
        marks = _in_order(marks, people.values())

    starts = [ivs[0][0] for ivs in active.values() if ivs]
    ends = [ivs[-1][1] for ivs in active.values() if ivs]
    return SessionRecord(
        session_id, programme, form, tuple(people.values()), active, replay, feedback, reports,
        min(starts) if starts else None, max(ends) if ends else None,
        tuple(p for p in people.values() if p.role == "instructor"),
        tuple(p for p in people.values() if p.role == "learner"),
        basis=basis, voiced=voiced, publishing=publishing, receiving=receiving,
        started=started, ended=ended, report_texts=report_texts, marks=marks,
    )


def _opt_str(obj: Mapping[str, Any], key: str, where: str) -> str:
    """An optional string field: absent, null and "" all mean "not given" ("")."""
    value = obj.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise RecordError(f"{where}{key}", "must be a string")
    return value


def _opt_timestamp(obj: Mapping[str, Any], key: str) -> int | None:
    value = obj.get(key)
    return None if value is None else parse_timestamp(value, key)


def _check_roles(form: str, people: Iterable[Person], max_reviewers: int) -> None:
    roles = [p.role for p in people]
    instructors, learners = roles.count("instructor"), roles.count("learner")
    if form == "one_to_one" and (instructors, learners) != (1, 1):
        raise RecordError(
            "people", f"a one_to_one session has exactly 1 instructor and 1 learner "
            f"(got {instructors} and {learners})"
        )
    if form in ("lecture", "classroom") and instructors != 1:
        raise RecordError("people", f"a {form} has exactly 1 instructor (got {instructors})")
    if form == "review":
        if learners != 1:
            raise RecordError("people", f"a review has exactly 1 learner (got {learners})")
        if instructors < 1:
            raise RecordError("people", "a review needs at least 1 reviewer (role instructor)")
        if instructors > max_reviewers:
            raise RecordError(
                "people", f"a review has at most {max_reviewers} reviewers (got {instructors})"
            )


def parse_json_record(text: str, *, max_reviewers: int = 3) -> SessionRecord:
    """Parse one record from JSON text (a single object; a single JSON line is fine)."""
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RecordError("", f"not valid JSON: {exc.msg} (line {exc.lineno})") from exc
    return parse_record(obj, max_reviewers=max_reviewers)


def parse_json_lines(
    lines: Iterable[str], *, max_reviewers: int = 3
) -> list[SessionRecord]:
    """Parse and validate every line of a JSON Lines batch; blank lines are skipped.

    All-or-nothing: the first bad line raises (its number in the message) and
    nothing is returned, so no caller can act on half a batch.
    """
    return validate_all(
        ((n, _decode_line(line, n)) for n, line in enumerate(lines, start=1) if line.strip()),
        max_reviewers=max_reviewers,
    )


def _decode_line(line: str, number: int) -> object:
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        raise RecordError("", f"not valid JSON: {exc.msg}", line=number) from exc


def validate_all(
    numbered: Iterable[tuple[int, object]],
    *,
    max_reviewers: int = 3,
    check: Callable[[SessionRecord], None] | None = None,
) -> list[SessionRecord]:
    """Validate ``(line number, record)`` pairs; reject duplicates; all or nothing.

    ``check`` adds caller rules (e.g. the record matches the policy's programme).
    """
    records: list[SessionRecord] = []
    seen: dict[str, int] = {}
    for number, obj in numbered:
        try:
            record = parse_record(obj, max_reviewers=max_reviewers)
            if check is not None:
                check(record)
        except RecordError as exc:
            raise exc.at_line(number) from exc
        first = seen.get(record.session_id)
        if first is not None:
            raise RecordError(
                "session_id", f"duplicate {record.session_id!r} (first on line {first})",
                line=number,
            )
        seen[record.session_id] = number
        records.append(record)
    return records
