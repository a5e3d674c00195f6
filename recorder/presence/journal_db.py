"""Where the presence journal's rows live: a SQLite file (the embedded default) or
PostgreSQL (:mod:`recorder.presence.journal_pg`), behind one small interface.

The :class:`~recorder.presence.journal.Journal` keeps everything about *when* rows are
written (the heartbeat, the retry of a failed batch, the live view of what is still
queued); a :class:`JournalDb` only knows *how*: the schema, the recovery of this node's
open intervals at start, one transaction per heartbeat, and consistent reads.
Writer methods run on the journal's one writer thread; reads run on the event loop's
thread under the journal's read lock, on a connection of their own.

The SQL is written once, with ``?`` placeholders; the PostgreSQL back end rewrites
them. Rows are plain tuples in the column order below.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from recorder.presence import evidence_store

log = logging.getLogger(__name__)

EVENT_COLUMNS = "node_id, run_id, seq, session_id, person, kind, detail, at"
TRANSITION_COLUMNS = "node_id, run_id, seq, session_id, person, at, active, detail"
_EIGHT = "?, ?, ?, ?, ?, ?, ?, ?"
INSERT_EVENT = f"INSERT INTO events ({EVENT_COLUMNS}) VALUES ({_EIGHT})"
INSERT_TRANSITION = f"INSERT INTO transitions ({TRANSITION_COLUMNS}) VALUES ({_EIGHT})"
SELECT_EVENTS = f"SELECT {EVENT_COLUMNS} FROM events WHERE session_id = ? ORDER BY id"
SELECT_TRANSITIONS = (
    f"SELECT {TRANSITION_COLUMNS} FROM transitions WHERE session_id = ? ORDER BY id"
)
SELECT_BEATS = "SELECT node_id, at FROM heartbeat"
SELECT_BEAT = "SELECT at FROM heartbeat WHERE node_id = ?"
UPSERT_BEAT = (
    "INSERT INTO heartbeat (node_id, run_id, at) VALUES (?, ?, ?)"
    " ON CONFLICT (node_id) DO UPDATE SET run_id = excluded.run_id, at = excluded.at"
)
RECOVER = (
    f"INSERT INTO transitions ({TRANSITION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, 0, 'recovered')"
)
# The last transition of each (session, person) a node wrote; open if it is a start.
OPEN_INTERVALS = """
SELECT t.session_id, t.person, t.at FROM transitions AS t
JOIN (SELECT MAX(id) AS id FROM transitions WHERE node_id = ? GROUP BY session_id, person)
     AS last ON t.id = last.id
WHERE t.active = 1
"""

Rows = list[tuple[Any, ...]]
Evidence = Sequence[tuple[evidence_store.Key, evidence_store.Row]]


class JournalDb(Protocol):
    where: str  # for messages: a path, or a URL without its password

    def open_writer(
        self, node_id: str, run_id: str, now: float, seq: Iterator[int]
    ) -> tuple[float, list[tuple[str, str, float]]]:
        """Create or upgrade the schema, close the intervals this node left open at its
        last durable heartbeat (rows numbered from ``seq``, detail ``recovered``) and
        write a heartbeat, in one transaction. Returns (the heartbeat written, the
        recovered (session, person, closed at))."""
        ...

    def commit(
        self,
        events: Sequence[tuple[Any, ...]],
        transitions: Sequence[tuple[Any, ...]],
        evidence: Evidence,
        node_id: str,
        run_id: str,
        beat: float,
    ) -> None:
        """One heartbeat's rows and the heartbeat, durably, in one transaction."""
        ...

    def open_reader(self) -> None:
        """A read-only connection of its own (also without a writer: ``read_only``)."""
        ...

    def transitions(self, session_id: str) -> tuple[Rows, dict[str, float]]:
        """The session's transitions and every node's heartbeat, from one snapshot."""
        ...

    def events(self, session_id: str) -> Rows: ...

    def evidence(self, session_id: str) -> Rows:
        """``evidence_store.SELECT``'s rows: node, person, minute, then the columns."""
        ...

    def close(self) -> None: ...

    def upgrade(self) -> int:
        """Create or upgrade the schema only (``opentutor db upgrade``); the version."""
        ...


def recover(
    rows: Rows, last_beat: float | None, node_id: str, run_id: str, seq: Iterator[int]
) -> tuple[list[tuple[Any, ...]], list[tuple[str, str, float]]]:
    """The closing rows for intervals a node left open, ended at its last heartbeat.
    An open start is always committed with a heartbeat at or after it; max() only
    guards against a clock that stepped back."""
    inserts, recovered = [], []
    for session_id, person, start in rows:
        end = start if last_beat is None else max(float(start), last_beat)
        inserts.append((node_id, run_id, next(seq), session_id, person, end))
        recovered.append((session_id, person, end))
    return inserts, recovered


# --- SQLite ---------------------------------------------------------------------------

SQLITE_VERSION = 2  # 2: per-minute media evidence (evidence_store.SCHEMA)
SQLITE_SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS events (
    id         INTEGER PRIMARY KEY,
    node_id    TEXT    NOT NULL,
    run_id     TEXT    NOT NULL,
    seq        INTEGER NOT NULL,
    session_id TEXT    NOT NULL,
    person     TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    detail     TEXT    NOT NULL,
    at         REAL    NOT NULL   -- server UTC, seconds since the epoch, as observed
);
CREATE INDEX IF NOT EXISTS events_by_session ON events (session_id, id);

CREATE TABLE IF NOT EXISTS transitions (
    id         INTEGER PRIMARY KEY,
    node_id    TEXT    NOT NULL,
    run_id     TEXT    NOT NULL,
    seq        INTEGER NOT NULL,
    session_id TEXT    NOT NULL,
    person     TEXT    NOT NULL,
    at         REAL    NOT NULL,   -- start (active=1) or end (active=0) of an interval
    active     INTEGER NOT NULL CHECK (active IN (0, 1)),
    detail     TEXT    NOT NULL    -- cause: traffic, signal_down, timeout, recovered, ...
);
CREATE INDEX IF NOT EXISTS transitions_by_session ON transitions (session_id, id);
CREATE INDEX IF NOT EXISTS transitions_by_node ON transitions (node_id, session_id, person, id);

CREATE TABLE IF NOT EXISTS heartbeat (
    node_id TEXT PRIMARY KEY,
    run_id  TEXT NOT NULL,
    at      REAL NOT NULL   -- everything this node observed up to here is on disk
);

CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER IF NOT EXISTS transitions_no_update BEFORE UPDATE ON transitions
BEGIN SELECT RAISE(ABORT, 'transitions are append-only'); END;
CREATE TRIGGER IF NOT EXISTS transitions_no_delete BEFORE DELETE ON transitions
BEGIN SELECT RAISE(ABORT, 'transitions are append-only'); END;
"""
    + evidence_store.SCHEMA
)


class SqliteJournalDb:
    """One SQLite file: WAL (readers never wait for the writer), ``synchronous=FULL``
    (a commit is on disk when it returns); events and transitions append-only by
    trigger."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.where = str(path)
        self._db: sqlite3.Connection | None = None
        self._reader: sqlite3.Connection | None = None

    def _connect_writer(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA busy_timeout = 5000")
            if db.execute("PRAGMA journal_mode = WAL").fetchone()[0] != "wal":
                raise RuntimeError(f"{self.path}: cannot use WAL journal mode")
            db.execute("PRAGMA synchronous = FULL")
            db.executescript(SQLITE_SCHEMA)
            db.execute(f"PRAGMA user_version = {SQLITE_VERSION}")
        except BaseException:
            db.close()
            raise
        return db

    def upgrade(self) -> int:
        self._connect_writer().close()
        return SQLITE_VERSION

    def open_writer(
        self, node_id: str, run_id: str, now: float, seq: Iterator[int]
    ) -> tuple[float, list[tuple[str, str, float]]]:
        db = self._connect_writer()
        try:
            with _transaction(db):
                row = db.execute(SELECT_BEAT, (node_id,)).fetchone()
                last_beat = None if row is None else float(row[0])
                inserts, recovered = recover(
                    db.execute(OPEN_INTERVALS, (node_id,)).fetchall(), last_beat, node_id,
                    run_id, seq,
                )  # fmt: skip
                db.executemany(RECOVER, inserts)
                beat = now if last_beat is None else max(now, last_beat)
                db.execute(UPSERT_BEAT, (node_id, run_id, beat))
        except BaseException:
            db.close()
            raise
        self._db = db
        return beat, recovered

    def commit(
        self,
        events: Sequence[tuple[Any, ...]],
        transitions: Sequence[tuple[Any, ...]],
        evidence: Evidence,
        node_id: str,
        run_id: str,
        beat: float,
    ) -> None:
        db = self._db
        assert db is not None
        with _transaction(db):  # synchronous=FULL: on disk when the COMMIT returns
            db.executemany(INSERT_EVENT, events)
            db.executemany(INSERT_TRANSITION, transitions)
            db.executemany(evidence_store.UPSERT, [(*k, *v) for k, v in evidence])
            db.execute(UPSERT_BEAT, (node_id, run_id, beat))

    def open_reader(self) -> None:
        if not self.path.exists():
            raise FileNotFoundError(f"{self.path}: no presence journal here")
        reader = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        reader.execute("PRAGMA busy_timeout = 5000")
        reader.execute("PRAGMA query_only = ON")
        self._reader = reader

    def _read(self, sql: str, args: tuple[Any, ...], beats: bool) -> tuple[Rows, dict[str, float]]:
        db = self._reader
        if db is None:
            raise RuntimeError("the journal is not open")
        db.execute("BEGIN")  # one snapshot for rows and heartbeats
        try:
            rows = db.execute(sql, args).fetchall()
            found = {n: float(a) for n, a in db.execute(SELECT_BEATS)} if beats else {}
        finally:
            db.execute("COMMIT")
        return rows, found

    def transitions(self, session_id: str) -> tuple[Rows, dict[str, float]]:
        return self._read(SELECT_TRANSITIONS, (session_id,), True)

    def events(self, session_id: str) -> Rows:
        return self._read(SELECT_EVENTS, (session_id,), False)[0]

    def evidence(self, session_id: str) -> Rows:
        return self._read(evidence_store.SELECT, (session_id,), False)[0]

    def close(self) -> None:
        for db in (self._db, self._reader):
            if db is not None:
                db.close()
        self._db = self._reader = None


class _transaction:
    """BEGIN IMMEDIATE … COMMIT, or ROLLBACK on any exception (cancellation included)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, exc: object, tb: object) -> None:
        if kind is None:
            self._db.execute("COMMIT")
        elif self._db.in_transaction:
            self._db.execute("ROLLBACK")


__all__ = ["JournalDb", "SqliteJournalDb", "recover"]
