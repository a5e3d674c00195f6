"""One browser's peer connection with the server.

The browser is always the offerer. Its offer holds two sorts of m-lines:

* **publish** lines (``sendrecv``/``sendonly``): the browser's microphone or camera.
  The server answers ``recvonly``; the receiver is handed to the room, which taps it
  into a :class:`~rtc.fanout.Source` (no decoder). One per kind; extra ones are
  answered ``inactive``.
* **slots** (``recvonly``): one receiving transceiver per stream the browser should
  get. The server answers ``sendonly`` and gives the sender a
  :class:`~rtc.fanout.ForwardTrack` (for life) and a
  :class:`~rtc.forward.ForwardPacker`; the room attaches the track to a source.

Codecs are restricted to Opus for audio, and VP8 and H.264 (Constrained Baseline,
packetization-mode 1) for video, so that subscribers take publishers' frames unchanged.
Audio comes first on weak networks: the answer's Opus fmtp
asks for in-band FEC (and DTX when the browser offers it), and RED (RFC 2198) is
accepted where offered, forwarded as is to subscribers that negotiated it and stripped
to its primary Opus block for the others (:func:`rtc.forward.restrict_codecs`,
:mod:`rtc.red`).

Video codecs (:func:`rtc.forward.restrict_video`, :mod:`rtc.h264`): each *publisher*
chooses. A camera line is answered with one codec: H.264 when the browser's offer lists
Constrained Baseline H.264 first (the client's ``&codec=h264`` link option does that
with ``setCodecPreferences``; phones that encode H.264 in hardware), else VP8 (every
browser's default order puts VP8 first, so nothing changes for them), else H.264 (a
browser without VP8 now publishes instead of being answered ``inactive``). A *slot* is
answered with both where the browser offers both (VP8 first), fixed at its first answer
for its life; what it carries is picked per attached source by payload type
(:meth:`rtc.forward.RtpOut.select`), so a slot can move from a VP8 publisher to an
H.264 one without renegotiation. A slot that negotiated only VP8 (a browser without
H.264) gets nothing from an H.264 publisher: it stays attached and receives no
packets, so that person sees that publisher's placeholder, not a picture (logged;
every current desktop and mobile browser offers both, Chromium builds without
proprietary codecs excepted). Lines offering neither are answered ``inactive``.

aiortc has no ICE restart: a reconnecting browser makes a new peer connection, and an
offer whose ICE username fragment differs from the current one replaces the
connection here as well (the same as :meth:`Peer.close` then a first offer).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import time
import weakref
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from aiortc import RTCIceServer, RTCPeerConnection, RTCRtpReceiver, RTCSessionDescription
from aiortc.rtcrtptransceiver import RTCRtpTransceiver
from aiortc.sdp import SessionDescription, candidate_from_sdp

from . import bitrate, fanout, forward, memory
from .clock import Clock
from .contract import KINDS, MediaEvents, OfferError, SlotSnapshot, StreamInfo
from .ice import no_consent_after_close, restrict_host_addresses, rtc_configuration
from .reencode import REENCODE

log = logging.getLogger(__name__)

TRAFFIC_INTERVAL = 1.0  # at most one traffic() per person per second

# Every server-side peer connection still in memory, closed or not (``/metrics`` reads
# it: open ones are the load, closed ones still alive are what teardown left behind).
PEER_CONNECTIONS: weakref.WeakSet[RTCPeerConnection] = weakref.WeakSet()

# A closed aiortc peer connection is a set of reference cycles (the connection, its
# transceivers and transports and their event-emitter callbacks; our RTP hook on each
# receiver too), so plain reference counting never frees it: only a full (generation 2)
# collection does. CPython runs one only when the objects promoted into the oldest
# generation since the last one exceed 25 % of it, which on a server of a few hundred MB
# is rare, so closed connections pile up meanwhile (with ~1,000 ``RateBucket`` objects
# per incoming video stream, aiortc's bitrate estimator), and the memory they held is
# fragmented by the time they go: RSS grew ~225 KB per session and was never given back
# (bench/soak.py). So a full collection runs a little after teardowns, at most once per
# FULL_GC_EVERY_S: it stops the event loop for a few tens of ms at this heap size
# (measured by bench/soak.py through ``opentutor_gc_teardown_seconds_max``; the
# README's "Soak" section quotes it), once per 10 s at most, and only after a teardown.
FULL_GC_AFTER_S = 2.0  # aiortc's close finishes its tasks first
FULL_GC_EVERY_S = 10.0
# The soak's baseline only (``bench/soak.py --no-teardown-gc``): "0" turns it off.
TEARDOWN_GC = os.environ.get("OPENTUTOR_TEARDOWN_GC", "1") != "0"
# What that collection frees goes back to glibc's heap, not to the system: glibc gives
# memory back only from the top of its heap, so what is freed below blocks still in use
# stays resident. In the soak (bench/soak.py --debug-objects), glibc's bytes in use and
# Python's traced bytes were flat after warm-up while the heap's free bytes and resident
# size grew ~1 MiB a minute (~0.5 MiB per session): that was the whole RSS growth. So
# malloc_trim(0), which hands every whole free page inside every arena back (madvise),
# runs right after the collection, as rarely: at most 2 ms on a quiet machine, 121 ms
# of wall time at load 14, a fraction of the collection's own pause
# (``opentutor_malloc_trim_seconds_max``), and the heap then stayed flat (README,
# "Soak"). glibc only (rtc/memory.py); "0" turns it off (the soak's baseline,
# ``--no-teardown-trim``).
TEARDOWN_TRIM = os.environ.get("OPENTUTOR_TEARDOWN_TRIM", "1") != "0"


class TeardownCollector:
    """Runs ``gc.collect()`` after peer connections were torn down, at a bounded rate,
    then ``malloc_trim(0)``."""

    def __init__(self, every_s: float = FULL_GC_EVERY_S, after_s: float = FULL_GC_AFTER_S) -> None:
        self.every_s, self.after_s = every_s, after_s
        self.enabled = TEARDOWN_GC
        self.trim = TEARDOWN_TRIM
        self.runs = 0
        self.freed = 0  # unreachable objects found, over all runs
        self.last_s = 0.0  # how long the last collection stopped the loop
        self.max_s = 0.0
        self.trims = 0  # malloc_trim calls made (glibc only)
        self.trim_last_s = 0.0  # how long the last malloc_trim stopped the loop
        self.trim_max_s = 0.0
        self._pending: asyncio.AbstractEventLoop | None = None
        self._last_at = -float("inf")

    def teardown(self) -> None:
        """A peer connection was closed: collect soon (one run for many teardowns)."""
        loop = asyncio.get_running_loop()
        if self._pending is loop or not self.enabled:
            return
        self._pending = loop  # (a loop closed before its run came, in tests: schedule anew)
        delay = max(self.after_s, self._last_at + self.every_s - loop.time())
        loop.call_later(delay, self._collect)

    def _collect(self) -> None:
        self._pending = None
        started = time.perf_counter()
        self.freed += gc.collect()
        self.last_s = time.perf_counter() - started
        self.max_s = max(self.max_s, self.last_s)
        self.runs += 1
        if self.trim:
            started = time.perf_counter()
            self.trims += memory.trim() is not None
            self.trim_last_s = time.perf_counter() - started
            self.trim_max_s = max(self.trim_max_s, self.trim_last_s)
        self._last_at = asyncio.get_running_loop().time()


COLLECTOR = TeardownCollector()


class RoomHooks(Protocol):
    """What a participant tells its room (all synchronous)."""

    def publishing(self, person: str, kind: str, receiver: RTCRtpReceiver) -> None: ...

    def unpublished(self, person: str, kind: str) -> None: ...

    def disconnected(self, person: str) -> None: ...

    def failed(self, person: str, pc: RTCPeerConnection) -> None: ...

    def connected(self, person: str, pc: RTCPeerConnection) -> None: ...


@dataclass
class Slot:
    """A receiving transceiver of the browser (sending, from the server's side)."""

    mid: str
    kind: str
    transceiver: RTCRtpTransceiver
    track: fanout.ForwardTrack
    usable: bool

    @property
    def stream(self) -> StreamInfo | None:
        source = self.track.source
        return None if source is None else StreamInfo(source.person, source.kind)

    def snapshot(self) -> SlotSnapshot:
        return SlotSnapshot(
            mid=self.mid,
            kind=self.kind,
            stream=self.stream,
            frames_sent=self.track.frames_sent,
            frames_dropped=self.track.frames_dropped,
            queued=self.track.queued,
        )


def _mid_order(mid: str) -> tuple[int, str]:
    return (int(mid), mid) if mid.isdigit() else (1 << 30, mid)


class Peer:
    def __init__(
        self,
        person: str,
        events: MediaEvents,
        hooks: RoomHooks,
        *,
        clock: Clock,
        ice_servers: Sequence[RTCIceServer] | None,
        host_addresses: Sequence[str] | None,
    ) -> None:
        self.person = person
        self.allowed: frozenset[str] = frozenset()
        self.pc: RTCPeerConnection | None = None
        self.slots: dict[str, Slot] = {}
        self.publish: dict[str, str] = {}  # kind → mid of the browser's sending line
        self.transport_up = False
        self.told: dict[str, StreamInfo] | None = None  # mapping last given to the browser
        self.asked: tuple[StreamInfo, ...] | None = None  # last renegotiate() streams
        self.rtp_in = 0
        self.rtcp_in = 0
        self.stun_in = 0
        self._events = events
        self._hooks = hooks
        self._clock = clock
        self._ice_servers = list(ice_servers or [])
        self._host_addresses = list(host_addresses) if host_addresses is not None else None
        self._ufrag: str | None = None
        self._next_traffic = 0.0
        self._ice_queue: asyncio.Queue[object] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------ negotiation

    async def negotiate(self, sdp: str) -> str:
        """Apply the browser's offer; return the answer SDP."""
        try:
            offer = SessionDescription.parse(sdp)
        except Exception as exc:
            raise OfferError(f"unreadable SDP: {exc}") from exc
        lines = [m for m in offer.media if m.kind in KINDS]
        if not lines:
            raise OfferError("the offer has no audio or video")
        ufrag = lines[0].ice.usernameFragment if lines[0].ice else None
        if self.pc is not None and (
            ufrag != self._ufrag or self.pc.connectionState in ("failed", "closed")
        ):
            await self.close()  # a new browser peer connection: no ICE restart in aiortc
        created = self.pc is None
        pc = self.pc if self.pc is not None else self._create_pc()
        self._ufrag = ufrag
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        except Exception as exc:
            if created:
                await self.close()
            raise OfferError(f"the offer was refused: {exc}") from exc
        self._apply(pc, offer)
        restrict_host_addresses(pc, self._host_addresses)
        forward.observe_traffic(pc, self._on_rtp, self._on_rtcp, self._on_stun)
        forward.receive_eagerly(pc)
        no_consent_after_close(pc)
        try:
            answer = await pc.createAnswer()
            await pc.setLocalDescription(answer)
        except Exception as exc:
            if created:
                await self.close()
            raise OfferError(f"no answer to this offer: {exc}") from exc
        forward.raise_receive_buffers(pc)  # the sockets exist once gathering is done
        return str(pc.localDescription.sdp)

    def _apply(self, pc: RTCPeerConnection, offer: SessionDescription) -> None:
        """Decide each m-line's direction and codec; tap publish receivers before
        aiortc's ``__connect`` can call ``receive()`` on them (it runs only once we
        yield, and only for lines whose answer has been set)."""
        by_mid = {t.mid: t for t in pc.getTransceivers() if t.mid is not None}
        publishing: dict[str, str] = {}
        for media in offer.media:
            t = by_mid.get(media.rtp.muxId) if media.kind in KINDS else None
            if t is None:
                continue
            direction = media.direction or "sendrecv"
            mid = str(t.mid)
            publish = direction in ("sendrecv", "sendonly") and mid not in self.slots
            if t.kind == "video":  # VP8 and/or H.264 (see the module's docstring)
                codec = forward.restrict_video(t, media.rtp.codecs, publish=publish)
            else:
                codec = forward.restrict_codecs(
                    t, forward.FORWARD_MIME[t.kind], media.rtp.codecs, publish=publish
                )
            if publish:
                if codec is None or t.kind in publishing:
                    t.direction = "inactive"
                    self._null_tap(t)
                    continue
                publishing[t.kind] = mid
                t.direction = "recvonly"
                self._hooks.publishing(self.person, t.kind, t.receiver)
            elif direction == "recvonly" or mid in self.slots:
                slot = self.slots.get(mid)
                if slot is None:
                    slot = self._new_slot(t, mid, codec is not None)
                # A slot the browser no longer only receives on carries nothing more.
                slot.usable = slot.usable and direction == "recvonly"
                if not slot.usable:
                    slot.track.attach(None)
                t.direction = "sendonly" if slot.usable else "inactive"
            else:
                t.direction = "inactive"
                self._null_tap(t)
        for kind in set(self.publish) - set(publishing):
            self._hooks.unpublished(self.person, kind)
        self.publish = publishing

    def _new_slot(self, t: RTCRtpTransceiver, mid: str, usable: bool) -> Slot:
        track = fanout.ForwardTrack(t.kind)
        slot = Slot(mid=mid, kind=t.kind, transceiver=t, track=track, usable=usable)
        self._null_tap(t)
        if usable:
            codec = forward.negotiated_codec(t)
            assert codec is not None
            t.sender.replaceTrack(track)
            if not REENCODE:  # the benchmark's baseline lets aiortc encode
                forward.install_packer(t.sender, codec)
            forward.hook_keyframe_requests(t.sender, track.request_keyframe)
            track.use_sender(t.sender, forward.negotiated_codecs(t))
        self.slots[mid] = slot
        return slot

    def _null_tap(self, t: RTCRtpTransceiver) -> None:
        """A receiver we never read still gets no decoder, whatever the browser sends."""
        if not getattr(t.receiver, "_opentutor_null_tap", False):
            forward.tap_receiver(t.receiver, lambda codec, frame: None, lambda: None, t.kind)
            t.receiver._opentutor_null_tap = True  # type: ignore[attr-defined]

    def free_slot(self, kind: str) -> Slot | None:
        free = [s for s in self.slots.values() if s.kind == kind and s.usable and s.stream is None]
        return min(free, key=lambda s: _mid_order(s.mid)) if free else None

    def mapping(self) -> dict[str, StreamInfo]:
        return {
            mid: stream
            for mid, slot in sorted(self.slots.items(), key=lambda i: _mid_order(i[0]))
            if (stream := slot.stream) is not None
        }

    # ------------------------------------------------------------------- ICE

    async def add_ice_candidate(
        self, candidate: str | None, sdp_mid: str | None, sdp_mline_index: int | None
    ) -> None:
        """Queue one trickled candidate (``None`` or ``""``: end of candidates). Adding
        happens in a task of its own: an mDNS candidate can take seconds to resolve and
        must not hold up the room."""
        text = (candidate or "").strip()
        parsed = None
        if text:
            for prefix in ("a=", "candidate:"):
                if text.startswith(prefix):
                    text = text[len(prefix):]
            try:
                parsed = candidate_from_sdp(text)
            except (AssertionError, ValueError, IndexError) as exc:
                raise OfferError(f"unreadable ICE candidate: {candidate!r}") from exc
            parsed.sdpMid = sdp_mid
            parsed.sdpMLineIndex = sdp_mline_index
            if sdp_mid is None and sdp_mline_index is None:
                parsed.sdpMLineIndex = 0
        if self.pc is None or self._ice_queue is None:
            log.debug("%s: ICE candidate without a peer connection, ignored", self.person)
            return
        self._ice_queue.put_nowait(parsed)

    async def _add_candidates(self, pc: RTCPeerConnection, queue: asyncio.Queue[object]) -> None:
        while True:
            item = await queue.get()
            try:
                await pc.addIceCandidate(item)  # type: ignore[arg-type]
            except Exception as exc:  # one bad candidate must not stop the others
                log.info("%s: ICE candidate not added: %s", self.person, exc)

    # ------------------------------------------------------------- lifecycle

    def _create_pc(self) -> RTCPeerConnection:
        bitrate.install()  # its receivers' REMB estimators without 1,000 objects each
        pc = RTCPeerConnection(rtc_configuration(self._ice_servers))
        PEER_CONNECTIONS.add(pc)
        self.pc = pc
        pc.on("connectionstatechange", lambda: self._state_changed(pc))
        queue: asyncio.Queue[object] = asyncio.Queue()
        self._ice_queue = queue
        self._spawn(self._add_candidates(pc, queue))
        return pc

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _state_changed(self, pc: RTCPeerConnection) -> None:
        """aiortc's callback: it only tells the room, whose owner applies the change."""
        if pc is not self.pc:
            return
        state = pc.connectionState
        if state == "connected":
            self._hooks.connected(self.person, pc)
        elif state in ("failed", "closed"):
            self._hooks.failed(self.person, pc)

    def transport_connected(self) -> None:
        """On the owner: the current peer connection is up."""
        if not self.transport_up:
            self.transport_up = True
            self._events.transport(self.person, True)
            self._evidence()  # the DTLS handshake that just finished is evidence too

    async def close(self) -> None:
        """Drop the peer connection (the person stays; a new offer builds a new one)."""
        pc = self.pc
        if pc is None:
            return
        self.pc = None
        self._ufrag = None
        self._hooks.disconnected(self.person)  # media_down before transport down
        if self.transport_up:
            self.transport_up = False
            self._events.transport(self.person, False)
        for task in list(self._tasks):
            if task is not asyncio.current_task():
                task.cancel()
        self._ice_queue = None
        for slot in self.slots.values():
            slot.track.stop()
        self.slots.clear()
        self.publish.clear()
        self.told = None
        self.asked = None
        # Shielded: a second close() in aiortc awaits the first one's bare future, and
        # cancelling that await (a room closing meanwhile) would cancel the future under
        # the first close, which then fails with InvalidStateError.
        await asyncio.shield(pc.close())
        COLLECTOR.teardown()

    # ------------------------------------------------------- traffic evidence

    def _evidence(self) -> None:
        # The limit holds per person, across reconnects: the clock is not reset.
        now = self._clock.monotonic()
        if now >= self._next_traffic and self.transport_up:
            self._next_traffic = now + TRAFFIC_INTERVAL
            self._events.traffic(self.person)

    def _on_rtp(self) -> None:
        self.rtp_in += 1
        self._evidence()

    def _on_rtcp(self) -> None:
        self.rtcp_in += 1
        self._evidence()

    def _on_stun(self) -> None:
        self.stun_in += 1
        self._evidence()

    @property
    def connection(self) -> str:
        return "none" if self.pc is None else str(self.pc.connectionState)
