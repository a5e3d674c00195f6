"""Per-minute media evidence: what the server counted of each person's media.

Issue 9, item 1: teachers are paid from minutes, so every paid minute must be
settleable from what the server observed. Presence alone (any authenticated packet)
pays a lecturer with camera and microphone off; these rows say what the media was:

* **per second**, from the media layer (:class:`Second`): RTP packets and payload
  bytes received from the person per kind, video frames and keyframes started, the
  loudest RFC 6464 audio level of that second (read from the packet header, never
  decoded), and for their receiving side the packets forwarded to them and whether a
  receiver report of theirs acknowledged newer packets (with its loss and jitter);
* **per minute** (:class:`MinuteRow`): those seconds folded into one compact row per
  person per minute — sums, plus three 60-entry per-second arrays (audio level, frames,
  forwarded packets) and a 60-bit mask of confirmed seconds. No threshold is applied
  when storing: rows are what was counted, so a changed threshold can be replayed.

:func:`derive` turns rows into the record's ``voiced``, ``publishing`` and
``receiving`` intervals with the policy's thresholds (:class:`Thresholds`). The same
function serves the record and a disputed minute.

Pure: standard library only. Times are whole epoch seconds; no clock is read here.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

SECONDS = 60
NO_AUDIO = 255  # stored level of a second without audio packets
UNKNOWN_LEVEL = 128  # audio arrived, but without the audio-level header extension
SILENCE = 127  # RFC 6464: 0 is the loudest, 127 is -127 dBov (digital silence)
_FORWARDED = struct.Struct("<60H")  # packets forwarded per second, capped at 65535


@dataclass(frozen=True, slots=True)
class Second:
    """What the media layer counted of one person during one second."""

    audio_packets: int = 0
    audio_bytes: int = 0
    audio_level: int | None = None  # loudest -dBov (0 … 127) heard, None: no level seen
    video_packets: int = 0
    video_bytes: int = 0
    video_frames: int = 0
    video_keyframes: int = 0
    forwarded_packets: int = 0  # sent to this person
    forwarded_bytes: int = 0
    confirmed: bool = False  # a receiver report of theirs acknowledged newer packets
    rr_loss: float = 0.0  # worst fraction lost their receiver reports stated (0–1)
    rr_jitter_ms: float = 0.0  # worst interarrival jitter they stated

    @property
    def empty(self) -> bool:
        return not (self.audio_packets or self.video_packets or self.forwarded_packets
                    or self.confirmed)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Thresholds:
    """How rows become intervals: the policy file's ``[evidence]`` numbers."""

    voiced_dbov: int = -50  # a level louder than this (nearer 0) is voice
    voice_hold_s: float = 5.0  # a voiced second counts as voiced this long after it
    live_video_fps: int = 5  # frames in a second for live video (a muted camera: ~1)
    report_within_s: float = 5.0  # a receiver report confirms forwarding this near it

    def __post_init__(self) -> None:
        if not -127 <= self.voiced_dbov <= 0:
            raise ValueError(f"voiced_dbov must be within -127 … 0, got {self.voiced_dbov}")
        for name in ("voice_hold_s", "live_video_fps", "report_within_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a number ≥ 0, got {value!r}")

    def to_json(self) -> dict[str, float | int]:
        return {
            "voiced_dbov": self.voiced_dbov,
            "voice_hold_s": self.voice_hold_s,
            "live_video_fps": self.live_video_fps,
            "report_within_s": self.report_within_s,
        }


@dataclass(slots=True)
class MinuteRow:
    """One person's evidence for one minute (``minute``: its first epoch second)."""

    person: str
    minute: int
    audio_packets: int = 0
    audio_bytes: int = 0
    video_packets: int = 0
    video_bytes: int = 0
    video_frames: int = 0
    video_keyframes: int = 0
    forwarded_packets: int = 0
    forwarded_bytes: int = 0
    rr_loss_max: float = 0.0
    rr_jitter_max_ms: float = 0.0
    levels: bytearray = field(default_factory=lambda: bytearray([NO_AUDIO]) * SECONDS)
    frames: bytearray = field(default_factory=lambda: bytearray(SECONDS))
    forwarded: list[int] = field(default_factory=lambda: [0] * SECONDS)
    confirmed: int = 0  # bit i: second i was confirmed by a receiver report

    def add(self, index: int, s: Second) -> None:
        """Fold second ``index`` (0–59) of the minute in; a second given twice adds up."""
        self.audio_packets += s.audio_packets
        self.audio_bytes += s.audio_bytes
        self.video_packets += s.video_packets
        self.video_bytes += s.video_bytes
        self.video_frames += s.video_frames
        self.video_keyframes += s.video_keyframes
        self.forwarded_packets += s.forwarded_packets
        self.forwarded_bytes += s.forwarded_bytes
        self.rr_loss_max = max(self.rr_loss_max, s.rr_loss)
        self.rr_jitter_max_ms = max(self.rr_jitter_max_ms, s.rr_jitter_ms)
        if s.audio_packets or s.audio_level is not None:
            level = UNKNOWN_LEVEL if s.audio_level is None else min(max(s.audio_level, 0), 127)
            self.levels[index] = min(self.levels[index], level)
        self.frames[index] = min(255, self.frames[index] + s.video_frames)
        self.forwarded[index] = min(65535, self.forwarded[index] + s.forwarded_packets)
        if s.confirmed:
            self.confirmed |= 1 << index

    # -- what a person reads -----------------------------------------------------------

    def audio_level(self) -> list[int | None]:
        return [None if v == NO_AUDIO else v for v in self.levels]

    def voiced_s(self, voiced_dbov: int) -> int:
        return sum(1 for v in self.levels if v <= -voiced_dbov)

    def silent_s(self, voiced_dbov: int) -> int:
        """Seconds their audio arrived and was not voice (muted or silent)."""
        return sum(1 for v in self.levels if -voiced_dbov < v <= SILENCE)

    def to_json(self, minute_iso: str, voiced_dbov: int) -> dict[str, object]:
        return {
            "person": self.person,
            "minute": minute_iso,
            "audio_packets": self.audio_packets,
            "audio_bytes": self.audio_bytes,
            "video_packets": self.video_packets,
            "video_bytes": self.video_bytes,
            "video_frames": self.video_frames,
            "video_keyframes": self.video_keyframes,
            "voiced_s": self.voiced_s(voiced_dbov),
            "silent_s": self.silent_s(voiced_dbov),
            "forwarded_packets": self.forwarded_packets,
            "forwarded_bytes": self.forwarded_bytes,
            "rr_loss_max": round(self.rr_loss_max, 4),
            "rr_jitter_max_ms": round(self.rr_jitter_max_ms, 2),
            "audio_level": self.audio_level(),
            "frames": list(self.frames),
            "forwarded": list(self.forwarded),
            "confirmed": [bool(self.confirmed >> i & 1) for i in range(SECONDS)],
        }

    # -- storage -----------------------------------------------------------------------

    def to_sql(self) -> tuple[object, ...]:
        """The columns after (session, person, minute, node): see journal.EVIDENCE_COLUMNS."""
        return (
            self.audio_packets, self.audio_bytes, self.video_packets, self.video_bytes,
            self.video_frames, self.video_keyframes, self.forwarded_packets,
            self.forwarded_bytes, self.rr_loss_max, self.rr_jitter_max_ms, bytes(self.levels),
            bytes(self.frames), _FORWARDED.pack(*self.forwarded), self.confirmed,
        )  # fmt: skip

    @classmethod
    def from_sql(cls, person: str, minute: int, cols: tuple[Any, ...]) -> MinuteRow:
        (ap, ab, vp, vb, vf, vk, fp, fb, loss, jitter, levels, frames, fwd, conf) = cols
        return cls(
            person, minute, int(ap), int(ab), int(vp), int(vb), int(vf), int(vk), int(fp),
            int(fb), float(loss), float(jitter), bytearray(levels), bytearray(frames),
            list(_FORWARDED.unpack(fwd)), int(conf),
        )  # fmt: skip

    def copy(self) -> MinuteRow:
        return MinuteRow.from_sql(self.person, self.minute, self.to_sql())

    def merge(self, other: MinuteRow) -> None:
        """Fold another node's row of the same person and minute in (a reconnect that
        landed elsewhere): sums add, per-second levels take the loudest."""
        for name in (
            "audio_packets",
            "audio_bytes",
            "video_packets",
            "video_bytes",
            "video_frames",
            "video_keyframes",
            "forwarded_packets",
            "forwarded_bytes",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))  # fmt: skip
        self.rr_loss_max = max(self.rr_loss_max, other.rr_loss_max)
        self.rr_jitter_max_ms = max(self.rr_jitter_max_ms, other.rr_jitter_max_ms)
        for i in range(SECONDS):
            self.levels[i] = min(self.levels[i], other.levels[i])
            self.frames[i] = min(255, self.frames[i] + other.frames[i])
            self.forwarded[i] = min(65535, self.forwarded[i] + other.forwarded[i])
        self.confirmed |= other.confirmed


class EvidenceMeter:
    """One session's seconds in, minute rows out. :meth:`take_changed` gives the rows
    changed since the last call (the journal upserts a closed minute's row with the next
    heartbeat and the open minute's every few seconds); a row is kept in memory until its minute
    is over by :data:`KEEP_S`, after which a late second for it is dropped and counted
    (rewriting a row that left memory would overwrite it with a part of itself)."""

    KEEP_S = 2 * SECONDS

    def __init__(self) -> None:
        self._rows: dict[tuple[str, int], MinuteRow] = {}
        self._changed: set[tuple[str, int]] = set()
        self._floor = -math.inf  # minutes before this left memory
        self.late = 0

    def add(self, person: str, second: int, s: Second) -> bool:
        minute = second - second % SECONDS
        if minute < self._floor:
            self.late += 1
            return False
        key = (person, minute)
        row = self._rows.get(key)
        if row is None:
            row = self._rows[key] = MinuteRow(person, minute)
        row.add(second - minute, s)
        self._changed.add(key)
        return True

    def take_changed(self, now: float, *, open_minutes: bool = True) -> list[MinuteRow]:
        """Rows changed since the last call; then forget minutes over by KEEP_S. Without
        ``open_minutes``, only rows of minutes already over (a late second included):
        the open minute's row stays changed for a later call."""
        keys = self._changed
        if not open_minutes:
            keys = {k for k in keys if k[1] + SECONDS <= now}
        out = [self._rows[k] for k in sorted(keys, key=lambda k: (k[1], k[0]))]
        self._changed -= keys
        floor = now - self.KEEP_S
        old = [k for k in self._rows if k[1] + SECONDS <= floor]
        for key in old:
            del self._rows[key]
        if old:
            self._floor = max(self._floor, max(k[1] for k in old) + SECONDS)
        return out

    def rows(self) -> Iterator[MinuteRow]:
        return iter(self._rows.values())


# --- rows → intervals -------------------------------------------------------------------

Intervals = list[tuple[float, float]]


def _merge(intervals: Iterable[tuple[float, float]]) -> Intervals:
    out: Intervals = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if out and start <= out[-1][1]:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def _meet(a: Intervals, b: Intervals) -> Intervals:
    """Intersection of two merged interval lists."""
    out: Intervals = []
    i = j = 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if start < end:
            out.append((start, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


@dataclass(frozen=True, slots=True)
class Derived:
    """One person's intervals (epoch seconds), derived from their rows."""

    voiced: Intervals
    publishing: Intervals
    receiving: Intervals


def derive(rows: Iterable[MinuteRow], t: Thresholds) -> dict[str, Derived]:
    """Person → voiced, publishing and receiving intervals:

    * voiced: each second whose loudest level is louder than ``voiced_dbov``, held for
      ``voice_hold_s`` (speech has pauses; a muted microphone sends level 127);
    * publishing: voiced, or a second with at least ``live_video_fps`` video frames (a
      disabled camera sends black frames at about 1 fps);
    * receiving: seconds with packets forwarded to them, within ``report_within_s`` of
      a second in which their receiver report acknowledged newer packets.
    """
    loud = -t.voiced_dbov
    hold = t.voice_hold_s
    fps = t.live_video_fps
    within = t.report_within_s
    per: dict[str, tuple[Intervals, Intervals, Intervals, Intervals]] = {}
    for row in rows:
        voiced, video, forwarded, confirmed = per.setdefault(row.person, ([], [], [], []))
        base = row.minute
        for i, level in enumerate(row.levels):
            if level <= loud:
                voiced.append((base + i, base + i + 1 + hold))
        if row.video_frames:
            for i, n in enumerate(row.frames):
                if n and n >= fps:
                    video.append((base + i, base + i + 1))
        if row.forwarded_packets:
            for i, n in enumerate(row.forwarded):
                if n:
                    forwarded.append((base + i, base + i + 1))
        bits = row.confirmed
        while bits:
            i = (bits & -bits).bit_length() - 1
            confirmed.append((base + i - within, base + i + 1 + within))
            bits &= bits - 1
    out: dict[str, Derived] = {}
    for person, (voiced, video, forwarded, confirmed) in per.items():
        v = _merge(voiced)
        out[person] = Derived(
            voiced=v,
            publishing=_merge(v + video),
            receiving=_meet(_merge(forwarded), _merge(confirmed)),
        )
    return out


def merge_rows(rows: Iterable[MinuteRow]) -> list[MinuteRow]:
    """One row per (person, minute), other nodes' rows folded in; in time order."""
    out: dict[tuple[str, int], MinuteRow] = {}
    for row in rows:
        key = (row.person, row.minute)
        found = out.get(key)
        if found is None:
            out[key] = row.copy()  # never change the caller's (or the meter's) row
        else:
            found.merge(row)
    return [out[k] for k in sorted(out, key=lambda k: (k[1], k[0]))]


__all__ = [
    "Derived",
    "EvidenceMeter",
    "MinuteRow",
    "Second",
    "Thresholds",
    "derive",
    "merge_rows",
]
