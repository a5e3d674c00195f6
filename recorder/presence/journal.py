"""Presence journal: what the server observed, durably and append-only, in SQLite.

Issue 2, item 7: "the server records, durably and append-only, what it observes:
join, leave, media up/down per track, and evidence of life ... A crash loses at
most the last few seconds: after a restart, intervals still open are closed at
the last durable heartbeat." The intervals feed the session record's ``active``
field, from which people are paid (issue 3).

How it works:

* :meth:`Journal.observe` is synchronous and cheap: it stamps the observation
  with the injected clock, feeds the session's :class:`PresenceTracker` and queues
  rows in memory. ``traffic`` (hundreds per second) only feeds the tracker; the
  transitions it causes are what gets persisted.
* Every heartbeat (1 s) the trackers are ticked (the 5-s timeout) and the queued
  events, the transitions and this node's heartbeat time are committed in **one**
  transaction on a dedicated thread, so the event loop never waits for fsync.
  Hence the durable heartbeat time H always comes with every transition due by H:
  an interval still open on disk was really open at H.
* On :meth:`Journal.open`, intervals this node left open (its last transition for
  a person is a start) are closed at its last durable heartbeat, with
  ``detail="recovered"``. A SIGKILL therefore costs at most one heartbeat of
  presence and never a closed interval (closing rows are committed like any other).

Storage: WAL, ``synchronous=FULL`` (a commit is on disk when it returns). Tables
``events`` and ``transitions`` are append-only (triggers refuse UPDATE and DELETE);
``heartbeat`` holds one upserted row per node. Every row carries ``node_id``,
``run_id`` (one per :meth:`open`) and ``seq`` (per run), which lets the live view
merge what is on disk with what is still queued without counting a row twice.

Threading: call everything from the event loop's thread. ``intervals()`` and
``events()`` read through a separate read-only connection (WAL readers never wait
for the writer); they are small indexed queries.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import secrets
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple, TypeVar

from recorder.presence import evidence_store
from recorder.presence.evidence import EvidenceMeter, MinuteRow, Second, merge_rows
from recorder.presence.journal_db import JournalDb, SqliteJournalDb
from recorder.presence.journal_pg import PostgresJournalDb
from recorder.presence.tracker import DEFAULT_WINDOW_S, Kind, PresenceTracker, Transition, merge
from rtc.clock import Clock

log = logging.getLogger(__name__)

ENDED_MEMORY_S = 600.0  # how long an ended session's id refuses late observations
# The open minute's evidence row is rewritten at most this often (a closed minute's row
# goes with the next heartbeat). Every heartbeat by default, so evidence is as durable
# as presence; a city on PostgreSQL may choose 5 s (--evidence-every-seconds): per-second
# upserts are its top write load (docs/capacity.md), and a SIGKILL then loses up to 5 s.
EVIDENCE_EVERY_S = 1.0


class _Event(NamedTuple):
    node_id: str
    run_id: str
    seq: int
    session_id: str
    person: str
    kind: str
    detail: str
    at: float


class _Transition(NamedTuple):
    node_id: str
    run_id: str
    seq: int
    session_id: str
    person: str
    at: float
    active: int
    detail: str


_R = TypeVar("_R", _Event, _Transition)


def to_iso(ts: float) -> str:
    """Seconds since the epoch → ``2026-03-02T10:00:00.000Z``: UTC, always with
    milliseconds (rounded to the nearest). Fixed width so strings sort like times;
    sub-second precision because credits floor the *total* seconds once, and
    truncating every endpoint to whole seconds would shave paid time."""
    ms = round(ts * 1000)
    whole = datetime.fromtimestamp(ms // 1000, tz=UTC)
    return f"{whole:%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}Z"


def iso_intervals(
    intervals: dict[str, list[tuple[float, float]]],
) -> dict[str, list[list[str]]]:
    """The session record's ``active`` field: person → ``[[start, end], …]`` in
    ISO-8601 UTC. Intervals shorter than the millisecond precision are dropped."""
    out: dict[str, list[list[str]]] = {}
    for person, ivs in intervals.items():
        pairs = [[to_iso(s), to_iso(e)] for s, e in ivs]
        out[person] = [p for p in pairs if p[0] < p[1]]
    return out


class Journal:
    """Append-only presence journal of one node, backed by one SQLite file."""

    def __init__(
        self,
        where: Path | JournalDb,
        *,
        clock: Clock,
        node_id: str = "local",
        heartbeat_s: float = 1.0,
        evidence_every_s: float = EVIDENCE_EVERY_S,
        window_s: float = DEFAULT_WINDOW_S,
    ) -> None:
        if not (math.isfinite(heartbeat_s) and heartbeat_s > 0):
            raise ValueError(f"heartbeat_s must be positive, got {heartbeat_s!r}")
        PresenceTracker(window_s)  # validates the window early
        # A path is a SQLite file (the embedded default); PostgreSQL comes as a JournalDb.
        self._db: JournalDb = SqliteJournalDb(where) if isinstance(where, Path) else where
        self._clock = clock
        self._node = node_id
        self._heartbeat_s = heartbeat_s
        self._evidence_every_s = evidence_every_s
        self._evidence_written = -math.inf  # when the open minutes' rows were last taken
        self._window = window_s
        self._run = secrets.token_hex(8)
        self._seq = itertools.count(1)
        self._state = "new"  # new → open → closing → closed; or new → read_only → closed
        self._trackers: dict[str, PresenceTracker] = {}
        # Late observations must not revive a session that ended: its id is kept (with
        # when it ended) for ENDED_MEMORY_S, far longer than any peer connection takes to
        # close, then forgotten so the set does not grow with every session ever run.
        self._ended: dict[str, float] = {}
        self._events: list[_Event] = []
        self._transitions: list[_Transition] = []
        # The batch being committed right now; still part of the live view until
        # the commit returns (it may or may not be on disk when someone reads).
        self._inflight: tuple[list[_Event], list[_Transition]] = ([], [])
        # Media evidence: one meter per session folds seconds into minute rows; rows
        # changed since the last heartbeat wait in ``_evidence`` (newest wins per key)
        # and are upserted with the heartbeat's transaction.
        self._meters: dict[str, EvidenceMeter] = {}
        self._evidence: dict[evidence_store.Key, evidence_store.Row] = {}
        self._evidence_inflight: dict[evidence_store.Key, evidence_store.Row] = {}
        self._last_beat = -math.inf
        # One writer thread: commits stay in order and never wait for a busy
        # default executor.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="journal")
        self._writing = False  # the writer side of the db is open
        self._read_lock = threading.Lock()
        self._flush_lock = asyncio.Lock()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.recovered: list[tuple[str, str, float]] = []  # (session, person, closed at)

    @property
    def last_durable(self) -> float:
        """Server time up to which observations are on disk (-inf before the first
        commit): readiness and metrics report how far behind now it is."""
        return self._last_beat

    # -- lifecycle -------------------------------------------------------------------

    async def open(self, *, read_only: bool = False) -> None:
        """Create the schema, close what a previous run of this node left open, and
        start the heartbeat. ``read_only``: only read what is on disk (a report run
        beside a live server): nothing is written, recovered or beaten, and
        :meth:`observe` and :meth:`sample` are refused."""
        if self._state != "new":
            raise RuntimeError("a Journal is opened once")
        loop = asyncio.get_running_loop()
        if read_only:
            await loop.run_in_executor(self._executor, self._db.open_reader)
            self._state = "read_only"
            return
        await loop.run_in_executor(self._executor, self._open_sync, self._clock.time())
        await loop.run_in_executor(self._executor, self._db.open_reader)
        self._state = "open"
        self._task = asyncio.create_task(self._heartbeat(), name=f"journal-heartbeat-{self._node}")

    async def close(self) -> None:
        """Stop the heartbeat, close every open interval at now (the server is going
        away, so nobody stays active through it), commit, and release the files."""
        if self._state == "read_only":
            self._db.close()
            self._executor.shutdown(wait=True)
            self._state = "closed"
            return
        if self._state != "open":
            return
        self._stop.set()
        if self._task is not None:
            await self._task  # not cancelled: a commit in progress must finish in order
        now = self._clock.time()
        for session_id, tracker in self._trackers.items():
            self._queue_transitions(session_id, tracker.end(now, "shutdown"))
        self._trackers.clear()
        self._state = "closing"  # observations from here on are dropped
        self._evidence_written = -math.inf  # the last flush writes the open minutes too
        try:
            await self.flush()
        finally:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(self._executor, self._db.close)
            self._executor.shutdown(wait=True)
            self._state = "closed"

    # -- recording -------------------------------------------------------------------

    def observe(self, session_id: str, person: str, kind: str, detail: str = "") -> None:
        """Record one server observation, stamped now. Never blocks; ``traffic`` is
        kept in memory only. Unknown kinds raise ValueError (client claims are not
        a kind). After :meth:`close` observations are dropped."""
        k = Kind(kind)
        if k is not Kind.SESSION_END and not person:
            raise ValueError(f"{k} needs a person")
        if self._state != "open":
            if self._state in ("new", "read_only"):
                raise RuntimeError(f"Journal.observe on a journal that is {self._state}")
            return  # shutting down: late callbacks from closing peers are harmless
        at = self._clock.time()
        if k is not Kind.TRAFFIC:
            self._events.append(
                _Event(
                    self._node, self._run, next(self._seq), session_id, person, k.value, detail, at
                )
            )
        if session_id in self._ended:
            return
        tracker = self._trackers.get(session_id)
        if tracker is None:
            tracker = self._trackers[session_id] = PresenceTracker(self._window)
        self._queue_transitions(session_id, tracker.observe(at, person, k, detail))
        if k is Kind.SESSION_END:
            self._ended[session_id] = at
            del self._trackers[session_id]

    def end_session(self, session_id: str) -> None:
        """The session ended: everyone's interval closes now."""
        self.observe(session_id, "", Kind.SESSION_END)

    def sample(self, session_id: str, person: str, second: int, s: Second) -> None:
        """One second of ``person``'s media evidence (:mod:`recorder.presence.evidence`),
        ``second`` being its first epoch second. Never blocks: folded into the minute's
        row in memory, which the next heartbeat makes durable. A second that arrives
        after its session ended (the media layer's last tick) is still kept."""
        if self._state != "open" or not person:
            if self._state in ("new", "read_only"):
                raise RuntimeError(f"Journal.sample on a journal that is {self._state}")
            return
        meter = self._meters.get(session_id)
        if meter is None:
            meter = self._meters[session_id] = EvidenceMeter()
        meter.add(person, second, s)

    async def flush(self) -> None:
        """Apply timeouts up to now and commit everything queued, with the heartbeat,
        durably. Batches commit in order; a failed batch goes back to the queue."""
        async with self._flush_lock:
            if not self._writing:
                raise RuntimeError("Journal is not open")
            now = self._clock.time()
            for session_id, tracker in self._trackers.items():
                self._queue_transitions(session_id, tracker.tick(now))
            for session_id in [s for s, at in self._ended.items() if now - at > ENDED_MEMORY_S]:
                del self._ended[session_id]
            self._take_evidence(now)
            beat = max(now, self._last_beat)  # the durable time never goes back
            batch = (self._events, self._transitions)
            evidence, self._evidence = self._evidence, {}
            self._events, self._transitions = [], []
            self._inflight = batch
            self._evidence_inflight = evidence
            loop = asyncio.get_running_loop()
            fut = loop.run_in_executor(
                self._executor, self._commit, *batch, list(evidence.items()), beat
            )
            try:
                try:
                    await asyncio.shield(fut)
                except asyncio.CancelledError:
                    # The thread goes on committing; wait for the outcome so that the
                    # queue and the next batch stay consistent, then honour the cancel.
                    await asyncio.wait([fut])
                    raise
            finally:
                self._inflight = ([], [])
                self._evidence_inflight = {}
                if fut.done():
                    self._settle(fut, batch, evidence, beat)
                else:  # cancelled twice: settle whenever the thread is done
                    fut.add_done_callback(lambda f: self._settle(f, batch, evidence, beat))

    # -- reading ---------------------------------------------------------------------

    def intervals(
        self, session_id: str, *, now: float | None = None
    ) -> dict[str, list[tuple[float, float]]]:
        """Person → sorted, non-overlapping ``(start, end)`` active intervals of the
        session: closed ones from disk and the queue, plus those still open, cut at
        ``now`` (default: the clock) or at the lapsed traffic deadline."""
        if now is None:
            now = self._clock.time()
        with self._read_lock:
            rows, beats = self._db.transitions(session_id)
        disk = [_Transition(*r) for r in rows]
        queued = self._inflight[1] + self._transitions
        opened: dict[tuple[str, str], float] = {}
        found: dict[str, list[tuple[float, float]]] = {}
        for t in self._unseen(disk, queued, session_id):
            key = (t.node_id, t.person)
            found.setdefault(t.person, [])
            if t.active:
                opened.setdefault(key, t.at)
            elif key in opened:
                found[t.person].append((opened.pop(key), t.at))
        tracker = self._trackers.get(session_id)
        live = tracker.open_intervals(now) if tracker is not None else {}
        for (node, person), start in opened.items():
            if node == self._node and person in live:
                end = live[person][1]
            else:  # another node, or a run not yet recovered: trust its heartbeat
                end = min(now, beats.get(node, start))
            found[person].append((start, max(start, end)))
        return {person: merge(ivs) for person, ivs in found.items()}

    async def beat_of(self, node_id: str) -> float | None:
        """When ``node_id`` last committed a durable heartbeat to this journal (shared by
        the nodes on PostgreSQL or one data directory); ``None``: never. Read off the
        event loop: another node asks this while a join waits."""

        def read() -> float | None:
            with self._read_lock:
                _, beats = self._db.transitions("")  # no such session: only the beats
            return beats.get(node_id)

        return await asyncio.to_thread(read)

    def events(self, session_id: str) -> list[dict[str, object]]:
        """The audit trail of the session in order: time, person, kind, detail
        (``traffic`` is not kept). Includes what is queued but not yet committed."""
        with self._read_lock:
            rows = self._db.events(session_id)
        disk = [_Event(*r) for r in rows]
        queued = self._inflight[0] + self._events
        return [
            {"time": e.at, "person": e.person, "kind": e.kind, "detail": e.detail}
            for e in self._unseen(disk, queued, session_id)
        ]

    def evidence_rows(self, session_id: str) -> list[MinuteRow]:
        """The session's per-minute evidence rows, one per (person, minute) in time
        order: what is on disk (every node's), with this node's newer rows from memory
        (the open minute, and rows whose commit is pending) in their place."""
        with self._read_lock:
            rows = self._db.evidence(session_id)
        found = {(r[0], r[1], r[2]): MinuteRow.from_sql(r[1], r[2], tuple(r[3:])) for r in rows}
        for pending in (self._evidence_inflight, self._evidence):
            for (sid, node, person, minute), values in pending.items():
                if sid == session_id:
                    found[(node, person, minute)] = MinuteRow.from_sql(person, minute, values)
        meter = self._meters.get(session_id)
        if meter is not None:
            for row in meter.rows():
                found[(self._node, row.person, row.minute)] = row
        return merge_rows(found.values())

    def evidence(self, session_id: str, *, voiced_dbov: int = -50) -> list[dict[str, object]]:
        """The session's evidence rows as docs/record.md shows them (``voiced_s`` and
        ``silent_s`` counted with ``voiced_dbov``, the programme's threshold)."""
        return [
            row.to_json(to_iso(row.minute), voiced_dbov) for row in self.evidence_rows(session_id)
        ]

    # -- internals -------------------------------------------------------------------

    def _settle(
        self,
        fut: asyncio.Future[None],
        batch: tuple[list[_Event], list[_Transition]],
        evidence: dict[evidence_store.Key, evidence_store.Row],
        beat: float,
    ) -> None:
        """After a commit: advance the durable time, or queue the batch again in
        front of what arrived since, so the next heartbeat retries it."""
        if fut.exception() is None:
            self._last_beat = max(self._last_beat, beat)
        else:
            self._events[:0], self._transitions[:0] = batch
            for key, row in evidence.items():  # a newer version of a row wins
                self._evidence.setdefault(key, row)

    def _take_evidence(self, now: float) -> None:
        """Changed minute rows into the next commit (open minutes every
        ``evidence_every_s``); forget the meters of sessions that ended long enough
        ago for no late second to come."""
        open_minutes = now - self._evidence_written >= self._evidence_every_s
        if open_minutes:
            self._evidence_written = now
        for session_id, meter in list(self._meters.items()):
            for row in meter.take_changed(now, open_minutes=open_minutes):
                key, values = evidence_store.to_row(session_id, self._node, row)
                self._evidence[key] = values
            ended = self._ended.get(session_id)
            if ended is not None and now - ended > EvidenceMeter.KEEP_S:
                del self._meters[session_id]

    def _queue_transitions(self, session_id: str, transitions: Iterable[Transition]) -> None:
        for t in transitions:
            self._transitions.append(
                _Transition(
                    self._node, self._run, next(self._seq), session_id, t.person, t.at,
                    int(t.active), t.cause,
                )
            )  # fmt: skip

    def _unseen(self, disk: list[_R], queued: Sequence[_R], session_id: str) -> list[_R]:
        """Disk rows, then queued rows of the session that the disk snapshot does
        not hold yet (an in-flight batch may have landed just before the read)."""
        seen = {r.seq for r in disk if r.node_id == self._node and r.run_id == self._run}
        return disk + [r for r in queued if r.session_id == session_id and r.seq not in seen]

    async def _heartbeat(self) -> None:
        while not self._stop.is_set():
            # The beat waits on the journal's clock (a FakeClock in tests), or for close().
            nap = asyncio.ensure_future(self._clock.sleep(self._heartbeat_s))
            stop = asyncio.ensure_future(self._stop.wait())
            try:
                await asyncio.wait({nap, stop}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                nap.cancel()
                stop.cancel()
            if self._stop.is_set():
                return  # close() takes over from here
            try:
                await self.flush()
            except Exception:
                # Keep beating: the batch is queued again and the next beat retries.
                log.exception("presence journal: commit failed; will retry")

    # Runs on the journal thread.

    def _open_sync(self, now: float) -> None:
        beat, recovered = self._db.open_writer(self._node, self._run, now, self._seq)
        self._last_beat = beat
        self._writing = True
        self.recovered.extend(recovered)
        if recovered:
            log.warning("presence journal: closed %d interval(s) left open by a previous run "
                        "of node %s", len(recovered), self._node)  # fmt: skip

    def _commit(
        self,
        events: list[_Event],
        transitions: list[_Transition],
        evidence: list[tuple[evidence_store.Key, evidence_store.Row]],
        beat: float,
    ) -> None:
        self._db.commit(events, transitions, evidence, self._node, self._run, beat)


def journal_db(database_url: str, data_dir: Path) -> JournalDb:
    """Where a node's journal lives: PostgreSQL when ``--database-url`` names one (every
    node writes the same journal), else the SQLite file in the node's data directory."""
    if database_url:
        return PostgresJournalDb(database_url)
    return SqliteJournalDb(data_dir / "journal.sqlite")


__all__ = ["Journal", "iso_intervals", "journal_db", "to_iso"]
