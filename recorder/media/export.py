"""One H.264/AAC MP4 of a session: the whiteboard, the presenter's camera inset, and
every microphone mixed. Offline (never during a session): this decodes and encodes.

Bounded for a 2-core server: 640×480 at 15 fps, x264 ``ultrafast`` with two
threads, mono AAC; the board picture is redrawn only when an op changes it, the
camera is decoded once. The REST job runs this in a child process at lower
priority (``signaling/server/export_jobs.py``), so a live session never waits on it.

Timeline: the recordings of a session back to back (pauses between them left out),
each on its own clock; whiteboard ops are placed with their server timestamps
(``origin_wall + t``), so the board shows what it showed at that moment.
"""

from __future__ import annotations

import fractions
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import av
import numpy as np
import numpy.typing as npt

from recorder.media import segments as seg
from recorder.media.board_raster import BoardRaster
from recorder.media.recording_index import Recording

WIDTH, HEIGHT, FPS = 640, 480, 15
INSET_W, INSET_H, MARGIN = 192, 144, 8
AUDIO_RATE = 48000
STALE_VIDEO_S = 1.0  # no camera frame for this long: the inset is hidden (camera off)


@dataclass(frozen=True)
class BoardEvent:
    at: float  # server UTC, epoch seconds
    op: dict[str, Any]


@dataclass(frozen=True)
class Part:
    """One recording to put on the timeline, with its files' folder and presenter."""

    recording: Recording
    folder: Path
    presenter: str | None  # person whose camera is the inset


class _Camera:
    """The presenter's camera: the newest decoded picture at or before a time."""

    def __init__(self, files: tuple[Path, ...], codec: str = "vp8") -> None:
        self._frames = seg.track_frames(files)
        # vp8 or h264 (a track recorded from a publisher that sent H.264)
        self._codec = cast(av.VideoCodecContext, av.CodecContext.create(codec.lower(), "r"))
        self._pending: tuple[float, Any] | None = None
        self._current: tuple[float, npt.NDArray[np.uint8]] | None = None
        self._done = not files

    def _next(self) -> tuple[float, Any] | None:
        for frame in self._frames:
            packet = av.Packet(frame.data)
            try:
                decoded = self._codec.decode(packet)
            except av.error.FFmpegError:
                continue
            if decoded:
                return frame.t, decoded[-1]
        return None

    def at(self, t: float) -> npt.NDArray[np.uint8] | None:
        while not self._done:
            if self._pending is None:
                self._pending = self._next()
                if self._pending is None:
                    self._done = True
                    break
            when, picture = self._pending
            if when > t:
                break
            image = picture.reformat(width=INSET_W, height=INSET_H, format="rgb24").to_ndarray()
            self._current = (when, image)
            self._pending = None
        if self._current is None or t - self._current[0] > STALE_VIDEO_S:
            return None
        return self._current[1]


class _Microphone:
    """One audio track decoded to 48 kHz mono float, handed out by sample ranges."""

    def __init__(self, files: tuple[Path, ...]) -> None:
        self._frames = seg.track_frames(files)
        self._codec = av.CodecContext.create("opus", "r")
        self._resampler = av.AudioResampler(format="flt", layout="mono", rate=AUDIO_RATE)
        self._buffer: list[tuple[int, npt.NDArray[np.float32]]] = []  # (first sample, samples)
        self._done = not files

    def _decode_more(self) -> bool:
        for frame in self._frames:
            try:
                decoded = self._codec.decode(av.Packet(frame.data))
            except av.error.FFmpegError:
                continue
            start = round(frame.t * AUDIO_RATE)
            for audio in decoded:
                for out in self._resampler.resample(audio):
                    samples = out.to_ndarray().reshape(-1).astype(np.float32)
                    self._buffer.append((start, samples))
                    start += len(samples)
            return True
        return False

    def add_to(self, mix: npt.NDArray[np.float32], first: int) -> None:
        """Add this track's samples for ``[first, first + len(mix))`` into ``mix``."""
        end = first + len(mix)
        while not self._done and (not self._buffer or
                                  self._buffer[-1][0] + len(self._buffer[-1][1]) < end):
            if not self._decode_more():
                self._done = True
        keep = []
        for start, samples in self._buffer:
            stop = start + len(samples)
            lo, hi = max(start, first), min(stop, end)
            if hi > lo:
                mix[lo - first : hi - first] += samples[lo - start : hi - start]
            if stop > end:
                keep.append((start, samples))
        self._buffer = keep


def _inset_box() -> tuple[int, int]:
    return WIDTH - INSET_W - MARGIN, HEIGHT - INSET_H - MARGIN


def compose(
    parts: list[Part],
    board: list[BoardEvent],
    out_path: Path,
    *,
    picture: Callable[[str], Path | None] = lambda _: None,
    progress: Callable[[float, float], None] = lambda done, total: None,
) -> float:
    """Write the MP4; returns its duration in seconds. ``progress(done_s, total_s)``
    is called about once per second of output."""
    total = sum(p.recording.duration_s for p in parts)
    partial = out_path.with_suffix(".part")
    out = av.open(str(partial), "w", format="mp4")
    video = out.add_stream("libx264", rate=FPS)
    video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    video.codec_context.options = {"preset": "ultrafast", "crf": "28", "threads": "2"}
    audio = out.add_stream("aac", rate=AUDIO_RATE)
    audio.codec_context.layout = "mono"
    audio.codec_context.bit_rate = 64000
    raster = BoardRaster(WIDTH, HEIGHT, picture)
    events = sorted(board, key=lambda e: e.at)
    next_event = 0
    frame_no = 0
    sample_no = 0
    offset = 0.0
    inset_x, inset_y = _inset_box()
    for part in parts:
        rec = part.recording
        files = {t.track: tuple(part.folder / s.file for s in rec.segments_of(t.track))
                 for t in rec.tracks}
        cam_track = next((t.track for t in rec.tracks
                          if t.kind == "video" and t.person == part.presenter), None)
        cam_codec = next((t.codec for t in rec.tracks if t.track == cam_track), "vp8")
        camera = _Camera(files[cam_track] if cam_track else (), cam_codec)
        mics = [_Microphone(files[t.track]) for t in rec.tracks if t.kind == "audio"]
        part_frames = int(rec.duration_s * FPS)
        for i in range(part_frames):
            t = i / FPS
            while next_event < len(events) and events[next_event].at <= rec.origin_wall + t:
                raster.apply(events[next_event].op)
                next_event += 1
            image = raster.image()
            inset = camera.at(t)
            if inset is not None:
                image = image.copy()
                image[inset_y : inset_y + INSET_H, inset_x : inset_x + INSET_W] = inset
            vframe = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")
            vframe.pts = frame_no
            vframe.time_base = fractions.Fraction(1, FPS)
            out.mux(video.encode(vframe))
            frame_no += 1
            if frame_no % FPS == 0 or i == part_frames - 1:
                upto = round((offset + (i + 1) / FPS) * AUDIO_RATE)
                sample_no = _audio(out, audio, mics, sample_no, upto, offset)
                progress(offset + (i + 1) / FPS, total)
        offset += part_frames / FPS
    out.mux(video.encode(None))
    out.mux(audio.encode(None))
    out.close()
    partial.replace(out_path)
    progress(total, total)
    return offset


def _audio(out: Any, stream: Any, mics: list[_Microphone], first: int, upto: int,
           offset: float) -> int:
    """Mix and encode output samples ``[first, upto)``; each microphone is read on its
    own recording clock (output time minus the part's offset)."""
    if upto <= first:
        return first
    mix = np.zeros(upto - first, dtype=np.float32)
    for mic in mics:
        mic.add_to(mix, first - round(offset * AUDIO_RATE))
    np.clip(mix, -1.0, 1.0, out=mix)
    frame = av.AudioFrame.from_ndarray(mix.reshape(1, -1), format="flt", layout="mono")
    frame.sample_rate = AUDIO_RATE
    frame.pts = first
    frame.time_base = fractions.Fraction(1, AUDIO_RATE)
    out.mux(stream.encode(frame))
    return upto
