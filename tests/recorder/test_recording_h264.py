"""H.264 recordings (issue 13, item 5): a publisher that sends H.264 is recorded as it
was sent, into Matroska segments (WebM takes no H.264) and a Matroska joined file,
read back as Annex B, salvaged when cut off, and exported (the exporter decodes H.264).
No codec runs on the server's writer thread."""

from __future__ import annotations

import fractions
import re
import threading
import time
from pathlib import Path

import av
import pytest

from recorder.media import segments as seg
from recorder.media.export import INSET_H, INSET_W, _Camera
from recorder.media.recording import FULL_FILE
from recorder.media.recording_index import RecordingIndex
from rtc.room import MediaRoom
from tests.recorder.test_recording import (
    AV,
    CodecCalls,
    index,  # noqa: F401  (fixtures)
    probe,
    profiled,  # noqa: F401
    record,
    room,  # noqa: F401
)
from tests.rtc.clients import Client, until
from tests.rtc.test_h264_media import prefer

pytestmark = pytest.mark.timeout(60)


def h264_frames(count: int = 30) -> list[bytes]:
    """Annex B access units from libx264 (Constrained Baseline, as browsers send)."""
    enc = av.CodecContext.create("libx264", "w")
    enc.width, enc.height, enc.pix_fmt = 320, 240, "yuv420p"  # type: ignore[attr-defined]
    enc.time_base = fractions.Fraction(1, 30)
    enc.options = {"profile": "baseline", "tune": "zerolatency", "preset": "ultrafast"}
    out: list[bytes] = []
    for i in range(count):
        frame = av.VideoFrame(320, 240, "yuv420p")
        frame.pts = i
        out += [bytes(p) for p in enc.encode(frame)]  # type: ignore[attr-defined]
    out += [bytes(p) for p in enc.encode(None)]  # type: ignore[attr-defined]
    return out


def nal_units(annex_b: bytes) -> list[bytes]:
    """The NAL units of an Annex B access unit (3- or 4-byte start codes)."""
    return [chunk for chunk in re.split(b"\x00\x00\x00?\x01", annex_b)[1:] if chunk]


def nal_types(annex_b: bytes) -> list[int]:
    return [nal[0] & 0x1F for nal in nal_units(annex_b)]


def test_annex_b_from_length_prefixed() -> None:
    sps, idr = b"\x67\x42\xe0\x1f", b"\x65\x88\x84"
    avcc = len(sps).to_bytes(4, "big") + sps + len(idr).to_bytes(4, "big") + idr
    assert seg.annex_b(avcc) == b"\x00\x00\x00\x01" + sps + b"\x00\x00\x00\x01" + idr
    two = len(sps).to_bytes(2, "big") + sps
    assert seg.annex_b(two, 2) == b"\x00\x00\x00\x01" + sps
    nal = b"\x41\x9a" + bytes(383)  # 385 bytes: its length 00 00 01 81 is no start code
    assert seg.annex_b(len(nal).to_bytes(4, "big") + nal) == b"\x00\x00\x00\x01" + nal
    for bad in (b"\x00\x00\x00\x09\x67", b"\x00\x00", b"\x00\x00\x00\x00\x67"):
        assert seg.annex_b(bad) == bad  # lengths that do not add up: left as they are
    assert seg.container_format(["VP8", "opus"]) == "webm"
    assert seg.container_format(["H264", "opus"]) == "matroska"


def test_segment_written_read_back_and_salvaged(tmp_path: Path) -> None:
    frames = h264_frames(120)  # 4 s: several clusters (one a second at least)
    path = tmp_path / "v0-00001.webm"
    writer = seg.SegmentWriter(path, "video", "H264", frames[0])
    for i, data in enumerate(frames):
        assert writer.write(data, 5.0 + i / 30, i == 0)
    info = writer.close()
    assert info is not None and info.frames == len(frames)
    back = list(seg.read_frames(path))
    # Annex B again, the same NAL units (start codes all 4 bytes long now)
    assert [nal_units(f.data) for f in back] == [nal_units(f) for f in frames]
    assert back[0].keyframe and nal_types(back[0].data)[:2] == [7, 8]
    assert back[0].t == pytest.approx(5.0)
    with av.open(str(path)) as container:
        assert container.format.name.startswith("matroska")
        assert sum(1 for _ in container.decode(video=0)) == len(frames)

    # A segment still open when the server was killed: what reached the file (whole
    # clusters, one a second) is salvaged into a complete file.
    open_ = seg.SegmentWriter(tmp_path / "v0-00002.webm", "video", "H264", frames[0])
    for i, data in enumerate(frames):
        open_.write(data, 5.0 + i / 30, i == 0)
    open_.sync()
    cut = tmp_path / "v0-00003.part"
    cut.write_bytes((tmp_path / "v0-00002.part").read_bytes())
    open_.abandon()
    salvaged = seg.salvage(cut, tmp_path / "v0-00003.webm", "video", "H264")
    assert salvaged is not None and 30 <= salvaged.frames < len(frames)
    again = list(seg.read_frames(tmp_path / "v0-00003.webm"))
    assert [nal_units(f.data) for f in again] == [nal_units(f) for f in frames[: len(again)]]
    with av.open(str(tmp_path / "v0-00003.webm")) as container:
        assert sum(1 for _ in container.decode(video=0)) == len(again)


async def test_an_h264_publisher_is_recorded_without_transcoding(
    room: MediaRoom, index: RecordingIndex, tmp_path: Path,  # noqa: F811
    profiled: CodecCalls,  # noqa: F811
) -> None:
    room.set_publish("A", AV)
    publisher = Client("A", room, audio=True, video=True)
    prefer(publisher, "video/H264")
    try:
        await publisher.negotiate()
        await until(lambda: room.snapshot().people["A"].published == AV, 10, "publishing")
        started = time.monotonic()
        recorder, errors = await record(room, index, tmp_path / "r", 5.0, segment_s=2.0)
        session_s = time.monotonic() - started
    finally:
        await publisher.close()
    threading.setprofile(None)  # type: ignore[arg-type]
    await recorder.wait_finished()
    assert profiled.muxed > 50 and profiled.seen == []  # only muxing on the writer
    assert errors == []

    rec = await index.aget("r_test")
    assert rec is not None and rec.complete
    assert {(t.kind, t.codec) for t in rec.tracks} == {("video", "H264"), ("audio", "opus")}
    video = next(t for t in rec.tracks if t.kind == "video")
    parts = rec.segments_of(video.track)
    assert len(parts) >= 2
    for part in parts:
        frames = list(seg.read_frames(recorder.folder / part.file))
        assert frames[0].keyframe and 5 in nal_types(frames[0].data)  # starts at an IDR
    streams = probe(recorder.folder / FULL_FILE)
    assert sorted((k, c) for k, c, _, _ in streams) == [("audio", "opus"), ("video", "h264")]
    for _, _, first, last in streams:
        assert first < 1.0 and abs(last - first - session_s) < 1.0
    with av.open(str(recorder.folder / FULL_FILE)) as container:
        assert container.format.name.startswith("matroska")
        pictures = sum(1 for _ in container.decode(video=0))
    assert pictures > 60


def test_the_exporter_decodes_an_h264_camera(tmp_path: Path) -> None:
    frames = h264_frames(30)
    path = tmp_path / "v0-00001.webm"
    writer = seg.SegmentWriter(path, "video", "H264", frames[0])
    for i, data in enumerate(frames):
        writer.write(data, 1.0 + i / 30, i == 0)
    writer.close()
    camera = _Camera((path,), "H264")
    assert camera.at(0.5) is None  # before the first frame
    picture = camera.at(1.5)
    assert picture is not None and picture.shape == (INSET_H, INSET_W, 3)  # decoded, scaled


def test_types_said_for_h264_files() -> None:
    assert seg.mse_type("video", "VP8") == 'video/webm; codecs="vp8"'  # as before
    assert seg.mse_type("audio", "opus") == 'audio/webm; codecs="opus"'
    assert seg.mse_type("video", "H264") == 'video/mp4; codecs="avc1.42E01F"'
    assert seg.media_type("video", ["VP8", "opus"]) == "video/webm"
    assert seg.media_type("audio", ["opus"]) == "audio/webm"
    assert seg.media_type("video", ["VP8", "H264", "opus"]) == "video/x-matroska"


def test_a_segment_as_fragmented_mp4_keeps_its_place_on_the_clock(tmp_path: Path) -> None:
    """What the replay page is served for an H.264 segment: MP4, moov first, fragments,
    frames at their recording times (not moved to 0), the same NAL units, no codec."""
    frames = h264_frames(60)
    path = tmp_path / "v0-00004.webm"
    writer = seg.SegmentWriter(path, "video", "H264", frames[0])
    for i, data in enumerate(frames):
        writer.write(data, 20.0 + i / 30, i == 0)
    writer.close()
    data = seg.fragmented_mp4(path)
    assert data[4:8] == b"ftyp" and data.find(b"moov") < data.find(b"moof")
    out = tmp_path / "v0-00004.mp4"
    out.write_bytes(data)
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        packets = [p for p in container.demux(stream) if p.pts is not None]
        times = [float(p.pts * stream.time_base) for p in packets]
    assert times[0] == pytest.approx(20.0, abs=0.002)
    assert times[-1] == pytest.approx(20.0 + 59 / 30, abs=0.002)
    assert len(packets) == len(frames) and packets[0].is_keyframe
    with av.open(str(out)) as container:
        assert sum(1 for _ in container.decode(video=0)) == len(frames)
