"""The encoded forward path, and every aiortc internal it (or ``rtc/``) relies on.

Why this module exists
======================
aiortc is an endpoint, not an SFU. Its stock path for relaying a browser's track to
other browsers is ``MediaRelay``: the publisher's ``RTCRtpReceiver`` decodes every
frame, and every subscriber's ``RTCRtpSender`` encodes it again. A VP8 encode of a
640×480 frame costs 7–8 ms here, so a lecture tops out at a handful of phones (3.4
subscribers per core, measured by ``python -m bench.fanout --modes reencode``). We
forward the publisher's *RTP packets* instead: no decoder, no encoder, no
depayloading or re-packetising, one header parse per incoming packet. aiortc has no
public API for this; its maintainers said so (aiortc issues #449 and #627). The
pieces exist, though, and this module is the one place that reaches for them.

The path
========
publisher's RTP → DTLS/SRTP → ``RtpPacket.parse`` → our hook on
``RTCRtpReceiver._handle_rtp_packet`` → :meth:`Source._on_rtp` (one per published
track: RTX unwrapped, VP8 frame start/keyframe read from the payload descriptor, the
packet kept in a 1024-entry cache for NACKs) → for each subscriber slot,
:meth:`ForwardTrack.forward`: SSRC, payload type, sequence number and timestamp
rewritten (one ``struct.pack`` of the 12-byte header + the slot's mid extension),
SRTP ``protect``, ``sendto`` on the slot's ICE socket, all synchronously, no task, no
queue, no copy but the one SRTP needs. Then aiortc's own receiver code runs on the
packet (receiver reports, NACKs and REMB to the publisher, jitter buffer) and whole
frames come out of the tapped decoder queue into :meth:`Source._on_frame`, for
media up/down and the frame taps (recorder) only: an ``av.Packet`` is made only when
a tap is attached.

Each slot continues its own sequence numbers and timestamps across restarts (a new
source, a publisher's reconnect, a drop) and starts at a keyframe, so a subscriber
never sees a gap it would NACK forever. The slot's ``RTCRtpSender`` keeps its SSRC,
its RTCP (receiver reports in, our :meth:`ForwardTrack.report` figures in its sender
reports) and PLI/FIR handling; its RTP loop only tells us the transport is up, via
the first ``recv()``. NACKs from the subscriber are answered as RTX from the cache
(SRTP's replay check refuses a repeat on the media SSRC).

A slow subscriber has no user-space queue to fill: the kernel's send buffer of its
socket is its bounded queue. When it is full, ``sendto`` raises, the packet is dropped
for that subscriber alone, and video waits for the next keyframe (requested,
coalesced). Nothing in the path awaits, so neither the publisher nor the other
subscribers can be stalled.

What was measured, and why each choice
======================================
``python -m bench.fanout`` (README "Performance"), 2-core AMD EPYC VM shared with
other test runs, server CPU (user+sys of its process) per RTP packet delivered:

* Frame path (before: depayload → ``av.Packet`` → per-subscriber ``RTCRtpSender``
  task → ``pack()`` → ``RtpPacket`` → ``serialize`` → SRTP → aioice ``sendto``):
  ~99 µs/packet at 50 subscribers, p50 latency 29 ms (aiortc's jitter buffer holds a
  frame until the next one's first packet arrives).
* Packet path (now): 32–37 µs/packet at 50–100 subscribers on a quiet machine,
  40–47 µs when other runs load it; p50 latency 4–9 ms. py-spy at 100 subscribers
  (main thread): ``socket.sendto`` 37 % (on loopback the kernel's send includes the
  receiver's whole UDP input path and the wakeup of a subscriber process), SRTP
  ``protect`` 18 % (libsrtp AES-CM + HMAC-SHA1 through cffi: 5.5 µs alone), aiortc's
  sender reports 11 %, the rest of ``forward`` ~5 %, ingress (aiortc receiver) 6 %,
  RTCP in 4 %. In isolation ``sendto`` is 6.3 µs and ``protect`` 5.5 µs; the rest is
  the machine (contention, cache misses, wakeups across vCPUs).
* ``socket.sendto`` on the raw socket, not asyncio's ``transport.sendto``: 0.5–1 µs
  less, and asyncio would queue without bound once the kernel buffer is full, where we
  want a drop (the slow-subscriber rule).
* uvloop: no measurable change (36–42 µs/packet either way at 100 subscribers, noise
  of a shared machine): egress never goes through the event loop. Not a dependency.
* ``SO_RCVBUF`` 1 MiB on every ICE socket (:func:`raise_receive_buffers`): asyncio
  reads one datagram per socket per loop turn and a keyframe's fan-out at 200
  subscribers is ~100 ms of work. No drops were measured at the server up to 100
  subscribers either way; beyond what the CPU can carry a larger buffer only turns
  drops into delay (and a publisher whose STUN consent checks wait > 0.5 s behind a
  backlog for 30 s is disconnected by its own ICE agent), so it stays at 1 MiB, not more.
* The 30 µs target is not reached on this machine: the syscall and SRTP alone are
  ~12 µs in isolation and ~25 µs under load. What would move it: one UDP socket for
  all subscribers (a port mux, as LiveKit and mediasoup do) so that ``sendmmsg``
  sends a packet to N subscribers in one syscall; the header rewrite + SRTP + send
  loop in C (libsrtp and ``sendmmsg`` through cffi); and one forwarding process per
  core.

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
9. ``RTCRtpReceiver._handle_rtp_packet``: shadowed per instance (:func:`hook_rtp`) to see
   each parsed packet first; ``_RTCRtpReceiver__codecs`` (pt → codec) tells RTX apart.
10. ``RTCRtpSender``: ``_ssrc``, ``_rtx_ssrc``, ``__mid``, ``__rtp_header_extensions_map``
    (the slot's SSRCs and mid extension, :meth:`RtpOut.from_sender`); ``__ntp_timestamp``,
    ``__rtp_timestamp``, ``__packet_count``, ``__octet_count`` (written for its sender
    reports); ``_handle_rtcp_packet`` shadowed per instance for NACKs (:func:`hook_nacks`).
11. ``RTCDtlsTransport._tx_srtp`` (the pylibsrtp session) and, through
    ``transport._connection._nominated[1]``, aioice's selected pair (its protocol's
    asyncio transport, whose ``TransportSocket._sock`` we ``sendto`` on, and the remote
    address); ``_protocols`` of the aioice ``Connection`` for ``SO_RCVBUF``.

After an aiortc upgrade: read ``rtcrtpreceiver.py`` (``receive``, ``_handle_rtp_packet``,
``decoder_worker``, ``__stop_decoder``), ``rtcrtpsender.py`` (``_next_encoded_frame``,
``_run_rtp``, ``_handle_rtcp_packet``), ``rtcdtlstransport.py`` (``_handle_rtp_data``,
``_handle_rtcp_data``), ``rtcpeerconnection.py`` (``setRemoteDescription``: codecs,
``__connect``) and aioice ``ice.py`` (``gather_candidates``, ``request_received``); then
run ``tests/rtc`` — ``test_forward_hooks.py`` checks each internal above by name, and
``test_media.py`` proves no encoder or decoder runs. :func:`check_aiortc` fails fast.

Known limits: frames reach taps one frame late (aiortc's jitter buffer needs the next
frame's first packet; subscribers get packets at once); only the mid header extension
is sent (no audio level, no abs-send-time); no simulcast or per-subscriber bandwidth
adaptation (REMB from subscribers is ignored); H264 is not negotiated (see
``rtc/participant.py``) and the packet path reads VP8 payload descriptors only.
"""

from __future__ import annotations

import asyncio
import fractions
import logging
import random
import socket
import struct
import time
from collections.abc import Callable
from typing import Any

import aiortc
import av
import pylibsrtp
from aioice import Connection
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCRtpReceiver, RTCRtpSender
from aiortc.codecs.base import Encoder
from aiortc.codecs.h264 import H264Encoder
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcdtlstransport import RTCDtlsTransport, RtpRouter
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtcrtptransceiver import RTCRtpTransceiver
from aiortc.rtp import RTCP_RTPFB_NACK, RtcpRtpfbPacket, RtpPacket

from . import reencode
from .clock import Clock
from .keyframes import KeyframeRelay
from .model import FrameTap
from .reencode import REENCODE

log = logging.getLogger(__name__)

AIORTC_VERSION = "1.16.0"
CLOCK_RATES = {"audio": 48000, "video": 90000}
TIME_BASES = {k: fractions.Fraction(1, r) for k, r in CLOCK_RATES.items()}
FRAME_STEP = {"audio": 960, "video": 3000}  # one frame, in clock-rate units
CACHE_PACKETS = 1024  # per source, for NACKs: ~8 s of this lecture's video, a power of 2
NTP_EPOCH = 2208988800  # seconds from 1900 to 1970
RECEIVE_BUFFER = 1024 * 1024  # per ICE socket, asked of the kernel (see below)
FORWARD_MIME = {"audio": "audio/opus", "video": "video/VP8"}

_HOOKED = "_opentutor_hooked"
_MEDIA, _RTX = 1, 2


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
            (RTCRtpSender, "_handle_rtcp_packet"),
            (RTCRtpSender, "_run_rtcp"),
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


def vp8_frame_start(payload: bytes) -> tuple[bool, bool]:
    """(first packet of a frame, that frame is a keyframe) from one VP8 RTP payload: the
    payload descriptor's S bit with partition 0, then the frame tag's P bit (RFC 7741
    4.2 and 4.3; RFC 6386 9.1). Runs once per publisher packet."""
    b0 = payload[0]
    if not b0 & 0x10 or b0 & 0x07:
        return False, False
    pos = 1
    if b0 & 0x80:  # X: an extension byte says which optional fields follow
        x = payload[1]
        pos = 2
        if x & 0x80:  # I: picture ID, 7 or 15 bits
            pos += 2 if payload[pos] & 0x80 else 1
        if x & 0x40:  # L: TL0PICIDX
            pos += 1
        if x & 0x30:  # T or K: TID/Y/KEYIDX
            pos += 1
    return True, len(payload) > pos and not payload[pos] & 0x01


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
    """What a subscriber's RTCRtpSender holds instead of an encoder, so that aiortc never
    makes one (``encode()`` raises). The packet path never hands the sender a frame;
    ``pack()`` (an encoded frame into RTP payloads, as aiortc's encoders do) is kept
    for a frame-level path and its tests."""

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


def hook_nacks(sender: RTCRtpSender, callback: Callable[[list[int]], None]) -> None:
    """Call ``callback(lost sequence numbers)`` for the subscriber's NACKs to this sender
    instead of aiortc's ``_retransmit`` (its history is empty: packets bypass it). Every
    other RTCP packet (receiver reports, PLI/FIR, REMB) goes to aiortc as before."""
    original = getattr(sender, "_opentutor_rtcp", None) or sender._handle_rtcp_packet
    sender._opentutor_rtcp = original  # type: ignore[attr-defined]

    async def handle(packet: Any) -> None:
        if isinstance(packet, RtcpRtpfbPacket) and packet.fmt == RTCP_RTPFB_NACK:
            callback(list(packet.lost))
        else:
            await original(packet)

    sender._handle_rtcp_packet = handle  # type: ignore[method-assign]


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


def hook_rtp(receiver: RTCRtpReceiver, on_rtp: Callable[[RtpPacket], None]) -> None:
    """Call ``on_rtp`` with every RTP packet that reaches ``receiver`` (SRTP removed,
    header parsed, by ``RTCDtlsTransport._handle_rtp_data``), before aiortc's own
    ``_handle_rtp_packet`` (statistics for receiver reports, NACKs to the publisher,
    RTX unwrapping, jitter buffer, whole frames into the tapped decoder queue) runs on
    it. Calling again replaces the callback."""
    if not hasattr(receiver, "_opentutor_on_rtp"):
        original = receiver._handle_rtp_packet

        async def handle(packet: RtpPacket, arrival_time_ms: int) -> None:
            receiver._opentutor_on_rtp(packet)  # type: ignore[attr-defined]
            await original(packet, arrival_time_ms=arrival_time_ms)

        receiver._handle_rtp_packet = handle  # type: ignore[method-assign]
    receiver._opentutor_on_rtp = on_rtp  # type: ignore[attr-defined]


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


def raise_receive_buffers(pc: RTCPeerConnection, size: int = RECEIVE_BUFFER) -> None:
    """Ask the kernel for ``size`` bytes of receive buffer on each of ``pc``'s ICE
    sockets (it grants up to ``net.core.rmem_max``). asyncio reads one datagram per
    socket per loop turn, and one publisher packet costs N sends before the loop turns
    again; a keyframe at N = 200 is ~100 ms of work, while the default 208 KiB holds
    ~1 s of this lecture's publisher at best, less with several publishers or bursts."""
    for connection in ice_connections(pc):
        for protocol in getattr(connection, "_protocols", []):
            sock = protocol.transport.get_extra_info("socket")
            if sock is not None and sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) < size:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)


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
        self.packets_in = 0
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
        self._video = kind == "video"
        # The last CACHE_PACKETS packets, by sequence number mod CACHE_PACKETS, for NACKs:
        # (seq, timestamp, marker, payload); payloads are the parsed packets' own bytes.
        self._cache: list[tuple[int, int, int, bytes] | None] = [None] * CACHE_PACKETS
        self._payload_types: dict[int, int] = {}  # pt → _MEDIA or _RTX, from the receiver
        self.feed: reencode.Feed | None = None  # reencode mode only

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
        self._payload_types = {}
        self._cache = [None] * CACHE_PACKETS  # a new binding numbers its packets anew
        if REENCODE:  # benchmark baseline: aiortc decodes; the slots' senders re-encode
            self.feed = reencode.Feed(receiver.track)
        else:
            tap_receiver(
                receiver,
                lambda codec, frame: self._on_frame(epoch, codec, frame),
                lambda: self._on_end(epoch),
                self.kind,
            )
            hook_rtp(receiver, lambda packet: self._on_rtp(epoch, packet))
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
        taps = self.taps
        if not taps:
            return  # subscribers got this frame's packets already (_on_rtp)
        packet = av.Packet(data)
        packet.pts = pts
        packet.time_base = self._time_base
        packet.is_keyframe = key
        for tap in taps:
            tap.frame(self.person, self.kind, codec.name, packet, key)

    def _on_rtp(self, epoch: int, packet: RtpPacket) -> None:
        """One publisher packet to every subscriber slot (the hot path)."""
        if epoch != self._epoch or not self.forwarding:
            return
        payload: bytes = packet.payload
        seq: int = packet.sequence_number
        what = self._payload_types.get(packet.payload_type)
        if what is None:
            what = self._learn_payload_type(packet.payload_type)
        if what == _RTX:  # a retransmission the publisher sent us: forward the original
            if len(payload) <= 2:
                return  # padding only (bandwidth probing)
            seq = (payload[0] << 8) | payload[1]
            payload = payload[2:]
        elif what != _MEDIA or not payload:
            return
        self.packets_in += 1
        ts: int = packet.timestamp
        marker: int = packet.marker
        if self._video:
            start, key = vp8_frame_start(payload)
            keystart = start and key
        else:
            start = keystart = True
        self._cache[seq & (CACHE_PACKETS - 1)] = (seq, ts, marker, payload)
        sinks = self._sinks
        if not sinks:
            return
        now = time.time()
        waiting = False
        for sink in sinks:
            if sink.forward(seq, ts, marker, payload, keystart, now):
                waiting = True
        if waiting and start and not keystart:
            self._relay.request()  # coalesced: at most one PLI per 500 ms

    def _learn_payload_type(self, pt: int) -> int:
        codecs: dict[int, RTCRtpCodecParameters] = getattr(
            self._receiver, "_RTCRtpReceiver__codecs", {}
        )
        codec = codecs.get(pt)
        what = 0
        if codec is not None:
            what = _RTX if codec.mimeType.lower().endswith("/rtx") else _MEDIA
            self._payload_types[pt] = what
        return what

    def cached(self, seq: int) -> tuple[int, int, bytes] | None:
        """(timestamp, marker, payload) of the publisher's packet ``seq``, if still held."""
        entry = self._cache[seq & (CACHE_PACKETS - 1)]
        if entry is None or entry[0] != seq:
            return None
        return entry[1], entry[2], entry[3]

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


class RtpOut:
    """Where one slot's packets go: the subscriber's SSRCs and payload types, the header
    extension bytes aiortc would write (the mid), SRTP ``protect`` and the ICE socket.
    Built from the slot's RTCRtpSender once its transport is up (:meth:`from_sender`)."""

    def __init__(
        self,
        *,
        ssrc: int,
        pt: int,
        rtx_ssrc: int,
        rtx_pt: int | None,
        extension: bytes,
        protect: Callable[[bytes], bytes],
        transport: Any,
        addr: Any,
    ) -> None:
        self.ssrc, self.pt, self.rtx_ssrc, self.rtx_pt = ssrc, pt, rtx_ssrc, rtx_pt
        self.b0 = 0x90 if extension else 0x80  # V=2, X when there is an extension
        self.pt_marker = (pt, pt | 0x80)
        self.extension = extension
        self.pack = struct.Struct(f"!BBHII{len(extension)}s").pack
        self.protect = protect
        # The socket itself, not asyncio's transport: its sendto() would queue without
        # bound in user space once the kernel's buffer is full; ours raises and drops.
        sock = getattr(transport.get_extra_info("socket"), "_sock", None)
        self.sendto: Callable[[bytes, Any], Any] = (
            sock.sendto if sock is not None else transport.sendto
        )
        self.addr = addr
        self.rtx_seq = random.randint(0, 0x7FFF)

    @classmethod
    def from_sender(
        cls, sender: RTCRtpSender, codecs: list[RTCRtpCodecParameters]
    ) -> RtpOut | None:
        dtls = sender.transport
        srtp = dtls._tx_srtp
        pair = dtls.transport._connection._nominated.get(1)
        if srtp is None or pair is None or not codecs:
            return None
        codec = codecs[0]
        rtx = next(
            (
                c for c in codecs
                if c.mimeType.lower().endswith("/rtx")
                and c.parameters.get("apt") == codec.payloadType
            ),
            None,
        )
        template = RtpPacket(payload_type=int(codec.payloadType or 0))
        template.extensions.mid = sender._RTCRtpSender__mid  # type: ignore[attr-defined]
        raw = template.serialize(sender._RTCRtpSender__rtp_header_extensions_map)  # type: ignore[attr-defined]
        return cls(
            ssrc=sender._ssrc,
            pt=int(codec.payloadType or 0),
            rtx_ssrc=sender._rtx_ssrc,
            rtx_pt=None if rtx is None else int(rtx.payloadType or 0),
            extension=raw[12:],
            protect=srtp.protect,
            transport=pair.protocol.transport,
            addr=pair.remote_addr,
        )


class ForwardTrack(MediaStreamTrack):
    """One subscriber slot (one server-side RTCRtpSender), for its whole life.

    Forward mode: :meth:`forward` rewrites each publisher packet's SSRC, payload type,
    sequence number and timestamp for this subscriber and sends it (SRTP, then the
    ICE socket) at once, from :meth:`Source._on_rtp`. The sender's own RTP loop only
    calls :meth:`recv` once, which tells us the transport is up, and then waits there
    until the slot ends. :meth:`attach` moves the slot to another source without the
    subscriber noticing: sequence numbers and timestamps stay continuous and it resumes
    at the next keyframe. ``reencode`` mode (benchmark only): :meth:`recv` hands the
    sender decoded frames from the source's relay, and it encodes them.
    """

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.source: Source | None = None
        self.out: RtpOut | None = None
        self.frames_sent = 0
        self.packets_sent = 0
        self.octets_sent = 0
        self.frames_dropped = 0
        self.nacks_answered = 0
        self.nacks_missed = 0
        self._sender: RTCRtpSender | None = None
        self._codecs: list[RTCRtpCodecParameters] = []
        self._waiting_keyframe = True
        self._seq_off = 0
        self._ts_off = 0
        self._first_in = 0  # first publisher sequence number since the last restart
        self._last_out = 0  # highest sequence number sent (once _last_ts is set)
        self._video = kind == "video"
        self._last_ts: int | None = None  # timestamp and time.time() of the last packet,
        self._last_time = 0.0  # for the sender reports
        self._rate = CLOCK_RATES[kind]
        self._step = FRAME_STEP[kind]
        self._waiter: asyncio.Future[None] | None = None
        self._proxy: MediaStreamTrack | None = None  # reencode mode only
        # Until the sender first asks for a frame (its transport is up), packets would
        # only go nowhere: skip them quietly and ask for a keyframe then.
        self._started = False

    def use_sender(self, sender: RTCRtpSender, codecs: list[RTCRtpCodecParameters]) -> None:
        """The RTCRtpSender this slot sends as (its SSRC, transport, mid) and the
        negotiated codecs (the first one, and its RTX)."""
        self._sender = sender
        self._codecs = list(codecs)
        hook_nacks(sender, self.answer_nack)

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
        self._proxy = None

    def restart(self) -> None:
        """Upstream changed: nothing decodes until the next keyframe."""
        self._waiting_keyframe = True
        if REENCODE:
            feed = None if self.source is None else self.source.feed
            self._proxy = None if feed is None else feed.subscribe()

    def request_keyframe(self) -> None:
        if self.source is not None:
            self.source.request_keyframe()

    @property
    def queued(self) -> int:
        """Nothing waits in user space: the kernel's socket buffer is the only queue."""
        return 0

    # -- the forward path (hot: once per publisher packet per subscriber)

    def forward(
        self, seq: int, ts: int, marker: int, payload: bytes, keystart: bool, now: float
    ) -> bool:
        """Send one publisher packet. Returns whether this slot waits for a keyframe."""
        out = self.out
        if out is None:
            return False
        if self._waiting_keyframe:
            if not keystart:
                if marker:
                    self.frames_dropped += 1
                return True
            self._rebase(seq, ts, now)
        elif (seq - self._first_in) & 0xFFFF >= 0x8000:
            return False  # older than where this slot (re)started
        o = (seq + self._seq_off) & 0xFFFF
        t = (ts + self._ts_off) & 0xFFFFFFFF
        try:
            out.sendto(
                out.protect(
                    out.pack(out.b0, out.pt_marker[marker], o, t, out.ssrc, out.extension)
                    + payload
                ),
                out.addr,
            )
        except BlockingIOError:
            # The kernel's send buffer towards this subscriber is full: it is behind (the
            # buffer is its bounded queue). Drop; video waits for a keyframe, which the
            # source asks for, coalesced with everyone else's requests.
            self.frames_dropped += 1
            if self._video:
                self._waiting_keyframe = True
                return True
            return False
        except (pylibsrtp.Error, OSError):
            return False  # SRTP refused an old index, or the socket is gone
        if (o - self._last_out) & 0xFFFF < 0x8000:
            self._last_out = o
        self._last_ts, self._last_time = t, now
        self.packets_sent += 1
        self.octets_sent += len(payload)
        if marker or not self._video:
            self.frames_sent += 1
        return False

    def _rebase(self, seq: int, ts: int, now: float) -> None:
        """Continue this subscriber's sequence numbers and timestamps from a new start."""
        nxt = self._last_out + 1 if self._last_ts is not None else random.randint(0, 0x7FFF)
        self._seq_off = (nxt - seq) & 0xFFFF
        self._last_out = (nxt - 1) & 0xFFFF
        if self._last_ts is None:
            t = random.randint(0, 0xFFFFFFFF)
        else:
            t = self._last_ts + max(self._step, int((now - self._last_time) * self._rate))
        self._ts_off = (t - ts) & 0xFFFFFFFF
        self._first_in = seq
        self._waiting_keyframe = False

    def answer_nack(self, lost: list[int]) -> None:
        """Resend what the subscriber reports lost, from the source's packet cache, as
        RTX (a repeat on the media SSRC would be refused by SRTP's replay check)."""
        out, source = self.out, self.source
        if out is None or source is None or out.rtx_pt is None or self._waiting_keyframe:
            self.nacks_missed += len(lost)
            return
        for o in lost:
            seq = (o - self._seq_off) & 0xFFFF
            cached = source.cached(seq)
            if cached is None or (seq - self._first_in) & 0xFFFF >= 0x8000:
                self.nacks_missed += 1
                continue
            ts, marker, payload = cached
            t = (ts + self._ts_off) & 0xFFFFFFFF
            data = out.pack(
                out.b0, out.rtx_pt | (marker << 7), out.rtx_seq, t, out.rtx_ssrc, out.extension
            )
            out.rtx_seq = (out.rtx_seq + 1) & 0xFFFF
            try:
                out.sendto(out.protect(data + struct.pack("!H", o) + payload), out.addr)
            except (pylibsrtp.Error, OSError):  # a full socket included: it is behind
                continue
            self.nacks_answered += 1

    def report(self) -> None:
        """Give aiortc's RTCP loop what it puts in this sender's SR (it never saw the
        packets): the NTP/RTP pair of the last packet, counts. Called every 0.5 s."""
        sender = self._sender
        if sender is None or self._last_ts is None:
            return
        sender._RTCRtpSender__ntp_timestamp = int((self._last_time + NTP_EPOCH) * (1 << 32))  # type: ignore[attr-defined]
        sender._RTCRtpSender__rtp_timestamp = self._last_ts  # type: ignore[attr-defined]
        sender._RTCRtpSender__packet_count = self.packets_sent  # type: ignore[attr-defined]
        sender._RTCRtpSender__octet_count = self.octets_sent  # type: ignore[attr-defined]

    # -- the sender's side

    async def recv(self) -> Any:
        if not self._started:
            self._started = True
            if self._sender is not None and not REENCODE:
                self.out = RtpOut.from_sender(self._sender, self._codecs)
            self.request_keyframe()
        if REENCODE:
            return await self._next_decoded()
        if self.readyState == "live":
            waiter = self._waiter = asyncio.get_running_loop().create_future()
            await waiter  # until stop(): packets never go through the sender's loop
        raise MediaStreamError

    async def _next_decoded(self) -> Any:
        while self.readyState == "live":
            proxy = self._proxy
            if proxy is None:
                await asyncio.sleep(0.02)
                continue
            try:
                return await proxy.recv()
            except MediaStreamError:
                if self._proxy is proxy:
                    self._proxy = None
        raise MediaStreamError

    def stop(self) -> None:
        self.detach()
        self.out = None
        waiter = self._waiter
        self._waiter = None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        super().stop()
