"""A room's recording switch: which recorder is tapping its media, since when.

Used only by the room owner task (:mod:`signaling.session.room`), so no locking. The room
decides *when* (the first join in this process if the session is to be recorded:
the instructor's durable choice, else ``record: true``; the instructor's ``record``
event; the end) and broadcasts; this class starts and stops the recorder and keeps
the state the ``recording`` event and ``welcome`` carry, with the ``reason`` of an
automatic change (``resumed`` after a server restart, ``failed`` when it could not
start) until the next change.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from recorder.media.recording import STATS, Recorder
from rtc.clock import Clock
from rtc.room import MediaRoom
from signaling.session.timefmt import iso_at

log = logging.getLogger(__name__)


class RecorderSource(Protocol):
    """What the room needs from :class:`signaling.server.recordings.Recordings`."""

    def new_recorder(self, session_id: str, *, request_keyframe: Callable[[str], None],
                     on_error: Callable[[str, str], None]) -> Recorder: ...

    async def finished(self, recorder: Recorder) -> None: ...


class RoomRecording:
    def __init__(self, session_id: str, source: RecorderSource | None, clock: Clock) -> None:
        self._session_id = session_id
        self._source = source
        self._clock = clock
        self._recorder: Recorder | None = None
        self._since: str | None = None
        self._reason: str | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.started_once = False

    @property
    def available(self) -> bool:
        return self._source is not None

    @property
    def on(self) -> bool:
        return self._recorder is not None

    @property
    def recording_id(self) -> str | None:
        return self._recorder.id if self._recorder is not None else None

    def wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {"on": self.on, "since": self._since}
        if self._reason is not None:
            out["reason"] = self._reason
        return out

    def failed(self) -> None:
        """An automatic start failed: the state says so until the next change."""
        self._reason = "failed"

    async def start(self, media: MediaRoom, on_error: Callable[[str, str], None],
                    reason: str | None = None) -> bool:
        """Start recording; ``False`` if it already was. Raises ``OSError`` and the like
        if the recorder cannot start (the caller reports it)."""
        if self._recorder is not None or self._source is None:
            return False
        self.started_once = True
        self._reason = None
        recorder = self._source.new_recorder(
            self._session_id, request_keyframe=media.request_keyframe, on_error=on_error
        )
        try:
            await recorder.start()
        except Exception:
            STATS["errors"] += 1
            self._finish_later(recorder)
            raise
        media.add_tap(recorder)
        self._recorder = recorder
        self._since = iso_at(recorder.origin_wall)
        self._reason = reason
        log.info("session %s: recording %s started", self._session_id, recorder.id)
        return True

    async def stop(self, media: MediaRoom) -> bool:
        """Stop recording; ``False`` if it was not on. Segments are closed when this
        returns; the single file is joined afterwards, off the loop."""
        recorder = self._recorder
        if recorder is None:
            return False
        self._recorder = None
        self._since = None
        self._reason = None
        media.remove_tap(recorder)
        await recorder.stop()
        self._finish_later(recorder)
        log.info("session %s: recording %s stopped", self._session_id, recorder.id)
        return True

    def _finish_later(self, recorder: Recorder) -> None:
        if self._source is None:
            return
        task = asyncio.ensure_future(self._source.finished(recorder))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


@dataclass(frozen=True)
class RecordingNote:
    """A recorder reported a failure (posted to the room from the writer thread's loop
    callback); the room tells its instructors."""

    code: str
    message: str
