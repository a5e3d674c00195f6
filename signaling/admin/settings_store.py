"""The versions of the term calendar and the policy numbers (issue 16): what the city
office changed in the console, kept for ever.

One row per version, append-only (the database refuses UPDATE and DELETE, as for the
audit log): ``seq`` (increasing over every kind: the version's number), ``kind``
(``calendar``, ``policy:training``, ``policy:tutoring``), ``base`` (the version it was
made from: 0 is the configured file, which is not stored), the whole ``document`` as
TOML text in the files' own format, ``at``, ``who`` and ``note`` (why).

Two officers editing at once: a version is written only if its ``base`` is still the
latest of its kind (:class:`StaleBase` otherwise, a 409 to the second one). SQLite
checks under its write lock; PostgreSQL by ``UNIQUE (kind, base)`` on top of the same
check, so of two concurrent edits from one base only the first is kept.

The rows only: what a document means is :mod:`recorder.credits.editing`'s. Component
``settings`` of ``opentutor db upgrade``: ``settings.sqlite`` in the data directory,
or the PostgreSQL database of ``--database-url`` (shared by the nodes).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from recorder.database import Step, is_postgres_url
from recorder.small_postgres import SmallPostgres
from recorder.sqlite_thread import SqliteThread

COMPONENT = "settings"
SQLITE_FILE = "settings.sqlite"
_COLUMNS = "seq, kind, base, document, at, who, note"

_SQLITE_TABLE = """
CREATE TABLE settings_versions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,    -- never reused
    kind TEXT NOT NULL, base INTEGER NOT NULL, document TEXT NOT NULL,
    at TEXT NOT NULL, who TEXT NOT NULL, note TEXT NOT NULL,
    UNIQUE (kind, base)
);
CREATE INDEX settings_versions_by_kind ON settings_versions(kind, seq)
"""


def _sqlite_append_only(db: sqlite3.Connection) -> None:
    # A trigger body holds ";", which the migration runner's SQL splitter would cut.
    for verb in ("UPDATE", "DELETE"):
        db.execute(
            f"CREATE TRIGGER settings_versions_no_{verb.lower()} BEFORE {verb} ON "
            "settings_versions BEGIN SELECT RAISE(ABORT, 'the settings versions are "
            "append-only'); END")


SQLITE: tuple[Step, ...] = (
    Step(1, "calendar and policy versions", sql=_SQLITE_TABLE),
    Step(2, "the versions refuse UPDATE and DELETE", run=_sqlite_append_only),
)
_POSTGRES_TABLE = """
CREATE TABLE settings_versions (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind TEXT NOT NULL, base BIGINT NOT NULL, document TEXT NOT NULL,
    at TEXT NOT NULL, who TEXT NOT NULL, note TEXT NOT NULL,
    UNIQUE (kind, base)
);
CREATE INDEX settings_versions_by_kind ON settings_versions(kind, seq);
CREATE FUNCTION settings_versions_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the settings versions are append-only';
END $$;
CREATE TRIGGER settings_versions_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON settings_versions
    FOR EACH STATEMENT EXECUTE FUNCTION settings_versions_append_only();
"""
POSTGRES: tuple[Step, ...] = (
    Step(1, "calendar and policy versions (append-only)", sql=_POSTGRES_TABLE),
)


@dataclass(frozen=True, slots=True)
class SettingsVersion:
    seq: int
    kind: str
    base: int
    document: str  # TOML text
    at: str  # ISO UTC with milliseconds
    who: str
    note: str


class StaleBase(Exception):
    """The edit's base is no longer the latest version of its kind."""

    def __init__(self, latest: int) -> None:
        super().__init__(f"the latest version is {latest}")
        self.latest = latest


def _version(row: Sequence[Any]) -> SettingsVersion:
    return SettingsVersion(int(row[0]), str(row[1]), int(row[2]), str(row[3]), str(row[4]),
                           str(row[5]), str(row[6]))


class SettingsStore(Protocol):
    schema_version: int

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def latest_seq(self) -> int:
        """The highest seq of any kind (0: none): one cheap query that tells a node
        whether anything changed since it last looked."""
        ...
    async def latest(self, kind: str) -> SettingsVersion | None: ...
    async def version(self, kind: str, seq: int) -> SettingsVersion | None: ...
    async def history(self, kind: str, limit: int) -> list[SettingsVersion]:
        """The newest ``limit`` versions of ``kind``, newest first."""
        ...
    async def append(self, kind: str, base: int, document: str, at: str, who: str,
                     note: str) -> SettingsVersion:
        """Add a version made from ``base``; :class:`StaleBase` if ``base`` is not the
        latest of ``kind`` (0 when it has none)."""
        ...


class SqliteSettings(SqliteThread):
    NAME = "settings"
    COMPONENT = COMPONENT
    MIGRATIONS = SQLITE

    async def _rows(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        def get() -> list[tuple[Any, ...]]:
            return self.db.execute(sql, params).fetchall()

        return await self._run(get)

    async def latest_seq(self) -> int:
        rows = await self._rows("SELECT COALESCE(MAX(seq), 0) FROM settings_versions", ())
        return int(rows[0][0])

    async def latest(self, kind: str) -> SettingsVersion | None:
        rows = await self._rows(f"SELECT {_COLUMNS} FROM settings_versions WHERE kind=? "
                                "ORDER BY seq DESC LIMIT 1", (kind,))
        return _version(rows[0]) if rows else None

    async def version(self, kind: str, seq: int) -> SettingsVersion | None:
        rows = await self._rows(f"SELECT {_COLUMNS} FROM settings_versions WHERE kind=? "
                                "AND seq=?", (kind, seq))
        return _version(rows[0]) if rows else None

    async def history(self, kind: str, limit: int) -> list[SettingsVersion]:
        rows = await self._rows(f"SELECT {_COLUMNS} FROM settings_versions WHERE kind=? "
                                "ORDER BY seq DESC LIMIT ?", (kind, limit))
        return [_version(r) for r in rows]

    async def append(self, kind: str, base: int, document: str, at: str, who: str,
                     note: str) -> SettingsVersion:
        def add() -> SettingsVersion:
            db = self.db
            db.execute("BEGIN IMMEDIATE")  # the write lock: no edit between check and insert
            try:
                latest = int(db.execute("SELECT COALESCE(MAX(seq), 0) FROM settings_versions "
                                        "WHERE kind=?", (kind,)).fetchone()[0])
                if latest != base:
                    raise StaleBase(latest)
                cur = db.execute(
                    "INSERT INTO settings_versions (kind, base, document, at, who, note) "
                    "VALUES (?,?,?,?,?,?)", (kind, base, document, at, who, note))
                seq = int(cur.lastrowid or 0)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
            return SettingsVersion(seq, kind, base, document, at, who, note)

        return await self._run(add)


class PostgresSettings(SmallPostgres):
    """The same table in PostgreSQL, shared by the nodes; a small pool (edits are rare,
    reads are one ``MAX(seq)`` per node every few seconds)."""

    def __init__(self, url: str) -> None:
        super().__init__(url, component=COMPONENT, steps=POSTGRES, name="settings")

    async def _rows(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        from recorder.postgres import pooled

        async with pooled(self._pool, self._url) as conn:
            cursor = await conn.execute(sql.encode(), params)
            return list(await cursor.fetchall())

    async def latest_seq(self) -> int:
        rows = await self._rows("SELECT COALESCE(MAX(seq), 0) FROM settings_versions", ())
        return int(rows[0][0])

    async def latest(self, kind: str) -> SettingsVersion | None:
        rows = await self._rows(f"SELECT {_COLUMNS} FROM settings_versions WHERE kind=%s "
                                "ORDER BY seq DESC LIMIT 1", (kind,))
        return _version(rows[0]) if rows else None

    async def version(self, kind: str, seq: int) -> SettingsVersion | None:
        rows = await self._rows(f"SELECT {_COLUMNS} FROM settings_versions WHERE kind=%s "
                                "AND seq=%s", (kind, seq))
        return _version(rows[0]) if rows else None

    async def history(self, kind: str, limit: int) -> list[SettingsVersion]:
        rows = await self._rows(f"SELECT {_COLUMNS} FROM settings_versions WHERE kind=%s "
                                "ORDER BY seq DESC LIMIT %s", (kind, limit))
        return [_version(r) for r in rows]

    async def append(self, kind: str, base: int, document: str, at: str, who: str,
                     note: str) -> SettingsVersion:
        import psycopg

        try:
            rows = await self._rows(
                "INSERT INTO settings_versions (kind, base, document, at, who, note) "
                "SELECT %s, %s, %s, %s, %s, %s WHERE COALESCE((SELECT MAX(seq) FROM "
                "settings_versions WHERE kind=%s), 0) = %s RETURNING seq",
                (kind, base, document, at, who, note, kind, base))
        except psycopg.errors.UniqueViolation:
            rows = []  # another edit from the same base committed first
        if not rows:
            latest = await self.latest(kind)
            raise StaleBase(latest.seq if latest is not None else 0)
        return SettingsVersion(int(rows[0][0]), kind, base, document, at, who, note)


def open_settings(database_url: str, data_dir: Path) -> SettingsStore:
    """PostgreSQL for a ``postgresql://`` URL (its driver loaded only then), else SQLite."""
    if database_url and is_postgres_url(database_url):
        return PostgresSettings(database_url)
    return SqliteSettings(data_dir / SQLITE_FILE)
