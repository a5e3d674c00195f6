"""Micro-lessons' state around the store: publishing (the file made in the background,
one at a time), the lessons' files and byte indexes, the paced video responses that
write down what they sent, and watched time computed from that (the pure rule in
:mod:`signaling.microlessons.watching`)."""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import logging
import secrets
import tomllib
from collections.abc import Callable
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

from aiohttp import web

from signaling.microlessons import making
from signaling.microlessons.lessons import Lesson, MicroPolicy, PolicyError, parse_policy
from signaling.microlessons.store import LessonStore, Viewer
from signaling.microlessons.watching import ByteIndex, Served, Watched, allowed_end, watched
from signaling.server import signed_urls
from signaling.server.services import Services

log = logging.getLogger(__name__)
CHUNK = 16 * 1024  # bytes per write: a few tenths of a second of a 640×480 lesson
FLUSH_S = 5.0  # a response's served range is written down at least this often
WAIT_S = 0.2  # while the pace holds a response back
VIDEO_LINK_S = 6 * 3600  # a player's signed video link lasts an evening
PLATFORM = "platform"  # the viewer handle of the API key: its fetches are not views


@lru_cache(maxsize=8)
def policy_of(document: str) -> MicroPolicy:
    """The ``[micro_lessons]`` numbers of a policy document (malformed: the defaults,
    logged; the settings editor refuses such a document before it is in effect)."""
    try:
        return parse_policy(tomllib.loads(document))
    except (PolicyError, tomllib.TOMLDecodeError) as exc:
        log.warning("the tutoring policy's [micro_lessons] table does not load (%s): "
                    "defaults", exc)
        return MicroPolicy()


def viewer_handle(person: str, name: str, school: str, grade: str) -> str:
    """Who a video link is for, inside its signed path (so another node can write the
    viewer down without asking anyone): URL-safe base64 of a JSON list."""
    raw = json.dumps([person, name, school, grade], ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def viewer_of(handle: str) -> tuple[str, str, str, str] | None:
    if handle == PLATFORM or len(handle) > 1024:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(handle + "=" * (-len(handle) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    if isinstance(value, list) and len(value) == 4 and all(isinstance(v, str) for v in value):
        return value[0], value[1], value[2], value[3]
    return None


class MicroLessons:
    def __init__(self, svc: Services, store: LessonStore,
                 policy: Callable[[], MicroPolicy]) -> None:
        self.svc, self.store, self.policy = svc, store, policy
        # Beside the recordings when the operator shares their root between nodes
        # (--recordings-dir), so any node serves a lesson another node made; session
        # folders there are s_…, so this name never meets one. Else the data directory.
        shared = svc.config.recordings_dir
        self.folder = shared / "microlessons" if shared else svc.config.data_dir / "microlessons"
        self._one_at_a_time = asyncio.Semaphore(1)
        self._tasks: set[asyncio.Task[None]] = set()
        self._indexes: dict[str, ByteIndex] = {}

    async def open(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if n := await self.store.interrupted():
            log.warning("%d micro-lesson(s) were being prepared when the server stopped: "
                        "failed (publish again)", n)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def file(self, lesson_id: str) -> Path:
        return self.folder / f"{lesson_id}.mp4"

    @property
    def preparing(self) -> int:
        return len(self._tasks)

    # -- publishing

    def prepare(self, lesson: Lesson) -> None:
        task = asyncio.create_task(self._prepare(lesson), name=f"microlesson:{lesson.lesson_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _prepare(self, lesson: Lesson) -> None:
        config = self.svc.config
        recordings = self.svc.recordings
        async with self._one_at_a_time:
            try:
                made = await making.make(
                    lesson.session_id, lesson.recording_id, lesson.start_s, lesson.end_s,
                    self.file(lesson.lesson_id), data_dir=config.data_dir,
                    database_url=config.database_url,
                    recordings_dir=recordings.root if recordings is not None else None)
            except making.MakeFailed as exc:
                log.warning("micro-lesson %s: %s", lesson.lesson_id, exc)
                await self.store.finish(lesson.lesson_id, state="failed", error=str(exc)[:300])
                return
            except Exception:
                log.exception("micro-lesson %s could not be made", lesson.lesson_id)
                await self.store.finish(lesson.lesson_id, state="failed", error="internal")
                return
        await self.store.finish(lesson.lesson_id, state="ready", lead_s=made.lead_s,
                                duration_s=made.duration_s, size=made.size,
                                byte_index=json.dumps(made.index.wire()))
        now = await self.store.get(lesson.lesson_id)
        if now is None or now.state != "ready":  # unpublished while it was being made
            self.file(lesson.lesson_id).unlink(missing_ok=True)

    async def unpublish(self, lesson: Lesson) -> None:
        await self.store.unpublish(lesson.lesson_id)
        self._indexes.pop(lesson.lesson_id, None)
        self.file(lesson.lesson_id).unlink(missing_ok=True)

    # -- watching

    async def index(self, lesson_id: str) -> ByteIndex | None:
        found = self._indexes.get(lesson_id)
        if found is None:
            raw = await self.store.byte_index(lesson_id)
            if not raw:
                return None
            found = ByteIndex.of_wire(json.loads(raw))
            if len(self._indexes) > 200:
                self._indexes.clear()
            self._indexes[lesson_id] = found
        return found

    async def watched(self, lesson_id: str, viewer: str) -> Watched | None:
        index = await self.index(lesson_id)
        if index is None:
            return None
        rows = await self.store.served(lesson_id, viewer)
        return watched(rows, index, slack_s=self.policy().slack_s)

    def video_url(self, lesson_id: str, handle: str) -> str:
        path = f"/microlessons/{lesson_id}/{handle}/lesson.mp4"
        expires = int(self.svc.clock.time()) + VIDEO_LINK_S
        return signed_urls.sign(self.svc.config.secret, path, expires)

    def check_video(self, request: web.Request) -> bool:
        path = (f"/microlessons/{request.match_info['id']}/{request.match_info['viewer']}"
                "/lesson.mp4")
        return signed_urls.check(self.svc.config.secret, path, request.query.get("exp"),
                                 request.query.get("sig"), now=self.svc.clock.time())

    async def serve(self, request: web.Request, lesson: Lesson, index: ByteIndex,
                    viewer: tuple[str, str, str, str] | None) -> web.StreamResponse:
        """The lesson's bytes for one request (Range honoured), paced, each few seconds
        of progress written down for ``viewer`` (``None``: the platform, not a view)."""
        path = self.file(lesson.lesson_id)
        size = path.stat().st_size
        try:
            wanted = request.http_range
        except ValueError:
            return _unsatisfiable(size)
        ranged = "Range" in request.headers
        start = wanted.start if wanted.start is not None else 0
        stop = wanted.stop if wanted.stop is not None else size
        if start < 0:  # bytes=-N: the last N
            start, stop = max(0, size + start), size
        stop = min(stop, size)
        if start >= size or stop <= start:
            return _unsatisfiable(size)
        p = self.policy()
        if viewer is not None:
            if await self.store.served_count(lesson.lesson_id, viewer[0]) >= p.max_served_rows:
                return web.json_response({"error": {
                    "code": "too_many_requests",
                    "message": "this lesson was sent to you too often: open it again later"}},
                    status=429)
            await self.store.seen(Viewer(lesson.lesson_id, *viewer, self.svc.clock.time()))
        response = web.StreamResponse(status=206 if ranged else 200)
        response.content_type = "video/mp4"
        response.content_length = stop - start
        response.headers["Accept-Ranges"] = "bytes"
        response.headers["Cache-Control"] = "private, no-store"
        if ranged:
            response.headers["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"
        await response.prepare(request)
        if request.method == "HEAD":
            return response
        await self._send(response, path, lesson.lesson_id, index, start, stop, viewer, p)
        return response

    async def _send(self, response: web.StreamResponse, path: Path, lesson_id: str,
                    index: ByteIndex, start: int, stop: int,
                    viewer: tuple[str, str, str, str] | None, p: MicroPolicy) -> None:
        clock = self.svc.clock
        serve = secrets.token_hex(6)
        began = clock.monotonic()
        sent = start
        row: Served | None = None
        try:
            with path.open("rb") as f:
                f.seek(start)
                while sent < stop:
                    allowed = allowed_end(index, start, clock.monotonic() - began,
                                          lead_s=p.serve_lead_s,
                                          pace=p.serve_pace_percent / 100)
                    if allowed <= sent:
                        await clock.sleep(WAIT_S)
                        continue
                    data = f.read(min(CHUNK, stop - sent, allowed - sent))
                    if not data:
                        break
                    await response.write(data)  # waits while the player does not read
                    now = clock.time()
                    row = (Served(serve, now, now, sent, sent + len(data)) if row is None
                           else replace(row, last_at=now, end=sent + len(data)))
                    sent += len(data)
                    if viewer is not None and row.last_at - row.first_at >= FLUSH_S:
                        await self.store.add_served(lesson_id, viewer[0], row)
                        row = None
        except ConnectionError:
            pass  # the player closed this response (a seek, a pause, the page gone)
        finally:
            if viewer is not None and row is not None:
                # Shielded: the request's task may be cancelled while this is written.
                with contextlib.suppress(Exception):
                    await asyncio.shield(self.store.add_served(lesson_id, viewer[0], row))


def _unsatisfiable(size: int) -> web.Response:
    return web.json_response(
        {"error": {"code": "range_not_satisfiable", "message": "that byte range is not in "
                   "the file"}}, status=416, headers={"Content-Range": f"bytes */{size}"})


def public(lesson: Lesson, *, owner: bool = False) -> dict[str, object]:
    """What a lesson list shows; the owner (or the platform) also sees where it came
    from and why it failed."""
    out = lesson.wire()
    if not owner:
        for key in ("session_id", "recording_id", "error"):
            out.pop(key, None)
    return out

