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
``RTCRtpReceiver._handle_rtp_packet`` → :meth:`~rtc.fanout.Source._on_rtp` (one per published
track: RTX unwrapped, VP8 frame start/keyframe read from the payload descriptor, the
packet kept in a 1024-entry cache for NACKs) → for each subscriber slot,
:meth:`ForwardTrack.forward`: SSRC, payload type, sequence number and timestamp
rewritten, SRTP ``protect``, ``sendto`` on the slot's ICE socket (one call into
:mod:`rtc.wire`, in C where it was built), all synchronously, no task, no
queue, no copy but the one SRTP needs. The evidence (frames, keyframes, media up) is
read from the packets there too. Then aiortc's own receiver code runs on the packet:
its statistics (receiver reports), NACKs and REMB to the publisher
(:func:`receive_without_frames`), and only while a tap (the recorder) is attached the
rest, depayloading and the jitter buffer, whose whole frames come out of the tapped
decoder queue into :meth:`~rtc.fanout.Source._on_frame` for the taps
(``python -m bench.receive_path``: 23.6 against 16.8 µs per packet without frames,
1.41×; 183,000 against 149,000 instructions under callgrind, 1.23×).

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
* The header + SRTP + send in C (issue 15, ``rtc/_wire.c``, :mod:`rtc.wire`): one call
  per packet and subscriber instead of ``struct.pack`` + concatenation + pylibsrtp's
  cffi ``protect`` (buffer copies, a bytes object) + ``socket.sendto`` (the address
  tuple parsed each time). ``python -m bench.wire``, 50 subscribers, AES-CM/HMAC-SHA1
  (what Chromium negotiates with aiortc): 4.9 µs against 7.4 µs per packet and
  subscriber, the whole per-slot path 5.5 against 8.2; a bare ``sendto`` of a
  protected packet is 3.8 µs on loopback (the receiver's UDP input runs in the
  sender's system time there), so the C path is within 1.5× of the syscall. It calls
  pylibsrtp's own ``srtp_protect`` (OpenSSL, AES-NI) on aiortc's session: Debian's
  libsrtp2 is built on NSS and was slower than the Python path for AES-CM.
* Ingress on the datagram's own call (:func:`receive_eagerly`): aiortc hands every
  SRTP datagram from aioice to the DTLS transport through an ``asyncio.Queue`` and a
  task. ``python -m bench.one_to_one --no-backends --modes forward,queued --sessions 10``,
  six back-to-back pairs on a machine loaded by a soak (load 4-7, 2 cores): server CPU
  per session 0.98-1.11× (median 1.05×) in favour of the direct call, within the noise
  of that machine; latency p50 lower in all six pairs (1.1-4.0 ms against 3.8-12.5 ms)
  and p95 in five. A py-spy profile of the forward path at K=10 before it (same
  machine and load): asyncio's loop, queues and transports 21 %, the C send 17 %,
  aiortc's REMB estimator 10 %, the DTLS transport 9 %, SRTP unprotect 9 %, receive
  statistics and NACK generator 7 %, RTP/RTCP parsing 6.5 %, our Python forward 6 %,
  aioice 5.6 %, jitter buffer 3.6 %, depayloading 3 %.
* What would move it further: one UDP socket for all subscribers (a port mux, as
  LiveKit and mediasoup do) so that ``sendmmsg`` sends a packet to N subscribers in
  one syscall (each subscriber has its own aioice socket today, so there is nothing
  to batch); the receive side (aiortc's jitter buffer, REMB estimator and statistics
  run on every incoming packet) in C; and one process per core (``serve --workers``).

aiortc internals touched (aiortc pinned to 1.16.0 in pyproject.toml)
=====================================================================
1. ``RTCRtpReceiver._RTCRtpReceiver__decoder_queue`` (a ``queue.Queue``): replaced by
   :class:`_DecoderQueueTap` *before* ``receive()`` starts the decoder thread. The
   thread's first ``get()`` returns ``None``, so it ends without creating a decoder;
   ``_handle_rtp_packet`` keeps calling ``put((codec, JitterFrame))`` on the event loop
   thread, which lands in :meth:`~rtc.fanout.Source._on_frame`. ``__stop_decoder`` puts ``None``
   (track ended: BYE, transport closed, receiver stopped) → :meth:`~rtc.fanout.Source._on_end`.
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
   ``setRemoteDescription()`` to VP8 and/or Constrained Baseline H.264 (+ their RTX)
   for video (:func:`restrict_video`) and Opus for audio, so that subscribers take
   publishers' frames unchanged; for audio the Opus
   codec's fmtp is set (in-band FEC, DTX) and the offer's RED codec, which aiortc's
   codec list lacks, is added back (first on publish lines, second on slots).
7. ``RTCDtlsTransport._rtp_router.route_rtp`` / ``route_rtcp``: wrapped per transport to
   count authenticated (SRTP-unprotected, parsed) RTP and RTCP: the "traffic" evidence.
8. ``RTCIceGatherer._connection`` (the aioice ``Connection``); its ``check_incoming``
   (called for every STUN binding request that passed MESSAGE-INTEGRITY) is wrapped
   per connection for the same evidence; :mod:`rtc.ice` wraps its
   ``get_component_candidates`` (a public aioice method) to restrict host addresses.
9. ``RTCRtpReceiver._handle_rtp_packet``: shadowed per instance (:func:`hook_rtp`) to see
   each parsed packet first; ``_RTCRtpReceiver__codecs`` (pt → codec) tells RTX apart.
   Without a tap, :func:`receive_without_frames` runs its first half instead: ``_enabled``,
   ``__remote_bitrate_estimator``, ``__rtcp_ssrc``, ``__active_ssrc``, ``__remote_streams``
   (``StreamStatistics``), ``__rtx_ssrc``, ``__nack_generator``, ``_send_rtcp`` and
   ``_send_rtcp_nack``; a test feeds the same packets through it and through aiortc's own
   method and compares the state and the RTCP sent. ``__remote_bitrate_estimator`` is
   replaced for video by :func:`rtc.bitrate.estimator` (the same figures, faster).
10. ``RTCRtpSender``: ``_ssrc``, ``_rtx_ssrc``, ``__mid``, ``__rtp_header_extensions_map``
    (the slot's SSRCs and mid extension, :meth:`RtpOut.from_sender`); ``__ntp_timestamp``,
    ``__rtp_timestamp``, ``__packet_count``, ``__octet_count`` (written for its sender
    reports); ``_handle_rtcp_packet`` shadowed per instance for NACKs (:func:`hook_nacks`).
11. ``RTCDtlsTransport._tx_srtp`` (the pylibsrtp session) and, through
    ``transport._connection._nominated[1]``, aioice's selected pair (its protocol's
    asyncio transport, whose ``TransportSocket._sock`` we ``sendto`` on, and the remote
    address); ``_protocols`` of the aioice ``Connection`` for ``SO_RCVBUF``.

12. Ingress (:func:`receive_eagerly`): aioice ``Connection.data_received`` shadowed per
    connection; ``RTCDtlsTransport._rx_srtp``, ``_state``, ``_handle_rtp_data``,
    ``_handle_rtcp_data`` and the name-mangled ``__rx_bytes``/``__rx_packets`` counters,
    i.e. the SRTP branch of ``_recv_next`` done on the datagram's own call.

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
adaptation beyond dropping a subscriber's video or its non-reference frames
(rtc/quality.py; REMB from subscribers is read there; the reduced level thins VP8
only); H.264 (see ``rtc/peer.py``) is read by :mod:`rtc.h264` for picture and IDR
starts, and a slot that negotiated only VP8 gets nothing from an H.264 publisher.
"""

from __future__ import annotations

import asyncio
import fractions
import logging
import os
import random
import socket
import struct
import weakref
from collections.abc import Callable, Coroutine
from typing import Any

import aiortc
import av
import pylibsrtp
from aioice import Connection
from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCRtpSender
from aiortc import clock as aiortc_clock
from aiortc.codecs import is_rtx
from aiortc.codecs.base import Encoder
from aiortc.codecs.h264 import H264Encoder
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.rtcdtlstransport import RTCDtlsTransport, RtpRouter
from aiortc.rtcdtlstransport import State as DtlsState
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtcrtpreceiver import StreamStatistics
from aiortc.rtcrtptransceiver import RTCRtpTransceiver
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTCP_RTPFB_NACK,
    RtcpPsfbPacket,
    RtcpRrPacket,
    RtcpRtpfbPacket,
    RtcpSrPacket,
    RtpPacket,
    is_rtcp,
    pack_remb_fci,
    unpack_remb_fci,
    unwrap_rtx,
)

from . import bitrate, h264, red, wire
from .payloads import MEDIA, OTHER, payload_kind

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


def check_aiortc() -> None:
    """Fail fast if the aiortc internals this module uses are not where we expect."""
    missing = [
        name
        for owner, name in (
            (RTCRtpReceiver, "_send_rtcp_pli"),
            (RTCRtpReceiver, "_handle_rtp_packet"),
            (RTCRtpReceiver, "_RTCRtpReceiver__stop_decoder"),
            (RTCRtpReceiver, "_send_rtcp"),
            (RTCRtpReceiver, "_send_rtcp_nack"),
            (RTCRtpSender, "_send_keyframe"),
            (RTCRtpSender, "_next_encoded_frame"),
            (RTCRtpSender, "_handle_rtcp_packet"),
            (RTCRtpSender, "_run_rtcp"),
            (RtpRouter, "route_rtp"),
            (RtpRouter, "route_rtcp"),
            (Connection, "check_incoming"),
            (Connection, "data_received"),
            (RTCDtlsTransport, "_handle_rtp_data"),
            (RTCDtlsTransport, "_handle_rtcp_data"),
            (RTCDtlsTransport, "_recv_next"),
            (Connection, "get_component_candidates"),
            (Vp8Encoder, "_packetize"),
            (H264Encoder, "_split_bitstream"),
        )
        if not hasattr(owner, name)
    ]
    if missing:
        raise RuntimeError(f"aiortc {aiortc.__version__} lacks {missing}: see rtc/forward.py")
    if aiortc.__version__ != AIORTC_VERSION:
        log.warning(
            "rtc/forward.py was checked against aiortc %s, not %s",
            AIORTC_VERSION,
            aiortc.__version__,
        )


# --------------------------------------------------------------------------- codecs


def restrict_codecs(
    transceiver: RTCRtpTransceiver,
    mime: str,
    offered: list[RTCRtpCodecParameters] | None = None,
    *,
    publish: bool = False,
) -> RTCRtpCodecParameters | None:
    """Keep only ``mime`` (and its RTX; for Opus, RED) among the negotiated codecs of
    ``transceiver``. Returns the kept codec, or ``None`` (codecs left untouched) when
    it was not offered. ``offered``: the codecs of the offer's m-line (their fmtp);
    ``publish``: the line is the browser's microphone (the server receives)."""
    codecs: list[RTCRtpCodecParameters] = transceiver._codecs
    main = next((c for c in codecs if c.mimeType.lower() == mime.lower()), None)
    if main is None:
        return None
    kept = [main] + [
        c
        for c in codecs
        if c.mimeType.lower().endswith("/rtx") and c.parameters.get("apt") == main.payloadType
    ]
    if main.mimeType.lower() == "audio/opus":
        # aiortc answers with its own Opus codec, whose fmtp is empty: the browser then
        # encodes without in-band FEC. (find_common_codecs deep-copied it: ours to change.)
        remote = next((c for c in offered or [] if c.payloadType == main.payloadType), None)
        main.parameters = opus_parameters(remote.parameters if remote is not None else {})
        wrap = red_codec(offered or [], int(main.payloadType or 0))
        if wrap is not None:
            # libwebrtc sends RED only when it precedes the codec it wraps in the
            # negotiated list (WebRtcVoiceSendChannel::SetSendCodecs), so RED comes first
            # where the browser sends; where the server sends, Opus stays first, because
            # aiortc's sender and RtpOut take codecs[0] as the stream's codec.
            kept = [wrap, main] if publish else [main, wrap]
    transceiver._codecs = kept
    return main


def restrict_video(
    transceiver: RTCRtpTransceiver,
    offered: list[RTCRtpCodecParameters] | None = None,
    *,
    publish: bool = False,
) -> RTCRtpCodecParameters | None:
    """Video's :func:`restrict_codecs`: VP8 and Constrained Baseline H.264 in
    packetization-mode 1 (each with its RTX), nothing else. A camera line keeps one, the
    one :func:`rtc.h264.publish_codec` picks from the offer's order. A slot keeps both
    where offered, VP8 first: aiortc's sender keeps ``codecs[0]`` for life, but on the
    packet path it never encodes; what a slot sends is chosen per attached source by
    :meth:`RtpOut.select` (payload type and RTX of that source's codec), and a browser
    decodes whichever negotiated payload type arrives. ``None``: neither was offered
    (codecs left untouched)."""
    codecs: list[RTCRtpCodecParameters] = transceiver._codecs
    vp8 = next((c for c in codecs if c.mimeType.lower() == "video/vp8"), None)
    avc = next(
        (
            c
            for c in codecs
            if c.mimeType.lower() == "video/h264" and h264.is_constrained_baseline(c.parameters)
        ),
        None,
    )
    if publish:
        want = h264.publish_codec([(c.mimeType, c.parameters) for c in offered or []])
        mains = [vp8 if want == "video/vp8" else avc]
    else:
        mains = [vp8, avc]
    kept: list[RTCRtpCodecParameters] = []
    for main in mains:
        if main is None:
            continue
        kept.append(main)
        kept += [
            c
            for c in codecs
            if c.mimeType.lower().endswith("/rtx") and c.parameters.get("apt") == main.payloadType
        ]
    if not kept:
        return None
    transceiver._codecs = kept
    return kept[0]


def opus_parameters(offered: dict[str, Any]) -> dict[str, Any]:
    """The Opus fmtp of the server's answer: in-band FEC always (the browser's encoder
    then protects each frame with a low-bitrate copy of the previous one, which its
    decoder uses when a packet is lost: phones on weak networks), DTX when the browser
    asked for it, and the browser's ``minptime``. ``useinbandfec``/``usedtx`` in an
    answer tell the *browser's encoder* what we want to receive (RFC 7587 6.1)."""
    out: dict[str, Any] = {}
    if offered.get("minptime") is not None:
        out["minptime"] = offered["minptime"]
    out["useinbandfec"] = 1
    if str(offered.get("usedtx", "0")) == "1":
        out["usedtx"] = 1
    return out


def red_codec(offered: list[RTCRtpCodecParameters], opus_pt: int) -> RTCRtpCodecParameters | None:
    """The offer's ``red/48000/2`` codec if it wraps only Opus (``fmtp opus/opus``), as
    a codec of our answer, else ``None`` (aiortc's own codec list has no RED, so
    setRemoteDescription dropped it: it is put back from the offer)."""
    for c in offered:
        if c.mimeType.lower() != "audio/red" or c.clockRate != 48000 or c.channels != 2:
            continue
        pts = red.fmtp_blocks(c.parameters)
        if pts is not None and all(pt == opus_pt for pt in pts):
            return RTCRtpCodecParameters(
                mimeType="audio/red",
                clockRate=48000,
                channels=2,
                payloadType=c.payloadType,
                parameters=dict(c.parameters),
            )
    return None


def negotiated_codec(transceiver: RTCRtpTransceiver) -> RTCRtpCodecParameters | None:
    codecs = negotiated_codecs(transceiver)
    return codecs[0] if codecs else None


def negotiated_codecs(transceiver: RTCRtpTransceiver) -> list[RTCRtpCodecParameters]:
    """The codecs negotiated for ``transceiver`` (internal ``_codecs``), first preferred."""
    return list(transceiver._codecs)


def receiver_payload_kind(receiver: RTCRtpReceiver | None, pt: int) -> int:
    """``payloads.MEDIA`` or ``payloads.RTX`` for a payload type ``receiver`` negotiated,
    ``payloads.OTHER`` if it knows none (internal ``_RTCRtpReceiver__codecs``: pt → codec)."""
    codecs: dict[int, RTCRtpCodecParameters] = getattr(receiver, "_RTCRtpReceiver__codecs", {})
    codec = codecs.get(pt)
    return OTHER if codec is None else payload_kind(codec.mimeType)


def receiver_codec_name(receiver: RTCRtpReceiver | None, pt: int) -> str | None:
    """The name (lower case: ``vp8``, ``h264``, ``opus``) of the codec ``receiver``
    negotiated under payload type ``pt``, if any (internal ``_RTCRtpReceiver__codecs``)."""
    codecs: dict[int, RTCRtpCodecParameters] = getattr(receiver, "_RTCRtpReceiver__codecs", {})
    codec = codecs.get(pt)
    return None if codec is None else codec.name.lower()


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


def hook_nacks(
    sender: RTCRtpSender,
    callback: Callable[[list[int]], None],
    on_report: Callable[[int, int, int], None] | None = None,
    on_remb: Callable[[int], None] | None = None,
) -> None:
    """Call ``callback(lost sequence numbers)`` for the subscriber's NACKs to this sender
    instead of aiortc's ``_retransmit`` (its history is empty: packets bypass it), and
    ``on_report(fraction_lost, extended highest sequence, jitter)`` for each receiver
    report block about this sender's SSRC (the evidence that forwarded media arrives),
    and ``on_remb(bit/s)`` for a REMB naming it (the subscriber's estimate of its link,
    rtc/quality.py). Every other RTCP packet, and these too, go to aiortc as before."""
    original = getattr(sender, "_opentutor_rtcp", None) or sender._handle_rtcp_packet
    sender._opentutor_rtcp = original  # type: ignore[attr-defined]

    async def handle(packet: Any) -> None:
        if isinstance(packet, RtcpRtpfbPacket) and packet.fmt == RTCP_RTPFB_NACK:
            callback(list(packet.lost))
            return
        if on_report is not None and isinstance(packet, RtcpRrPacket | RtcpSrPacket):
            ssrc = sender._ssrc
            for block in packet.reports:
                if block.ssrc == ssrc:
                    on_report(block.fraction_lost, block.highest_sequence, block.jitter)
        if (
            on_remb is not None
            and isinstance(packet, RtcpPsfbPacket)
            and packet.fmt == RTCP_PSFB_APP
        ):
            try:
                bitrate, ssrcs = unpack_remb_fci(packet.fci)
            except (ValueError, struct.error):  # not a REMB, or a truncated one
                bitrate, ssrcs = 0, []
            if sender._ssrc in ssrcs:
                on_remb(bitrate)
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


# The benches' baseline only ("framed" in bench.one_to_one): frames made of every packet.
ALWAYS_FRAMES = os.environ.get("OPENTUTOR_ALWAYS_FRAMES", "0") == "1"


def hook_rtp(
    receiver: RTCRtpReceiver,
    on_rtp: Callable[[RtpPacket], None],
    wants_frames: Callable[[], bool] = lambda: True,
) -> None:
    """Call ``on_rtp`` with every RTP packet that reaches ``receiver`` (SRTP removed,
    header parsed, by ``RTCDtlsTransport._handle_rtp_data``), then aiortc's own receive
    work: all of ``_handle_rtp_packet`` (statistics for receiver reports, NACKs and REMB
    to the publisher, RTX unwrapping, depayloading, jitter buffer, whole frames into the
    tapped decoder queue) while ``wants_frames()``, else only its first part
    (:func:`receive_without_frames`). Calling again replaces both callbacks."""
    if not hasattr(receiver, "_opentutor_on_rtp"):
        original = receiver._handle_rtp_packet
        remb = receiver._RTCRtpReceiver__remote_bitrate_estimator  # type: ignore[attr-defined]
        if remb is not None and not isinstance(remb, bitrate.RemoteBitrateEstimator):
            # Video: the same estimate, REMB for REMB, without its two per-packet loops
            # (made so already where bitrate.install() ran first).
            receiver._RTCRtpReceiver__remote_bitrate_estimator = bitrate.estimator()  # type: ignore[attr-defined]

        async def handle(packet: RtpPacket, arrival_time_ms: int) -> None:
            receiver._opentutor_on_rtp(packet)  # type: ignore[attr-defined]
            if ALWAYS_FRAMES or receiver._opentutor_wants_frames():  # type: ignore[attr-defined]
                await original(packet, arrival_time_ms=arrival_time_ms)
            else:
                await receive_without_frames(receiver, packet, arrival_time_ms)

        receiver._handle_rtp_packet = handle  # type: ignore[method-assign]
    receiver._opentutor_on_rtp = on_rtp  # type: ignore[attr-defined]
    receiver._opentutor_wants_frames = wants_frames  # type: ignore[attr-defined]


async def receive_without_frames(
    receiver: RTCRtpReceiver, packet: RtpPacket, arrival_time_ms: int
) -> None:
    """aiortc 1.16.0's ``RTCRtpReceiver._handle_rtp_packet`` up to its NACKs, the same
    statements on the same private state: the bitrate estimate (REMB) and the statistics
    its receiver reports are made of, the RTX unwrap and the NACK generator, which the
    publisher's congestion control and loss recovery need. What it leaves out is the
    part that makes frames (depayloading, the jitter buffer, its PLIs on a lost frame,
    the decoder queue): subscribers got each packet already from ``on_rtp``, and the
    evidence (frames, keyframes, media up) is read from the packets there, so frames
    are made only when a tap (the recorder) takes them. That part was ~7 % of a
    one-to-one packet's server time (README, "Where a one-to-one packet's time goes")."""
    r: Any = receiver
    if not r._enabled:
        return
    estimator = r._RTCRtpReceiver__remote_bitrate_estimator
    if estimator is not None and packet.extensions.abs_send_time is not None:
        remb = estimator.add(
            abs_send_time=packet.extensions.abs_send_time,
            arrival_time_ms=arrival_time_ms,
            payload_size=len(packet.payload) + packet.padding_size,
            ssrc=packet.ssrc,
        )
        rtcp_ssrc = r._RTCRtpReceiver__rtcp_ssrc
        if rtcp_ssrc is not None and remb is not None:
            await r._send_rtcp(RtcpPsfbPacket(
                fmt=RTCP_PSFB_APP, ssrc=rtcp_ssrc, media_ssrc=0, fci=pack_remb_fci(*remb)))
    r._RTCRtpReceiver__active_ssrc[packet.ssrc] = aiortc_clock.current_datetime()
    codecs = r._RTCRtpReceiver__codecs
    codec = codecs.get(packet.payload_type)
    if codec is None:
        return
    streams = r._RTCRtpReceiver__remote_streams
    stats = streams.get(packet.ssrc)
    if stats is None:
        stats = streams[packet.ssrc] = StreamStatistics(codec.clockRate)
    stats.add(packet)
    if is_rtx(codec):
        original_ssrc = r._RTCRtpReceiver__rtx_ssrc.get(packet.ssrc)
        apt = codec.parameters.get("apt")
        if (original_ssrc is None or len(packet.payload) < 2 or not isinstance(apt, int)
                or apt not in codecs):
            return
        packet = unwrap_rtx(packet, payload_type=apt, ssrc=original_ssrc)
    nacks = r._RTCRtpReceiver__nack_generator
    if nacks is not None and nacks.add(packet):
        await r._send_rtcp_nack(packet.ssrc, sorted(nacks.missing))


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
    ~1 s of this lecture's publisher at best, less with several publishers or bursts.
    Also sets each socket's read size to :data:`DATAGRAM_READ` (see there)."""
    for connection in ice_connections(pc):
        for protocol in getattr(connection, "_protocols", []):
            transport = protocol.transport
            sock = transport.get_extra_info("socket")
            if sock is not None and sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) < size:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)
            if isinstance(getattr(transport, "max_size", None), int):
                transport.max_size = DATAGRAM_READ


# asyncio's datagram transport reads every datagram into a new buffer of ``max_size``,
# 256 KiB, then shrinks it to the datagram (``recvfrom``; CPython reallocs the bytes).
# Once glibc's mmap threshold has risen past that size (it does when any large block
# is freed), each of those buffers comes from the main heap and needs 256 KiB free in
# one piece: the small blocks made right after it (the packet, the NACK cache's copy)
# sit in its remainder, the next read cannot use what is left and takes fresh heap
# above, and long-lived blocks left scattered there keep its pages resident. In the
# 50-room soak the heap's free-but-kept bytes grew ~6 MiB a minute and RSS with them
# (README, "Soak"). A WebRTC datagram is at most a path MTU (browsers send RTP and DTLS
# records of ≤ 1,200-1,500 bytes; STUN less), so reads of 4 KiB lose nothing and are
# served from glibc's bins like any small block.
DATAGRAM_READ = 4096
_FULL_READS = [0]


def _full_read(size: int) -> None:
    """A datagram filled the read: it may have been cut. Logged at the 1st, 2nd, 4th,
    8th… such datagram (never a flood), so an operator sees it if a peer ever sends one."""
    _FULL_READS[0] += 1
    count = _FULL_READS[0]
    if count & (count - 1) == 0:  # 1, 2, 4, 8, …: rare, and never a flood
        log.warning("a %d-byte datagram filled the %d-byte read (%d so far): larger ones "
                    "are cut; see DATAGRAM_READ in rtc/forward.py", size, DATAGRAM_READ, count)


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


# ------------------------------------------------------------------ ingress

_EAGER = "_opentutor_eager"
EAGER_RECEIVE = os.environ.get("OPENTUTOR_EAGER_RECEIVE", "1") != "0"


def receive_eagerly(pc: RTCPeerConnection) -> None:
    """Hand each SRTP/SRTCP datagram of ``pc`` from aioice straight to its DTLS
    transport, on the call that read it from the socket, instead of through aioice's
    ``asyncio.Queue`` and the transport's receive task: one queue put, one get, one task
    wake-up and one loop turn less per packet, the receive cost the issue's profile put
    first (~22 % of a one-to-one packet). DTLS records (the handshake, SCTP data) and
    anything before the SRTP keys exist still go the queued way, in order; so does all
    of it with ``OPENTUTOR_EAGER_RECEIVE=0`` (the benches' baseline). What runs is
    aiortc's own SRTP branch of ``RTCDtlsTransport._recv_next`` (unprotect, parse,
    route: our hooks included) as a coroutine stepped at once (:func:`run_eagerly`);
    a packet whose handling really waits (rarely: an RTCP send that blocks) finishes in
    a task. Idempotent; call again after renegotiation (new transports)."""
    if not EAGER_RECEIVE:
        return
    for dtls in dtls_transports(pc):
        connection = dtls.transport.iceGatherer._connection
        if getattr(connection, _EAGER, False):
            continue
        queued = connection.data_received

        def data_received(
            data: bytes, component: int, _dtls: Any = dtls, _queued: Any = queued
        ) -> None:
            if not data:
                # An empty datagram, from anyone who can reach the port: aiortc's
                # receive task would fail on it (data[0]) and close the transport.
                return
            if len(data) >= DATAGRAM_READ:
                _full_read(len(data))
            if 127 < data[0] < 192 and _dtls._rx_srtp is not None and _dtls._state is _CONNECTED:
                run_eagerly(_srtp_in(_dtls, data))
            else:
                _queued(data, component)

        connection.data_received = data_received  # type: ignore[method-assign]
        setattr(connection, _EAGER, True)


_CONNECTED = DtlsState.CONNECTED


async def _srtp_in(dtls: Any, data: bytes) -> None:
    """aiortc 1.16's ``_recv_next``, SRTP branch (its byte and packet counters too)."""
    dtls._RTCDtlsTransport__rx_bytes += len(data)
    dtls._RTCDtlsTransport__rx_packets += 1
    arrival_time_ms = aiortc_clock.current_ms()
    try:
        if is_rtcp(data):
            await dtls._handle_rtcp_data(dtls._rx_srtp.unprotect_rtcp(data))
        else:
            await dtls._handle_rtp_data(dtls._rx_srtp.unprotect(data),
                                        arrival_time_ms=arrival_time_ms)
    except pylibsrtp.Error:
        pass  # a replay or a forgery: aiortc drops it the same way


def run_eagerly(coro: Coroutine[Any, Any, None]) -> None:
    """Run ``coro`` now, up to its first real wait; if it has one, the rest runs in a
    task (Python 3.12's eager tasks, by hand: this runs on 3.11). It never raises: a
    failure is logged, as the transport's task would have."""
    try:
        waiting = coro.send(None)
    except StopIteration:
        return
    except Exception:
        log.exception("receiving a packet failed")
        return
    task = asyncio.ensure_future(_finish(coro, waiting))
    _FINISHING.add(task)  # the loop keeps only weak references to tasks
    task.add_done_callback(_FINISHING.discard)


_FINISHING: set[asyncio.Future[None]] = set()


async def _finish(coro: Coroutine[Any, Any, None], waiting: Any) -> None:
    while True:
        try:
            if waiting is None:  # a bare yield (asyncio.sleep(0)): one loop turn
                await asyncio.sleep(0)
                result, error = None, None
            else:
                result, error = await waiting, None
        except BaseException as exc:  # handed to the coroutine, as a task would
            result, error = None, exc
        try:
            waiting = coro.throw(error) if error is not None else coro.send(result)
        except StopIteration:
            return
        except Exception:
            log.exception("receiving a packet failed")
            return


# ------------------------------------------------------------------- egress


class RtpOut:
    """Where one slot's packets go: the subscriber's SSRCs and payload types, the header
    extension bytes aiortc would write (the mid) and the transport's :class:`rtc.wire.
    Wire` (header, SRTP, socket in one call). Built from the slot's RTCRtpSender once its
    transport is up (:meth:`from_sender`)."""

    # What a failed protect or send raises (besides BlockingIOError, a full buffer).
    errors: tuple[type[BaseException], ...] = (pylibsrtp.Error, *wire.ERRORS)

    def __init__(
        self,
        *,
        ssrc: int,
        pt: int,
        rtx_ssrc: int,
        rtx_pt: int | None,
        extension: bytes,
        protect: Callable[[bytes], bytes] | None = None,
        transport: Any = None,
        addr: Any = None,
        link: wire.Wire | None = None,
        red_pt: int | None = None,
    ) -> None:
        self.ssrc, self.pt, self.rtx_ssrc, self.rtx_pt = ssrc, pt, rtx_ssrc, rtx_pt
        self.red_pt = red_pt  # the subscriber negotiated RED (audio): forwarded as is
        self.b0 = 0x90 if extension else 0x80  # V=2, X when there is an extension
        # The second header byte by rtp_munger's index: marker bit | RED_PT (2).
        red_b1 = pt if red_pt is None else red_pt
        self.pt_marker = (pt, pt | 0x80, red_b1, red_b1 | 0x80)
        # Video slots may negotiate VP8 and H.264: (pt, rtx pt) by codec name (lower case).
        self.codec_pts: dict[str, tuple[int, int | None]] = {}
        self.extension = extension
        if link is None:
            assert protect is not None and transport is not None
            link = python_link(protect, transport, addr)
        # ``send`` is ``link.send``: Python's forward calls it; the C forward_all
        # (rtc/wire.py) writes through ``link`` itself, when it is a C link.
        self.link = link
        self.send = link.send
        self.rtx_seq = random.randint(0, 0x7FFF)

    def select(self, codec: str) -> bool:
        """Send ``codec`` (a source's codec name) from now on: its payload type and RTX.
        ``False``: this subscriber did not negotiate it (nothing must be sent)."""
        pts = self.codec_pts.get(codec.lower())
        if pts is None:
            return not self.codec_pts  # audio: one codec, nothing to choose
        pt, self.rtx_pt = pts
        self.pt = pt
        self.pt_marker = (pt, pt | 0x80, pt, pt | 0x80)
        return True

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
                c
                for c in codecs
                if c.mimeType.lower().endswith("/rtx")
                and c.parameters.get("apt") == codec.payloadType
            ),
            None,
        )
        red_in = next((c for c in codecs if c.mimeType.lower() == "audio/red"), None)
        link = transport_link(dtls, srtp, pair)
        template = RtpPacket(payload_type=int(codec.payloadType or 0))
        template.extensions.mid = sender._RTCRtpSender__mid  # type: ignore[attr-defined]
        raw = template.serialize(sender._RTCRtpSender__rtp_header_extensions_map)  # type: ignore[attr-defined]
        out = cls(
            ssrc=sender._ssrc,
            pt=int(codec.payloadType or 0),
            rtx_ssrc=sender._rtx_ssrc,
            rtx_pt=None if rtx is None else int(rtx.payloadType or 0),
            extension=raw[12:],
            link=link,
            red_pt=None if red_in is None else int(red_in.payloadType or 0),
        )
        if codec.mimeType.lower().startswith("video/"):
            out.codec_pts = codec_payload_types(codecs)
        return out


def codec_payload_types(codecs: list[RTCRtpCodecParameters]) -> dict[str, tuple[int, int | None]]:
    """(payload type, its RTX payload type) by codec name (lower case) of a video slot."""
    out: dict[str, tuple[int, int | None]] = {}
    for c in codecs:
        if payload_kind(c.mimeType) != MEDIA:
            continue
        rtx = next(
            (
                int(r.payloadType or 0)
                for r in codecs
                if r.mimeType.lower().endswith("/rtx") and r.parameters.get("apt") == c.payloadType
            ),
            None,
        )
        out.setdefault(c.name.lower(), (int(c.payloadType or 0), rtx))
    return out


def set_sender_report(
    sender: RTCRtpSender, ntp_timestamp: int, rtp_timestamp: int, packets: int, octets: int
) -> None:
    """Give aiortc's RTCP loop what it puts in ``sender``'s SR: the sender never saw the
    packets we forwarded on its behalf (internals: ``__ntp_timestamp``,
    ``__rtp_timestamp``, ``__packet_count``, ``__octet_count``)."""
    sender._RTCRtpSender__ntp_timestamp = ntp_timestamp  # type: ignore[attr-defined]
    sender._RTCRtpSender__rtp_timestamp = rtp_timestamp  # type: ignore[attr-defined]
    sender._RTCRtpSender__packet_count = packets  # type: ignore[attr-defined]
    sender._RTCRtpSender__octet_count = octets  # type: ignore[attr-defined]


def raw_socket(transport: Any) -> socket.socket | None:
    """The UDP socket under an aioice transport (None for a TURN relay: aioice wraps
    those datagrams itself). Sent on directly, not through asyncio's transport, whose
    sendto() would queue without bound once the kernel's buffer is full; ours raises
    and the packet is dropped."""
    sock: socket.socket | None = getattr(transport.get_extra_info("socket"), "_sock", None)
    return sock


def python_link(protect: Callable[[bytes], bytes], transport: Any, addr: Any) -> wire.Wire:
    sock = raw_socket(transport)
    return wire.PyLink(protect, sock.sendto if sock is not None else transport.sendto, addr)


# One egress per subscriber transport, shared by its slots (audio, video, screen…):
# every RTP packet on it must go through one SRTP session (rtc/wire.py says why).
_links: weakref.WeakKeyDictionary[Any, wire.Wire] = weakref.WeakKeyDictionary()


def transport_link(dtls: Any, srtp: Any, pair: Any) -> wire.Wire:
    """The egress of a subscriber's DTLS transport (internals: ``_tx_srtp``, and the
    nominated ICE pair's socket and remote address): the C path when it is built and
    the pair sends from a plain UDP socket, else Python; both on aiortc's session."""
    link = _links.get(dtls)
    if link is None:
        transport = pair.protocol.transport
        sock = raw_socket(transport)
        if sock is not None and sock.type == socket.SOCK_DGRAM:
            link = wire.native_link(srtp, sock.fileno(), pair.remote_addr)
        if link is None:
            link = python_link(srtp.protect, transport, pair.remote_addr)
        _links[dtls] = link

        # The C link holds its own descriptor of the socket: once the transport closes or
        # fails, it must stop sending (slots may outlive their transport for a moment).
        @dtls.on("statechange")  # type: ignore[untyped-decorator]
        def closed() -> None:
            if dtls.state in ("closed", "failed"):
                link.close()

    return link
