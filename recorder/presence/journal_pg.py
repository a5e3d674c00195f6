"""The presence journal in PostgreSQL (``--database-url postgresql://…``), so that
several machines write one journal and any of them can compute a record.

The same promise as the SQLite file: the heartbeat's rows and the heartbeat commit in
one transaction, and a commit has returned only when it is durable (PostgreSQL's
default ``synchronous_commit = on``; the journal refuses to start if the server says
otherwise), so a SIGKILL of the node loses at most the last heartbeat. Events and
transitions are append-only here too (a trigger refuses UPDATE and DELETE).

One writer connection, kept on the journal's writer thread (psycopg's plain
connection, autocommit with explicit transactions); one reader connection whose reads
are REPEATABLE READ transactions, so the rows and the heartbeats come from one
snapshot. A connection lost with the database (a restart, a network cut) is dropped
and made again at the next use; meanwhile commits fail as ``DatabaseUnavailable`` and
the journal keeps the batch for the next heartbeat.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import psycopg

from recorder.database import Step, redacted
from recorder.postgres import GONE, connect, unavailable, upgrade
from recorder.presence import evidence_store, journal_db
from recorder.presence.journal_db import Evidence, Rows

COMPONENT = "journal"
STEPS: tuple[Step, ...] = (
    Step(1, "events, transitions, heartbeat and per-minute evidence", """
CREATE TABLE events (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    node_id    TEXT             NOT NULL,
    run_id     TEXT             NOT NULL,
    seq        BIGINT           NOT NULL,
    session_id TEXT             NOT NULL,
    person     TEXT             NOT NULL,
    kind       TEXT             NOT NULL,
    detail     TEXT             NOT NULL,
    at         DOUBLE PRECISION NOT NULL
);
CREATE INDEX events_by_session ON events (session_id, id);
CREATE TABLE transitions (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    node_id    TEXT             NOT NULL,
    run_id     TEXT             NOT NULL,
    seq        BIGINT           NOT NULL,
    session_id TEXT             NOT NULL,
    person     TEXT             NOT NULL,
    at         DOUBLE PRECISION NOT NULL,
    active     SMALLINT         NOT NULL CHECK (active IN (0, 1)),
    detail     TEXT             NOT NULL
);
CREATE INDEX transitions_by_session ON transitions (session_id, id);
CREATE INDEX transitions_by_node ON transitions (node_id, session_id, person, id);
CREATE TABLE heartbeat (
    node_id TEXT PRIMARY KEY,
    run_id  TEXT             NOT NULL,
    at      DOUBLE PRECISION NOT NULL
);
CREATE FUNCTION opentutor_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION '% are append-only', TG_TABLE_NAME; END $$;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION opentutor_append_only();
CREATE TRIGGER transitions_append_only BEFORE UPDATE OR DELETE ON transitions
    FOR EACH ROW EXECUTE FUNCTION opentutor_append_only();
CREATE TABLE evidence (
    session_id        TEXT             NOT NULL,
    node_id           TEXT             NOT NULL,
    person            TEXT             NOT NULL,
    minute            BIGINT           NOT NULL,
    audio_packets     BIGINT           NOT NULL,
    audio_bytes       BIGINT           NOT NULL,
    video_packets     BIGINT           NOT NULL,
    video_bytes       BIGINT           NOT NULL,
    video_frames      BIGINT           NOT NULL,
    video_keyframes   BIGINT           NOT NULL,
    forwarded_packets BIGINT           NOT NULL,
    forwarded_bytes   BIGINT           NOT NULL,
    rr_loss_max       DOUBLE PRECISION NOT NULL,
    rr_jitter_max_ms  DOUBLE PRECISION NOT NULL,
    levels            BYTEA            NOT NULL,
    frames            BYTEA            NOT NULL,
    forwarded         BYTEA            NOT NULL,
    confirmed         BIGINT           NOT NULL,
    PRIMARY KEY (session_id, person, minute, node_id)
);
"""),
)


def _pg(sql: str) -> str:
    """The shared SQL (``?`` placeholders) in psycopg's style."""
    return sql.replace("?", "%s")


INSERT_EVENT = _pg(journal_db.INSERT_EVENT)
INSERT_TRANSITION = _pg(journal_db.INSERT_TRANSITION)
UPSERT_EVIDENCE = _pg(evidence_store.UPSERT)
UPSERT_BEAT = _pg(journal_db.UPSERT_BEAT)
RECOVER = _pg(journal_db.RECOVER)


class PostgresJournalDb:
    def __init__(self, url: str) -> None:
        self.url = url
        self.where = redacted(url)
        self._writer: psycopg.Connection[Any] | None = None
        self._reader: psycopg.Connection[Any] | None = None

    # -- writer thread

    def open_writer(
        self, node_id: str, run_id: str, now: float, seq: Iterator[int]
    ) -> tuple[float, list[tuple[str, str, float]]]:
        conn = self._writer_connection()
        try:
            upgrade(conn, COMPONENT, STEPS)
            durable = conn.execute("SHOW synchronous_commit").fetchone()
            if durable is not None and durable[0] == "off":
                raise RuntimeError(
                    f"{self.where}: synchronous_commit is off, so a commit may not be on "
                    "disk when it returns; the presence journal needs it on"
                )
            with conn.transaction():
                row = conn.execute(_pg(journal_db.SELECT_BEAT), (node_id,)).fetchone()
                last_beat = None if row is None else float(row[0])
                opened = conn.execute(_pg(journal_db.OPEN_INTERVALS), (node_id,)).fetchall()
                inserts, recovered = journal_db.recover(opened, last_beat, node_id, run_id, seq)
                with conn.cursor() as cur:
                    cur.executemany(RECOVER, inserts)
                beat = now if last_beat is None else max(now, last_beat)
                conn.execute(UPSERT_BEAT, (node_id, run_id, beat))
        except GONE as exc:
            self._drop_writer()
            raise unavailable(self.url, exc) from exc
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
        conn = self._writer_connection()
        try:
            with conn.transaction(), conn.cursor() as cur:
                if events:
                    cur.executemany(INSERT_EVENT, events)
                if transitions:
                    cur.executemany(INSERT_TRANSITION, transitions)
                if evidence:
                    cur.executemany(UPSERT_EVIDENCE, [(*k, *v) for k, v in evidence])
                cur.execute(UPSERT_BEAT, (node_id, run_id, beat))
        except GONE as exc:
            self._drop_writer()  # made again at the next heartbeat
            raise unavailable(self.url, exc) from exc

    def _writer_connection(self) -> psycopg.Connection[Any]:
        if self._writer is None or self._writer.closed:
            self._writer = connect(self.url, name="journal")
        return self._writer

    def _drop_writer(self) -> None:
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.close()
        self._writer = None

    # -- readers

    def open_reader(self) -> None:
        self._reader = connect(self.url, name="journal reader")

    def _read(self, sql: str, args: tuple[Any, ...], beats: bool) -> tuple[Rows, dict[str, float]]:
        if self._reader is None or self._reader.closed:
            self._reader = connect(self.url, name="journal reader")
        conn = self._reader
        try:
            with conn.transaction():
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                rows = conn.execute(_pg(sql), args).fetchall()
                found: dict[str, float] = {}
                if beats:
                    found = {n: float(a) for n, a in conn.execute(journal_db.SELECT_BEATS)}
        except GONE as exc:
            with contextlib.suppress(Exception):
                conn.close()
            self._reader = None
            raise unavailable(self.url, exc) from exc
        # BYTEA arrives as memoryview/bytes: the rows are read as bytes everywhere.
        return [tuple(bytes(v) if isinstance(v, memoryview) else v for v in r) for r in rows], found

    def transitions(self, session_id: str) -> tuple[Rows, dict[str, float]]:
        return self._read(journal_db.SELECT_TRANSITIONS, (session_id,), True)

    def events(self, session_id: str) -> Rows:
        return self._read(journal_db.SELECT_EVENTS, (session_id,), False)[0]

    def evidence(self, session_id: str) -> Rows:
        return self._read(evidence_store.SELECT, (session_id,), False)[0]

    def upgrade(self) -> int:
        return upgrade_journal(self.url)

    def close(self) -> None:
        for conn in (self._writer, self._reader):
            if conn is not None:
                with contextlib.suppress(Exception):
                    conn.close()
        self._writer = self._reader = None


def upgrade_journal(url: str) -> int:
    """``opentutor db upgrade``: bring the journal's tables to this version."""
    with connect(url, name="migrations") as conn:
        try:
            return upgrade(conn, COMPONENT, STEPS)
        except GONE as exc:
            raise unavailable(url, exc) from exc


__all__ = ["COMPONENT", "STEPS", "PostgresJournalDb", "upgrade_journal"]
