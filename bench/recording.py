"""Recording cost: CPU per recorded stream, the remux path only.

    python -m bench.recording                  # 120 s of a 640x480 camera + microphone
    python -m bench.recording --seconds 600
    python -m bench.recording --speed 20       # 20 s of media per second (fewer fsyncs)

A 640×480 VP8 camera at 30 fps (~1 Mbit/s, a keyframe every 5 s) and an Opus
microphone (50 frames/s) are encoded once up front (that is the browser's work, not
the server's), then their packets are handed to a :class:`recorder.media.recording.Recorder`
exactly as the forward path does (``frame()`` on the caller's thread, pts on one
clock), one second of media per second of wall time by default (``--speed``): the
writer fsyncs the open segments and beats once a wall second, so only real time
counts those as a live session has them. Measured: the caller's CPU in ``frame()`` (the
event loop's share) and the writer thread's CPU (muxing, segment files, index,
heartbeats), divided by the seconds of media recorded: the fraction of one core a
live stream costs. The single file joined after the recording is reported apart
(once per recording, not per second of a session). Durability is reported too: the
fsyncs per second of the open segments and their mean wall time (the writer
thread waits for them; the event loop never does).
"""

from __future__ import annotations

import argparse
import asyncio
import fractions
import math
import tempfile
import time
from pathlib import Path
from typing import Any

import av
import numpy as np

from recorder.media.recording import STATS, Recorder
from recorder.media.recording_index import SqliteRecordingIndex
from rtc.clock import FakeClock

FPS = 30
LOOP_S = 10  # encoded once, replayed with shifted timestamps


class _Packet:
    def __init__(self, data: bytes, pts: int, rate: int) -> None:
        self.data, self.pts, self.time_base = data, pts, fractions.Fraction(1, rate)

    def __bytes__(self) -> bytes:
        return self.data


def encode_loop() -> list[tuple[float, str, str, bytes, bool]]:
    vp8 = av.CodecContext.create("libvpx", "w")
    vp8.width, vp8.height, vp8.pix_fmt = 640, 480, "yuv420p"
    vp8.time_base = fractions.Fraction(1, 90000)
    vp8.bit_rate = 1_000_000
    vp8.gop_size = 5 * FPS
    vp8.options = {"deadline": "realtime", "cpu-used": "8"}
    rng = np.random.default_rng(1)
    base = rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)
    out: list[tuple[float, str, str, bytes, bool]] = []
    for i in range(LOOP_S * FPS):
        picture = np.roll(base, i * 4, axis=1)
        image = av.VideoFrame.from_ndarray(picture, format="rgb24").reformat(format="yuv420p")
        image.pts = i * 3000
        for p in vp8.encode(image):
            out.append(((p.pts or 0) / 90000, "video", "VP8", bytes(p), bool(p.is_keyframe)))
    opus = av.CodecContext.create("libopus", "w")
    opus.sample_rate, opus.layout, opus.format = 48000, "stereo", "s16"
    opus.time_base = fractions.Fraction(1, 48000)
    for i in range(LOOP_S * 50):
        n = np.arange(i * 960, (i + 1) * 960)
        tone = (np.sin(2 * math.pi * 220 * n / 48000) * 6000).astype(np.int16)
        sound = av.AudioFrame.from_ndarray(np.repeat(tone, 2).reshape(1, -1), format="s16",
                                           layout="stereo")
        sound.sample_rate, sound.pts = 48000, i * 960
        for p in opus.encode(sound):
            out.append(((p.pts or 0) / 48000, "audio", "opus", bytes(p), True))
    return sorted(out, key=lambda x: x[0])


async def run(seconds: int, speed: float = 1.0) -> dict[str, Any]:
    packets = encode_loop()
    fsyncs, fsync_us = STATS["fsyncs"], STATS["fsync_us"]
    clock = FakeClock()
    with tempfile.TemporaryDirectory() as tmp:
        index = SqliteRecordingIndex(Path(tmp) / "recordings.sqlite")
        await index.open()
        recorder = Recorder(index, Path(tmp) / "r", "r_bench", "s_bench", clock=clock,
                            request_keyframe=lambda person: None, on_error=lambda c, m: None)
        await recorder.start()
        loop_cpu = 0.0
        sent = 0
        wall = began = time.monotonic()
        for second in range(seconds):
            lap, offset = divmod(second, LOOP_S)
            started = time.thread_time()
            for t, kind, codec, data, key in packets:
                if not offset <= t < offset + 1:
                    continue
                at = lap * LOOP_S + t
                rate = 90000 if kind == "video" else 48000
                recorder.frame("p1", kind, codec, _Packet(data, round(at * rate), rate), key)
                sent += 1
            loop_cpu += time.thread_time() - started
            # A second of media at a time, at ``speed`` × real time (the writer keeps up).
            await asyncio.sleep(max(0.02, 1 / speed - (time.monotonic() - began)))
            began = time.monotonic()
        clock.advance(seconds)
        wall = time.monotonic() - wall
        await recorder.stop()
        joined = time.monotonic()
        await recorder.wait_finished()
        join_s = time.monotonic() - joined
        rec = await index.aget("r_bench")
        await index.close()
    assert rec is not None
    streams = 2
    per_stream = (loop_cpu + recorder.cpu_s) / seconds / streams
    return {
        "media_s": seconds,
        "frames": sent,
        "segments": len(rec.segments),
        "megabytes": round(rec.bytes / 1e6, 1),
        "loop_cpu_s": round(loop_cpu, 3),
        "writer_cpu_s": round(recorder.cpu_s, 3),
        "core_percent_per_stream": round(per_stream * 100, 3),
        "us_per_media_s_per_stream": round(per_stream * 1e6),
        "fsyncs_per_s": round((STATS["fsyncs"] - fsyncs) / wall, 2),
        "fsync_mean_ms": round((STATS["fsync_us"] - fsync_us) / max(1, STATS["fsyncs"] - fsyncs)
                               / 1000, 2),
        "join_wall_s": round(join_s, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=120)
    parser.add_argument("--speed", type=float, default=1.0,
                        help="seconds of media fed per second of wall time")
    args = parser.parse_args()
    result = asyncio.run(run(args.seconds, args.speed))
    for key, value in result.items():
        print(f"{key:>24}: {value}")


if __name__ == "__main__":
    main()
