"""The encoded forward path, and every aiortc internal it (or ``rtc/``) relies on.

Why this module exists
======================
aiortc is an endpoint, not an SFU. Its stock path for relaying a browser's track to
other browsers is ``MediaRelay``: the publisher's ``RTCRtpReceiver`` decodes every
frame, and every subscriber's ``RTCRtpSender`` encodes it again. A VP8 encode of a
640×480 frame costs 7–8 ms here, so a lecture tops out at a handful of phones. We
forward the publisher's *encoded* frames instead: no decoder, no encoder, one
depayload per incoming frame and one re-packetisation per subscriber. aiortc has no
public API for this; its maintainers said so (aiortc issues #449 and #627). The
pieces exist, though, and this module is the one place that reaches for them.

The path
========
publisher's RTP → DTLS/SRTP → ``RTCRtpReceiver._handle_rtp_packet`` (NACK, jitter
buffer, VP8/H264 depayload) → *decoder queue* → :class:`Source` (one per published
track; makes one ``av.Packet`` per frame) → N × :class:`ForwardTrack` (one per
subscriber slot; a small bounded queue) → subscriber's ``RTCRtpSender`` which, seeing
an ``av.Packet`` rather than a ``Frame``, calls its encoder's ``pack()`` (our
:class:`ForwardPacker`, which only packetises) → SRTP → subscriber.

A slow subscriber only fills its own queue: video drops everything and waits for the
next keyframe (requesting one), audio drops the oldest frame. ``Source.push`` never
awaits, so neither the publisher nor the other subscribers can be stalled.

aiortc internals touched (aiortc pinned to 1.16.0 in pyproject.toml)
=====================================================================
1. ``RTCRtpReceiver._RTCRtpReceiver__decoder_queue`` (a ``queue.Queue``): replaced by
   :class:`_DecoderQueueTap` *before* ``receive()`` starts the decoder thread. The
   thread's first ``get()`` returns ``None``, so it ends without creating a decoder;
   ``_handle_rtp_packet`` keeps calling ``put((codec, JitterFrame))`` on the event loop
   thread, which lands in :meth:`Source._on_frame`. ``__stop_decoder`` puts ``None``
   (track ended: BYE, transport closed, receiver stopped) → :meth:`Source._on_end`.
   Also read: ``_RTCRtpReceiver__decoder_thread`` (to detect a late hook).
2. ``RTCRtpReceiver._RTCRtpReceiver__jitter_buffer._prefetch``: set to 0 for audio.
   aiortc holds 4 Opus frames (80 ms) before releasing one for its decoder; the
   browser has its own jitter buffer, so we release each frame as soon as it is whole.
3. ``RTCRtpReceiver._send_rtcp_pli(media_ssrc)`` to ask the publisher for a keyframe,
   and ``_RTCRtpReceiver__rtx_ssrc`` (RTX SSRC → media SSRC) to pick the media SSRC
   out of the public ``getSynchronizationSources()``.
4. ``RTCRtpSender._RTCRtpSender__encoder``: preset to a :class:`ForwardPacker`, so the
   sender never calls ``get_encoder()`` (an ``OpusEncoder()`` would allocate a libopus
   encoder even if only ``pack()`` were used). Its ``encode()`` raises.
5. ``RTCRtpSender._send_keyframe``: shadowed per instance. ``_handle_rtcp_packet`` calls
   it for an incoming PLI or FIR; on the pack path it would only set a flag nobody reads.
6. ``RTCRtpTransceiver._codecs``: the negotiated codecs, filtered after
   ``setRemoteDescription()`` to VP8 (+ its RTX) for video and Opus for audio, so that
   every subscriber can take every publisher's frames unchanged.
7. ``RTCDtlsTransport._rtp_router.route_rtp`` / ``route_rtcp``: wrapped per transport to
   count authenticated (SRTP-unprotected, parsed) RTP and RTCP: the "traffic" evidence.
8. ``RTCIceGatherer._connection`` (the aioice ``Connection``); its ``check_incoming``
   (called for every STUN binding request that passed MESSAGE-INTEGRITY) is wrapped
   per connection for the same evidence; :mod:`rtc.ice` wraps its
   ``get_component_candidates`` (a public aioice method) to restrict host addresses.

After an aiortc upgrade: read ``rtcrtpreceiver.py`` (``receive``, ``_handle_rtp_packet``,
``decoder_worker``, ``__stop_decoder``), ``rtcrtpsender.py`` (``_next_encoded_frame``,
``_run_rtp``, ``_handle_rtcp_packet``), ``rtcdtlstransport.py`` (``_handle_rtp_data``,
``_handle_rtcp_data``), ``rtcpeerconnection.py`` (``setRemoteDescription``: codecs,
``__connect``) and aioice ``ice.py`` (``gather_candidates``, ``request_received``); then
run ``tests/rtc`` — ``test_forward_hooks.py`` checks each internal above by name, and
``test_media.py`` proves no encoder or decoder runs. :func:`check_aiortc` fails fast.

Known limits: frames leave the jitter buffer one frame late (it needs the next frame's
first packet); the audio-level header extension is not forwarded; no simulcast or
per-subscriber bandwidth adaptation (REMB from subscribers is ignored); H264 is packed
correctly by :class:`ForwardPacker` but not negotiated (see ``rtc/participant.py``).
"""

from __future__ import annotations

import asyncio
import fractions
import logging
import random
from collections import deque
from collections.abc import Callable
from typing import Any

import aiortc
import av
from aioice import Connection
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCRtpReceiver, RTCRtpSender
from aiortc.codecs.base import Encoder
from aiortc.codecs.h264 import H264Encoder
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcdtlstransport import RTCDtlsTransport, RtpRouter
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtcrtptransceiver import RTCRtpTransceiver

from .clock import Clock
from .keyframes import KeyframeRelay
from .model import FrameTap

log = logging.getLogger(__name__)

AIORTC_VERSION = "1.16.0"
CLOCK_RATES = {"audio": 48000, "video": 90000}
TIME_BASES = {k: fractions.Fraction(1, r) for k, r in CLOCK_RATES.items()}
FRAME_STEP = {"audio": 960, "video": 3000}  # one frame, in clock-rate units
QUEUE_FRAMES = {"audio": 16, "video": 10}  # per subscriber slot
FORWARD_MIME = {"audio": "audio/opus", "video": "video/VP8"}

_HOOKED = "_opentutor_hooked"


def check_aiortc() -> None:
    """Fail fast if the aiortc internals this module uses are not where we expect."""
    missing = [
        name
        for owner, name in (
            (RTCRtpReceiver, "_send_rtcp_pli"),
            (RTCRtpReceiver, "_handle_rtp_packet"),
            (RTCRtpReceiver, "_RTCRtpReceiver__stop_decoder"),
            (RTCRtpSender, "_send_keyframe"),
            (RTCRtpSender, "_next_encoded_frame"),
            (RtpRouter, "route_rtp"),
            (RtpRouter, "route_rtcp"),
            (Connection, "check_incoming"),
            (Connection, "get_component_candidates"),
            (Vp8Encoder, "_packetize"),
            (H264Encoder, "_split_bitstream"),
        )
        if not hasattr(owner, name)
    ]
    if missing:
        raise RuntimeError(f"aiortc {aiortc.__version__} lacks {missing}: see rtc/forward.py")
    if aiortc.__version__ != AIORTC_VERSION:
        log.warning("rtc/forward.py was checked against aiortc %s, not %s",
                    AIORTC_VERSION, aiortc.__version__)


# --------------------------------------------------------------------------- codecs


def is_keyframe(codec_name: str, data: bytes) -> bool:
    """Whether a depayloaded frame starts a picture that decodes on its own."""
    name = codec_name.lower()
    if name == "vp8":
        # RFC 6386 9.1: P bit clear, then the start code 9d 01 2a.
        return len(data) >= 10 and not data[0] & 0x01 and data[3:6] == b"\x9d\x01\x2a"
    if name == "h264":
        # Annex B (aiortc's depayloader adds start codes): any IDR slice or SPS.
        chunks = data.split(b"\x00\x00\x01")[1:]
        return any(chunk and chunk[0] & 0x1F in (5, 7) for chunk in chunks)
    return True  # audio frames stand alone


def restrict_codecs(transceiver: RTCRtpTransceiver, mime: str) -> RTCRtpCodecParameters | None:
    """Keep only ``mime`` (and its RTX) among the negotiated codecs of ``transceiver``.
    Returns the kept codec, or ``None`` (codecs left untouched) when it was not offered."""
    codecs: list[RTCRtpCodecParameters] = transceiver._codecs
    main = next((c for c in codecs if c.mimeType.lower() == mime.lower()), None)
    if main is None:
        return None
    kept = [main] + [
        c for c in codecs
        if c.mimeType.lower().endswith("/rtx") and c.parameters.get("apt") == main.payloadType
    ]
    transceiver._codecs = kept
    return main


def negotiated_codec(transceiver: RTCRtpTransceiver) -> RTCRtpCodecParameters | None:
    codecs: list[RTCRtpCodecParameters] = transceiver._codecs
    return codecs[0] if codecs else None


class ForwardPacker(Encoder):
    """What a subscriber's RTCRtpSender uses instead of an encoder: ``pack()`` turns an
    already-encoded frame into RTP payloads exactly as aiortc's encoders do."""

    def __init__(self, codec_name: str) -> None:
        self.codec_name = codec_name.lower()
        self.picture_id = random.randint(0, (1 << 15) - 1)
        self.packed = 0

    def encode(self, frame: Any, force_keyframe: bool = False) -> tuple[list[bytes], int]:
        raise RuntimeError("the forward path never encodes (rtc/forward.py)")

    def pack(self, packet: av.Packet[Any]) -> tuple[list[bytes], int]:
        data = bytes(packet)
        if not data:
            return [], 0
        self.packed += 1
        if self.codec_name == "vp8":
            payloads = Vp8Encoder._packetize(data, self.picture_id)
            self.picture_id = (self.picture_id + 1) % (1 << 15)
        elif self.codec_name == "h264":
            payloads = H264Encoder._packetize(H264Encoder._split_bitstream(data))
        else:
            payloads = [data]
        return payloads, int(packet.pts or 0)


def install_packer(sender: RTCRtpSender, codec: RTCRtpCodecParameters) -> ForwardPacker:
    """Give ``sender`` a :class:`ForwardPacker` before it sends its first frame."""
    current = getattr(sender, "_RTCRtpSender__encoder", "missing")
    if current == "missing":
        raise RuntimeError("RTCRtpSender has no __encoder: see rtc/forward.py")
    if isinstance(current, ForwardPacker):
        return current
    if current is not None:
        raise RuntimeError("this sender already made an encoder")
    packer = ForwardPacker(codec.name)
    sender._RTCRtpSender__encoder = packer  # type: ignore[attr-defined]
    return packer


def packer_of(sender: RTCRtpSender) -> Any:
    """The sender's encoder object (a :class:`ForwardPacker` on the server)."""
    return getattr(sender, "_RTCRtpSender__encoder", None)


def hook_keyframe_requests(sender: RTCRtpSender, callback: Callable[[], None]) -> None:
    """Call ``callback`` when the subscriber sends PLI or FIR for this sender's stream."""
    sender._send_keyframe = callback  # type: ignore[method-assign]


# ------------------------------------------------------------------------ receivers


class _DecoderQueueTap:
    """Stands in for the ``queue.Queue`` between an RTCRtpReceiver and its decoder
    thread. ``put`` runs on the event loop thread; ``get`` on the (short-lived) thread."""

    def __init__(
        self,
        on_frame: Callable[[RTCRtpCodecParameters, Any], None],
        on_end: Callable[[], None],
    ) -> None:
        self._on_frame = on_frame
        self._on_end = on_end

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        if item is None:
            self._on_end()
        else:
            codec, frame = item
            self._on_frame(codec, frame)

    def get(self, block: bool = True, timeout: float | None = None) -> None:
        return None  # the decoder thread ends at once, before it makes a decoder


def tap_receiver(
    receiver: RTCRtpReceiver,
    on_frame: Callable[[RTCRtpCodecParameters, Any], None],
    on_end: Callable[[], None],
    kind: str,
) -> None:
    """Route ``receiver``'s depayloaded frames to ``on_frame`` instead of a decoder.
    Must run before ``receive()``; a later call stops the decoder thread it started."""
    if not hasattr(receiver, "_RTCRtpReceiver__decoder_queue"):
        raise RuntimeError("RTCRtpReceiver has no __decoder_queue: see rtc/forward.py")
    old = receiver._RTCRtpReceiver__decoder_queue
    receiver._RTCRtpReceiver__decoder_queue = _DecoderQueueTap(on_frame, on_end)
    thread = receiver._RTCRtpReceiver__decoder_thread  # type: ignore[attr-defined]
    if thread is not None and not isinstance(old, _DecoderQueueTap):
        log.warning("receiver tapped after receive(): stopping its decoder thread")
        old.put(None)
    if kind == "audio":
        receiver._RTCRtpReceiver__jitter_buffer._prefetch = 0  # type: ignore[attr-defined]


def media_ssrc(receiver: RTCRtpReceiver) -> int | None:
    """The publisher's media SSRC (not its RTX SSRC) most recently seen."""
    rtx: dict[int, int] = getattr(receiver, "_RTCRtpReceiver__rtx_ssrc", {})
    sources = sorted(receiver.getSynchronizationSources(), key=lambda s: s.timestamp)
    for s in reversed(sources):
        if s.source not in rtx:
            return int(s.source)
    return None


async def send_pli(receiver: RTCRtpReceiver) -> bool:
    ssrc = media_ssrc(receiver)
    if ssrc is None:
        return False
    await receiver._send_rtcp_pli(ssrc)
    return True


# -------------------------------------------------------------------- transports


def dtls_transports(pc: RTCPeerConnection) -> list[RTCDtlsTransport]:
    seen: dict[int, RTCDtlsTransport] = {}
    for t in pc.getTransceivers():
        seen.setdefault(id(t.receiver.transport), t.receiver.transport)
    if pc.sctp is not None:
        seen.setdefault(id(pc.sctp.transport), pc.sctp.transport)
    return list(seen.values())


def ice_connections(pc: RTCPeerConnection) -> list[Connection]:
    """The aioice ``Connection`` behind each distinct ICE transport of ``pc``."""
    seen: dict[int, Connection] = {}
    for dtls in dtls_transports(pc):
        connection = dtls.transport.iceGatherer._connection
        seen.setdefault(id(connection), connection)
    return list(seen.values())


def observe_traffic(
    pc: RTCPeerConnection,
    on_rtp: Callable[[], None],
    on_rtcp: Callable[[], None],
    on_stun: Callable[[], None],
) -> None:
    """Call back on every authenticated RTP packet, RTCP packet and STUN check that
    reaches ``pc``. Idempotent; call again after renegotiation (new transports)."""
    for dtls in dtls_transports(pc):
        router = dtls._rtp_router
        if getattr(router, _HOOKED, False):
            continue
        route_rtp, route_rtcp = router.route_rtp, router.route_rtcp

        def rtp(packet: Any, _route: Callable[[Any], Any] = route_rtp) -> Any:
            on_rtp()
            return _route(packet)

        def rtcp(packet: Any, _route: Callable[[Any], Any] = route_rtcp) -> Any:
            on_rtcp()
            return _route(packet)

        router.route_rtp = rtp  # type: ignore[method-assign]
        router.route_rtcp = rtcp  # type: ignore[method-assign]
        setattr(router, _HOOKED, True)
    for connection in ice_connections(pc):
        if getattr(connection, _HOOKED, False):
            continue
        check = connection.check_incoming

        def stun(*args: Any, _check: Callable[..., None] = check) -> None:
            on_stun()
            _check(*args)

        connection.check_incoming = stun  # type: ignore[method-assign,assignment]
        setattr(connection, _HOOKED, True)


# ------------------------------------------------------------- sources and sinks


class Source:
    """One published track (a person's audio or video), living across reconnects:
    :meth:`bind` attaches it to the current peer connection's receiver.

    ``on_change(source, up)`` reports media up/down. Frames are forwarded only while
    ``forwarding`` (the publish grant) is on.
    """

    def __init__(
        self,
        person: str,
        kind: str,
        clock: Clock,
        on_change: Callable[[Source, bool], None],
    ) -> None:
        self.person = person
        self.kind = kind
        self._clock = clock
        self._on_change = on_change
        self.forwarding = False
        self.up = False
        self.frames_in = 0
        self.bytes_in = 0
        self.keyframes_in = 0
        self.pli_sent = 0
        self.last_frame: float | None = None
        self._sinks: tuple[ForwardTrack, ...] = ()
        self.taps: tuple[FrameTap, ...] = ()  # set by the room: recorders and the like
        self._receiver: RTCRtpReceiver | None = None
        self._epoch = 0
        self._base: int | None = None  # pts offset of the current binding
        self._last_pts: int | None = None
        self._time_base = TIME_BASES[kind]
        self._relay = KeyframeRelay(clock, self._send_pli)

    # -- wiring

    @property
    def bound(self) -> bool:
        return self._receiver is not None

    @property
    def subscribers(self) -> int:
        return len(self._sinks)

    @property
    def pli_requested(self) -> int:
        return self._relay.coalescer.requested

    def bind(self, receiver: RTCRtpReceiver) -> None:
        """Take frames from ``receiver`` (a new peer connection's) from now on."""
        if receiver is self._receiver:
            return
        self.unbind()
        self._epoch += 1
        epoch = self._epoch
        self._receiver = receiver
        self._base = None
        tap_receiver(
            receiver,
            lambda codec, frame: self._on_frame(epoch, codec, frame),
            lambda: self._on_end(epoch),
            self.kind,
        )
        for sink in self._sinks:
            sink.restart()

    def unbind(self) -> None:
        self._receiver = None
        self._epoch += 1
        self._set_up(False)

    def set_forwarding(self, on: bool) -> None:
        if on == self.forwarding:
            return
        self.forwarding = on
        if not on:
            self._set_up(False)  # frames stop here at once; the room detaches the slots

    def add_sink(self, sink: ForwardTrack) -> None:
        if sink not in self._sinks:
            self._sinks = (*self._sinks, sink)

    def remove_sink(self, sink: ForwardTrack) -> None:
        self._sinks = tuple(s for s in self._sinks if s is not sink)

    def request_keyframe(self) -> None:
        if self.kind == "video" and self._receiver is not None:
            self._relay.request()

    def check_idle(self, now: float, idle: float) -> None:
        if self.up and (self.last_frame is None or now - self.last_frame >= idle):
            self._set_up(False)

    def close(self) -> None:
        self.unbind()
        for sink in self._sinks:
            sink.detach()
        self._relay.close()

    # -- frames

    def _set_up(self, up: bool) -> None:
        if up != self.up:
            self.up = up
            self._on_change(self, up)

    def _on_end(self, epoch: int) -> None:
        if epoch == self._epoch:
            self._receiver = None
            self._set_up(False)

    def _on_frame(self, epoch: int, codec: RTCRtpCodecParameters, frame: Any) -> None:
        data: bytes = frame.data
        if epoch != self._epoch or not data:
            return
        now = self._clock.monotonic()
        self.frames_in += 1
        self.bytes_in += len(data)
        self.last_frame = now
        key = is_keyframe(codec.name, data)
        if key:
            self.keyframes_in += 1
            self._relay.keyframe_seen()
        if not self.forwarding:
            return
        self._set_up(True)
        pts = self._pts(frame.timestamp, now)
        sinks, taps = self._sinks, self.taps
        if not sinks and not taps:
            return
        packet = av.Packet(data)
        packet.pts = pts
        packet.time_base = self._time_base
        packet.is_keyframe = key
        for tap in taps:
            tap.frame(self.person, self.kind, codec.name, packet, key)
        waiting = False
        for sink in sinks:
            if sink.push(packet, key):
                waiting = True
        if waiting and not key:
            self._relay.request()

    def _pts(self, mapped: int, now: float) -> int:
        """Timestamps on one timeline per room, so that a subscriber slot that moves to a
        new binding (reconnect) or another publisher keeps going forward in time."""
        if self._base is None:
            base = int(now * CLOCK_RATES[self.kind]) - mapped
            if self._last_pts is not None:
                base = max(base, self._last_pts + FRAME_STEP[self.kind] - mapped)
            self._base = base
        pts = self._base + mapped
        self._last_pts = pts
        return pts

    async def _send_pli(self) -> bool:
        receiver = self._receiver
        if receiver is None:
            return False
        sent = await send_pli(receiver)
        if sent:
            self.pli_sent += 1
        return sent


class ForwardTrack(MediaStreamTrack):
    """The track of one subscriber slot (one server-side RTCRtpSender), for its whole
    life. It yields the source's ``av.Packet`` objects unchanged; :meth:`attach` moves it
    to another source without the sender noticing."""

    def __init__(self, kind: str, capacity: int | None = None) -> None:
        super().__init__()
        self.kind = kind
        self._capacity = capacity or QUEUE_FRAMES[kind]
        self._queue: deque[av.Packet[Any]] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._waiting_keyframe = kind == "video"
        self.source: Source | None = None
        self.frames_sent = 0
        self.frames_dropped = 0
        # Until the sender first asks for a frame (its transport is up), frames would
        # only go stale here: drop them quietly and ask for a keyframe then.
        self._started = False

    def attach(self, source: Source | None) -> None:
        if source is self.source:
            return
        self.detach()
        if source is not None:
            self.source = source
            self.restart()
            source.add_sink(self)
            if self._started:
                source.request_keyframe()

    def detach(self) -> None:
        if self.source is not None:
            self.source.remove_sink(self)
            self.source = None
        self.frames_dropped += len(self._queue)
        self._queue.clear()

    def restart(self) -> None:
        """Upstream changed: nothing decodes until the next keyframe."""
        self.frames_dropped += len(self._queue)
        self._queue.clear()
        self._waiting_keyframe = self.kind == "video"

    def request_keyframe(self) -> None:
        if self.source is not None:
            self.source.request_keyframe()

    @property
    def queued(self) -> int:
        return len(self._queue)

    def push(self, packet: av.Packet[Any], keyframe: bool) -> bool:
        """Queue one frame; never blocks. Returns whether this slot still waits for a
        keyframe (the source then asks the publisher for one)."""
        if not self._started:
            return False
        if self._waiting_keyframe:
            if not keyframe:
                self.frames_dropped += 1
                return True
            self._waiting_keyframe = False
        queue = self._queue
        if len(queue) >= self._capacity:
            if self.kind == "video":
                self.frames_dropped += len(queue)
                queue.clear()
                if not keyframe:
                    self.frames_dropped += 1
                    self._waiting_keyframe = True
                    return True
            else:
                queue.popleft()
                self.frames_dropped += 1
        queue.append(packet)
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)
        return False

    async def recv(self) -> av.Packet[Any]:
        if not self._started:
            self._started = True
            self.request_keyframe()
        while not self._queue:
            if self.readyState != "live":
                raise MediaStreamError
            waiter = asyncio.get_running_loop().create_future()
            self._waiter = waiter
            await waiter
        self.frames_sent += 1
        return self._queue.popleft()

    def stop(self) -> None:
        self.detach()
        waiter = self._waiter
        self._waiter = None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        super().stop()
