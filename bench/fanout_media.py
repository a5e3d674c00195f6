"""The benchmark's lecture stream: encoded once, looped, and stamped with a probe.

The publisher must not spend CPU on encoding (it shares the 2 cores with the server
under test), so 6 s of 640×480 VP8 (a slide with some motion, ~600 kbit/s at 30 fps,
a keyframe every 3 s) and 1 s of 20 ms Opus frames are encoded once at start-up and
then looped by :class:`PrecodedTrack`, which hands aiortc's sender ``av.Packet``
objects (the sender's ``pack()`` path: packetise only).

Every frame carries a 16-byte *probe* appended to its encoded data: a magic, the
frame's index in the stream and its send time (``time.monotonic()``: one clock for
all processes on the host). The server forwards payload bytes unchanged, so a
subscriber reads the probe from the frame's last RTP packet and knows which frame
arrived and how long it took. A decoder ignores trailing bytes after the last VP8
partition; nobody decodes here anyway. The ``reencode`` baseline replaces the payload,
so there the probe is gone and only counts and timings without identity are kept.
"""

from __future__ import annotations

import asyncio
import fractions
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import av
import numpy as np
from aiortc import MediaStreamTrack
from aiortc.codecs.opus import OpusEncoder
from aiortc.mediastreams import MediaStreamError

from bench.harness import encode_vp8, vp8_encoder

WIDTH, HEIGHT, FPS = 640, 480, 30
VIDEO_BITRATE = 390_000  # libvpx overshoots: ~600 kbit/s on the wire
GOP = 90  # a keyframe every 3 s
VIDEO_FRAMES = 180
AUDIO_FRAMES = 50
AUDIO_PTIME = 0.020

PROBE = struct.Struct("!4sId")  # magic, frame index, send time (monotonic seconds)
MAGIC = b"OTPB"


@dataclass(frozen=True)
class Encoded:
    kind: str
    frames: list[bytes]
    keyframes: list[int]  # indices into frames
    clock_rate: int
    step: int  # RTP timestamp units per frame
    interval: float  # seconds per frame

    @property
    def bitrate(self) -> float:
        return sum(len(f) for f in self.frames) * 8 / (len(self.frames) * self.interval)


def encode_video(frames: int = VIDEO_FRAMES) -> Encoded:
    codec = vp8_encoder(WIDTH, HEIGHT, FPS, VIDEO_BITRATE, GOP)
    rng = np.random.default_rng(1)
    slide = np.full((HEIGHT * 3 // 2, WIDTH), 200, np.uint8)
    slide[40:440:8, 40:600] = 30  # lines of "text"

    def planes() -> Iterator[Any]:
        for i in range(frames):
            plane = slide.copy()
            x = (i * 6) % (WIDTH - 80)
            plane[200:260, x:x + 60] = rng.integers(0, 255, (60, 60), dtype=np.uint8)  # a hand
            plane[300:380, 100:260] = rng.integers(0, 255, (80, 160), dtype=np.uint8)  # a video
            yield plane

    out, keys = encode_vp8(codec, planes())
    return Encoded("video", out, keys, 90000, 90000 // FPS, 1 / FPS)


def encode_audio(frames: int = AUDIO_FRAMES) -> Encoded:
    encoder = OpusEncoder()
    t = np.arange(960) / 48000
    out: list[bytes] = []
    for i in range(frames):
        tone = 0.2 * np.sin(2 * np.pi * (220 + 20 * (i % 10)) * (t + i * AUDIO_PTIME))
        samples = (tone * 32767).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(
            np.repeat(samples, 2).reshape(1, -1), format="s16", layout="stereo"
        )
        frame.sample_rate = 48000
        frame.pts = i * 960
        frame.time_base = fractions.Fraction(1, 48000)
        payloads, _ = encoder.encode(frame)
        out.extend(payloads)
    return Encoded("audio", out, list(range(len(out))), 48000, 960, AUDIO_PTIME)


def read_probe(payload: bytes) -> tuple[int, float] | None:
    """(frame index, send time) from the end of a frame's last packet, if there."""
    if len(payload) < PROBE.size or payload[-PROBE.size:-PROBE.size + 4] != MAGIC:
        return None
    _, index, sent = PROBE.unpack_from(payload, len(payload) - PROBE.size)
    return index, sent


class PrecodedTrack(MediaStreamTrack):
    """Loops an :class:`Encoded` stream in real time. A keyframe request (the server's
    PLI reaching our RTCRtpSender) makes the next frame the next keyframe of the loop,
    as a real encoder would answer it."""

    def __init__(self, media: Encoded) -> None:
        super().__init__()
        self.kind = media.kind
        self._media = media
        self._time_base = fractions.Fraction(1, media.clock_rate)
        self._start: float | None = None
        self._position = 0
        self.index = 0  # frames sent
        self.keyframe_requests = 0
        self._want_keyframe = False
        self.sent: list[float] = []  # send time of each frame, by index

    def request_keyframe(self) -> None:
        self.keyframe_requests += 1
        self._want_keyframe = True

    async def recv(self) -> Any:
        if self.readyState != "live":
            raise MediaStreamError
        media = self._media
        if self._start is None:
            self._start = time.monotonic()
        due = self._start + self.index * media.interval
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        if self._want_keyframe and media.kind == "video":
            self._want_keyframe = False
            ahead = [k for k in media.keyframes if k >= self._position]
            self._position = ahead[0] if ahead else media.keyframes[0]
        data = media.frames[self._position]
        self._position = (self._position + 1) % len(media.frames)
        now = time.monotonic()
        packet = av.Packet(data + PROBE.pack(MAGIC, self.index, now))
        packet.pts = self.index * media.step
        packet.time_base = self._time_base
        self.sent.append(now)
        self.index += 1
        return packet
