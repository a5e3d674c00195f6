"""The recordings index in PostgreSQL (``--database-url postgresql://…``): the same
tables as the SQLite index, shared by every node, so any node lists a recording and
serves its files from the shared recordings root (``--recordings-dir``).

The index's interface is synchronous (the recorders' writer threads write and wait:
:mod:`recorder.media.recording_index`), so this one keeps psycopg's thread-safe pool
of plain connections (why psycopg: :mod:`recorder.postgres`) rather than an asyncio
one: :meth:`call` runs the method on the calling thread with a pooled connection,
and the event loop's ``a…`` wrappers run it on a worker thread. Each write is one
transaction; a database that is away raises ``DatabaseUnavailable`` within seconds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg
from psycopg_pool import ConnectionPool

import recorder.postgres as pg
from recorder.database import Step
from recorder.media.recording_index import (
    COMPONENT,
    RECORDING_COLUMNS,
    ForTheLoop,
    Gap,
    Recording,
    Segment,
    Track,
)

T = TypeVar("T")

POOL_SIZE = 6  # the recorders' writer threads and the loop's reads share these

MIGRATIONS: tuple[Step, ...] = (
    Step(1, "recordings, tracks, segments, gaps, viewers, deliveries", sql="""
CREATE TABLE recordings (
    id TEXT PRIMARY KEY, session_id TEXT NOT NULL,
    origin_wall DOUBLE PRECISION NOT NULL,    -- server UTC (epoch s) at t = 0
    state TEXT NOT NULL,                      -- recording | complete | incomplete
    stopped_at DOUBLE PRECISION,
    heartbeat_at DOUBLE PRECISION NOT NULL,
    duration_s DOUBLE PRECISION NOT NULL DEFAULT 0,
    file_bytes BIGINT,
    node TEXT NOT NULL DEFAULT ''             -- the node that runs it
);
CREATE INDEX recordings_by_session ON recordings(session_id, origin_wall);
CREATE INDEX recordings_open ON recordings(state) WHERE state = 'recording';
CREATE TABLE tracks (
    recording_id TEXT NOT NULL, track TEXT NOT NULL, person TEXT NOT NULL,
    kind TEXT NOT NULL, codec TEXT NOT NULL,
    ord BIGINT GENERATED ALWAYS AS IDENTITY,  -- the order tracks appeared in
    PRIMARY KEY (recording_id, track)
);
CREATE TABLE segments (
    recording_id TEXT NOT NULL, track TEXT NOT NULL, n INTEGER NOT NULL,
    start_s DOUBLE PRECISION NOT NULL, end_s DOUBLE PRECISION NOT NULL,
    frames INTEGER NOT NULL, bytes BIGINT NOT NULL,
    PRIMARY KEY (recording_id, track, n)
);
CREATE TABLE gaps (
    recording_id TEXT NOT NULL, track TEXT, start_s DOUBLE PRECISION NOT NULL,
    end_s DOUBLE PRECISION NOT NULL, reason TEXT NOT NULL
);
CREATE INDEX gaps_of ON gaps(recording_id);
CREATE TABLE viewers (
    handle TEXT PRIMARY KEY, session_id TEXT NOT NULL, person TEXT   -- NULL: the platform
);
-- One handle per person (and one for the platform) however many nodes ask at once.
CREATE UNIQUE INDEX viewers_by_person ON viewers(session_id, (COALESCE(person, '')));
CREATE TABLE deliveries (
    recording_id TEXT NOT NULL, session_id TEXT NOT NULL, person TEXT NOT NULL,
    track TEXT NOT NULL, n INTEGER NOT NULL, served_at DOUBLE PRECISION NOT NULL,
    media_s DOUBLE PRECISION NOT NULL
);
CREATE INDEX deliveries_by_session ON deliveries(session_id, person, served_at);
"""),
)


class PostgresRecordingIndex(ForTheLoop):
    def __init__(self, url: str, *, node: str = "", pool_size: int = POOL_SIZE) -> None:
        self._url = url
        self.node = node
        self._pool_size = pool_size
        self._pool: ConnectionPool | None = None
        self.schema_version = 0

    # -- lifecycle

    def open_sync(self) -> None:
        self.schema_version = pg.upgrade_url(self._url, COMPONENT, MIGRATIONS)
        self._pool = pg.open_sync_pool(self._url, name="recordings", max_size=self._pool_size)

    def close_sync(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    async def open(self) -> None:
        await asyncio.to_thread(self.open_sync)

    async def close(self) -> None:
        await asyncio.to_thread(self.close_sync)

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn`` here (a thread that is not the event loop's): the pool is
        thread-safe, so there is no worker to hand it to."""
        return fn(*args, **kwargs)

    @contextmanager
    def _conn(self) -> Iterator[psycopg.Connection[Any]]:
        assert self._pool is not None, "recordings index is not open"
        with pg.pooled_sync(self._pool, self._url) as conn:
            yield conn

    def _tx(self, statements: list[tuple[str, tuple[Any, ...]]]) -> int:
        """``statements`` in one transaction; the rows the last one changed."""
        with self._conn() as conn, conn.transaction():
            changed = 0
            for sql, params in statements:
                changed = conn.execute(sql, params).rowcount
            return changed

    # -- writes

    def create(self, recording_id: str, session_id: str, origin_wall: float) -> None:
        self._tx([(
            "INSERT INTO recordings (id, session_id, origin_wall, state, heartbeat_at, node)"
            " VALUES (%s,%s,%s,%s,%s,%s)",
            (recording_id, session_id, origin_wall, "recording", origin_wall, self.node),
        )])

    def add_track(self, recording_id: str, track: Track) -> None:
        self._tx([("INSERT INTO tracks (recording_id, track, person, kind, codec) "
                   "VALUES (%s,%s,%s,%s,%s) ON CONFLICT DO NOTHING",
                   (recording_id, track.track, track.person, track.kind, track.codec))])

    def add_segment(self, recording_id: str, seg: Segment, heartbeat: float) -> None:
        self._tx([
            ("INSERT INTO segments VALUES (%s,%s,%s,%s,%s,%s,%s)",
             (recording_id, seg.track, seg.n, seg.start_s, seg.end_s, seg.frames, seg.bytes)),
            ("UPDATE recordings SET heartbeat_at=%s WHERE id=%s", (heartbeat, recording_id)),
        ])

    def add_gap(self, recording_id: str, gap: Gap) -> None:
        self._tx([("INSERT INTO gaps VALUES (%s,%s,%s,%s,%s)",
                   (recording_id, gap.track, gap.start_s, gap.end_s, gap.reason))])

    def heartbeat(self, recording_id: str, at: float) -> None:
        self._tx([("UPDATE recordings SET heartbeat_at=%s WHERE id=%s AND state='recording'",
                   (at, recording_id))])

    def finish(self, recording_id: str, state: str, stopped_at: float, duration_s: float) -> None:
        self._tx([("UPDATE recordings SET state=%s, stopped_at=%s, duration_s=%s WHERE id=%s",
                   (state, stopped_at, duration_s, recording_id))])

    def set_file(self, recording_id: str, size: int | None) -> None:
        self._tx([("UPDATE recordings SET file_bytes=%s WHERE id=%s", (size, recording_id))])

    def forget(self, recording_id: str) -> None:
        self._tx([(f"DELETE FROM {table} WHERE {col}=%s", (recording_id,)) for table, col in (
            ("segments", "recording_id"), ("tracks", "recording_id"),
            ("gaps", "recording_id"), ("recordings", "id"))])

    def claim(self, recording_id: str, from_node: str, to_node: str) -> bool:
        return self._tx([(
            "UPDATE recordings SET node=%s WHERE id=%s AND node=%s AND state='recording'",
            (to_node, recording_id, from_node))]) == 1

    # -- reads

    def get(self, recording_id: str) -> Recording | None:
        with self._conn() as conn:
            row = conn.execute(f"SELECT {RECORDING_COLUMNS} FROM recordings WHERE id=%s",
                               (recording_id,)).fetchone()
            if row is None:
                return None
            tracks = tuple(Track(*r) for r in conn.execute(
                "SELECT track, person, kind, codec FROM tracks WHERE recording_id=%s "
                "ORDER BY ord", (recording_id,)))
            segments = tuple(Segment(*r) for r in conn.execute(
                "SELECT track, n, start_s, end_s, frames, bytes FROM segments "
                'WHERE recording_id=%s ORDER BY track COLLATE "C", n', (recording_id,)))
            gaps = tuple(Gap(*r) for r in conn.execute(
                "SELECT track, start_s, end_s, reason FROM gaps WHERE recording_id=%s "
                "ORDER BY start_s", (recording_id,)))
        return Recording(
            id=row[0], session_id=row[1], origin_wall=row[2], state=row[3], stopped_at=row[4],
            heartbeat_at=row[5], duration_s=row[6], file_bytes=row[7], node=row[8],
            tracks=tracks, segments=segments, gaps=gaps,
        )

    def ids(self, *, session_id: str | None = None, state: str | None = None,
            stopped_before: float | None = None) -> list[str]:
        sql, params = "SELECT id FROM recordings WHERE true", list[object]()
        if session_id is not None:
            sql += " AND session_id=%s"
            params.append(session_id)
        if state is not None:
            sql += " AND state=%s"
            params.append(state)
        if stopped_before is not None:
            sql += " AND state<>'recording' AND COALESCE(stopped_at, heartbeat_at) < %s"
            params.append(stopped_before)
        with self._conn() as conn:
            return [r[0] for r in conn.execute(sql + " ORDER BY origin_wall", params)]

    def recordings(self, **where: Any) -> list[Recording]:
        return [r for rid in self.ids(**where) if (r := self.get(rid)) is not None]

    # -- viewers and deliveries

    def viewer(self, handle_factory: Callable[[], str], session_id: str,
               person: str | None) -> str:
        """The viewer handle of ``person`` (``None``: the platform) for ``session_id``;
        two nodes asking at once get the same one (the unique index decides)."""
        find = ("SELECT handle FROM viewers WHERE session_id=%s AND person IS NOT DISTINCT "
                "FROM %s")
        with self._conn() as conn:
            found = conn.execute(find, (session_id, person)).fetchone()
            if found is None:
                conn.execute("INSERT INTO viewers VALUES (%s,%s,%s) ON CONFLICT DO NOTHING",
                             (handle_factory(), session_id, person))
                found = conn.execute(find, (session_id, person)).fetchone()
        assert found is not None
        return str(found[0])

    def who(self, handle: str) -> tuple[str, str | None] | None:
        with self._conn() as conn:
            row = conn.execute("SELECT session_id, person FROM viewers WHERE handle=%s",
                               (handle,)).fetchone()
        return (row[0], row[1]) if row is not None else None

    def delivered(self, recording_id: str, session_id: str, person: str, track: str, n: int,
                  served_at: float, media_s: float) -> None:
        self._tx([("INSERT INTO deliveries VALUES (%s,%s,%s,%s,%s,%s,%s)",
                   (recording_id, session_id, person, track, n, served_at, media_s))])

    def deliveries(self, session_id: str) -> dict[str, list[tuple[float, float]]]:
        out: dict[str, list[tuple[float, float]]] = {}
        with self._conn() as conn:
            for person, at, media in conn.execute(
                "SELECT person, served_at, media_s FROM deliveries WHERE session_id=%s"
                " ORDER BY served_at", (session_id,)):
                out.setdefault(person, []).append((at, media))
        return out

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        """For :class:`ForTheLoop`: a pooled connection is used from a worker thread."""
        return await asyncio.to_thread(fn, *args)
