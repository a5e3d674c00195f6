"""Live media health: the last few seconds of what the server counted of each person.

The per-second samples (:class:`~recorder.presence.evidence.Second`) go to the
journal, which folds them into minute rows; nothing kept the *last* seconds, which is
what the programme office's Now page (issue 16) asks about: is the teacher heard now,
is their camera on, does what we forward reach the learner. :class:`LiveRing` keeps,
per session and person, at most :data:`WINDOW_S` seconds (a bounded deque, so a long
session costs the same as a short one), and :func:`health` reads a window of them with
the programme's evidence thresholds, the same numbers that decide pay.

Pure: standard library only; times are given (whole epoch seconds), never read.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from recorder.presence.evidence import SILENCE, Second, Thresholds

WINDOW_S = 10  # "now" is the last ten seconds: long enough to smooth a pause in speech


@dataclass(frozen=True, slots=True)
class Health:
    """One person's media over the window, as the Now page shows it.

    ``audio``: ``voiced`` (a level louder than the threshold was heard), ``silent``
    (audio arrived, none of it voice: muted or quiet), ``unknown`` (audio arrived
    without level headers), ``off`` (no audio packets). ``video``: ``live`` (at least
    the threshold's frames per second on average), ``camera_off`` (no frames, or the
    one frame a second a muted camera sends). ``loss_pct``: the worst loss their
    receiver reports stated of what we forwarded to them (``None``: no report in the
    window; loss of what they send is not observed by the server).
    """

    seconds: int  # seconds sampled in the window (0: nothing known yet)
    audio: str
    video: str
    fps: float
    receiving: bool
    loss_pct: float | None
    jitter_ms: float | None
    kbps_in: float
    kbps_out: float

    def to_json(self) -> dict[str, object]:
        return {
            "seconds": self.seconds, "audio": self.audio, "video": self.video,
            "fps": self.fps, "receiving": self.receiving, "loss_pct": self.loss_pct,
            "jitter_ms": self.jitter_ms, "kbps_in": self.kbps_in, "kbps_out": self.kbps_out,
        }


def health(samples: Iterable[tuple[int, Second]], now: int, thresholds: Thresholds,
           window_s: int = WINDOW_S) -> Health:
    """What ``samples`` (epoch second, counts) say of the ``window_s`` seconds before
    ``now``: rates are per sampled second, so a person who joined three seconds ago is
    judged on those three."""
    recent = [s for at, s in samples if now - window_s <= at < now]
    n = len(recent)
    per_s = 1 / n if n else 0.0
    audio_packets = sum(s.audio_packets for s in recent)
    levels = [s.audio_level for s in recent if s.audio_packets]
    if not audio_packets:
        audio = "off"
    elif any(lv is not None and lv <= -thresholds.voiced_dbov for lv in levels):
        audio = "voiced"
    elif any(lv is not None and lv <= SILENCE for lv in levels):
        audio = "silent"
    else:
        audio = "unknown"
    fps = sum(s.video_frames for s in recent) * per_s
    live = n > 0 and fps >= max(thresholds.live_video_fps, 1)
    reported = [s for s in recent if s.confirmed]
    receiving = any(s.forwarded_packets for s in recent) and bool(reported)
    bytes_in = sum(s.audio_bytes + s.video_bytes for s in recent)
    bytes_out = sum(s.forwarded_bytes for s in recent)
    return Health(
        seconds=n,
        audio=audio,
        video="live" if live else "camera_off",
        fps=round(fps, 1),
        receiving=receiving,
        loss_pct=round(max(s.rr_loss for s in reported) * 100, 1) if reported else None,
        jitter_ms=round(max(s.rr_jitter_ms for s in reported), 1) if reported else None,
        kbps_in=round(bytes_in * 8 / 1000 * per_s, 1),
        kbps_out=round(bytes_out * 8 / 1000 * per_s, 1),
    )


class LiveRing:
    """The last :data:`WINDOW_S` seconds per session and person, and when each person
    joined (their first signalling connection since they were last away)."""

    def __init__(self, window_s: int = WINDOW_S) -> None:
        self._window = window_s
        self._seconds: dict[str, dict[str, deque[tuple[int, Second]]]] = {}
        self._joined: dict[str, dict[str, float]] = {}

    def add(self, session_id: str, person: str, second: int, sample: Second) -> None:
        people = self._seconds.setdefault(session_id, {})
        ring = people.get(person)
        if ring is None:
            ring = people[person] = deque(maxlen=self._window)
        ring.append((second, sample))

    def joined(self, session_id: str, person: str, at: float) -> None:
        """A signalling connection came up; a replacing tab keeps the earlier time."""
        self._joined.setdefault(session_id, {}).setdefault(person, at)

    def left(self, session_id: str, person: str) -> None:
        self._joined.get(session_id, {}).pop(person, None)
        self._seconds.get(session_id, {}).pop(person, None)

    def joined_at(self, session_id: str, person: str) -> float | None:
        return self._joined.get(session_id, {}).get(person)

    def samples(self, session_id: str, person: str) -> list[tuple[int, Second]]:
        return list(self._seconds.get(session_id, {}).get(person, ()))

    def forget(self, session_id: str) -> None:
        self._seconds.pop(session_id, None)
        self._joined.pop(session_id, None)

    def keep_only(self, session_ids: Iterable[str]) -> None:
        """Drop the sessions not listed (rooms closed without an end, e.g. drained)."""
        keep = set(session_ids)
        for gone in (set(self._seconds) | set(self._joined)) - keep:
            self.forget(gone)

    @property
    def sessions(self) -> frozenset[str]:
        return frozenset(self._seconds) | frozenset(self._joined)
