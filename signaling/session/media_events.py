"""What the media layer tells a room (rtc → signaling), as the room wants it: presence
observations go straight to the room's listeners (the journal is its own owner, and a
second of delay would be a second of pay); anything that changes room state, and the
media layer's own work, is posted to the room's queue and applied by its owner."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from recorder.presence.evidence import Second
from recorder.presence.tracker import Kind
from rtc.room import MediaSample, StreamInfo, Work
from signaling.session.commands import MediaNote, MediaWork
from signaling.session.events import Observed, RoomListener, Sampled, tell
from signaling.session.roles import is_observer


class MediaEventsToRoom:
    """rtc → room. Presence observations go straight to the listeners (the journal is
    its own owner, and a second of delay would be a second of pay); anything that
    changes room state is posted to the room's queue."""

    def __init__(
        self, session_id: str, listeners: tuple[RoomListener, ...], post: Callable[[Any], None]
    ) -> None:
        self._session_id, self._listeners, self._post = session_id, listeners, post

    def _observed(self, person: str, kind: Kind, detail: str = "") -> None:
        if is_observer(person):
            return  # a supervisor watching is nobody's presence (nor pay): see sample
        tell(self._listeners, self._session_id, Observed(person, kind, detail))

    def media_up(self, person: str, kind: str) -> None:
        self._observed(person, Kind.MEDIA_UP, kind)
        self._post(MediaNote(person, "media_up", kind))

    def media_down(self, person: str, kind: str) -> None:
        self._observed(person, Kind.MEDIA_DOWN, kind)
        self._post(MediaNote(person, "media_down", kind))

    def transport(self, person: str, up: bool) -> None:
        self._observed(person, Kind.TRANSPORT_UP if up else Kind.TRANSPORT_DOWN)

    def traffic(self, person: str) -> None:
        self._observed(person, Kind.TRAFFIC)

    def sample(self, person: str, second: int, sample: MediaSample) -> None:
        # An observer's seconds (what was forwarded to them) are not evidence: the
        # listeners (the journal, the Now page, webhooks) never hear of them, so they
        # are in no ``receiving`` interval and no count of people.
        if is_observer(person):
            return
        tell(self._listeners, self._session_id, Sampled(person, second, evidence_second(sample)))

    def renegotiate(self, person: str, streams: list[StreamInfo]) -> None:
        self._post(MediaNote(person, "renegotiate", streams))

    def tracks_changed(self, person: str, tracks: dict[str, StreamInfo]) -> None:
        self._post(MediaNote(person, "tracks", tracks))

    def quality(self, person: str, level: str, reason: str) -> None:
        self._post(MediaNote(person, "quality", {"level": level, "reason": reason}))

    def run(self, work: Work, /) -> None:
        """The media layer's :class:`~rtc.contract.Owner`: its work runs as a command."""
        self._post(MediaWork(work))


def evidence_second(s: MediaSample) -> Second:
    """The media layer's sample as the recorder's evidence (the same fields, named;
    tests/signaling/test_room_unit.py checks that the two stay alike)."""
    return Second(
        audio_packets=s.audio_packets,
        audio_bytes=s.audio_bytes,
        audio_level=s.audio_level,
        video_packets=s.video_packets,
        video_bytes=s.video_bytes,
        video_frames=s.video_frames,
        video_keyframes=s.video_keyframes,
        forwarded_packets=s.forwarded_packets,
        forwarded_bytes=s.forwarded_bytes,
        confirmed=s.confirmed,
        rr_loss=s.rr_loss,
        rr_jitter_ms=s.rr_jitter_ms,
    )


def streams_wire(streams: list[StreamInfo]) -> list[dict[str, str]]:
    return [{"person": s.person, "kind": s.kind} for s in streams]


def tracks_wire(tracks: dict[str, StreamInfo]) -> dict[str, dict[str, str]]:
    return {mid: {"person": s.person, "kind": s.kind} for mid, s in tracks.items()}
