"""The session list the programme office searches (issue 16): the query, its page, the
opaque cursor, and the one SQL text both back ends run.

Pure: no I/O, standard library only. The store runs :func:`select_sql` /
:func:`count_sql` with its own placeholder style; the server builds the query with
:func:`parse_query` from the request's parameters and narrows it to the viewer's scope
with :func:`within`.

Order and paging: newest first by ``start`` = ``COALESCE(started_at, scheduled_start)``
then ``id`` (both descending), keyset paging on that pair, so a page never repeats or
skips a session however many are created while someone pages. Times are the store's
ISO text compared byte by byte (PostgreSQL ``COLLATE "C"``, as SQLite does); bounds
are whole seconds written ``…T10:00:00.000Z``, which compares right against both
spellings the store holds (``…:00Z`` and ``…:00.250Z``).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any, Literal, Protocol, get_args

Status = Literal["scheduled", "live", "ended"]
STATUSES: tuple[Status, ...] = get_args(Status)
DEFAULT_LIMIT = 50
MAX_LIMIT = 200
# Longer than any id or cursor the server makes; refused before anything decodes it.
MAX_CURSOR_CHARS = 512
MAX_TEXT = 200  # a filter's text (a name, an id): longer is a mistake, not a search

# ASCII digits only: \d alone also matches other scripts' digits.
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z", re.ASCII)
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


class QueryError(ValueError):
    """A parameter the list cannot take: the 400's words and the parameter's name."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class ScopeLike(Protocol):
    """What the list needs of :class:`signaling.admin.scope.Scope` (the store sits below
    ``signaling.admin`` and may not import it; a Scope fits this shape)."""

    @property
    def level(self) -> str: ...
    @property
    def district_code(self) -> str: ...
    @property
    def school_id(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where the previous page stopped: its last session's start and id."""

    start: str
    id: str


@dataclass(frozen=True, slots=True)
class SessionQuery:
    """One page's question. Empty filters ask nothing; ``scope_*`` are the viewer's
    reach (not the asker's choice): a session is theirs when one of its instructors
    works in that district (code) or school (id)."""

    start_from: str | None = None  # inclusive, store text, whole seconds
    start_before: str | None = None  # exclusive
    programme: str | None = None
    form: str | None = None
    teacher: str | None = None  # an instructor's person id, or part of their name
    school: str | None = None  # an instructor's school_id, or part of its name
    district: str | None = None  # an instructor's district_code, or part of its name
    status: Status | None = None
    scope_district: str = ""
    scope_school: str = ""
    limit: int = DEFAULT_LIMIT
    after: Cursor | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_LIMIT:
            raise QueryError("limit", f"limit must be 1 to {MAX_LIMIT}, got {self.limit}")
        if self.status is not None and self.status not in STATUSES:
            raise QueryError("status", f"status must be one of {', '.join(STATUSES)}")


def within(query: SessionQuery, scope: ScopeLike) -> SessionQuery:
    """``query`` restricted to what ``scope`` sees (a city scope sees everything)."""
    if scope.level == "district":
        return replace(query, scope_district=scope.district_code, scope_school="")
    if scope.level == "school":
        return replace(query, scope_district="", scope_school=scope.school_id)
    return replace(query, scope_district="", scope_school="")


@dataclass(frozen=True, slots=True)
class Instructor:
    id: str
    name: str
    school: str
    district: str
    school_id: str
    district_code: str


@dataclass(frozen=True, slots=True)
class SessionRow:
    id: str
    programme: str
    form: str
    title: str
    scheduled_start: str
    scheduled_end: str
    started_at: str | None
    ended_at: str | None
    learners: int
    instructors: tuple[Instructor, ...] = ()

    @property
    def status(self) -> Status:
        # As StoredSession.state: a session ended before it started is ended.
        if self.ended_at:
            return "ended"
        return "live" if self.started_at else "scheduled"

    @property
    def start(self) -> str:
        """The sort key the SQL orders by (``COALESCE(started_at, scheduled_start)``)."""
        return self.started_at or self.scheduled_start

    def wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "programme": self.programme,
            "form": self.form,
            "title": self.title,
            "scheduled_start": self.scheduled_start,
            "scheduled_end": self.scheduled_end,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "status": self.status,
            "instructors": [
                {"id": i.id, "name": i.name, "school": i.school, "district": i.district,
                 "school_id": i.school_id, "district_code": i.district_code}
                for i in self.instructors
            ],
            "learners": self.learners,
        }


@dataclass(frozen=True, slots=True)
class SessionPage:
    sessions: tuple[SessionRow, ...] = ()
    next_cursor: str | None = None  # None: this was the last page

    def wire(self) -> dict[str, Any]:
        return {"sessions": [s.wire() for s in self.sessions], "next_cursor": self.next_cursor}


# -- the cursor: base64url (no padding) of compact JSON; opaque to clients


def encode_cursor(cursor: Cursor) -> str:
    raw = json.dumps({"v": 1, "s": cursor.start, "i": cursor.id}, separators=(",", ":"),
                     ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(text: str) -> Cursor:
    """The cursor :func:`encode_cursor` wrote, or :class:`QueryError` (a 400) for anything
    else: it comes from the client, so every part is checked before SQL sees it."""
    if not text or len(text) > MAX_CURSOR_CHARS or not _BASE64URL.fullmatch(text):
        raise QueryError("cursor", "cursor is not one this server gave out")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        value = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise QueryError("cursor", "cursor is not one this server gave out") from exc
    if (
        not isinstance(value, dict)
        or set(value) != {"v", "s", "i"}
        or type(value["v"]) is not int  # true == 1 in Python: not a version
        or value["v"] != 1
        or not isinstance(value["s"], str)
        or not _ISO.fullmatch(value["s"])
        or not isinstance(value["i"], str)
        or not 0 < len(value["i"]) <= MAX_TEXT
    ):
        raise QueryError("cursor", "cursor is not one this server gave out")
    return Cursor(value["s"], value["i"])


# -- the request's parameters


def parse_query(params: Mapping[str, str], tz: tzinfo, *, paged: bool = True) -> SessionQuery:
    """A :class:`SessionQuery` from query parameters, or :class:`QueryError` naming the
    parameter. ``from``/``to``: a local date of ``tz`` (``to`` includes its whole day)
    or an ISO-8601 date-time (no offset: ``tz``); ``from`` inclusive, a date-time
    ``to`` exclusive. ``paged=False`` (the CSV) ignores ``limit`` and ``cursor``."""
    start_from = _bound(params.get("from"), "from", tz, upper=False)
    start_before = _bound(params.get("to"), "to", tz, upper=True)
    if start_from is not None and start_before is not None and start_before <= start_from:
        raise QueryError("to", "to must be after from")
    status = _text(params, "status")
    if status is not None and status not in STATUSES:
        raise QueryError("status", f"status must be one of {', '.join(STATUSES)}, "
                         f"got {status!r}")
    limit, after = DEFAULT_LIMIT, None
    if paged:
        limit = _limit(params.get("limit"))
        if (cursor := params.get("cursor")) is not None and cursor != "":
            after = decode_cursor(cursor)
    return SessionQuery(
        start_from=start_from, start_before=start_before,
        programme=_text(params, "programme"), form=_text(params, "form"),
        teacher=_text(params, "teacher"), school=_text(params, "school"),
        district=_text(params, "district"),
        status=status,  # narrowed to Status by the check above
        limit=limit, after=after,
    )


def _text(params: Mapping[str, str], name: str) -> str | None:
    value = params.get(name, "").strip()
    if len(value) > MAX_TEXT:
        raise QueryError(name, f"{name} may be at most {MAX_TEXT} characters")
    return value or None


def _limit(text: str | None) -> int:
    if text is None or text == "":
        return DEFAULT_LIMIT
    # The length first: int() of thousands of digits raises (and costs) before comparing.
    if not (text.isascii() and text.isdigit() and len(text) <= 3
            and 1 <= int(text) <= MAX_LIMIT):
        raise QueryError("limit", f"limit must be a whole number from 1 to {MAX_LIMIT}, "
                         f"got {text!r}")
    return int(text)


def _bound(text: str | None, name: str, tz: tzinfo, *, upper: bool) -> str | None:
    """A bound as store text at whole seconds (``from`` rounds down, ``to`` up: a bound
    given with a fraction keeps every session it named)."""
    if text is None or not text.strip():
        return None
    text = text.strip()
    # An unescaped "+08:00" reaches us as " 08:00" (a query string's "+" is a space).
    if "T" in text and text.count(" ") == 1:
        text = text.replace(" ", "+")
    try:
        if _DATE.fullmatch(text):
            day = date.fromisoformat(text)
            moment = datetime.combine(day + timedelta(days=1) if upper else day, time(),
                                      tzinfo=tz)
        else:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=tz)
        utc = moment.astimezone(UTC)
        seconds = utc.replace(microsecond=0)
        if upper and utc.microsecond:
            seconds += timedelta(seconds=1)
    except OverflowError as exc:  # 9999-12-31 and a day, year 1 at +14:00
        raise QueryError(name, f"{name} is out of range: {text!r}") from exc
    except ValueError as exc:
        raise QueryError(name, f"{name} must be a date (2026-03-07) or an ISO-8601 "
                         f"date-time (2026-03-07T08:00:00+08:00), got {text!r}") from exc
    # isoformat, not strftime: %Y does not pad years before 1000 to four digits.
    return seconds.replace(tzinfo=None).isoformat(timespec="seconds") + ".000Z"


# -- the SQL, for either back end


@dataclass(frozen=True, slots=True)
class Dialect:
    placeholder: str  # "?" or "%s"
    collate: str  # after a text expression compared or sorted: "" or ' COLLATE "C"'
    contains: str  # "{col} contains {p}", without LIKE's wildcards to escape

    def has(self, column: str) -> str:
        return self.contains.format(col=column, p=self.placeholder)


# lower() on both sides: "haidian" finds "Haidian" (ASCII letters on both back ends;
# Chinese has no case).
SQLITE = Dialect("?", "", "instr(lower({col}), lower({p})) > 0")
POSTGRES = Dialect("%s", ' COLLATE "C"', "strpos(lower({col}), lower({p})) > 0")

_START = "COALESCE(s.started_at, s.scheduled_start)"
_COLUMNS = ("s.id, s.programme, s.form, s.title, s.scheduled_start, s.scheduled_end, "
            "s.started_at, s.ended_at, (SELECT COUNT(*) FROM people l WHERE l.session_id = "
            "s.id AND l.role = 'learner')")


@dataclass
class _Where:
    dialect: Dialect
    clauses: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)

    def add(self, clause: str, *params: Any) -> None:
        self.clauses.append(clause.replace("?", self.dialect.placeholder))
        self.params.extend(params)

    def instructor(self, condition: str, *params: Any) -> None:
        """Some instructor of the session meets ``condition`` (on ``p``)."""
        self.add("EXISTS (SELECT 1 FROM people p WHERE p.session_id = s.id AND "
                 f"p.role = 'instructor' AND ({condition}))", *params)

    def sql(self) -> str:
        return " WHERE " + " AND ".join(self.clauses) if self.clauses else ""


def _where(query: SessionQuery, dialect: Dialect, *, paged: bool) -> _Where:
    # Only "?" is replaced by the dialect's placeholder: no clause below holds a
    # literal question mark, and every value travels as a parameter.
    w = _Where(dialect)
    c = dialect.collate
    if query.start_from is not None:
        w.add(f"{_START}{c} >= ?", query.start_from)
    if query.start_before is not None:
        w.add(f"{_START}{c} < ?", query.start_before)
    if query.programme is not None:
        w.add("s.programme = ?", query.programme)
    if query.form is not None:
        w.add("s.form = ?", query.form)
    if query.status == "scheduled":
        w.add("s.started_at IS NULL AND s.ended_at IS NULL")
    elif query.status == "live":
        w.add("s.started_at IS NOT NULL AND s.ended_at IS NULL")
    elif query.status == "ended":
        w.add("s.ended_at IS NOT NULL")
    has = dialect.has
    if query.teacher is not None:
        w.instructor(f"p.id = ? OR {has('p.name')}", query.teacher, query.teacher)
    if query.school is not None:
        w.instructor(f"p.school_id = ? OR {has('p.school')}", query.school, query.school)
    if query.district is not None:
        w.instructor(f"p.district_code = ? OR {has('p.district')}", query.district,
                     query.district)
    if query.scope_district:
        w.instructor("p.district_code = ?", query.scope_district)
    if query.scope_school:
        w.instructor("p.school_id = ?", query.scope_school)
    if paged and query.after is not None:
        # "start <= x" besides the exact pair test: it is what lets both back ends
        # begin the index walk at the cursor instead of filtering from the newest.
        w.add(f"{_START}{c} <= ? AND ({_START}{c}, s.id{c}) < (?, ?)",
              query.after.start, query.after.start, query.after.id)
    return w


def select_sql(query: SessionQuery, dialect: Dialect) -> tuple[str, tuple[Any, ...]]:
    """One page and one row more (whether there is a next page): rows of
    ``id, programme, form, title, scheduled_start, scheduled_end, started_at, ended_at,
    learners`` in the list's order."""
    w = _where(query, dialect, paged=True)
    c = dialect.collate
    sql = (f"SELECT {_COLUMNS} FROM sessions s{w.sql()} "
           f"ORDER BY {_START}{c} DESC, s.id{c} DESC LIMIT {dialect.placeholder}")
    return sql, (*w.params, query.limit + 1)


def count_sql(query: SessionQuery, dialect: Dialect) -> tuple[str, tuple[Any, ...]]:
    """How many sessions the query's filter and scope match (every page)."""
    w = _where(query, dialect, paged=False)
    return f"SELECT COUNT(*) FROM sessions s{w.sql()}", tuple(w.params)


def instructors_sql(ids: list[str], dialect: Dialect) -> tuple[str, tuple[Any, ...]]:
    """The instructors of these sessions, in each session's order of people."""
    marks = ", ".join([dialect.placeholder] * len(ids))
    return (
        "SELECT session_id, id, name, school, district, school_id, district_code FROM people "
        f"WHERE role = 'instructor' AND session_id IN ({marks}) ORDER BY session_id, ord",
        tuple(ids),
    )


def page_of(query: SessionQuery, rows: list[tuple[Any, ...]],
            instructors: list[tuple[Any, ...]]) -> SessionPage:
    """The page from :func:`select_sql`'s rows and :func:`instructors_sql`'s."""
    by_session: dict[str, list[Instructor]] = {}
    for r in instructors:
        by_session.setdefault(r[0], []).append(Instructor(*(str(v) for v in r[1:7])))
    sessions = tuple(
        SessionRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], int(r[8]),
                   tuple(by_session.get(r[0], ())))
        for r in rows[: query.limit]
    )
    more = len(rows) > query.limit
    last = sessions[-1] if sessions else None
    cursor = encode_cursor(Cursor(last.start, last.id)) if more and last is not None else None
    return SessionPage(sessions, cursor)
