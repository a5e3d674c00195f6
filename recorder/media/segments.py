"""WebM segment files of encoded frames: written, read back and joined, never decoded.

H.264 (a publisher that asked for it, rtc/h264.py) cannot go into WebM, whose codecs
are VP8/VP9/AV1 and Opus/Vorbis: its segments are Matroska (:data:`FORMATS`; WebM is a
subset of Matroska, so everything below holds for both: clusters, salvage, join), and a
recording with an H.264 track is joined into a Matroska file. Matroska, not MP4,
because the durability rests on the container: a Matroska file cut after any cluster
is readable and salvaged as is, where an MP4 needs its ``moov`` written at the end (or
fragmented MP4 with its own salvage path). libavformat's Matroska muxer takes the
Annex B frames aiortc depayloads, moves the first keyframe's SPS/PPS into
CodecPrivate (avcC) and stores length-prefixed NAL units; :func:`read_frames` gives
Annex B back, so that frames read from one file can be written into another.

One file holds one track (a person's audio or video) for about ten seconds. Each
file is complete on its own (header, clusters, cues) once closed. While it is open,
the muxer closes a Matroska cluster at least every :data:`CLUSTER_MS` and writes it
straight to the file (``flush_packets``), and the writer thread makes the file
durable about every second (:meth:`SegmentWriter.sync`), so a server killed while
writing loses at most the open cluster (plus, on a power cut, the last second):
a WebM cut after any cluster is still readable, and :func:`salvage` turns it into a
complete file on the next start. Timestamps inside are on the recording's
clock (seconds since the recording started), so a player or the exporter can put
any segment of any track at its place without a table of offsets.

PyAV's mux-only streams (``add_mux_stream``) take the packets as they are: no codec
context is opened, nothing is decoded or encoded. Opus is the exception on the
writing side only in form: a WebM player needs the ``OpusHead`` in CodecPrivate and
a mux-only stream has no extradata, so Opus streams are made from a template (a
demuxed Opus stream, whose codec context is a *closed* decoder context that PyAV
never opens when muxing) with the ``OpusHead`` set on it.
"""

from __future__ import annotations

import contextlib
import fractions
import functools
import heapq
import io
import os
import struct
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av

MS = fractions.Fraction(1, 1000)  # Matroska's timestamp unit
RATES = {"audio": 48000, "video": 90000}
# Opus as WebRTC sends it: 48 kHz, signalled as 2 channels, no pre-skip (the
# stream starts mid-conversation), mapping family 0. RFC 7845 §5.1.
OPUS_HEAD = b"OpusHead" + struct.pack("<BBHIhB", 1, 2, 0, 48000, 0, 0)
CODEC_NAMES = {"vp8": "vp8", "opus": "opus", "h264": "h264"}
FORMATS = {"vp8": "webm", "opus": "webm", "h264": "matroska"}  # see the docstring


def container_format(codecs: Iterable[str]) -> str:
    """``webm`` when every codec fits WebM, else ``matroska``."""
    return "webm" if all(FORMATS.get(c.lower()) == "webm" for c in codecs) else "matroska"


def media_type(kind: str, codecs: Iterable[str]) -> str:
    """The HTTP type of a file holding ``codecs``: ``video/webm`` (``audio/webm`` for a
    microphone's segments), or ``video/x-matroska`` once H.264 is in it."""
    if container_format(codecs) == "matroska":
        return "video/x-matroska"
    return "audio/webm" if kind == "audio" else "video/webm"


def mse_type(kind: str, codec: str) -> str:
    """What the replay page asks ``MediaSource.isTypeSupported`` about a track. Browsers
    take VP8 and Opus in WebM, and H.264 in (fragmented) MP4 only, not in Matroska: an
    H.264 segment is served as fragmented MP4 (:func:`fragmented_mp4`)."""
    if codec.lower() == "h264":
        return 'video/mp4; codecs="avc1.42E01F"'
    return f'{kind}/webm; codecs="{codec.lower()}"'


def fragmented_mp4(path: Path) -> bytes:
    """A Matroska H.264 segment remuxed (nothing decoded) into a fragmented MP4 that
    MediaSource takes: ``moov`` first, a fragment per keyframe, and the frames at their
    times on the recording's clock (``frag_discont`` with ``avoid_negative_ts``
    disabled: otherwise libavformat moves the first frame to 0 and the replay page,
    which places segments by their own timestamps, would stack them all at the start).
    About a millisecond per second of video; made per request, not stored."""
    buf = io.BytesIO()
    with av.open(str(path)) as src:
        stream = src.streams[0]
        out = av.open(buf, "w", format="mp4", options={
            "movflags": "frag_keyframe+empty_moov+default_base_moof+frag_discont",
            "avoid_negative_ts": "disabled",
        })
        try:
            target = out.add_stream_from_template(stream)
            for packet in src.demux(stream):
                if packet.dts is None or packet.size == 0:
                    continue
                packet.stream = target
                out.mux(packet)
        finally:
            out.close()
    return buf.getvalue()
# A cluster at least this often (ms), each written to the file as soon as it closes:
# libavformat's default for a seekable file is 5 s or 5 MiB held in memory, all of it
# lost on SIGKILL. Video also starts a cluster at each keyframe (after 4 KiB).
CLUSTER_MS = 1000
MUX_OPTIONS = {
    "cluster_time_limit": str(CLUSTER_MS),
    "cluster_size_limit": str(2 << 20),
    "flush_packets": "1",  # every finished cluster goes to the OS at once, not at 512 KiB
}


def vp8_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a VP8 keyframe header (RFC 6386 §9.1), else ``None``."""
    if len(data) < 10 or data[0] & 0x01 or data[3:6] != b"\x9d\x01\x2a":
        return None
    width, height = struct.unpack("<HH", data[6:10])
    return width & 0x3FFF, height & 0x3FFF


@functools.cache
def _opus_template() -> tuple[Any, Any]:
    """A demuxed Opus stream to copy stream parameters from (kept with its container)."""
    buf = io.BytesIO()
    out = av.open(buf, "w", format="webm")
    stream = out.add_mux_stream("opus", rate=48000)
    packet = av.Packet(b"\xf8\xff\xfe")  # one silent 20-ms Opus frame
    packet.pts = packet.dts = 0
    packet.time_base = fractions.Fraction(1, 48000)
    packet.stream = stream
    out.mux(packet)
    out.close()
    container = av.open(io.BytesIO(buf.getvalue()))
    return container, container.streams.audio[0]


def add_track(out: Any, kind: str, codec: str, size: tuple[int, int] | None) -> Any:
    """A stream in ``out`` that takes ``codec`` packets without any codec running."""
    name = CODEC_NAMES[codec.lower()]
    if name == "opus":
        stream = out.add_stream_from_template(_opus_template()[1])
        stream.codec_context.extradata = OPUS_HEAD
        stream.codec_context.sample_rate = 48000
        stream.codec_context.layout = "stereo"
    elif kind == "video":
        width, height = size or (640, 480)
        stream = out.add_mux_stream(name, width=width, height=height)
    else:
        stream = out.add_mux_stream(name, rate=RATES[kind])
    stream.time_base = MS
    return stream


@dataclass(frozen=True)
class SegmentInfo:
    start_s: float
    end_s: float
    frames: int
    bytes: int


class SegmentWriter:
    """One open segment file of one track. Not thread-safe: one writer thread owns it."""

    def __init__(self, path: Path, kind: str, codec: str, first: bytes) -> None:
        self.path = path
        self.kind = kind
        self._rate = RATES[kind]
        self._tb = fractions.Fraction(1, self._rate)
        self._step = 0.02 if kind == "audio" else 1 / 30
        size = vp8_size(first) if kind == "video" and codec.lower() == "vp8" else None
        self._partial = path.with_suffix(".part")
        self._out = av.open(
            str(self._partial), "w", format=container_format([codec]), container_options=MUX_OPTIONS
        )
        self._fd: int | None = None  # for fsync, opened once the muxer created the file
        self._synced = 0  # frames written at the last sync
        self._stream = add_track(self._out, kind, codec, size)
        self.start_s: float | None = None
        self.last_s: float | None = None
        self._last_pts = -1
        self.frames = 0

    def write(self, data: bytes, t: float, keyframe: bool) -> bool:
        """Add one frame at ``t`` seconds; ``False`` (dropped) if it is not after the last."""
        pts = round(t * self._rate)
        if pts <= self._last_pts or t < 0:
            return False
        packet = av.Packet(data)
        packet.pts = packet.dts = pts
        packet.time_base = self._tb
        packet.is_keyframe = keyframe
        packet.stream = self._stream
        self._out.mux(packet)
        if self.start_s is None:
            self.start_s = t
        if self.last_s is not None:
            self._step = min(max(t - self.last_s, 0.005), 0.1)
        self.last_s = t
        self._last_pts = pts
        self.frames += 1
        return True

    def sync(self) -> bool:
        """Make the clusters written so far durable (fsync); ``False`` if nothing new
        was written since the last sync. The first sync also makes the file's name in
        its folder durable, so salvage finds it after a power cut."""
        if self.frames == self._synced:
            return False
        if self._fd is None:
            self._fd = os.open(self._partial, os.O_RDONLY)
            _fsync_dir(self._partial.parent)
        os.fsync(self._fd)
        self._synced = self.frames
        return True

    def _release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def close(self) -> SegmentInfo | None:
        """Finish the file (cues, duration), make it durable, then give it its name:
        a file under its final name is always complete."""
        try:
            self._out.close()
            if self.frames == 0 or self.start_s is None or self.last_s is None:
                self._partial.unlink(missing_ok=True)
                return None
            if self._fd is None:
                self._fd = os.open(self._partial, os.O_RDONLY)
            os.fsync(self._fd)
        finally:
            self._release()
        os.replace(self._partial, self.path)
        return SegmentInfo(self.start_s, self.last_s + self._step, self.frames,
                           self.path.stat().st_size)

    def abandon(self) -> None:
        with contextlib.suppress(Exception):  # the file is being thrown away anyway
            self._out.close()
        with contextlib.suppress(OSError):
            self._release()
        self._partial.unlink(missing_ok=True)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Frame:
    """One encoded frame read back from a segment: time in seconds on the recording clock."""

    t: float
    data: bytes
    keyframe: bool


def read_frames(path: Path) -> Generator[Frame, None, None]:
    """The frames of one segment file, in order. A truncated file yields what it holds."""
    with av.open(str(path)) as container:
        stream = container.streams[0]
        tb = stream.time_base or MS
        nal_size = _avcc_nal_size(stream)
        try:
            for packet in container.demux(stream):
                if packet.pts is None or packet.size == 0:
                    continue
                data = bytes(packet)
                if nal_size:
                    data = annex_b(data, nal_size)
                yield Frame(float(packet.pts * tb), data, bool(packet.is_keyframe))
        except av.error.FFmpegError:
            return  # cut off: keep what came before


def _avcc_nal_size(stream: Any) -> int:
    """For an H.264 stream stored length-prefixed (Matroska, MP4): the size of the NAL
    unit lengths (from avcC, ISO/IEC 14496-15 5.3.3.1; 4 without one); else 0."""
    if stream.codec_context.name != "h264":
        return 0
    extra = bytes(stream.codec_context.extradata or b"")
    if extra[:1] == b"\x01" and len(extra) >= 5:
        return (extra[4] & 0x03) + 1
    return 0 if extra[:3] == b"\x00\x00\x01" or extra[:4] == b"\x00\x00\x00\x01" else 4


def annex_b(data: bytes, nal_size: int = 4) -> bytes:
    """Length-prefixed NAL units as Annex B (start codes); data whose lengths do not add
    up is returned unchanged. (No guessing by the first bytes: a NAL unit of 256 to 511
    bytes has the length ``00 00 01 xx``, which looks like a start code.)"""
    out = bytearray()
    pos, n = 0, len(data)
    while pos < n:
        if pos + nal_size > n:
            return data
        size = int.from_bytes(data[pos:pos + nal_size], "big")
        pos += nal_size
        if size == 0 or pos + size > n:
            return data
        out += b"\x00\x00\x00\x01" + data[pos:pos + size]
        pos += size
    return bytes(out)


def salvage(partial: Path, final: Path, kind: str, codec: str) -> SegmentInfo | None:
    """Rewrite the readable start of a segment cut off by a crash as a complete file."""
    frames = read_frames(partial)
    writer: SegmentWriter | None = None
    try:
        for frame in frames:
            if writer is None:
                if kind == "video" and not frame.keyframe:
                    continue
                writer = SegmentWriter(final, kind, codec, frame.data)
            writer.write(frame.data, frame.t, frame.keyframe)
    except (av.error.FFmpegError, OSError):
        if writer is not None:
            writer.abandon()
        return None
    return writer.close() if writer is not None else None


@dataclass(frozen=True)
class TrackFiles:
    """A track's segment files, in time order, for joining or exporting."""

    track: str
    kind: str
    codec: str
    files: tuple[Path, ...]


def track_frames(files: Iterable[Path]) -> Iterator[Frame]:
    for path in files:
        yield from read_frames(path)


def _numbered(i: int, frames: Iterator[Frame]) -> Iterator[tuple[float, int, Frame]]:
    for frame in frames:
        yield frame.t, i, frame


def _first(path: Path) -> Frame | None:
    frames = read_frames(path)
    try:
        return next(frames, None)
    finally:
        frames.close()  # closes the file


def join(tracks: list[TrackFiles], out_path: Path) -> int:
    """Remux every track's segments into one Matroska/WebM file (all tracks, one clock,
    interleaved by time). Returns the file's size. Nothing is decoded."""
    partial = out_path.with_suffix(".part")
    out = av.open(str(partial), "w", format=container_format(t.codec for t in tracks))
    try:
        streams = []
        for track in tracks:
            first = _first(track.files[0]) if track.files else None
            size = vp8_size(first.data) if first is not None and track.kind == "video" else None
            streams.append((add_track(out, track.kind, track.codec, size), RATES[track.kind]))
        merged = heapq.merge(
            *(_numbered(i, track_frames(track.files)) for i, track in enumerate(tracks)),
            key=lambda item: (item[0], item[1]),
        )
        last = [-1] * len(tracks)
        for _, i, frame in merged:
            stream, rate = streams[i]
            pts = round(frame.t * rate)
            if pts <= last[i]:
                continue
            last[i] = pts
            packet = av.Packet(frame.data)
            packet.pts = packet.dts = pts
            packet.time_base = fractions.Fraction(1, rate)
            packet.is_keyframe = frame.keyframe
            packet.stream = stream
            out.mux(packet)
    finally:
        out.close()
    os.replace(partial, out_path)
    return out_path.stat().st_size
