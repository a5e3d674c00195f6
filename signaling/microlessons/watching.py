"""Watching time from what the server sent: pure (no I/O, standard library only).

The rule (docs/protocol.md, "Micro-lessons"):

1. The server serves a micro-lesson's file itself (HTTP Range) and writes down, per
   viewer, which bytes each response sent and when (:class:`Served`: one row per few
   seconds of one response).
2. Bytes map to media time through the file's :class:`ByteIndex` (byte offset → time
   of the packet there), built once when the lesson is published.
3. A response earns media time from where it started at most as fast as the wall clock
   ran while it was sending, plus one chunk (``slack_s``): a response that sent the
   whole file at once earned one chunk, not the file.
4. What all responses earned is merged on the media time line (seeking back, a second
   connection, watching again: never counted twice).
5. And capped by the wall-clock time during which bytes were being sent (each
   response's span plus one chunk, merged): a viewer cannot have watched more than
   the time that passed.

The server also paces its sending (:func:`allowed_end`): a lead of a few seconds of
media at once, then a little faster than real time, so that playing is observable at
all (an unpaced server would hand a phone the whole file in its first second).
A player's own reports are never an input.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

INDEX_STEP_S = 0.5  # one index point per half second of media: a 15-min lesson ~1800 points


@dataclass(frozen=True)
class ByteIndex:
    """Byte offset → media time of one file. ``points`` are ``(offset, t)`` with both
    non-decreasing; bytes before the first point (the header) are time 0, bytes after
    the last run linearly to ``duration_s`` at ``size``."""

    points: tuple[tuple[int, float], ...]
    size: int
    duration_s: float

    @classmethod
    def build(cls, packets: Iterable[tuple[int, float]], size: int,
              duration_s: float) -> ByteIndex:
        """From ``(byte offset, media time)`` of every packet, in any order: sorted by
        offset, time made non-decreasing (a packet interleaved late cannot move time
        back), thinned to one point per :data:`INDEX_STEP_S`."""
        points: list[tuple[int, float]] = []
        latest = 0.0
        for offset, t in sorted(p for p in packets if 0 <= p[0] < size):
            latest = max(latest, min(max(t, 0.0), duration_s))
            if not points or latest - points[-1][1] >= INDEX_STEP_S:
                points.append((offset, latest))
        return cls(tuple(points), size, duration_s)

    @cached_property
    def _ends(self) -> tuple[list[int], list[float]]:
        """Offsets and times of the points plus the file's end, for bisecting (made once;
        a response asks on every chunk)."""
        ends = [*self.points, (self.size, self.duration_s)]
        return [p[0] for p in ends], [p[1] for p in ends]

    def time_at(self, offset: int) -> float:
        """Media time at byte ``offset`` (linear between points)."""
        if not self.points or offset < self.points[0][0]:
            return 0.0
        offsets, times = self._ends
        i = bisect.bisect_right(offsets, offset) - 1
        if i >= len(offsets) - 1:
            return self.duration_s
        o0, o1, t0, t1 = offsets[i], offsets[i + 1], times[i], times[i + 1]
        return t0 if o1 <= o0 else t0 + (t1 - t0) * (offset - o0) / (o1 - o0)

    def offset_at(self, t: float) -> int:
        """The first byte offset past media time ``t`` (the inverse of :meth:`time_at`):
        serving ``[0, offset_at(t))`` hands out everything up to ``t``."""
        if t >= self.duration_s or not self.points:
            return self.size
        offsets, times = self._ends
        i = bisect.bisect_right(times, t) - 1
        if i < 0:
            return offsets[0]
        o0, o1, t0, t1 = offsets[i], offsets[i + 1], times[i], times[i + 1]
        return o0 if t1 <= t0 else min(self.size, round(o0 + (o1 - o0) * (t - t0) / (t1 - t0)))

    def wire(self) -> dict[str, object]:
        return {"points": [list(p) for p in self.points], "size": self.size,
                "duration_s": self.duration_s}

    @classmethod
    def of_wire(cls, data: dict[str, object]) -> ByteIndex:
        raw = data.get("points")
        points = tuple((int(p[0]), float(p[1])) for p in raw) if isinstance(raw, list) else ()
        size, duration = data.get("size"), data.get("duration_s")
        return cls(points, int(size) if isinstance(size, int) else 0,
                   float(duration) if isinstance(duration, int | float) else 0.0)


@dataclass(frozen=True)
class Served:
    """Bytes ``[start, end)`` one response (``serve``) sent between ``first_at`` and
    ``last_at`` (server wall-clock seconds)."""

    serve: str
    first_at: float
    last_at: float
    start: int
    end: int


@dataclass(frozen=True)
class Watched:
    watched_s: float
    media_s: float  # what the responses earned on the media line, before the wall cap
    wall_s: float  # the wall-clock cap
    spans: tuple[tuple[float, float], ...]  # the merged media spans earned


def merge(spans: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    """Union of half-open intervals, sorted; empty ones dropped."""
    out: list[tuple[float, float]] = []
    for lo, hi in sorted(s for s in spans if s[1] > s[0]):
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def _length(spans: Sequence[tuple[float, float]]) -> float:
    return sum(hi - lo for lo, hi in spans)


def watched(rows: Iterable[Served], index: ByteIndex, *, slack_s: float) -> Watched:
    """The rule above, for one viewer of one lesson."""
    responses: dict[str, list[Served]] = {}
    for row in rows:
        if row.end > row.start and row.last_at >= row.first_at:
            responses.setdefault(row.serve, []).append(row)
    media: list[tuple[float, float]] = []
    wall: list[tuple[float, float]] = []
    for parts in responses.values():
        first = min(p.first_at for p in parts)
        last = max(p.last_at for p in parts)
        begin = index.time_at(min(p.start for p in parts))
        # Contiguous from where the response started: a response only sends forward.
        end = index.time_at(max(p.end for p in parts))
        earned = min(end, begin + (last - first) + slack_s)
        media.append((begin, earned))
        wall.append((first, last + slack_s))
    media_spans, wall_spans = merge(media), merge(wall)
    media_s, wall_s = _length(media_spans), _length(wall_spans)
    return Watched(round(min(media_s, wall_s), 3), round(media_s, 3), round(wall_s, 3),
                   tuple(media_spans))


def allowed_end(index: ByteIndex, start: int, elapsed_s: float, *, lead_s: float,
                pace: float) -> int:
    """How far (exclusive byte offset) a response that began at byte ``start`` may have
    sent after ``elapsed_s`` seconds: ``lead_s`` of media at once, then ``pace`` media
    seconds per second (a little above 1, so that the player's buffer grows)."""
    t = index.time_at(start) + lead_s + pace * max(0.0, elapsed_s)
    return max(start, index.offset_at(t))
