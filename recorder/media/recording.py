"""Recording a session: a frame tap that remuxes every forwarded encoded frame into
WebM segments (Matroska for H.264, :mod:`recorder.media.segments`), off the event
loop, with no decoder or encoder anywhere.

Why it is built this way
========================
aiortc's ``MediaRecorder`` decodes and re-encodes every track (1–3 cores per
640×480 stream) and starts each track's clock at zero on its own, which puts audio
and video out of step. The forward path (``rtc/forward.py``) already turns every
incoming frame into an ``av.Packet`` with a pts on one room timeline (the server's
monotonic clock in 1/90000 or 1/48000 units); :class:`Recorder` is a
:class:`rtc.contract.FrameTap` that subtracts the recording's start from that pts, so
every track and the whiteboard log (stamped with wall time, converted with the
recording's ``origin_wall``) share one clock.

Threads
=======
``frame()`` runs on the event loop and only decides (segment boundaries, keyframe
requests) and enqueues ``bytes(packet)``. One writer thread per recording muxes
(:mod:`recorder.media.segments`), closes segments, writes the index
(:mod:`recorder.media.recording_index`) and a heartbeat each second. If the writer falls
behind (disk stalled), frames are dropped at the queue, the span is written down
as a gap, and the room is told (loud failure); the forward path never waits.

Segments
========
Per track, a new file starts at the first frame after 10 s of the current one —
for video only at a keyframe, which the recorder asks the publisher for (PLI, via
``request_keyframe``) — and after a pause in the track's media. A file gets its
final name only once complete. An open file gets a Matroska cluster at least every
second, written to the file as it closes, and the writer fsyncs the open files
before each heartbeat (about once a second per live track), so a SIGKILL loses the
open cluster and the frames still queued (about a second per track; a power cut up
to a second more). :func:`recover` salvages each open file's readable part on the
next start and writes down the rest as spans lost (``server_stopped``) up to the
last durable heartbeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import queue
import shutil
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recorder.media import segments as seg
from recorder.media.recording_index import Gap, Recording, RecordingIndex, Segment, Track
from rtc.clock import Clock

log = logging.getLogger(__name__)

SEGMENT_S = 10.0
GAP_CUT_S = 1.5  # media pause that starts a new audio segment
IDLE_CLOSE_S = 3.0  # the writer closes a segment that got nothing for this long
KEYFRAME_RETRY_S = 2.0
MAX_QUEUE = 3000  # frames (~30 s of one camera and one microphone) before dropping
HEARTBEAT_S = 1.0
# An open recording of another node sharing the index is taken over only when neither
# its index heartbeat nor any of its files moved for this long (a node whose database
# was away still writes its files, so a live one is never mistaken for a dead one).
ORPHAN_S = 600.0
BATCH_S = 0.1  # the writer wakes about this often while frames come
FULL_FILE = "recording.webm"

# Process-wide counters, read by the metrics endpoint.
STATS: Counter[str] = Counter()


@dataclass
class _TrackState:
    """Loop-side state of one track."""

    info: Track
    seg_start: float | None = None
    last_t: float | None = None
    need_key: bool = True
    asked_at: float = -math.inf
    dropping_since: float | None = None


@dataclass(frozen=True)
class _Frame:
    track: str
    data: bytes
    t: float
    key: bool
    cut: bool


@dataclass(frozen=True)
class _Stop:
    t: float
    wall: float


@dataclass
class _Open:
    writer: seg.SegmentWriter
    n: int
    last_write: float = field(default_factory=time.monotonic)


class Recorder:
    """Records one session from :meth:`start` to :meth:`stop`. A :class:`FrameTap`."""

    def __init__(
        self,
        index: RecordingIndex,
        folder: Path,
        recording_id: str,
        session_id: str,
        *,
        clock: Clock,
        request_keyframe: Callable[[str], None],
        on_error: Callable[[str, str], None],
        segment_s: float = SEGMENT_S,
    ) -> None:
        self.id = recording_id
        self.session_id = session_id
        self.folder = folder
        self._index = index
        self._clock = clock
        self._request_keyframe = request_keyframe
        self._on_error = on_error
        self._segment_s = segment_s
        self._tracks: dict[tuple[str, str], _TrackState] = {}
        self._queue: queue.Queue[Any] = queue.Queue()
        self._want_key: set[str] = set()  # tracks whose writer needs a keyframe (thread → loop)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()  # segments closed, index final
        self._stopping = False
        self._lossy = False
        self.origin_mono = 0.0
        self.origin_wall = 0.0
        self.cpu_s = 0.0  # the writer thread's CPU time, once stopped

    # -- control (event loop)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.origin_mono = self._clock.monotonic()
        self.origin_wall = self._clock.time()
        self.folder.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(self._index.call, self._index.create, self.id,
                                self.session_id, self.origin_wall)
        self._thread = threading.Thread(target=self._run, name=f"rec:{self.id}", daemon=True)
        self._thread.start()

    @property
    def stopping(self) -> bool:
        return self._stopping

    def now(self) -> float:
        """Seconds since the recording started."""
        return self._clock.monotonic() - self.origin_mono

    async def stop(self) -> None:
        """Close every segment and mark the recording finished. The joined single file is
        made afterwards on the writer thread (:meth:`wait_finished`)."""
        if self._stopping:
            return
        self._stopping = True
        self._queue.put(_Stop(self.now(), self._clock.time()))
        await asyncio.to_thread(self._stopped.wait)

    async def wait_finished(self) -> None:
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join)

    # -- the tap (event loop; must not block)

    def frame(self, person: str, kind: str, codec: str, packet: Any, keyframe: bool) -> None:
        if self._stopping:
            return
        # The tap's contract: pts in 1/90000 (video) or 1/48000 (audio) on the room clock.
        t = packet.pts / seg.RATES[kind] - self.origin_mono
        if t < 0:
            return  # sent before the recording started
        st = self._tracks.get((person, kind))
        if st is None:
            prefix = "v" if kind == "video" else "a"
            number = sum(1 for s in self._tracks.values() if s.info.kind == kind)
            st = _TrackState(Track(f"{prefix}{number}", person, kind, codec))
            self._tracks[(person, kind)] = st
            self._queue.put(st.info)
        name = st.info.track
        if name in self._want_key:
            self._want_key.discard(name)
            st.need_key = True
        if self._queue.qsize() > MAX_QUEUE:
            self._drop(st, t)
            return
        if st.dropping_since is not None:
            self._queue.put(Gap(name, st.dropping_since, t, "writer_behind"))
            st.dropping_since = None
        cut = False
        paused = st.last_t is not None and t - st.last_t > GAP_CUT_S
        if kind == "video":
            if st.need_key:
                if not keyframe:
                    self._ask_key(st, person, t)
                    return
                cut, st.need_key = True, False
            elif st.seg_start is not None and t - st.seg_start >= self._segment_s:
                if keyframe:
                    cut = True
                else:
                    self._ask_key(st, person, t)
            elif paused and keyframe:
                cut = True
        else:
            cut = st.seg_start is None or paused or t - st.seg_start >= self._segment_s
        if cut:
            st.seg_start = t
        st.last_t = t
        self._queue.put(_Frame(name, bytes(packet), t, keyframe, cut))

    def _ask_key(self, st: _TrackState, person: str, t: float) -> None:
        if t - st.asked_at >= KEYFRAME_RETRY_S:
            st.asked_at = t
            self._request_keyframe(person)

    def _drop(self, st: _TrackState, t: float) -> None:
        STATS["frames_dropped"] += 1
        if st.dropping_since is None:
            st.dropping_since = t
            st.need_key = st.info.kind == "video"
            st.seg_start = None
            self._lossy = True
            self._report("writer_behind", "the recording cannot keep up; frames are lost")

    def _report(self, code: str, message: str) -> None:
        STATS["errors"] += 1
        log.error("recording %s (session %s): %s: %s", self.id, self.session_id, code, message)
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # loop closing
            loop.call_soon_threadsafe(self._on_error, code, message)

    # -- the writer thread

    def _run(self) -> None:
        open_: dict[str, _Open] = {}
        numbers: Counter[str] = Counter()
        kinds: dict[str, Track] = {}
        failed: dict[str, float] = {}  # track → t where writing failed
        next_beat = time.monotonic() + HEARTBEAT_S
        stop: _Stop | None = None
        while stop is None:
            for item in self._batch():
                try:
                    if isinstance(item, _Stop):
                        stop = item
                        break
                    if isinstance(item, Track):
                        kinds[item.track] = item
                        self._index.call(self._index.add_track, self.id, item)
                    elif isinstance(item, Gap):
                        self._index.call(self._index.add_gap, self.id, item)
                    elif isinstance(item, _Frame):
                        self._write(item, open_, numbers, kinds, failed)
                except Exception as exc:  # the index itself failed: nothing else to do here
                    log.exception("recording %s: writer", self.id)
                    self._report("index_failed", str(exc))
            try:
                if time.monotonic() >= next_beat:
                    next_beat = time.monotonic() + HEARTBEAT_S
                    # The open segments first: a heartbeat then says "durable up to here".
                    self._sync(open_)
                    self._index.call(self._index.heartbeat, self.id, self._clock.time())
                    for name, current in list(open_.items()):
                        if time.monotonic() - current.last_write > IDLE_CLOSE_S:
                            self._close(name, open_)
            except Exception as exc:  # the index itself failed: nothing else we can do here
                log.exception("recording %s: writer", self.id)
                self._report("index_failed", str(exc))
        for name in list(open_):
            self._close(name, open_)
        for name, since in failed.items():
            self._gap(Gap(name, since, stop.t, "write_failed"))
        # The writer's own CPU while recording (the metric behind "remux costs well under
        # 1% of a core"); the single file is joined after this, once.
        self.cpu_s = time.thread_time()
        STATS["writer_cpu_ms"] += round(self.cpu_s * 1000)
        state = "incomplete" if self._lossy else "complete"
        try:
            self._index.call(self._index.finish, self.id, state, stop.wall, stop.t)
        except Exception as exc:
            self._report("index_failed", str(exc))
        self._stopped.set()
        make_full_file(self._index, self.folder, self.id)

    def _batch(self) -> list[Any]:
        """What is queued, after waiting for the first item (or the heartbeat) and then
        a moment more: one thread wake-up per batch, not per frame, is most of the
        difference between ~0.5 % and ~0.1 % of a core per stream."""
        items: list[Any] = []
        try:
            items.append(self._queue.get(timeout=HEARTBEAT_S))
            time.sleep(BATCH_S)
            while True:
                items.append(self._queue.get_nowait())
        except queue.Empty:
            pass
        return items

    def _write(self, item: _Frame, open_: dict[str, _Open], numbers: Counter[str],
               kinds: dict[str, Track], failed: dict[str, float]) -> None:
        current = open_.get(item.track)
        track = kinds[item.track]
        if current is None or item.cut:
            if current is not None:
                self._close(item.track, open_)
            if track.kind == "video" and not item.key:
                self._want_key.add(item.track)  # the loop asks for one and cuts there
                return
            numbers[item.track] += 1
            n = numbers[item.track]
            path = self.folder / Segment(item.track, n, 0, 0, 0, 0).file
            try:
                current = _Open(seg.SegmentWriter(path, track.kind, track.codec, item.data), n)
            except Exception as exc:
                self._write_failed(item, failed, exc)
                return
            open_[item.track] = current
        try:
            current.writer.write(item.data, item.t, item.key)
        except Exception as exc:
            current.writer.abandon()
            del open_[item.track]
            self._write_failed(item, failed, exc)
            return
        current.last_write = time.monotonic()
        STATS["frames_written"] += 1
        since = failed.pop(item.track, None)
        if since is not None:  # writing works again: the span in between is lost
            self._gap(Gap(item.track, since, item.t, "write_failed"))

    def _write_failed(self, item: _Frame, failed: dict[str, float], exc: Exception) -> None:
        self._lossy = True
        if item.track not in failed:  # once per failing spell, not per frame
            failed[item.track] = item.t
            self._report("write_failed", f"track {item.track}: {exc}")
        if item.track.startswith("v"):
            self._want_key.add(item.track)

    def _sync(self, open_: dict[str, _Open]) -> None:
        """fsync every open segment that got frames since the last beat (about one
        fsync per second per live track)."""
        for name, current in open_.items():
            began = time.perf_counter()
            try:
                if current.writer.sync():
                    STATS["fsyncs"] += 1
                    STATS["fsync_us"] += round((time.perf_counter() - began) * 1e6)
            except OSError as exc:
                self._lossy = True
                self._report("write_failed", f"track {name}: {exc}")

    def _close(self, name: str, open_: dict[str, _Open]) -> None:
        current = open_.pop(name)
        try:
            info = current.writer.close()
        except Exception as exc:
            current.writer.abandon()
            self._lossy = True
            self._report("write_failed", f"track {name}: {exc}")
            return
        if info is not None:
            STATS["segments"] += 1
            segment = Segment(name, current.n, info.start_s, info.end_s, info.frames, info.bytes)
            self._index.call(self._index.add_segment, self.id, segment, self._clock.time())

    def _gap(self, gap: Gap) -> None:
        if gap.end_s > gap.start_s:
            self._index.call(self._index.add_gap, self.id, gap)


# --------------------------------------------------------------------- after the fact


def track_files(rec: Recording, folder: Path) -> list[seg.TrackFiles]:
    return [
        seg.TrackFiles(t.track, t.kind, t.codec,
                       tuple(folder / s.file for s in rec.segments_of(t.track)))
        for t in rec.tracks
        if rec.segments_of(t.track)
    ]


def make_full_file(index: RecordingIndex, folder: Path, recording_id: str) -> int | None:
    """Join a finished recording's segments into ``recording.webm`` (remux only)."""
    try:
        rec = index.call(index.get, recording_id)
        if rec is None:
            return None
        tracks = track_files(rec, folder)
        size = seg.join(tracks, folder / FULL_FILE) if tracks else None
        index.call(index.set_file, recording_id, size)
        return size
    except Exception:
        STATS["errors"] += 1
        log.exception("recording %s: joining the segments failed", recording_id)
        return None


def recover(index: RecordingIndex, root: Path, *, orphans_only: bool = False,
            now: float | None = None) -> list[str]:
    """Finish recordings a killed server left open: this node's (call before any of
    its recorders starts) and, on an index shared by several nodes, another node's
    that has been still for :data:`ORPHAN_S`, claimed first so one node does it
    (``orphans_only``: those alone, while this node's recorders run).

    Each track's open segment (``*.part``) is salvaged up to where it was cut; the
    rest of it, up to the last durable heartbeat, is written down as lost. The
    recording is marked ``incomplete``. Returns the ids finished."""
    now = time.time() if now is None else now
    done = []
    for rec in index.call(index.recordings, state="recording"):
        folder = root / rec.id
        if rec.node == index.node:
            if orphans_only:
                continue
        elif not _orphaned(rec, folder, now) or not index.call(
                index.claim, rec.id, rec.node, index.node):
            continue  # a live node's (or another node claimed it first)
        # The server died after its last durable heartbeat and, the writer beating every
        # second, before the next one: claim the whole second as lost rather than less.
        crash_t = max(0.0, rec.heartbeat_at - rec.origin_wall) + HEARTBEAT_S
        kinds = {t.track: t for t in rec.tracks}
        ends = {t.track: max((s.end_s for s in rec.segments_of(t.track)), default=0.0)
                for t in rec.tracks}
        lost: list[Gap] = []
        for partial in sorted(folder.glob("*.part")) if folder.exists() else []:
            name, _, number = partial.stem.partition("-")
            track = kinds.get(name)
            lost_from = ends.get(name, 0.0)
            if track is not None and number.isdigit():
                segment = Segment(name, int(number), 0, 0, 0, 0)
                info = seg.salvage(partial, folder / segment.file, track.kind, track.codec)
                if info is not None:
                    index.call(index.add_segment, rec.id, Segment(
                        name, segment.n, info.start_s, info.end_s, info.frames, info.bytes
                    ), rec.heartbeat_at)
                    lost_from = info.end_s
            partial.unlink(missing_ok=True)
            lost.append(Gap(name, lost_from, crash_t, "server_stopped"))
        crash_t = max([crash_t, *(g.start_s for g in lost)])
        if not lost and not rec.segments:  # nothing of it was durable: all of it is lost
            lost.append(Gap(None, 0.0, crash_t, "server_stopped"))
        for gap in lost:
            if crash_t > gap.start_s:
                index.call(index.add_gap, rec.id, Gap(gap.track, gap.start_s, crash_t, gap.reason))
        index.call(index.finish, rec.id, "incomplete", rec.origin_wall + crash_t, crash_t)
        make_full_file(index, folder, rec.id)
        log.warning("recording %s (session %s) was cut off by a stop; finished as incomplete",
                    rec.id, rec.session_id)
        done.append(rec.id)
    return done


def _orphaned(rec: Recording, folder: Path, now: float) -> bool:
    last = rec.heartbeat_at
    with contextlib.suppress(OSError):
        for path in folder.iterdir():
            last = max(last, path.stat().st_mtime)
    return last < now - ORPHAN_S


def purge(index: RecordingIndex, root: Path, *, older_than: float,
          dry_run: bool = False) -> list[Recording]:
    """Delete recordings finished before ``older_than`` (epoch s): files, then index rows.
    Returns what was (or, with ``dry_run``, would be) deleted. Delivery rows stay: they
    are the replay evidence of the session record, not media."""
    gone = index.call(index.recordings, stopped_before=older_than)
    if dry_run:
        return gone
    for rec in gone:
        shutil.rmtree(root / rec.id, ignore_errors=True)
        index.call(index.forget, rec.id)
    return gone
