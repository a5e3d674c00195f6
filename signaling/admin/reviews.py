"""Supervision reviews (issue 16): a supervisor's 已核查 on one flag of the supervisor
report, with an outcome and a note.

A flag is recomputed from the records on every request (nothing stores it), so a review
is tied to the flag by a *key* made of what does not change while the records stand:
the kind, the flagged session (for ``overlap`` also the other session), the people and,
for the text kinds, which text (feedback or report). Evidence figures are left out on
purpose: more evidence rows arriving later must not orphan a review.

Reviews are kept, never replaced: each one is a row, and the report shows the latest
per key, so an earlier judgement stays readable in the database (and in the audit log).
Two back ends like the other components (component ``reviews``): ``reviews.sqlite`` in
the data directory, or the PostgreSQL database of ``--database-url``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from recorder.database import Step, is_postgres_url
from recorder.small_postgres import SmallPostgres
from recorder.sqlite_thread import SqliteThread

COMPONENT = "reviews"
SQLITE_FILE = "reviews.sqlite"
Outcome = Literal["ok", "irregular"]
OUTCOMES: tuple[Outcome, ...] = ("ok", "irregular")
MAX_KEY = 1000  # a key holds ids of a few people and sessions; more is not a key
_KINDS_WITH_TEXT = ("text_rules", "text_window")
_COLUMNS = "flag_key, session_id, reviewed_by, at, outcome, note"
# ``seq`` orders reviews of one key (times of two nodes may tie or disagree).
_SQLITE_TABLE = """
CREATE TABLE supervision_reviews (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    flag_key TEXT NOT NULL, session_id TEXT NOT NULL, reviewed_by TEXT NOT NULL,
    at TEXT NOT NULL, outcome TEXT NOT NULL, note TEXT NOT NULL
);
CREATE INDEX supervision_reviews_by_key ON supervision_reviews(flag_key, seq)
"""
_POSTGRES_TABLE = """
CREATE TABLE supervision_reviews (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    flag_key TEXT NOT NULL, session_id TEXT NOT NULL, reviewed_by TEXT NOT NULL,
    at TEXT NOT NULL, outcome TEXT NOT NULL, note TEXT NOT NULL
);
CREATE INDEX supervision_reviews_by_key ON supervision_reviews(flag_key, seq)
"""
SQLITE: tuple[Step, ...] = (Step(1, "supervision reviews", _SQLITE_TABLE),)
POSTGRES: tuple[Step, ...] = (Step(1, "supervision reviews", _POSTGRES_TABLE),)
_CHUNK = 500  # keys per query: well under SQLite's bound on parameters


def flag_key(flag: Mapping[str, Any]) -> str:
    """The stable key of a flag as the report serves it (``to_json``):
    ``kind|session[+other session]|person,person[|what]``."""
    kind = str(flag["kind"])
    sessions = [str(flag["session_id"])]
    evidence = flag.get("evidence") or {}
    if kind == "overlap":
        sessions += [str(s) for s in evidence.get("sessions", ()) if s != flag["session_id"]]
    parts = [kind, "+".join(sessions), ",".join(str(p) for p in flag.get("people", ()))]
    if kind in _KINDS_WITH_TEXT and evidence.get("what"):
        parts.append(str(evidence["what"]))
    return "|".join(parts)


def key_sessions(key: str) -> list[str]:
    """The session ids a key names (the flagged one first); [] for no key of ours."""
    parts = key.split("|")
    if len(parts) not in (3, 4) or not parts[0] or not parts[1]:
        return []
    return parts[1].split("+")


def key_kind(key: str) -> str:
    return key.split("|", 1)[0]


@dataclass(frozen=True, slots=True)
class Review:
    flag_key: str
    session_id: str  # the flagged session: whose scope the review is in
    reviewed_by: str
    at: str  # ISO UTC with milliseconds
    outcome: Outcome
    note: str

    def wire(self) -> dict[str, Any]:
        return {"reviewed_by": self.reviewed_by, "at": self.at, "outcome": self.outcome,
                "note": self.note}


def _review(row: Sequence[Any]) -> Review:
    return Review(str(row[0]), str(row[1]), str(row[2]), str(row[3]), row[4], str(row[5]))


def _latest(rows: Iterable[Sequence[Any]]) -> dict[str, Review]:
    """Rows in ``seq`` order → the last one of each key."""
    return {str(row[0]): _review(row) for row in rows}


class ReviewStore(Protocol):
    schema_version: int

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def add(self, review: Review) -> None: ...
    async def latest(self, keys: Sequence[str]) -> dict[str, Review]:
        """The latest review of each of ``keys`` that has one."""
        ...


class SqliteReviews(SqliteThread):
    NAME = "reviews"
    COMPONENT = COMPONENT
    MIGRATIONS = SQLITE

    async def add(self, review: Review) -> None:
        await self._run(self._tx, [(
            f"INSERT INTO supervision_reviews ({_COLUMNS}) VALUES (?,?,?,?,?,?)",
            astuple(review))])

    async def latest(self, keys: Sequence[str]) -> dict[str, Review]:
        def get() -> dict[str, Review]:
            out: dict[str, Review] = {}
            for i in range(0, len(keys), _CHUNK):
                chunk = list(keys[i:i + _CHUNK])
                marks = ",".join("?" * len(chunk))
                out.update(_latest(self.db.execute(
                    f"SELECT {_COLUMNS} FROM supervision_reviews WHERE flag_key IN ({marks}) "
                    "ORDER BY seq", chunk).fetchall()))
            return out

        return await self._run(get) if keys else {}


class PostgresReviews(SmallPostgres):
    """The same table in PostgreSQL; a small pool (reviews are a supervisor's clicks)."""

    def __init__(self, url: str) -> None:
        super().__init__(url, component=COMPONENT, steps=POSTGRES, name="reviews")

    async def add(self, review: Review) -> None:
        from recorder.postgres import pooled

        async with pooled(self._pool, self._url) as conn:
            await conn.execute(
                f"INSERT INTO supervision_reviews ({_COLUMNS}) VALUES (%s,%s,%s,%s,%s,%s)",
                astuple(review))

    async def latest(self, keys: Sequence[str]) -> dict[str, Review]:
        from recorder.postgres import pooled

        if not keys:
            return {}
        out: dict[str, Review] = {}
        async with pooled(self._pool, self._url) as conn:
            for i in range(0, len(keys), _CHUNK):
                cursor = await conn.execute(
                    f"SELECT {_COLUMNS} FROM supervision_reviews WHERE flag_key = ANY(%s) "
                    "ORDER BY seq", (list(keys[i:i + _CHUNK]),))
                out.update(_latest(await cursor.fetchall()))
        return out


def open_reviews(database_url: str, data_dir: Path) -> ReviewStore:
    """PostgreSQL for a ``postgresql://`` URL (its driver loaded only then), else SQLite."""
    if database_url and is_postgres_url(database_url):
        return PostgresReviews(database_url)
    return SqliteReviews(data_dir / SQLITE_FILE)
