"""The playable file of a micro-lesson: made once, at publish, in the background.

Why this way. A recording is per-person WebM tracks (VP8/Opus, or H.264) plus the
whiteboard as a log of operations; no one track is the lesson (the board and every
voice are). The recording's MP4 export (:mod:`recorder.media.export`) is the one
picture of it all, H.264/AAC, which every phone's ``<video>`` plays. So publishing
runs that export for the one recording (``opentutor recording export --recording``, a
child process at lower priority, one at a time, as the platform's export jobs do) and
then **cuts** the part by remuxing (PyAV, no re-encoding): from the keyframe at or
before the chosen start (``lead_s`` earlier: the player starts ``lead_s`` in) to the
chosen end, ``moov`` first (``faststart``) so that a phone plays while it loads. The
cut's byte index (offset → media time) is read back from the file it wrote.

Serving the session's whole export with a start/end window was the alternative; it was
not taken because the lesson must stay a lesson (a student's range requests could
fetch any part of the session, and the recording's retention would delete it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from signaling.microlessons.watching import ByteIndex

log = logging.getLogger(__name__)
NICE = 10


class MakeFailed(Exception):
    """The export or the cut failed; the message says which and why (short)."""


@dataclass(frozen=True)
class Made:
    lead_s: float
    duration_s: float
    size: int
    index: ByteIndex


def _lower_priority() -> None:  # in the child, before exec
    os.nice(NICE)


async def export_recording(session_id: str, recording_id: str, out: Path, *, data_dir: Path,
                           database_url: str, recordings_dir: Path | None) -> None:
    """The recording's MP4 (the export's picture of board, camera and voices)."""
    args = [sys.executable, "-m", "signaling.server.cli", "recording", "export", session_id,
            "--recording", recording_id, "--data-dir", str(data_dir), "--out", str(out),
            "--progress", "none"]
    if database_url:
        args += ["--database-url", database_url]
    if recordings_dir is not None:
        args += ["--recordings-dir", str(recordings_dir)]
    proc = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        preexec_fn=_lower_priority)
    try:
        _, err = await proc.communicate()
    except asyncio.CancelledError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        raise
    if proc.returncode != 0 or not await asyncio.to_thread(out.is_file):
        tail = err.decode(errors="replace").strip().splitlines()[-2:]
        raise MakeFailed("export: " + (" / ".join(tail) or f"exit code {proc.returncode}"))


def _keyframe_at_or_before(src: Path, start_s: float) -> float:
    with av.open(str(src)) as inp:
        video = inp.streams.video[0]
        best = 0.0
        for packet in inp.demux(video):
            if packet.pts is None or packet.time_base is None:
                continue
            t = float(packet.pts * packet.time_base)
            if t > start_s:
                break
            if packet.is_keyframe:
                best = t
        return best


def cut(src: Path, dst: Path, start_s: float, end_s: float) -> Made:
    """Remux ``[keyframe ≤ start_s, end_s)`` of ``src`` into ``dst`` (MP4, faststart)."""
    key = _keyframe_at_or_before(src, start_s)
    partial = dst.with_suffix(".part")
    with av.open(str(src)) as inp:
        ins = [s for s in (*inp.streams.video[:1], *inp.streams.audio[:1])]
        out = av.open(str(partial), "w", format="mp4", options={"movflags": "+faststart"})
        try:
            outs: dict[int, Any] = {s.index: out.add_stream_from_template(s) for s in ins}
            for packet in inp.demux(*ins):
                tb = packet.time_base
                if packet.pts is None or packet.dts is None or tb is None:
                    continue
                t = float(packet.pts * tb)
                if t < key - 1e-6 or t >= end_s:
                    continue
                shift = round(Fraction(key).limit_denominator(1_000_000) / tb)
                packet.pts -= shift
                packet.dts -= shift
                if packet.dts < 0:  # audio priming before the keyframe: dropped
                    continue
                packet.stream = outs[packet.stream.index]
                out.mux(packet)
        finally:
            out.close()
    partial.replace(dst)
    return describe(dst, lead_s=round(start_s - key, 3))


def describe(path: Path, *, lead_s: float = 0.0) -> Made:
    """Duration, size and byte index of a finished file."""
    packets: list[tuple[int, float]] = []
    duration = 0.0
    with av.open(str(path)) as inp:
        streams = [*inp.streams.video[:1], *inp.streams.audio[:1]]
        for packet in inp.demux(*streams):
            if packet.pts is None or packet.time_base is None:
                continue
            t = float(packet.pts * packet.time_base)
            dur = float(packet.duration * packet.time_base) if packet.duration else 0.0
            duration = max(duration, t + dur)
            if packet.pos is not None and packet.pos >= 0:
                packets.append((packet.pos, t))
    size = path.stat().st_size
    return Made(lead_s, round(duration, 3), size, ByteIndex.build(packets, size, duration))


async def make(session_id: str, recording_id: str, start_s: float, end_s: float, dst: Path, *,
               data_dir: Path, database_url: str, recordings_dir: Path | None) -> Made:
    """Export, cut, index; the export is deleted after (only the lesson's file stays)."""
    work = dst.with_suffix(".export.mp4")
    try:
        await export_recording(session_id, recording_id, work, data_dir=data_dir,
                               database_url=database_url, recordings_dir=recordings_dir)
        try:
            return await asyncio.to_thread(cut, work, dst, start_s, end_s)
        except (av.error.FFmpegError, OSError, IndexError) as exc:
            raise MakeFailed(f"cut: {exc}") from exc
    finally:
        work.unlink(missing_ok=True)
