"""The single-file export: ``opentutor recording export`` turns a recording (made here
by feeding a Recorder encoded frames on a fake clock: no waiting in real time) and the
session's whiteboard log into an H.264/AAC MP4 that PyAV decodes, with the board as
it was at each moment and the presenter's camera inset, and a progress bar that
advances. (Encoding the test's input and decoding the output happen in the test.)"""

from __future__ import annotations

import asyncio
import copy
import fractions
import math
import re
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from recorder.media.export import HEIGHT, INSET_H, INSET_W, MARGIN, WIDTH
from recorder.media.recording import Recorder
from recorder.media.recording_index import open_index
from rtc.clock import FakeClock
from signaling.server import cli
from signaling.session.spec import parse_new_session
from signaling.session.timefmt import iso_at
from signaling.session.whiteboard import BoardOp
from signaling.store.factory import open_store
from tests.support import ONE_TO_ONE

pytestmark = pytest.mark.timeout(60)

SECONDS = 6.0
STROKE_AT = 3.0


class _Packet:
    """What the forward path hands a tap: data, pts and time_base."""

    def __init__(self, data: bytes, pts: int, rate: int) -> None:
        self.data, self.pts, self.time_base = data, pts, fractions.Fraction(1, rate)

    def __bytes__(self) -> bytes:
        return self.data


def encoded_media() -> list[tuple[float, str, str, bytes, bool]]:
    """(t, kind, codec, data, keyframe): a blue camera at 15 fps and a 440 Hz tone."""
    out: list[tuple[float, str, str, bytes, bool]] = []
    vp8 = av.CodecContext.create("libvpx", "w")
    vp8.width, vp8.height, vp8.pix_fmt = 320, 240, "yuv420p"
    vp8.time_base = fractions.Fraction(1, 90000)
    vp8.options = {"deadline": "realtime", "cpu-used": "8"}
    vp8.gop_size = 30  # a keyframe every 2 s, as the recorder would ask for
    picture = np.zeros((240, 320, 3), dtype=np.uint8)
    picture[:, :, 2] = 230  # blue
    for i in range(int(SECONDS * 15)):
        frame = av.VideoFrame.from_ndarray(picture, format="rgb24").reformat(format="yuv420p")
        frame.pts = i * 6000
        for packet in vp8.encode(frame):
            out.append((packet.pts / 90000, "video", "VP8", bytes(packet), packet.is_keyframe))
    opus = av.CodecContext.create("libopus", "w")
    opus.sample_rate, opus.layout, opus.format = 48000, "stereo", "s16"
    opus.time_base = fractions.Fraction(1, 48000)
    for i in range(int(SECONDS * 50)):
        n = np.arange(i * 960, (i + 1) * 960)
        tone = (np.sin(2 * math.pi * 440 * n / 48000) * 8000).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(np.repeat(tone, 2).reshape(1, -1), format="s16",
                                           layout="stereo")
        frame.sample_rate, frame.pts = 48000, i * 960
        for packet in opus.encode(frame):
            out.append((packet.pts / 48000, "audio", "opus", bytes(packet), True))
    return sorted(out, key=lambda item: item[0])


async def make_recording(data: Path, database_url: str = "") -> tuple[str, float]:
    clock = FakeClock()
    spec = parse_new_session(copy.deepcopy(ONE_TO_ONE))
    store = open_store(database_url, data)
    await store.open()
    index = open_index(database_url, data / "recordings.sqlite")
    await index.open()
    recorder = Recorder(index, data / "recordings" / "r_exportexport0001", "r_exportexport0001",
                        "s_export", clock=clock, request_keyframe=lambda p: None,
                        on_error=lambda c, m: None, segment_s=2.0)
    try:
        await store.create_session("s_export", spec, iso_at(clock.time()))
        await recorder.start()
        stroke = {"type": "stroke", "id": "st1", "tool": "pen", "color": "#e03131",
                  "width": 30, "points": [[0.2, 0.3], [0.5, 0.3]]}
        await store.add_board_op("s_export", BoardOp(
            1, iso_at(recorder.origin_wall + STROKE_AT), "t1", stroke))
        for t, kind, codec, data_, key in encoded_media():
            rate = 90000 if kind == "video" else 48000
            recorder.frame("t1", kind, codec, _Packet(data_, round(t * rate), rate), key)
        clock.advance(SECONDS)
        await recorder.stop()
        await recorder.wait_finished()
        rec = await index.aget(recorder.id)
        assert rec is not None and rec.complete and len(rec.segments) >= 6
        return "s_export", rec.duration_s
    finally:
        await index.close()
        await store.close()


def frame_at(frames: list[Any], t: float) -> Any:
    return min(frames, key=lambda f: abs(f.time - t)).to_ndarray(format="rgb24")


async def test_export_composes_board_camera_and_voice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], database_url: str
) -> None:
    """On both back ends: the session and the index in SQLite files, or in PostgreSQL
    (``--database-url``) with the files under the data directory's recordings/."""
    data = tmp_path / "data"
    session_id, duration = await make_recording(data, database_url)
    out = tmp_path / "lesson.mp4"
    database = ["--database-url", database_url] if database_url else []
    code = await asyncio.to_thread(cli.main, [
        "recording", "export", session_id, "--out", str(out), "--data-dir", str(data),
        *database])
    assert code == 0
    err = capsys.readouterr().err
    percents = [int(p) for p in re.findall(r"\]\s+(\d+)%", err)]
    assert len(set(percents)) >= 5 and percents == sorted(percents) and percents[-1] == 100, err
    assert "[" + "#" * 30 + "] 100%" in err

    with av.open(str(out)) as container:
        assert {s.codec_context.name for s in container.streams} == {"h264", "aac"}
        video = container.streams.video[0]
        assert (video.width, video.height) == (WIDTH, HEIGHT)
        frames = list(container.decode(video=0))
    assert abs(len(frames) / 15 - duration) < 1.0
    before, after = frame_at(frames, STROKE_AT - 1.0), frame_at(frames, STROKE_AT + 1.0)
    x, y = int(0.35 * WIDTH), int(0.3 * HEIGHT)
    assert before[y, x].min() > 200, "white board before the stroke"
    red, green, blue = (int(v) for v in after[y, x])
    assert red > 170 and green < 110 and blue < 110, "the red stroke after it was drawn"
    inset = after[HEIGHT - MARGIN - INSET_H + 10 : HEIGHT - MARGIN - 10,
                  WIDTH - MARGIN - INSET_W + 10 : WIDTH - MARGIN - 10]
    assert inset[:, :, 2].mean() > 150 and inset[:, :, 0].mean() < 80, "the camera inset"
    with av.open(str(out)) as container:
        samples = np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(audio=0)])
    assert abs(len(samples) / 48000 - duration) < 1.0
    assert np.sqrt(np.mean(samples[48000:96000] ** 2)) > 0.05, "the voice is in it"
