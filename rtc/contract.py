"""The media layer's vocabulary: what the signaling room hands in and gets back.

Everything here is plain data (frozen dataclasses, read-only mappings) or a
protocol, so the signaling layer can hold on to it without reaching into
aiortc. :mod:`rtc.room` re-exports the names the signaling layer uses.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol

KINDS = ("audio", "video")


@dataclass(frozen=True, order=True)
class StreamInfo:
    """One forwarded stream: a person's audio or video."""

    person: str
    kind: str  # "audio" | "video"


@dataclass(frozen=True)
class Answer:
    """The SDP answer for one offer, plus what each receiving transceiver carries
    (mid → stream). Transceivers that carry nothing yet are left out."""

    sdp: str
    tracks: dict[str, StreamInfo]


class OfferError(ValueError):
    """An offer (or ICE candidate) the media layer cannot accept. A ValueError,
    so the signaling layer's "bad input" handling applies."""


class FrameTap(Protocol):
    """Sees every forwarded encoded frame of a room, e.g. the recorder (Galène's
    habit: the disk writer is just another participant). Called on the event loop
    for each frame of a granted stream, with the same ``av.Packet`` the subscribers
    get (pts on the room's timeline, ``time_base`` 1/90000 video, 1/48000 audio):
    it must not mutate it and must not block; hand the work to a queue/thread."""

    def frame(self, person: str, kind: str, codec: str, packet: Any, keyframe: bool) -> None:
        """``codec`` is the RTP codec name: ``"VP8"``, ``"opus"`` (or ``"H264"``)."""
        ...


Work = Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class MediaSample:
    """What the media layer counted of one person during one second (issue 9: the
    evidence that pays a minute). Received: RTP from them per kind (after SRTP, RTX
    unwrapped, padding left out; bytes are payload bytes), video frames and keyframes
    started, the loudest RFC 6464 audio level read from the packet headers (-dBov,
    0 loudest … 127 silence; None when no packet carried one). Their receiving side:
    packets forwarded to them, whether one of their receiver reports acknowledged
    newer packets, and the worst loss and jitter those reports stated.
    ``recorder.presence.evidence.Second`` has the same fields."""

    audio_packets: int = 0
    audio_bytes: int = 0
    audio_level: int | None = None
    video_packets: int = 0
    video_bytes: int = 0
    video_frames: int = 0
    video_keyframes: int = 0
    forwarded_packets: int = 0
    forwarded_bytes: int = 0
    confirmed: bool = False
    rr_loss: float = 0.0
    rr_jitter_ms: float = 0.0


class Owner(Protocol):
    """The one task that changes a room (the signaling room's owner). Everything that
    changes media state and does not come from the owner itself (a peer connection
    that failed, the idle watchdog) is handed to it with :meth:`run`: aiortc callbacks
    and timers only submit, so a teardown can never interleave with an offer that is
    suspended mid-negotiation."""

    def run(self, work: Work, /) -> None:
        """Run ``work`` on the owner task, after what it is doing now, in order."""


class MediaEvents(Protocol):
    """Implemented by the signaling room. Called on the event loop; must not block.

    Order per person: ``transport(p, True)`` comes before any ``traffic(p)`` and
    ``media_up(p, …)``; ``media_down`` for a person's streams comes before their
    ``transport(p, False)``. ``transport`` alternates, starting with ``True``.
    """

    def media_up(self, person: str, kind: str) -> None:
        """Forwarded packets of this published track started to arrive."""

    def media_down(self, person: str, kind: str) -> None:
        """The track ended, was revoked, or no packets arrived for a while."""

    def transport(self, person: str, up: bool) -> None:
        """ICE + DTLS connected (``True``), or failed / closed (``False``)."""

    def traffic(self, person: str) -> None:
        """Authenticated evidence of life from the device (SRTP, SRTCP, an
        authenticated STUN check). At most once per person per second."""

    def renegotiate(self, person: str, streams: list[StreamInfo]) -> None:
        """This person should send a new offer with at least as many receiving
        transceivers per kind as ``streams`` lists (all streams they should receive).
        May arrive while their own offer is in flight: apply the answer, then offer again."""

    def tracks_changed(self, person: str, tracks: dict[str, StreamInfo]) -> None:
        """The mid → stream map changed without renegotiation (full new map)."""

    def sample(self, person: str, second: int, sample: MediaSample) -> None:
        """``person``'s media evidence for the second starting at epoch ``second``;
        once a second for everyone with a peer connection (zeros included)."""

    def quality(self, person: str, level: str, reason: str) -> None:
        """What ``person`` receives changed (rtc/quality.py): ``level`` ``"full"``,
        ``"reduced"`` or ``"audio_only"``; ``reason`` ``"network"``, ``"saver"`` (their
        data-saver choice) or ``""`` (back to full)."""


def _empty() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True)
class SlotSnapshot:
    """A receiving transceiver of a person: what it carries and what went through it."""

    mid: str
    kind: str
    stream: StreamInfo | None
    frames_sent: int
    frames_dropped: int
    queued: int


@dataclass(frozen=True)
class SourceSnapshot:
    """One published track as the server sees it."""

    kind: str
    forwarding: bool  # allowed to publish this kind (stage grant)
    up: bool  # packets arriving now (media_up sent, media_down not yet)
    frames_in: int
    bytes_in: int
    keyframes_in: int
    subscribers: int
    pli_requested: int
    pli_sent: int


@dataclass(frozen=True)
class PersonSnapshot:
    person: str
    connection: str  # aiortc connectionState, or "none" without a peer connection
    transport_up: bool
    allowed: frozenset[str]
    sources: Mapping[str, SourceSnapshot] = field(default_factory=_empty)  # kind →
    slots: Mapping[str, SlotSnapshot] = field(default_factory=_empty)  # mid →
    rtp_in: int = 0
    rtcp_in: int = 0
    stun_in: int = 0

    @property
    def published(self) -> frozenset[str]:
        """Kinds that are forwarded to others now (allowed and arriving)."""
        return frozenset(k for k, s in self.sources.items() if s.forwarding and s.up)

    @property
    def subscriptions(self) -> Mapping[str, StreamInfo]:
        """mid → stream for the receiving transceivers that carry something."""
        return MappingProxyType(
            {mid: s.stream for mid, s in self.slots.items() if s.stream is not None}
        )


@dataclass(frozen=True)
class RoomSnapshot:
    people: Mapping[str, PersonSnapshot]
    streams: tuple[StreamInfo, ...]  # every forwarded stream, publisher order

    def streams_for(self, person: str) -> list[StreamInfo]:
        """What ``person`` should receive: every forwarded stream except their own."""
        return [s for s in self.streams if s.person != person]
