"""Fan-out: one :class:`Source` per published track, one :class:`ForwardTrack` per
subscriber slot. The path, the measurements behind it and every aiortc internal it
relies on are described in :mod:`rtc.forward`, which is the only module that touches
aiortc internals; this one uses its hooks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import av
from aiortc import MediaStreamTrack, RTCRtpReceiver, RTCRtpSender
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RtpPacket

from . import reencode
from .clock import Clock
from .contract import FrameTap
from .forward import (
    CACHE_PACKETS,
    CLOCK_RATES,
    FRAME_STEP,
    NTP_EPOCH,
    TIME_BASES,
    RtpOut,
    hook_nacks,
    hook_rtp,
    receiver_codec_name,
    receiver_payload_kind,
    send_pli,
    set_sender_report,
    tap_receiver,
)
from .h264 import frame_start as h264_frame_start
from .keyframes import KeyframeRelay
from .payloads import MEDIA, RED, RTX, is_keyframe, vp8_frame_start
from .quality import Level, LossWindow, Report
from .red import primary as red_primary
from .red import retag as red_retag
from .reencode import REENCODE
from .rtp_munger import RED_PT, RtpMunger
from .wire import SlotState, forward_all

log = logging.getLogger(__name__)

NO_LEVEL = 128  # above any RFC 6464 level (0 … 127): no level seen this second


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
        self.red_in = 0  # RED packets (RFC 2198) from the publisher
        self.red_malformed = 0  # of which unreadable: dropped for everyone
        # This second's evidence (rtc.room samples and resets it once a second).
        self.sec_packets = 0
        self.sec_bytes = 0
        self.sec_frames = 0
        self.sec_keyframes = 0
        self.sec_level = NO_LEVEL
        self.last_frame: float | None = None
        self._sinks: tuple[ForwardTrack, ...] = ()
        self._parked: tuple[ForwardTrack, ...] = ()  # attached slots at audio only
        self.taps: tuple[FrameTap, ...] = ()  # set by the room: recorders and the like
        self._receiver: RTCRtpReceiver | None = None
        self._epoch = 0
        self._base: int | None = None  # pts offset of the current binding
        self._last_pts: int | None = None
        self._time_base = TIME_BASES[kind]
        self._relay = KeyframeRelay(clock, self._send_pli)
        self._video = kind == "video"
        # The publisher's codec name ("vp8", "h264", "opus"), learnt from its first media
        # packet; slots send it under their own payload type for it (RtpOut.select).
        self.codec: str | None = None
        self._h264 = False
        self._h264_ts = -1  # RTP timestamp of the last H.264 picture start (see _on_rtp)
        # The last CACHE_PACKETS packets, by sequence number mod CACHE_PACKETS, for NACKs:
        # (seq, timestamp, marker, payload); payloads are the parsed packets' own bytes.
        self._cache: list[tuple[int, int, int, bytes] | None] = [None] * CACHE_PACKETS
        self._payload_types: dict[int, int] = {}  # pt → MEDIA or RTX, from the receiver
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
            # Frames are made (depayloaded, reassembled by aiortc's jitter buffer) only
            # for the taps; everything else is read from the packets in _on_rtp.
            hook_rtp(receiver, lambda packet: self._on_rtp(epoch, packet),
                     lambda: bool(self.taps))
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
        self._parked = tuple(s for s in self._parked if s is not sink)
        if sink not in self._sinks:
            self._sinks = (*self._sinks, sink)

    def remove_sink(self, sink: ForwardTrack) -> None:
        self._sinks = tuple(s for s in self._sinks if s is not sink)
        self._parked = tuple(s for s in self._parked if s is not sink)

    def park(self, sink: ForwardTrack) -> None:
        """``sink`` stays attached but gets nothing (its subscriber is at audio only): off
        the forward path, still detached when this source closes."""
        self.remove_sink(sink)
        self._parked = (*self._parked, sink)

    def request_keyframe(self) -> None:
        if self.kind == "video" and self._receiver is not None:
            self._relay.request()

    def check_idle(self, now: float, idle: float) -> None:
        if self.up and (self.last_frame is None or now - self.last_frame >= idle):
            self._set_up(False)

    def close(self) -> None:
        self.unbind()
        for sink in (*self._sinks, *self._parked):
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
        """A whole frame from aiortc's jitter buffer, made only while taps (the recorder)
        are attached (``hook_rtp``'s ``wants_frames``): for them alone. Evidence and
        media up/down come from the packets (:meth:`_on_rtp`)."""
        data: bytes = frame.data
        taps = self.taps
        if epoch != self._epoch or not data or not taps or not self.forwarding:
            return
        pts = self._pts(frame.timestamp, self._clock.monotonic())
        key = is_keyframe(codec.name, data)
        packet = av.Packet(data)
        packet.pts = pts
        packet.time_base = self._time_base
        packet.is_keyframe = key
        for tap in taps:
            tap.frame(self.person, self.kind, codec.name, packet, key)

    def _frame_started(self, keyframe: bool) -> None:
        """A new frame's first packet arrived (not a retransmission): the publisher's
        media is live. Counted whether forwarded or not; up only while forwarded."""
        self.frames_in += 1
        self.last_frame = self._clock.monotonic()
        if keyframe:
            self.keyframes_in += 1
            self._relay.keyframe_seen()
        if self.forwarding:
            self._set_up(True)

    def _on_rtp(self, epoch: int, packet: RtpPacket) -> None:
        """One publisher packet to every subscriber slot (the hot path). Counted for
        the evidence first, whether forwarded or not (a learner's voice in a
        one-to-one is evidence; in a lecture it is simply not forwarded)."""
        if epoch != self._epoch:
            return
        payload: bytes = packet.payload
        seq: int = packet.sequence_number
        what = self._payload_types.get(packet.payload_type)
        if what is None:
            what = self._learn_payload_type(packet.payload_type)
        original = True
        red: bytes | None = None  # the RED payload, for subscribers that negotiated it
        media_pt = 0  # the publisher's Opus payload type inside RED
        if what == RTX:  # a retransmission the publisher sent us: forward the original
            if len(payload) <= 2:
                return  # padding only (bandwidth probing)
            seq = (payload[0] << 8) | payload[1]  # payloads.unwrap_rtx, inlined (hot)
            payload = payload[2:]
            original = False
        elif what == RED:
            self.red_in += 1
            block = red_primary(payload)
            if block is None or (
                self._payload_types.get(block[0]) or self._learn_payload_type(block[0])
            ) != MEDIA:
                # Unreadable, or wrapping something that is not our codec: dropped for
                # everyone; aiortc's receiver after us gets an empty payload.
                self.red_malformed += 1
                packet.payload = b""
                return
            red = payload
            media_pt, payload = block
            # What runs after us (aiortc's receiver: jitter buffer, the taps' frames,
            # the recorder) sees the plain Opus packet the primary block is.
            packet.payload_type = media_pt
            packet.payload = payload
        elif what != MEDIA or not payload:
            return
        self.packets_in += 1
        self.bytes_in += len(payload)
        self.sec_packets += 1
        self.sec_bytes += len(payload)
        if self._h264:
            # An H.264 picture's first packets (SPS/PPS, then the IDR slice) all look
            # like starts: one timestamp is one picture, counted once. The gate opens at
            # any packet that starts an IDR (rtc/h264.py).
            start, keystart = h264_frame_start(payload)
            key = keystart
            if start:
                if packet.timestamp == self._h264_ts:
                    start = False
                else:
                    self._h264_ts = packet.timestamp
            if start and original:
                self.sec_frames += 1
                if key:
                    self.sec_keyframes += 1
                self._frame_started(key)
        elif self._video:
            start, key = vp8_frame_start(payload)
            keystart = start and key
            if start and original:  # a retransmitted frame start is not a new frame
                self.sec_frames += 1
                if key:
                    self.sec_keyframes += 1
                self._frame_started(key)
        else:
            start = keystart = True
            if original:
                self._frame_started(False)
            level = packet.extensions.audio_level  # (voice flag, -dBov) or None
            if level is not None and level[1] < self.sec_level:
                self.sec_level = level[1]
        if not self.forwarding:
            return
        ts: int = packet.timestamp
        marker: int = packet.marker
        self._cache[seq & (CACHE_PACKETS - 1)] = (seq, ts, marker, payload)
        sinks = self._sinks
        if not sinks:
            return
        now = self._clock.time()
        if red is not None:
            # Audio: every packet starts a frame, nothing waits for a keyframe.
            for sink in sinks:
                out = sink.out
                if out is not None and out.red_pt is not None:
                    data = red if out.pt == media_pt else red_retag(red, media_pt, out.pt)
                    if data is not None:
                        sink.forward(seq, ts, marker + RED_PT, data, True, now)
                        continue
                if payload:  # an empty primary (only earlier copies) is no Opus packet
                    sink.forward(seq, ts, marker, payload, True, now)
            return
        # Every slot in one call (C where built: rtc/wire.py); RED audio above stays
        # per slot, its payload differing by subscriber.
        if forward_all(sinks, seq, ts, marker, payload, keystart, now) and start and not keystart:
            self._relay.request()  # coalesced: at most one PLI per 500 ms

    def take_second(self) -> tuple[int, int, int, int, int | None]:
        """(packets, payload bytes, frames, keyframes, loudest level or None) since the
        last call, and start counting the next second."""
        out = (
            self.sec_packets,
            self.sec_bytes,
            self.sec_frames,
            self.sec_keyframes,
            None if self.sec_level == NO_LEVEL else self.sec_level,
        )
        self.sec_packets = self.sec_bytes = self.sec_frames = self.sec_keyframes = 0
        self.sec_level = NO_LEVEL
        return out

    def _learn_payload_type(self, pt: int) -> int:
        what = receiver_payload_kind(self._receiver, pt)
        if what:  # unknown types are asked again: the receiver may learn them later
            self._payload_types[pt] = what
        if what == MEDIA:
            codec = receiver_codec_name(self._receiver, pt)
            if codec != self.codec:
                self.codec = codec
                self._h264 = codec == "h264"
                for sink in self._sinks:
                    sink.select_codec()
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


class ForwardTrack(MediaStreamTrack, RtpMunger, SlotState):
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
        MediaStreamTrack.__init__(self)
        RtpMunger.__init__(
            self, video=kind == "video", clock_rate=CLOCK_RATES[kind], frame_step=FRAME_STEP[kind]
        )
        self.kind = kind
        self.source: Source | None = None
        self._sender: RTCRtpSender | None = None
        self._codecs: list[RTCRtpCodecParameters] = []
        self._egress: RtpOut | None = None  # ``out`` once the transport is up
        self._waiter: asyncio.Future[None] | None = None
        self._proxy: MediaStreamTrack | None = None  # reencode mode only
        # Until the sender first asks for a frame (its transport is up), packets would
        # only go nowhere: skip them quietly and ask for a keyframe then.
        self._started = False
        # The subscriber's receiver reports (evidence that what we forward arrives):
        # the highest extended sequence number they acknowledged, and this second's
        # confirmation, worst loss and jitter; plus what was sent when last sampled.
        self.rr_highest = -1
        self.sec_confirmed = False
        self.sec_loss = 0.0
        self.sec_jitter_ms = 0.0
        self._sampled = (0, 0)
        # The same reports (and the subscriber's REMB) for rtc/quality.py, taken by the
        # room twice a second (:meth:`take_report`), apart from the evidence's seconds.
        self._q_loss = LossWindow()
        self._q_jitter: float | None = None
        self._q_remb: float | None = None
        self.level = Level.FULL  # what this subscriber's link takes (video slots only)

    def use_sender(self, sender: RTCRtpSender, codecs: list[RTCRtpCodecParameters]) -> None:
        """The RTCRtpSender this slot sends as (its SSRC, transport, mid) and the
        negotiated codecs (the first one, and its RTX)."""
        self._sender = sender
        self._codecs = list(codecs)
        hook_nacks(sender, self._on_nack, self._on_report, self._on_remb)

    def attach(self, source: Source | None) -> None:
        if source is self.source:
            return
        self.detach()
        if source is not None:
            self.source = source
            self.restart()
            self.select_codec()
            if self.level == Level.AUDIO_ONLY:
                source.park(self)  # off the forward path until the link takes video
                return
            source.add_sink(self)
            if self._started:
                source.request_keyframe()

    def set_level(self, level: Level) -> None:
        """Forward at ``level`` (rtc/quality.py) from now on; video slots only.

        Audio only: the slot is parked at its source (:meth:`Source.park`): the forward
        path does not even see it (no per-packet cost). Back to video: it waits for a keyframe
        (:meth:`restart`: the next sequence number follows the last one sent, the
        timestamp moves on by the time that passed) and asks the publisher for one.
        Reduced: the instance's ``forward`` becomes :meth:`RtpMunger.forward_reduced`."""
        if level == self.level or self.kind != "video":
            return
        was = self.level
        self.level = level
        self._use_level()
        source = self.source
        if source is None:
            return
        if level == Level.AUDIO_ONLY:
            source.park(self)
            self.restart()
        elif was == Level.AUDIO_ONLY:
            self.restart()
            source.add_sink(self)
            if self._started:
                source.request_keyframe()

    def _use_level(self) -> None:
        """Reduced: the instance's ``forward`` thins VP8 by its N bit. Not H.264: its
        payload's first byte is a NAL header, whose 0x20 bit is NRI's (set on SPS, PPS
        and IDR slices), so an H.264 slot is forwarded whole at that level."""
        source = self.source
        if self.level == Level.REDUCED and (source is None or source.codec != "h264"):
            self.forward = self.forward_reduced  # type: ignore[method-assign]
        else:
            self.__dict__.pop("forward", None)

    def select_codec(self) -> None:
        """Send the source's codec under this slot's payload type for it; a slot that
        did not negotiate it sends nothing (``out`` is None) until the source changes."""
        self._use_level()
        egress, source = self._egress, self.source
        if egress is None or source is None or source.codec is None:
            return
        if egress.select(source.codec):
            self.out = egress
        else:
            if self.out is not None:
                log.info("a slot without %s cannot show %s's video", source.codec, source.person)
            self.out = None

    def detach(self) -> None:
        if self.source is not None:
            self.source.remove_sink(self)
            self.source = None
        self._proxy = None

    def restart(self) -> None:
        """Upstream changed: nothing decodes until the next keyframe."""
        RtpMunger.restart(self)
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

    # The forward path itself (:meth:`RtpMunger.forward`, once per publisher packet per
    # subscriber) and the NACK answers are the pure munger's; ``out`` is the RtpOut.

    def _on_nack(self, lost: list[int]) -> None:
        source = self.source
        if source is None:
            self.nacks_missed += len(lost)
            return
        self.answer_nack(lost, source.cached)

    def _on_report(self, fraction_lost: int, highest: int, jitter: int) -> None:
        """A receiver report block about this slot: it confirms delivery when it
        acknowledges a newer packet than the last one did."""
        if highest > self.rr_highest:  # a block exists only for a source heard from
            self.sec_confirmed = True
            self.rr_highest = highest
        loss = fraction_lost / 256
        jitter_ms = jitter * 1000 / CLOCK_RATES[self.kind]
        self.sec_loss = max(self.sec_loss, loss)
        self.sec_jitter_ms = max(self.sec_jitter_ms, jitter_ms)
        self._q_loss.add(fraction_lost, highest)
        self._q_jitter = max(self._q_jitter or 0.0, jitter_ms)

    def _on_remb(self, bitrate: int) -> None:
        self._q_remb = float(bitrate)

    def take_report(self) -> Report:
        """What the subscriber said about this slot since the last call (rtc/quality.py)."""
        out = Report(self._q_loss.take(), self._q_jitter, self._q_remb)
        self._q_jitter = self._q_remb = None
        return out

    def take_second(self) -> tuple[int, int, bool, float, float]:
        """(packets, bytes forwarded, confirmed, worst loss, worst jitter ms) since
        the last call, and start counting the next second."""
        packets, octets = self.packets_sent, self.octets_sent
        last_packets, last_octets = self._sampled
        self._sampled = (packets, octets)
        out = (
            packets - last_packets,
            octets - last_octets,
            self.sec_confirmed,
            self.sec_loss,
            self.sec_jitter_ms,
        )
        self.sec_confirmed = False
        self.sec_loss = self.sec_jitter_ms = 0.0
        return out

    def report(self) -> None:
        """Give aiortc's RTCP loop what it puts in this sender's SR (it never saw the
        packets): the NTP/RTP pair of the last packet, counts. Called every 0.5 s."""
        sender = self._sender
        if sender is None or self.last_ts is None:
            return
        ntp = int((self.last_time + NTP_EPOCH) * (1 << 32))
        set_sender_report(sender, ntp, self.last_ts, self.packets_sent, self.octets_sent)

    # -- the sender's side

    async def recv(self) -> Any:
        if not self._started:
            self._started = True
            if self._sender is not None and not REENCODE:
                self.out = self._egress = RtpOut.from_sender(self._sender, self._codecs)
                self.select_codec()
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
        self.out = self._egress = None
        waiter = self._waiter
        self._waiter = None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        super().stop()
