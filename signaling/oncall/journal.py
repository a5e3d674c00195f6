"""Calls, declines and wait times, stored (issue 14): one row per finished call.

Two back ends like the other components (component ``oncall``): ``oncall.sqlite`` in
the data directory, or the PostgreSQL database of ``--database-url``; versioned
migrations run at start and by ``opentutor db upgrade``. The programme office reads
how often students were declined or waited in vain from here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import Any, Protocol

from recorder.database import Step, is_postgres_url
from recorder.small_postgres import SmallPostgres
from recorder.sqlite_thread import SqliteThread
from signaling.oncall.calls import Call
from signaling.session.timefmt import iso_at

COMPONENT = "oncall"
SQLITE_FILE = "oncall.sqlite"
_COLUMNS = ("call_id, student_id, teacher_id, subject, placed_at, rang_at, ended_at, "
            "outcome, reason, waited_ms, session_id")
_TABLE = """
CREATE TABLE oncall_calls (
    call_id TEXT PRIMARY KEY, student_id TEXT NOT NULL, teacher_id TEXT NOT NULL,
    subject TEXT NOT NULL, placed_at TEXT NOT NULL, rang_at TEXT, ended_at TEXT NOT NULL,
    outcome TEXT NOT NULL, reason TEXT NOT NULL, waited_ms BIGINT NOT NULL,
    session_id TEXT
);
CREATE INDEX oncall_calls_by_teacher ON oncall_calls(teacher_id, placed_at);
CREATE INDEX oncall_calls_by_student ON oncall_calls(student_id, placed_at)
"""
SQLITE: tuple[Step, ...] = (Step(1, "on-demand calls", _TABLE),)
POSTGRES: tuple[Step, ...] = (Step(1, "on-demand calls", _TABLE),)


@dataclass(frozen=True)
class CallRow:
    call_id: str
    student_id: str
    teacher_id: str
    subject: str
    placed_at: str
    rang_at: str | None
    ended_at: str
    outcome: str
    reason: str
    waited_ms: int
    session_id: str | None

    @classmethod
    def of(cls, call: Call, session_id: str | None = None) -> CallRow:
        assert call.ended_at is not None
        return cls(call.id, call.student, call.teacher, call.subject, iso_at(call.placed_at),
                   None if call.rang_at is None else iso_at(call.rang_at),
                   iso_at(call.ended_at), call.state, call.reason,
                   round(call.waited_s() * 1000), session_id)

    def wire(self) -> dict[str, Any]:
        return dict(zip(_COLUMNS.split(", "), astuple(self), strict=True))


class CallJournal(Protocol):
    schema_version: int

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def add(self, row: CallRow) -> None: ...
    async def recent(self, limit: int) -> list[CallRow]: ...


class SqliteCalls(SqliteThread):
    NAME = "oncall"
    COMPONENT = COMPONENT
    MIGRATIONS = SQLITE

    async def add(self, row: CallRow) -> None:
        await self._run(self._tx, [(
            f"INSERT INTO oncall_calls ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            astuple(row))])

    async def recent(self, limit: int) -> list[CallRow]:
        def get() -> list[CallRow]:
            rows = self.db.execute(f"SELECT {_COLUMNS} FROM oncall_calls "
                                   "ORDER BY placed_at DESC LIMIT ?", (limit,)).fetchall()
            return [CallRow(*r) for r in rows]

        return await self._run(get)


class PostgresCalls(SmallPostgres):
    """The same table in PostgreSQL; a small pool (one row per call)."""

    def __init__(self, url: str) -> None:
        super().__init__(url, component=COMPONENT, steps=POSTGRES, name="oncall")

    async def add(self, row: CallRow) -> None:
        from recorder.postgres import pooled

        async with pooled(self._pool, self._url) as conn:
            await conn.execute(
                f"INSERT INTO oncall_calls ({_COLUMNS}) VALUES "
                "(%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)", astuple(row))

    async def recent(self, limit: int) -> list[CallRow]:
        from recorder.postgres import pooled

        async with pooled(self._pool, self._url) as conn:
            cursor = await conn.execute(f"SELECT {_COLUMNS} FROM oncall_calls "
                                        "ORDER BY placed_at DESC LIMIT %s", (limit,))
            rows: Sequence[Any] = await cursor.fetchall()
        return [CallRow(*r) for r in rows]


def open_calls(database_url: str, data_dir: Path) -> CallJournal:
    """PostgreSQL for a ``postgresql://`` URL (its driver loaded only then), else SQLite."""
    if database_url and is_postgres_url(database_url):
        return PostgresCalls(database_url)
    return SqliteCalls(data_dir / SQLITE_FILE)
