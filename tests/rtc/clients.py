"""Real aiortc client peers for the media tests, in the same process, over 127.0.0.1.

A :class:`Client` behaves like our browser client: it adds its own tracks (sendrecv),
one ``recvonly`` transceiver per stream it should receive, offers, and applies the
answer's mid → stream map. Its receivers decode (the *client* decodes and encodes;
the server must do neither) and count frames per mid.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, VideoStreamTrack
from av import VideoFrame

from rtc.contract import StreamInfo
from rtc.ice import restrict_host_addresses, rtc_configuration
from rtc.room import MediaRoom

LOOPBACK = ["127.0.0.1"]
WIDTH, HEIGHT = 160, 120


class PatternVideo(VideoStreamTrack):
    """Small frames with a moving bar, 30 fps (cheap to encode on 2 cores)."""

    def __init__(self, width: int = WIDTH, height: int = HEIGHT) -> None:
        super().__init__()
        self.width, self.height = width, height
        self.count = 0

    async def recv(self) -> VideoFrame:
        pts, time_base = await self.next_timestamp()
        plane = np.full((self.height * 3 // 2, self.width), 128, dtype=np.uint8)
        x = (self.count * 4) % self.width
        plane[: self.height, x : x + 8] = 235
        frame = VideoFrame.from_ndarray(plane, format="yuv420p")
        frame.pts = pts
        frame.time_base = time_base
        self.count += 1
        return frame


@dataclass
class Received:
    frames: int = 0
    first_at: float | None = None
    last_at: float | None = None
    sizes: set[tuple[int, int]] = field(default_factory=set)


class Client:
    def __init__(
        self, name: str, room: MediaRoom, *, audio: bool = False, video: bool = False
    ) -> None:
        self.name = name
        self.room = room
        self.pc = RTCPeerConnection(rtc_configuration())
        self.mapping: dict[str, StreamInfo] = {}
        self.received: dict[str, Received] = {}
        self.answers: list[str] = []
        self.offers: list[str] = []
        self.keyframe_requests = 0  # PLI/FIR that reached this client's video sender
        self._tasks: list[asyncio.Task[None]] = []
        self.video_track: PatternVideo | None = None
        if audio:
            self.pc.addTrack(AudioStreamTrack())
        if video:
            self.video_track = PatternVideo()
            sender = self.pc.addTrack(self.video_track)
            original: Callable[[], None] = sender._send_keyframe

            def counted() -> None:
                self.keyframe_requests += 1
                original()

            sender._send_keyframe = counted  # type: ignore[method-assign]
        self.pc.on("track", self._on_track)

    # -- negotiation

    def add_receivers(self, streams: list[StreamInfo]) -> None:
        """Enough recvonly transceivers per kind for ``streams`` (as the browser does)."""
        for kind in ("audio", "video"):
            have = sum(
                1
                for t in self.pc.getTransceivers()
                if t.kind == kind and t.direction == "recvonly"
            )
            for _ in range(sum(1 for s in streams if s.kind == kind) - have):
                self.pc.addTransceiver(kind, direction="recvonly")

    async def negotiate(self, streams: list[StreamInfo] | None = None) -> dict[str, StreamInfo]:
        if streams:
            self.add_receivers(streams)
        offer = await self.pc.createOffer()
        restrict_host_addresses(self.pc, LOOPBACK)
        await self.pc.setLocalDescription(offer)
        self.offers.append(self.pc.localDescription.sdp)
        answer = await self.room.offer(self.name, self.pc.localDescription.sdp)
        self.answers.append(answer.sdp)
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer.sdp, type="answer"))
        self.mapping = dict(answer.tracks)
        return self.mapping

    # -- reception

    def _on_track(self, track: MediaStreamTrack) -> None:
        mid = next(
            str(t.mid) for t in self.pc.getTransceivers() if t.receiver.track is track
        )
        self._tasks.append(asyncio.ensure_future(self._consume(mid, track)))

    async def _consume(self, mid: str, track: MediaStreamTrack) -> None:
        stats = self.received.setdefault(mid, Received())
        try:
            while True:
                frame: Any = await track.recv()
                now = time.monotonic()
                stats.frames += 1
                stats.last_at = now
                if stats.first_at is None:
                    stats.first_at = now
                if isinstance(frame, VideoFrame):
                    stats.sizes.add((frame.width, frame.height))
        except MediaStreamError:
            pass

    def frames(self, person: str, kind: str) -> int:
        """Frames decoded on whichever slot carries ``person``'s ``kind`` now."""
        return sum(
            self.received[mid].frames
            for mid, s in self.mapping.items()
            if s == StreamInfo(person, kind) and mid in self.received
        )

    def mid_of(self, person: str, kind: str) -> str:
        return next(m for m, s in self.mapping.items() if s == StreamInfo(person, kind))

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await self.pc.close()


class Events:
    """A MediaEvents that records everything, with the time it happened."""

    def __init__(self) -> None:
        self.log: list[tuple[float, str, tuple[Any, ...]]] = []
        self.samples: list[tuple[str, int, Any]] = []  # (person, second, MediaSample)

    def _add(self, name: str, *args: Any) -> None:
        self.log.append((time.monotonic(), name, args))

    def media_up(self, person: str, kind: str) -> None:
        self._add("media_up", person, kind)

    def media_down(self, person: str, kind: str) -> None:
        self._add("media_down", person, kind)

    def transport(self, person: str, up: bool) -> None:
        self._add("transport", person, up)

    def traffic(self, person: str) -> None:
        self._add("traffic", person)

    def renegotiate(self, person: str, streams: list[StreamInfo]) -> None:
        self._add("renegotiate", person, list(streams))

    def tracks_changed(self, person: str, tracks: dict[str, StreamInfo]) -> None:
        self._add("tracks_changed", person, dict(tracks))

    def quality(self, person: str, level: str, reason: str) -> None:
        self._add("quality", person, level, reason)

    def sample(self, person: str, second: int, sample: Any) -> None:
        self.samples.append((person, second, sample))

    def samples_of(self, person: str) -> list[Any]:
        return [s for p, _, s in self.samples if p == person]

    def of(self, person: str, *, traffic: bool = False) -> list[tuple[Any, ...]]:
        """(name, *args) for ``person``, in order; traffic left out unless asked."""
        return [
            (name, *args[1:])
            for _, name, args in self.log
            if args[0] == person and (traffic or name != "traffic")
        ]

    def times(self, name: str, person: str) -> list[float]:
        return [t for t, n, args in self.log if n == name and args[0] == person]

    def last(self, name: str, person: str) -> tuple[Any, ...] | None:
        found = [args for _, n, args in self.log if n == name and args[0] == person]
        return found[-1] if found else None


async def until(predicate: Callable[[], bool], within: float = 5.0, what: str = "") -> None:
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what or predicate}")
        await asyncio.sleep(0.02)

