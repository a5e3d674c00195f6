"""A session's media graph: who publishes what, who receives what.

One :class:`MediaRoom` per session. Its only caller is the signaling room's owner
task, so there is no locking here beyond aiortc's own; events go back through the
:class:`~rtc.contract.MediaEvents` the signaling room implements. What does not come from
the owner — a peer connection that failed (an aiortc callback), the idle watchdog (a
timer) — is handed to the owner as work (:class:`~rtc.contract.Owner`) and runs in order
with its commands, never in the middle of one.

Who receives what: every person receives every forwarded stream except their own. A
stream is a person's audio or video that their browser negotiated as a sending line
*and* that the server allows them to publish (:meth:`MediaRoom.set_publish`). When a
stream appears, each other person gets it on a free receiving slot of that kind
(``tracks_changed``) or, without one, is asked for a new offer (``renegotiate``). When
one goes away (revoked, left, stopped publishing) its slots are detached at once and
the new map is sent with ``tracks_changed``; slots are reused later.

A reconnect (:meth:`MediaRoom.reset`, then a new offer) keeps the person's streams:
subscribers keep their slots, see a pause, and resume at the next keyframe (asked
for as soon as the new connection delivers frames).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
from types import MappingProxyType

from aiortc import RTCIceServer, RTCPeerConnection, RTCRtpReceiver

from .clock import Clock
from .contract import (
    KINDS,
    Answer,
    FrameTap,
    MediaEvents,
    MediaSample,
    OfferError,
    Owner,
    PersonSnapshot,
    RoomSnapshot,
    SourceSnapshot,
    StreamInfo,
    Work,
)
from .fanout import Source
from .forward import check_aiortc
from .ice import announce_address
from .peer import Peer
from .quality import Level, LinkQuality, Report

__all__ = [
    "Answer",
    "FrameTap",
    "MediaEvents",
    "MediaRoom",
    "MediaSample",
    "OfferError",
    "Owner",
    "PersonSnapshot",
    "RoomSnapshot",
    "StreamInfo",
    "Work",
]

log = logging.getLogger(__name__)

MEDIA_IDLE = 3.0  # seconds without frames before media_down
WATCH_INTERVAL = 0.5
SAMPLE_AFTER = 0.02  # sample this long after each whole second of the clock
# Per-subscriber quality (rtc/quality.py) from their receiver reports and REMB: "0" turns
# the network's part off (every subscriber gets everything; data saver still works), the
# baseline of ``bench/network.py``.
ADAPT = os.environ.get("OPENTUTOR_ADAPT", "1") != "0"


class MediaRoom:
    def __init__(
        self,
        events: MediaEvents,
        *,
        clock: Clock,
        ice_servers: list[RTCIceServer] | None = None,
        host_addresses: list[str] | None = None,
        media_idle: float = MEDIA_IDLE,
        public_ip: str = "",
        owner: Owner | None = None,
    ) -> None:
        check_aiortc()
        self._events = _SafeEvents(events)
        # Without an owner (the media layer used on its own: tests, benches), a task of
        # its own runs the submitted work in order.
        self._owner = owner if owner is not None else SerialOwner()
        self._clock = clock
        self._ice_servers = list(ice_servers or [])
        self._host_addresses = list(host_addresses) if host_addresses else None
        self._media_idle = media_idle
        self._public_ip = public_ip
        self._people: dict[str, Peer] = {}
        self._sources: dict[tuple[str, str], Source] = {}
        self._announced: set[Source] = set()  # sources whose media_up went out
        self._taps: tuple[FrameTap, ...] = ()
        self._quality: dict[str, LinkQuality] = {}  # by subscriber
        self._watchdog: asyncio.Task[None] | None = None
        self._sampler: asyncio.Task[None] | None = None
        self._closed = False

    # ------------------------------------------------------------ public API

    async def offer(self, person: str, sdp: str) -> Answer:
        """Apply ``person``'s offer (the first one creates their peer connection)."""
        if self._closed:
            raise OfferError("the media room is closed")
        self._start_watchdog()
        participant = self._participant(person)
        answer = await participant.negotiate(sdp)
        participant.asked = None
        self._sync(offering=person)
        participant.told = participant.mapping()
        quality = self._quality.get(person)
        if quality is not None and quality.level != Level.FULL:
            # A (re)joined browser forgot: its tiles show the placeholder again.
            self._events.quality(person, quality.level.wire, quality.reason)
        return Answer(sdp=announce_address(answer, self._public_ip), tracks=dict(participant.told))

    async def add_ice_candidate(
        self,
        person: str,
        candidate: str | None,
        sdp_mid: str | None,
        sdp_mline_index: int | None,
    ) -> None:
        participant = self._people.get(person)
        if participant is None:
            raise OfferError(f"no peer connection for {person!r}")
        await participant.add_ice_candidate(candidate, sdp_mid, sdp_mline_index)

    def set_publish(self, person: str, kinds: frozenset[str]) -> None:
        """What ``person`` may publish. Revoking stops forwarding at once."""
        unknown = set(kinds) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown media kinds {sorted(unknown)}")
        if self._closed:
            return
        participant = self._participant(person)
        participant.allowed = frozenset(kinds)
        for kind in KINDS:
            source = self._sources.get((person, kind))
            if source is not None:
                source.set_forwarding(kind in participant.allowed)
        self._sync()

    async def reset(self, person: str) -> None:
        """Drop ``person``'s peer connection but keep them (and their streams)."""
        participant = self._people.get(person)
        if participant is not None:
            await participant.close()
            self._sync()

    def set_data_saver(self, person: str, on: bool) -> None:
        """``person`` chose audio and the whiteboard only (or turned it off)."""
        if self._closed:
            return
        quality = self._link(person)
        if on != quality.saver:
            quality.set_saver(on)
            self._apply_level(person)

    def quality(self, person: str) -> LinkQuality | None:
        return self._quality.get(person)

    async def remove(self, person: str) -> None:
        self._quality.pop(person, None)
        participant = self._people.pop(person, None)
        if participant is not None:
            await participant.close()
        for kind in KINDS:
            source = self._sources.pop((person, kind), None)
            if source is not None:
                source.close()
        self._sync()

    async def close(self) -> None:
        self._closed = True
        if isinstance(self._owner, SerialOwner):
            await self._owner.close()
        for task in (self._watchdog, self._sampler):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._watchdog = self._sampler = None
        for person in list(self._people):
            await self.remove(person)
        for source in self._sources.values():
            source.close()
        self._sources.clear()
        self._announced.clear()

    def add_tap(self, tap: FrameTap) -> None:
        """Give ``tap`` every forwarded frame from now on (a recorder). Video sources
        are asked for a keyframe so that what it sees starts decodable."""
        if tap in self._taps:
            return
        self._taps = (*self._taps, tap)
        for source in self._sources.values():
            source.taps = self._taps
            source.request_keyframe()

    def remove_tap(self, tap: FrameTap) -> None:
        self._taps = tuple(t for t in self._taps if t is not tap)
        for source in self._sources.values():
            source.taps = self._taps

    def request_keyframe(self, person: str) -> None:
        """Ask ``person``'s camera for a keyframe (a recorder starting a segment); PLIs
        are coalesced like a subscriber's."""
        source = self._sources.get((person, "video"))
        if source is not None:
            source.request_keyframe()

    def snapshot(self) -> RoomSnapshot:
        people = {}
        for person, p in self._people.items():
            sources = {
                kind: SourceSnapshot(
                    kind=kind,
                    forwarding=s.forwarding,
                    up=s.up,
                    frames_in=s.frames_in,
                    bytes_in=s.bytes_in,
                    keyframes_in=s.keyframes_in,
                    subscribers=s.subscribers,
                    pli_requested=s.pli_requested,
                    pli_sent=s.pli_sent,
                )
                for kind in KINDS
                if (s := self._sources.get((person, kind))) is not None
            }
            people[person] = PersonSnapshot(
                person=person,
                connection=p.connection,
                transport_up=p.transport_up,
                allowed=p.allowed,
                sources=MappingProxyType(sources),
                slots=MappingProxyType({mid: s.snapshot() for mid, s in p.slots.items()}),
                rtp_in=p.rtp_in,
                rtcp_in=p.rtcp_in,
                stun_in=p.stun_in,
            )
        return RoomSnapshot(people=MappingProxyType(people), streams=tuple(self._streams()))

    # ------------------------------------------------- hooks from participants

    def publishing(self, person: str, kind: str, receiver: RTCRtpReceiver) -> None:
        source = self._sources.get((person, kind))
        if source is None:
            source = Source(person, kind, self._clock, self._media_changed)
            source.taps = self._taps
            self._sources[(person, kind)] = source
        participant = self._people.get(person)
        source.set_forwarding(participant is not None and kind in participant.allowed)
        source.bind(receiver)

    def unpublished(self, person: str, kind: str) -> None:
        source = self._sources.pop((person, kind), None)
        if source is not None:
            source.close()

    def disconnected(self, person: str) -> None:
        for kind in KINDS:
            source = self._sources.get((person, kind))
            if source is not None:
                source.unbind()

    def failed(self, person: str, pc: RTCPeerConnection) -> None:
        """``person``'s peer connection ``pc`` failed or closed (an aiortc callback):
        the owner drops it, unless a newer one has replaced it by then."""

        async def drop() -> None:
            participant = self._people.get(person)
            if participant is not None and participant.pc is pc and not self._closed:
                await participant.close()
                self._sync()

        self._owner.run(drop)

    def connected(self, person: str, pc: RTCPeerConnection) -> None:
        """``person``'s peer connection ``pc`` is up (an aiortc callback)."""

        async def up() -> None:
            participant = self._people.get(person)
            if participant is not None and participant.pc is pc and not self._closed:
                participant.transport_connected()

        self._owner.run(up)

    # --------------------------------------------------------------- internals

    def _participant(self, person: str) -> Peer:
        participant = self._people.get(person)
        if participant is None:
            participant = Peer(
                person,
                self._events,
                self,
                clock=self._clock,
                ice_servers=self._ice_servers,
                host_addresses=self._host_addresses,
            )
            self._people[person] = participant
        return participant

    def _media_changed(self, source: Source, up: bool) -> None:
        """A source's media went up (on the packet path: a frame's first packet) or down
        (on the owner: forwarding revoked, the publisher gone, idle). The room's state
        and events change on the owner only: a media_up is applied by the owner, behind
        the "transport up" that the same handshake queued before the packet could be
        read, and only if the source is still up and current by then; a media_down is
        applied at once (before the transport-down it precedes), and only for media whose
        media_up was said, so a down that overtakes its queued up says nothing at all."""
        if not up:
            if source in self._announced:
                self._announced.discard(source)
                self._events.media_down(source.person, source.kind)
            return

        async def announce() -> None:
            if (source.up and source not in self._announced
                    and self._sources.get((source.person, source.kind)) is source):
                self._announced.add(source)
                self._events.media_up(source.person, source.kind)

        self._owner.run(announce)

    def _streams(self) -> list[StreamInfo]:
        return [
            StreamInfo(person, kind)
            for person in self._people
            for kind in KINDS
            if (s := self._sources.get((person, kind))) is not None and s.forwarding
        ]

    def _sync(self, offering: str | None = None) -> None:
        """Bring every connected person's slots in line with the streams."""
        if self._closed:
            return  # tearing down: nobody needs new maps
        streams = self._streams()
        for person, participant in list(self._people.items()):
            if participant.pc is None:
                continue
            wanted = [s for s in streams if s.person != person]
            for slot in participant.slots.values():
                if slot.stream is not None and slot.stream not in wanted:
                    slot.track.attach(None)
            have = {s.stream for s in participant.slots.values() if s.stream is not None}
            unplaced: list[StreamInfo] = []
            for stream in wanted:
                if stream in have:
                    continue
                free = participant.free_slot(stream.kind)
                if free is None:
                    unplaced.append(stream)
                else:
                    free.track.attach(self._sources[(stream.person, stream.kind)])
            mapping = participant.mapping()
            if person != offering and participant.told is not None and mapping != participant.told:
                participant.told = mapping
                self._events.tracks_changed(person, dict(mapping))
            self._set_slots_level(participant, self._link(person).level)
            if not unplaced:
                participant.asked = None
            elif participant.asked != tuple(wanted):
                participant.asked = tuple(wanted)
                self._events.renegotiate(person, list(wanted))

    def _start_watchdog(self) -> None:
        if self._watchdog is None:
            self._watchdog = asyncio.ensure_future(self._watch())
        if self._sampler is None:
            self._sampler = asyncio.ensure_future(self._sample_every_second())

    async def _sample_every_second(self) -> None:
        """A timer on whole seconds of the clock. It calls :meth:`sample_second` itself
        instead of submitting it to the owner: sampling only reads and resets counters
        (no room state changes), and waiting behind a long offer would smear one
        second's counts into the next."""
        while True:
            now = self._clock.time()
            await self._clock.sleep(math.floor(now) + 1 + SAMPLE_AFTER - now)
            self.sample_second(math.floor(self._clock.time()) - 1)

    def sample_second(self, second: int) -> None:
        """Tell the events what each connected person's media did since the last
        sample, as the evidence of epoch second ``second`` (issue 9)."""
        for person, participant in self._people.items():
            if participant.pc is None:
                continue
            audio = self._sources.get((person, "audio"))
            video = self._sources.get((person, "video"))
            ap, ab, _, _, level = audio.take_second() if audio else (0, 0, 0, 0, None)
            vp, vb, vf, vk, _ = video.take_second() if video else (0, 0, 0, 0, None)
            fp = fb = 0
            confirmed = False
            loss = jitter = 0.0
            for slot in participant.slots.values():
                p, b, c, lost, jit = slot.track.take_second()
                fp += p
                fb += b
                confirmed = confirmed or c
                loss = max(loss, lost)
                jitter = max(jitter, jit)
            self._events.sample(
                person,
                second,
                MediaSample(ap, ab, level, vp, vb, vf, vk, fp, fb, confirmed, loss, jitter),
            )

    async def _watch(self) -> None:
        """A timer: it only submits :meth:`_check` to the owner."""
        while True:
            await self._clock.sleep(WATCH_INTERVAL)
            self._owner.run(self._check)

    async def _check(self) -> None:
        """media_down for a published track that stopped delivering frames; sender
        report figures for the slots (their packets bypass aiortc's sender)."""
        if self._closed:
            return
        now = self._clock.monotonic()
        for source in list(self._sources.values()):
            source.check_idle(now, self._media_idle)
        for participant in list(self._people.values()):
            for slot in list(participant.slots.values()):
                slot.track.report()  # what this slot's RTCP sender reports say
        self._adapt(now)

    # ------------------------------------------------ per-subscriber quality

    def _link(self, person: str) -> LinkQuality:
        quality = self._quality.get(person)
        if quality is None:
            quality = self._quality[person] = LinkQuality(now=self._clock.monotonic())
        return quality

    def _adapt(self, now: float) -> None:
        """Each subscriber's reports since the last tick into their state machine."""
        for person, participant in list(self._people.items()):
            if participant.pc is None:
                continue
            loss: float | None = None
            jitter: float | None = None
            remb: float | None = None
            for slot in participant.slots.values():
                r = slot.track.take_report()
                if r.loss is not None:
                    loss = max(loss or 0.0, r.loss)
                if r.jitter_ms is not None:
                    jitter = max(jitter or 0.0, r.jitter_ms)
                if r.remb_bps is not None:  # one estimate per transport: the lowest
                    remb = r.remb_bps if remb is None else min(remb, r.remb_bps)
            if not ADAPT:
                continue
            quality = self._link(person)
            before = quality.level
            if quality.observe(now, Report(loss, jitter, remb)) != before:
                self._apply_level(person)

    def _apply_level(self, person: str) -> None:
        quality = self._link(person)
        participant = self._people.get(person)
        if participant is not None:
            self._set_slots_level(participant, quality.level)
        log.info(
            "%s: video %s (%s; loss %.2f, jitter %.0f ms, REMB %s)",
            person,
            quality.level.wire,
            quality.reason or "recovered",
            quality.last_loss,
            quality.last_jitter_ms,
            quality.remb_bps,
        )
        self._events.quality(person, quality.level.wire, quality.reason)

    @staticmethod
    def _set_slots_level(participant: Peer, level: Level) -> None:
        for slot in participant.slots.values():
            slot.track.set_level(level)


class SerialOwner:
    """An :class:`~rtc.contract.Owner` of its own, for a MediaRoom used without the
    signaling room: one task runs the submitted work in order."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[Work] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def run(self, work: Work, /) -> None:
        self._queue.put_nowait(work)
        if self._task is None:
            self._task = asyncio.ensure_future(self._drain())

    async def _drain(self) -> None:
        while True:
            work = await self._queue.get()
            try:
                await work()
            except Exception:
                log.exception("media work %r failed", work)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


class _SafeEvents:
    """Calls the signaling room's callbacks; a callback that raises is logged, never
    allowed to break the forward path."""

    def __init__(self, events: MediaEvents) -> None:
        self._events = events

    def _call(self, name: str, *args: object) -> None:
        try:
            getattr(self._events, name)(*args)
        except Exception:
            log.exception("MediaEvents.%s%r raised", name, args)

    def media_up(self, person: str, kind: str) -> None:
        self._call("media_up", person, kind)

    def media_down(self, person: str, kind: str) -> None:
        self._call("media_down", person, kind)

    def transport(self, person: str, up: bool) -> None:
        self._call("transport", person, up)

    def traffic(self, person: str) -> None:
        self._call("traffic", person)

    def renegotiate(self, person: str, streams: list[StreamInfo]) -> None:
        self._call("renegotiate", person, streams)

    def tracks_changed(self, person: str, tracks: dict[str, StreamInfo]) -> None:
        self._call("tracks_changed", person, tracks)

    def sample(self, person: str, second: int, sample: MediaSample) -> None:
        self._call("sample", person, second, sample)

    def quality(self, person: str, level: str, reason: str) -> None:
        self._call("quality", person, level, reason)
