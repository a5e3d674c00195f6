"""Recordings as the server offers them: starting recorders for rooms, signed links,
the replay manifest, replay time for the session record, retention.

Access (participants include minors): every recording resource lives under a
*scope* ``/recordings/{recording}/{viewer}`` and needs ``?exp=…&sig=…`` signed for
that scope (:mod:`signaling.server.signed_urls`). A viewer handle is random and stands for
one participant of the session (or for the platform's API key); it is what lets the
server count what it delivered to whom without any name or person id in a URL.
Files are named by random recording ids and track codes (``v0-00003.webm``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from recorder.media import segments as seg
from recorder.media.recording import FULL_FILE, ORPHAN_S, STATS, Recorder, purge, recover
from recorder.media.recording_index import Recording, RecordingIndex, open_index
from recorder.media.replay_time import viewing_intervals
from recorder.presence.journal import iso_intervals
from rtc.clock import Clock
from signaling.server import signed_urls
from signaling.server.export_jobs import ExportJobs
from signaling.session.spec import SessionSpec
from signaling.session.timefmt import iso_at, parse
from signaling.session.whiteboard import BoardOp

log = logging.getLogger(__name__)

RECORDING_ID = re.compile(r"r_[A-Za-z0-9_-]{16}")
VIEWER_ID = re.compile(r"v_[A-Za-z0-9_-]{16}")
TRACK_ID = re.compile(r"[av][0-9]{1,3}")
LINK_LIFETIME_S = 24 * 3600
PURGE_EVERY_S = 3600.0


class Recordings:
    """One per app: the index, the recorders running, links and retention."""

    def __init__(self, *, data_dir: Path, secret: bytes, clock: Clock,
                 retention_days: float, segment_s: float, database_url: str = "",
                 recordings_dir: Path | None = None, node: str = "") -> None:
        # Several nodes: the index in PostgreSQL (database_url) and the files on a
        # recordings root every node mounts, so any node lists and serves any of them.
        self.root = recordings_dir or data_dir / "recordings"
        self.index: RecordingIndex = open_index(
            database_url, data_dir / "recordings.sqlite", node=node)
        self._secret = secret
        self._clock = clock
        self.retention_days = retention_days
        self.segment_s = segment_s
        self._recorders: set[Recorder] = set()
        self._purger: asyncio.Task[None] | None = None
        self._orphans: asyncio.Task[None] | None = None
        self.exports = ExportJobs(data_dir, clock)
        self.on_ready: Callable[[str, str], None] | None = None  # (session, recording)

    # -- lifecycle

    async def open(self) -> None:
        await self.index.open()
        finished = await asyncio.to_thread(recover, self.index, self.root,
                                           now=self._clock.time())
        if finished:
            STATS["recovered"] += len(finished)
        self._orphans = asyncio.create_task(self._orphan_loop(), name="recordings:orphans")
        if self.retention_days > 0:
            self._purger = asyncio.create_task(self._purge_loop(), name="recordings:purge")

    async def close(self) -> None:
        for task in (self._purger, self._orphans):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self.exports.close()
        for recorder in list(self._recorders):
            await recorder.stop()
            await recorder.wait_finished()
        await self.index.close()

    async def _purge_loop(self) -> None:
        while True:
            try:
                gone = await asyncio.to_thread(self.purge_expired)
                for rec in gone:
                    log.info("retention: deleted recording %s of session %s", rec.id,
                             rec.session_id)
            except Exception:
                log.exception("retention purge failed")
            await asyncio.sleep(PURGE_EVERY_S)

    async def _orphan_loop(self) -> None:
        """Finish what a node that is gone left open on the shared index and root."""
        while True:
            await asyncio.sleep(ORPHAN_S / 10)
            try:
                finished = await asyncio.to_thread(
                    recover, self.index, self.root, orphans_only=True, now=self._clock.time())
                STATS["recovered"] += len(finished)
            except Exception:
                log.exception("finishing the recordings of a gone node failed")

    def purge_expired(self, dry_run: bool = False) -> list[Recording]:
        cutoff = self._clock.time() - self.retention_days * 86400
        for old in sorted(self.exports.folder.glob("x_*.mp4")):
            if old.stat().st_mtime < cutoff and not dry_run:
                old.unlink(missing_ok=True)
        return purge(self.index, self.root, older_than=cutoff, dry_run=dry_run)

    # -- recorders (the room owner calls these)

    def new_recorder(self, session_id: str, *, request_keyframe: Callable[[str], None],
                     on_error: Callable[[str, str], None]) -> Recorder:
        recording_id = "r_" + secrets.token_urlsafe(12)
        recorder = Recorder(
            self.index, self.root / recording_id, recording_id, session_id,
            clock=self._clock, request_keyframe=request_keyframe, on_error=on_error,
            segment_s=self.segment_s,
        )
        self._recorders.add(recorder)
        return recorder

    async def finished(self, recorder: Recorder) -> None:
        """A room stopped ``recorder``: forget it once its single file is made (and say
        so: ``on_ready(session_id, recording_id)``, the ``recording.ready`` webhook)."""
        await recorder.wait_finished()
        self._recorders.discard(recorder)
        if self.on_ready is not None:
            self.on_ready(recorder.session_id, recorder.id)

    @property
    def active(self) -> int:
        return sum(1 for r in self._recorders if not r.stopping)

    # -- links

    def scope(self, recording_id: str, viewer: str) -> str:
        return f"/recordings/{recording_id}/{viewer}"

    def _signature(self, recording_id: str, viewer: str, lifetime: float) -> dict[str, str]:
        expires = int(self._clock.time() + lifetime)
        signed = signed_urls.sign(self._secret, self.scope(recording_id, viewer), expires)
        return {k: v[0] for k, v in parse_qs(urlsplit(signed).query).items()}

    def links(self, recording_id: str, viewer: str, base: str = "",
              lifetime: float = LINK_LIFETIME_S) -> dict[str, Any]:
        sig = self._signature(recording_id, viewer, lifetime)
        query = urlencode(sig)
        scope = self.scope(recording_id, viewer)
        return {
            "url": f"{base}{scope}/{FULL_FILE}?{query}",
            "replay_url": f"{base}/replay?{urlencode({'r': recording_id, 'v': viewer, **sig})}",
            "expires_at": iso_at(int(sig["exp"])),
            "_query": query,
        }

    def check(self, recording_id: str, viewer: str, exp: str | None, sig: str | None) -> bool:
        if not RECORDING_ID.fullmatch(recording_id) or not VIEWER_ID.fullmatch(viewer):
            return False
        return signed_urls.check(self._secret, self.scope(recording_id, viewer), exp, sig,
                                 now=self._clock.time())

    async def viewer(self, session_id: str, person: str | None) -> str:
        return await self.index.aviewer(lambda: "v_" + secrets.token_urlsafe(12), session_id,
                                        person)

    # -- reading

    async def listing(self, session_id: str, viewer: str, base: str = "") -> list[dict[str, Any]]:
        out = []
        for rec in await self.index.arecordings(session_id=session_id):
            if rec.state == "recording" or (not rec.segments and not rec.complete):
                # Listed once finished (its single file exists only then). A recording a
                # crash cut before any of its media was durable is no replay (it would
                # be listed with 0 bytes); the session record still lists it with its
                # lost span. One with no media that ended normally (nobody published:
                # board and chat only) is listed, with ``media: false``.
                continue
            links = self.links(rec.id, viewer, base)
            out.append({
                "id": rec.id,
                "url": links["url"],
                "replay_url": links["replay_url"],
                "expires_at": links["expires_at"],
                "started_at": iso_at(rec.origin_wall),
                "duration_s": round(rec.duration_s, 3),
                "tracks": [
                    {"id": t.track, "kind": t.kind, "codec": t.codec, "person": t.person}
                    for t in rec.tracks
                ],
                "complete": rec.complete,
                "media": bool(rec.segments),
                "bytes": rec.bytes,
                "file_ready": rec.file_bytes is not None,  # ``url`` answers 404 until then
                "unrecorded": _unrecorded(rec),
            })
        return out

    async def summary(self, session_id: str) -> list[dict[str, Any]]:
        """The session record's ``recordings``: what was recorded and what was not."""
        return [
            {
                "id": rec.id,
                "started_at": iso_at(rec.origin_wall),
                "stopped_at": iso_at(rec.stopped_at) if rec.stopped_at else None,
                "state": rec.state,
                "complete": rec.complete,
                "duration_s": round(rec.duration_s, 3),
                "unrecorded": _unrecorded(rec),
            }
            for rec in await self.index.arecordings(session_id=session_id)
        ]

    async def replay(self, session_id: str, learners: set[str]) -> dict[str, list[list[str]]]:
        """The session record's ``replay``: learner → viewing intervals, measured from
        the segments the server delivered to them (:mod:`recorder.media.replay_time`)."""
        deliveries = await self.index.adeliveries(session_id)
        now = self._clock.time()
        spans = {
            person: viewing_intervals(items, now=now)
            for person, items in deliveries.items()
            if person in learners
        }
        return iso_intervals({p: s for p, s in spans.items() if s})


def _unrecorded(rec: Recording) -> list[dict[str, Any]]:
    """Spans lost to a failure, in server time, merged across tracks per reason."""
    out = []
    for gap in rec.gaps:
        out.append({
            "start": iso_at(rec.origin_wall + gap.start_s),
            "end": iso_at(rec.origin_wall + gap.end_s),
            "start_s": round(gap.start_s, 3),
            "end_s": round(gap.end_s, 3),
            "track": gap.track,
            "reason": gap.reason,
        })
    return out


def presenter(rec: Recording, spec: SessionSpec) -> str | None:
    """Whose camera the replay shows: the first instructor with video, else the video
    track with the most bytes (a presenting learner in a review)."""
    videos = [t for t in rec.tracks if t.kind == "video"]
    for person in spec.people:
        if person.role == "instructor":
            found = next((t for t in videos if t.person == person.id), None)
            if found is not None:
                return found.person
    if not videos:
        return None
    sizes = {t.track: sum(s.bytes for s in rec.segments_of(t.track)) for t in videos}
    return max(videos, key=lambda t: sizes[t.track]).person


def manifest(
    rec: Recording,
    spec: SessionSpec,
    *,
    session_id: str,
    board: list[BoardOp],
    chat: list[dict[str, Any]],
    scope_query: str,
    scope: str,
    sign_upload: Callable[[str], str],
) -> dict[str, Any]:
    """Everything the replay page needs, on the recording's clock (seconds)."""
    names = {p.id: (p.name, p.role) for p in spec.people}
    end_wall = rec.origin_wall + rec.duration_s

    def at(ts: str) -> float:
        return round(parse(ts).timestamp() - rec.origin_wall, 3)

    ops = []
    for entry in board:
        if parse(entry.ts).timestamp() > end_wall:
            break
        op = dict(entry.op)
        if op.get("type") == "background" and op.get("image"):
            op["url"] = sign_upload(f"/uploads/{op['image']}")
        ops.append({"t": at(entry.ts), "seq": entry.seq, "by": entry.by, "op": op})
    messages = []
    for message in chat:
        if parse(message["ts"]).timestamp() > end_wall:
            continue
        item = {**message, "t": at(message["ts"])}
        if item.get("image"):  # the stored link expires in days; a replay may come later
            item["image"] = sign_upload(urlsplit(str(item["image"])).path)
        messages.append(item)
    who = presenter(rec, spec)
    return {
        "id": rec.id,
        "session": {"id": session_id, "title": spec.title, "form": spec.form,
                    "programme": spec.programme},
        "started_at": iso_at(rec.origin_wall),
        "duration_s": round(rec.duration_s, 3),
        "complete": rec.complete,
        "presenter": who,
        "tracks": [
            {
                "id": t.track,
                "kind": t.kind,
                "codec": t.codec,
                "person": t.person,
                "name": names.get(t.person, ("", ""))[0],
                "role": names.get(t.person, ("", ""))[1],
                "mime": seg.mse_type(t.kind, t.codec),
                "segments": [[s.n, round(s.start_s, 3), round(s.end_s, 3)]
                             for s in rec.segments_of(t.track)],
            }
            for t in rec.tracks
        ],
        "unrecorded": _unrecorded(rec),
        "board": ops,
        "chat": messages,
        "segment_url": f"{scope}/{{track}}/{{n}}.webm?{scope_query}",
        "download_url": f"{scope}/{FULL_FILE}?{scope_query}",
    }
