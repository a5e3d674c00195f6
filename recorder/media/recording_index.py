"""The index of recordings: recordings, their tracks and segments, the spans that
were not recorded, and what the server delivered to replay viewers.

:class:`RecordingIndex` is the interface; :class:`SqliteRecordingIndex` (a file in
the data directory, the default) and
:class:`recorder.media.recording_index_pg.PostgresRecordingIndex`
(``--database-url postgresql://…``: every node lists and serves every recording whose
files are on the shared recordings root) implement it; :func:`open_index` chooses.

The interface is synchronous by design: the recorders' writer threads write a
segment row only after its file is complete under its final name (so the index never
points at a file a crash could have cut), and wait for it, through
:meth:`RecordingIndex.call`. The event loop uses the ``a…`` wrappers.

Each recording names the node that runs it (``node``): at start a node finishes
(:func:`recorder.media.recording.recover`) only its own open recordings and those
whose node stopped beating long ago, claimed one at a time (:meth:`claim`), never a
live recording of another node sharing the index.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from recorder.database import Step, is_postgres_url, redacted, sqlite_add_columns
from recorder.sqlite_thread import SqliteThread

T = TypeVar("T")

_SQLITE_FIRST = """
CREATE TABLE IF NOT EXISTS recordings (
    id TEXT PRIMARY KEY, session_id TEXT NOT NULL,
    origin_wall REAL NOT NULL,          -- server UTC (epoch s) at t = 0 of the recording
    state TEXT NOT NULL,                -- recording | complete | incomplete
    stopped_at REAL,                    -- epoch s; for a crash: the last durable heartbeat
    heartbeat_at REAL NOT NULL,         -- epoch s, updated by the writer while it runs
    duration_s REAL NOT NULL DEFAULT 0,
    file_bytes INTEGER                  -- the joined single file, once made
);
CREATE INDEX IF NOT EXISTS recordings_by_session ON recordings(session_id, origin_wall);
CREATE TABLE IF NOT EXISTS tracks (
    recording_id TEXT NOT NULL, track TEXT NOT NULL, person TEXT NOT NULL,
    kind TEXT NOT NULL, codec TEXT NOT NULL, PRIMARY KEY (recording_id, track)
);
CREATE TABLE IF NOT EXISTS segments (
    recording_id TEXT NOT NULL, track TEXT NOT NULL, n INTEGER NOT NULL,
    start_s REAL NOT NULL, end_s REAL NOT NULL, frames INTEGER NOT NULL, bytes INTEGER NOT NULL,
    PRIMARY KEY (recording_id, track, n)
);
CREATE TABLE IF NOT EXISTS gaps (
    recording_id TEXT NOT NULL, track TEXT, start_s REAL NOT NULL, end_s REAL NOT NULL,
    reason TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS viewers (
    handle TEXT PRIMARY KEY, session_id TEXT NOT NULL, person TEXT   -- NULL: the platform
);
CREATE UNIQUE INDEX IF NOT EXISTS viewers_by_person ON viewers(session_id, person);
CREATE TABLE IF NOT EXISTS deliveries (
    recording_id TEXT NOT NULL, session_id TEXT NOT NULL, person TEXT NOT NULL,
    track TEXT NOT NULL, n INTEGER NOT NULL, served_at REAL NOT NULL, media_s REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_by_session ON deliveries(session_id, person, served_at);
"""

# The index's schema, versioned (recorder.database): step 1 is the layout from before
# versioning, in IF NOT EXISTS form, so a database of that layout upgrades in place.
MIGRATIONS: tuple[Step, ...] = (
    Step(1, "recordings, tracks, segments, gaps, viewers, deliveries", sql=_SQLITE_FIRST),
    Step(2, "recordings: the node that runs each", run=sqlite_add_columns(
        ("recordings", "node", "TEXT NOT NULL DEFAULT ''"))),
)
COMPONENT = "recordings"


@dataclass(frozen=True)
class Segment:
    track: str
    n: int
    start_s: float
    end_s: float
    frames: int
    bytes: int

    @property
    def file(self) -> str:
        """File name inside the recording's folder: a track code and a number, no names."""
        return f"{self.track}-{self.n:05d}.webm"


@dataclass(frozen=True)
class Track:
    track: str  # "a0", "v1", ...: the order in which tracks appeared
    person: str
    kind: str
    codec: str


@dataclass(frozen=True)
class Gap:
    track: str | None  # None: every track
    start_s: float
    end_s: float
    reason: str  # server_stopped | writer_behind | write_failed


@dataclass(frozen=True)
class Recording:
    id: str
    session_id: str
    origin_wall: float
    state: str
    stopped_at: float | None
    heartbeat_at: float
    duration_s: float
    file_bytes: int | None
    node: str = ""  # the node that runs (ran) it; "" before nodes were written down
    tracks: tuple[Track, ...] = ()
    segments: tuple[Segment, ...] = ()
    gaps: tuple[Gap, ...] = ()

    @property
    def complete(self) -> bool:
        return self.state == "complete"

    @property
    def bytes(self) -> int:
        return self.file_bytes or sum(s.bytes for s in self.segments)

    def segments_of(self, track: str) -> list[Segment]:
        return [s for s in self.segments if s.track == track]


RECORDING_COLUMNS = ("id, session_id, origin_wall, state, stopped_at, heartbeat_at, "
                     "duration_s, file_bytes, node")


class RecordingIndex(Protocol):
    """The recordings index as the recorders, recovery, retention and the server use
    it. Plain methods are called on the index's own terms: through :meth:`call`, from
    a thread other than the event loop's, which waits for the result."""

    node: str  # the node this index writes new recordings as
    schema_version: int

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T: ...
    async def open(self) -> None: ...
    async def close(self) -> None: ...
    def open_sync(self) -> None: ...
    def close_sync(self) -> None: ...

    # -- writes
    def create(self, recording_id: str, session_id: str, origin_wall: float) -> None: ...
    def add_track(self, recording_id: str, track: Track) -> None: ...
    def add_segment(self, recording_id: str, seg: Segment, heartbeat: float) -> None: ...
    def add_gap(self, recording_id: str, gap: Gap) -> None: ...
    def heartbeat(self, recording_id: str, at: float) -> None: ...
    def finish(self, recording_id: str, state: str, stopped_at: float,
               duration_s: float) -> None: ...
    def set_file(self, recording_id: str, size: int | None) -> None: ...
    def forget(self, recording_id: str) -> None: ...
    def claim(self, recording_id: str, from_node: str, to_node: str) -> bool:
        """Make ``to_node`` the node of an open recording still run by ``from_node``;
        False if it is not (any more): another node claimed or finished it first."""
        ...

    # -- reads
    def get(self, recording_id: str) -> Recording | None: ...
    def ids(self, *, session_id: str | None = None, state: str | None = None,
            stopped_before: float | None = None) -> list[str]: ...
    def recordings(self, **where: Any) -> list[Recording]: ...

    # -- viewers and deliveries
    def viewer(self, handle_factory: Callable[[], str], session_id: str,
               person: str | None) -> str: ...
    def who(self, handle: str) -> tuple[str, str | None] | None: ...
    def delivered(self, recording_id: str, session_id: str, person: str, track: str, n: int,
                  served_at: float, media_s: float) -> None: ...
    def deliveries(self, session_id: str) -> dict[str, list[tuple[float, float]]]: ...

    # -- for the event loop
    async def aget(self, recording_id: str) -> Recording | None: ...
    async def arecordings(self, **where: Any) -> list[Recording]: ...
    async def aviewer(self, factory: Callable[[], str], session_id: str,
                      person: str | None) -> str: ...
    async def awho(self, handle: str) -> tuple[str, str | None] | None: ...
    async def adelivered(self, *args: Any) -> None: ...
    async def adeliveries(self, session_id: str) -> dict[str, list[tuple[float, float]]]: ...


class _Runs(RecordingIndex, Protocol):
    async def _run(self, fn: Callable[..., T], *args: Any) -> T: ...


class ForTheLoop:
    """The index's calls from the event loop, each on the back end's own workers
    (``_run``: the SQLite index thread, or a thread for a PostgreSQL connection): the
    same for both back ends, so written once."""

    async def aget(self: _Runs, recording_id: str) -> Recording | None:
        return await self._run(self.get, recording_id)

    async def arecordings(self: _Runs, **where: Any) -> list[Recording]:
        return await self._run(lambda: self.recordings(**where))

    async def aviewer(self: _Runs, factory: Callable[[], str], session_id: str,
                      person: str | None) -> str:
        return await self._run(self.viewer, factory, session_id, person)

    async def awho(self: _Runs, handle: str) -> tuple[str, str | None] | None:
        return await self._run(self.who, handle)

    async def adelivered(self: _Runs, *args: Any) -> None:
        await self._run(self.delivered, *args)

    async def adeliveries(self: _Runs, session_id: str) -> dict[str, list[tuple[float, float]]]:
        return await self._run(self.deliveries, session_id)


def open_index(database_url: str, sqlite_path: Path, *, node: str = "") -> RecordingIndex:
    """The index for ``--database-url`` (PostgreSQL), else the SQLite file (not yet open)."""
    if not database_url:
        return SqliteRecordingIndex(sqlite_path, node=node)
    if not is_postgres_url(database_url):
        raise ValueError(f"not a postgresql:// URL: {redacted(database_url)}")
    from recorder.media.recording_index_pg import PostgresRecordingIndex

    return PostgresRecordingIndex(database_url, node=node)


class SqliteRecordingIndex(ForTheLoop, SqliteThread):
    MIGRATIONS = MIGRATIONS
    COMPONENT = COMPONENT
    NAME = "rec-index"

    def __init__(self, path: Path, *, node: str = "") -> None:
        super().__init__(path)
        self.node = node

    # -- writes (index thread)
    def create(self, recording_id: str, session_id: str, origin_wall: float) -> None:
        self._tx([(
            "INSERT INTO recordings (id, session_id, origin_wall, state, heartbeat_at, node)"
            " VALUES (?,?,?,?,?,?)",
            (recording_id, session_id, origin_wall, "recording", origin_wall, self.node),
        )])
    def add_track(self, recording_id: str, track: Track) -> None:
        self._tx([("INSERT OR IGNORE INTO tracks VALUES (?,?,?,?,?)",
                   (recording_id, track.track, track.person, track.kind, track.codec))])

    def add_segment(self, recording_id: str, seg: Segment, heartbeat: float) -> None:
        self._tx([
            ("INSERT INTO segments VALUES (?,?,?,?,?,?,?)",
             (recording_id, seg.track, seg.n, seg.start_s, seg.end_s, seg.frames, seg.bytes)),
            ("UPDATE recordings SET heartbeat_at=? WHERE id=?", (heartbeat, recording_id)),
        ])

    def add_gap(self, recording_id: str, gap: Gap) -> None:
        self._tx([("INSERT INTO gaps VALUES (?,?,?,?,?)",
                   (recording_id, gap.track, gap.start_s, gap.end_s, gap.reason))])

    def heartbeat(self, recording_id: str, at: float) -> None:
        self._tx([("UPDATE recordings SET heartbeat_at=? WHERE id=? AND state='recording'",
                   (at, recording_id))])

    def finish(self, recording_id: str, state: str, stopped_at: float, duration_s: float) -> None:
        self._tx([(
            "UPDATE recordings SET state=?, stopped_at=?, duration_s=? WHERE id=?",
            (state, stopped_at, duration_s, recording_id),
        )])

    def set_file(self, recording_id: str, size: int | None) -> None:
        self._tx([("UPDATE recordings SET file_bytes=? WHERE id=?", (size, recording_id))])

    def forget(self, recording_id: str) -> None:
        self._tx([(f"DELETE FROM {table} WHERE {col}=?", (recording_id,)) for table, col in (
            ("segments", "recording_id"), ("tracks", "recording_id"),
            ("gaps", "recording_id"), ("recordings", "id"))])

    def claim(self, recording_id: str, from_node: str, to_node: str) -> bool:
        cur = self.db.execute(
            "UPDATE recordings SET node=? WHERE id=? AND node=? AND state='recording'",
            (to_node, recording_id, from_node))
        return cur.rowcount == 1

    # -- reads (index thread)
    def get(self, recording_id: str) -> Recording | None:
        row = self.db.execute(f"SELECT {RECORDING_COLUMNS} FROM recordings WHERE id=?",
                              (recording_id,)).fetchone()
        if row is None:
            return None
        rid = row[0]
        tracks = tuple(Track(*r) for r in self.db.execute(
            "SELECT track, person, kind, codec FROM tracks WHERE recording_id=? ORDER BY rowid",
            (rid,)))
        segments = tuple(Segment(*r) for r in self.db.execute(
            "SELECT track, n, start_s, end_s, frames, bytes FROM segments WHERE recording_id=?"
            " ORDER BY track, n", (rid,)))
        gaps = tuple(Gap(*r) for r in self.db.execute(
            "SELECT track, start_s, end_s, reason FROM gaps WHERE recording_id=? ORDER BY start_s",
            (rid,)))
        return Recording(
            id=row[0], session_id=row[1], origin_wall=row[2], state=row[3], stopped_at=row[4],
            heartbeat_at=row[5], duration_s=row[6], file_bytes=row[7], node=row[8],
            tracks=tracks, segments=segments, gaps=gaps,
        )

    def ids(self, *, session_id: str | None = None, state: str | None = None,
            stopped_before: float | None = None) -> list[str]:
        sql, params = "SELECT id FROM recordings WHERE 1=1", list[object]()
        if session_id is not None:
            sql += " AND session_id=?"
            params.append(session_id)
        if state is not None:
            sql += " AND state=?"
            params.append(state)
        if stopped_before is not None:
            sql += " AND state!='recording' AND COALESCE(stopped_at, heartbeat_at) < ?"
            params.append(stopped_before)
        return [r[0] for r in self.db.execute(sql + " ORDER BY origin_wall", params)]

    def recordings(self, **where: Any) -> list[Recording]:
        return [r for rid in self.ids(**where) if (r := self.get(rid)) is not None]

    # -- viewers and deliveries (index thread)
    def viewer(self, handle_factory: Callable[[], str], session_id: str,
               person: str | None) -> str:
        """The viewer handle of ``person`` (``None``: the platform) for ``session_id``."""
        found = self.db.execute(
            "SELECT handle FROM viewers WHERE session_id=? AND person IS ?", (session_id, person)
        ).fetchone()
        if found is not None:
            return str(found[0])
        handle = handle_factory()
        self._tx([("INSERT INTO viewers VALUES (?,?,?)", (handle, session_id, person))])
        return handle

    def who(self, handle: str) -> tuple[str, str | None] | None:
        row = self.db.execute(
            "SELECT session_id, person FROM viewers WHERE handle=?", (handle,)
        ).fetchone()
        return (row[0], row[1]) if row is not None else None

    def delivered(self, recording_id: str, session_id: str, person: str, track: str, n: int,
                  served_at: float, media_s: float) -> None:
        self._tx([("INSERT INTO deliveries VALUES (?,?,?,?,?,?,?)",
                   (recording_id, session_id, person, track, n, served_at, media_s))])

    def deliveries(self, session_id: str) -> dict[str, list[tuple[float, float]]]:
        """person → [(served_at, media seconds)] in serving order."""
        out: dict[str, list[tuple[float, float]]] = {}
        for person, at, media in self.db.execute(
            "SELECT person, served_at, media_s FROM deliveries WHERE session_id=?"
            " ORDER BY served_at", (session_id,)):
            out.setdefault(person, []).append((at, media))
        return out
