"""The forward path's pieces, through real aiortc objects but without a network:
RTP packets go straight into a real RTCRtpReceiver (decoder queue tapped, RTP hooked),
and each subscriber slot sends into a :class:`Wire` instead of SRTP and a socket."""

from __future__ import annotations

import asyncio
import fractions
import itertools
from collections.abc import AsyncIterator
from typing import Any

import aiortc
import av
import numpy as np
import pytest
from aiortc import RTCPeerConnection
from aiortc.codecs.vpx import Vp8Encoder, vp8_depayload
from aiortc.rtcrtpparameters import (
    RTCRtpCodecParameters,
    RTCRtpDecodingParameters,
    RTCRtpReceiveParameters,
)
from aiortc.rtcrtpreceiver import RemoteStreamTrack
from aiortc.rtp import RtpPacket

from rtc import forward, payloads, red
from rtc.clock import FakeClock
from rtc.fanout import ForwardTrack, Source
from rtc.forward import ForwardPacker

pytestmark = pytest.mark.timeout(20)

VP8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=97)
OPUS = RTCRtpCodecParameters(mimeType="audio/opus", clockRate=48000, channels=2, payloadType=96)
SSRC = 4242


def vp8_frames(count: int, keyframes: tuple[int, ...] = (0,)) -> list[list[bytes]]:
    """RTP payloads of ``count`` real VP8 frames (keyframes where asked)."""
    encoder = Vp8Encoder()
    out = []
    for i in range(count):
        plane = np.full((120 * 3 // 2, 160), 16 + i % 200, dtype=np.uint8)
        frame = av.VideoFrame.from_ndarray(plane, format="yuv420p")
        frame.pts = i * 3000
        frame.time_base = fractions.Fraction(1, 90000)
        payloads, _ = encoder.encode(frame, force_keyframe=i in keyframes)
        out.append(payloads)
    return out


class Wire:
    """What a slot's RtpOut sends into instead of aioice's socket: packets kept, parsed
    (no SRTP here)."""

    def __init__(self) -> None:
        self.sent: list[RtpPacket] = []
        self.full = False  # as a socket whose kernel send buffer is full

    def sendto(self, data: bytes, addr: Any) -> None:
        if self.full:
            raise BlockingIOError
        self.sent.append(RtpPacket.parse(data))

    def get_extra_info(self, name: str) -> None:
        return None  # no socket: RtpOut sends through sendto() above

    def media(self) -> list[RtpPacket]:
        return [p for p in self.sent if p.payload_type == 100]


async def started(track: ForwardTrack, wire: Wire | None = None) -> ForwardTrack:
    """As if its RTCRtpSender were running (it asked for a first frame), sending as
    SSRC 77 (RTX: 78) with payload types 100 (RTX: 101) into ``wire``."""
    waiting = asyncio.ensure_future(track.recv())
    await asyncio.sleep(0)
    waiting.cancel()
    track.out = forward.RtpOut(
        ssrc=77, pt=100, rtx_ssrc=78, rtx_pt=101, extension=b"", protect=bytes,
        transport=wire or Wire(), addr=None,
    )
    return track


def frames_of(packets: list[RtpPacket]) -> list[bytes]:
    """Whole frames (depayloaded) from a slot's packets, split at the marker bit."""
    out, current = [], b""
    for p in packets:
        current += vp8_depayload(p.payload)
        if p.marker:
            out.append(current)
            current = b""
    return out


def whole(payloads: list[bytes]) -> bytes:
    return b"".join(vp8_depayload(p) for p in payloads)


class Changes:
    def __init__(self) -> None:
        self.log: list[tuple[str, bool]] = []

    def __call__(self, source: Source, up: bool) -> None:
        self.log.append((source.kind, up))


@pytest.fixture
async def pc() -> AsyncIterator[RTCPeerConnection]:
    peer = RTCPeerConnection()  # no offer, no gathering: nothing touches the network
    yield peer
    await peer.close()


async def started_receiver(pc: RTCPeerConnection, kind: str, codec: RTCRtpCodecParameters) -> Any:
    receiver = pc.addTransceiver(kind, direction="recvonly").receiver
    receiver._track = RemoteStreamTrack(kind=kind)  # what setRemoteDescription does
    encoding = RTCRtpDecodingParameters(ssrc=SSRC, payloadType=int(codec.payloadType or 0))
    return receiver, RTCRtpReceiveParameters(codecs=[codec], encodings=[encoding])


async def feed(receiver: Any, frames: list[list[bytes]], seq: int = 1000, ts: int = 5000) -> None:
    """Each frame's payloads as RTP packets, then the next frame's first packet pushes it out
    of the jitter buffer."""
    for frame in frames:
        for i, payload in enumerate(frame):
            packet = RtpPacket(payload_type=97, sequence_number=seq, timestamp=ts, ssrc=SSRC)
            packet.payload = payload
            packet.marker = int(i == len(frame) - 1)
            await receiver._handle_rtp_packet(packet, arrival_time_ms=0)
            seq += 1
        ts += 3000


def test_the_pinned_aiortc_has_every_internal_we_use() -> None:
    assert aiortc.__version__ == forward.AIORTC_VERSION
    forward.check_aiortc()


def test_keyframe_detection_on_real_vp8() -> None:
    frames = vp8_frames(4, keyframes=(0, 2))
    assert [payloads.is_keyframe("VP8", whole(f)) for f in frames] == [True, False, True, False]
    assert payloads.is_keyframe("opus", b"\x01")
    assert payloads.is_keyframe("H264", b"\x00\x00\x00\x01\x67\x42" + b"\x00\x00\x01\x65\x88")
    assert not payloads.is_keyframe("H264", b"\x00\x00\x00\x01\x41\x9a")


def test_packer_packetises_like_aiortc_and_never_encodes() -> None:
    data = bytes(range(256)) * 20  # big enough to span several packets
    packet = av.Packet(data)
    packet.pts = 123456
    packer = ForwardPacker("VP8")
    payloads, timestamp = packer.pack(packet)
    assert timestamp == 123456 and len(payloads) > 1
    assert whole(payloads) == data
    assert all(len(p) <= 1300 for p in payloads)
    assert packer.pack(av.Packet(b""))[0] == []  # nothing to send
    opus = ForwardPacker("opus")
    assert opus.pack(packet)[0] == [data]
    with pytest.raises(RuntimeError):
        packer.encode(None)


async def test_publisher_packets_reach_every_slot_rewritten_without_a_decoder(
    pc: RTCPeerConnection,
) -> None:
    receiver, params = await started_receiver(pc, "video", VP8)
    changes = Changes()
    source = Source("A", "video", FakeClock(), changes)
    source.set_forwarding(True)
    wires = [Wire(), Wire()]
    sinks = [await started(ForwardTrack("video"), w) for w in wires]
    for sink in sinks:
        sink.attach(source)
    source.bind(receiver)
    await receiver.receive(params)  # starts aiortc's decoder thread: it must end at once
    thread = receiver._RTCRtpReceiver__decoder_thread
    thread.join(timeout=2)
    assert not thread.is_alive()

    frames = vp8_frames(5)
    await feed(receiver, frames)
    assert changes.log == [("video", True)]
    for wire in wires:
        sent = wire.media()
        # Every packet went out at once (no frame waits for its successor), payloads
        # untouched: one parse per publisher packet, no depayload/re-packetise.
        assert [p.payload for p in sent] == [x for f in frames for x in f]
        assert frames_of(sent) == [whole(f) for f in frames]
        assert {p.ssrc for p in sent} == {77}
        seqs = [p.sequence_number for p in sent]
        assert seqs == [(seqs[0] + i) & 0xFFFF for i in range(len(seqs))]
        starts = [p.timestamp for p in sent if payloads.vp8_frame_start(p.payload)[0]]
        assert [(t - starts[0]) & 0xFFFFFFFF for t in starts] == [0, 3000, 6000, 9000, 12000]
    assert sinks[0].frames_sent == 5 and sinks[0].packets_sent == sum(len(f) for f in frames)
    # Frames counted at their first packet; none was made: with no tap attached the
    # packets never reach aiortc's depayloader and jitter buffer.
    assert source.frames_in == 5 and source.keyframes_in == 1
    assert receiver._RTCRtpReceiver__jitter_buffer._origin is None

    await receiver.stop()  # aiortc stops its "decoder": the track ended
    assert changes.log == [("video", True), ("video", False)]
    assert not source.bound


async def test_a_new_slot_waits_for_a_keyframe_and_a_full_one_restarts_at_one(
    pc: RTCPeerConnection,
) -> None:
    receiver, params = await started_receiver(pc, "video", VP8)
    source = Source("A", "video", FakeClock(), Changes())
    source.set_forwarding(True)
    source.bind(receiver)
    await receiver.receive(params)
    early_wire, late_wire = Wire(), Wire()
    early = await started(ForwardTrack("video"), early_wire)
    early.attach(source)
    frames = vp8_frames(40, keyframes=(0, 20, 30))
    sizes = [len(f) for f in frames]
    await feed(receiver, frames[:5])
    assert frames_of(early_wire.media()) == [whole(f) for f in frames[:5]]
    asked = source.pli_requested
    late = await started(ForwardTrack("video"), late_wire)  # joins mid-stream: asks
    late.attach(source)
    assert source.pli_requested == asked + 1
    await feed(receiver, frames[5:15], seq=1000 + sum(sizes[:5]), ts=5000 + 15000)
    early_wire.full = True  # early's socket is full from frame 15
    await feed(receiver, frames[15:25], seq=1000 + sum(sizes[:15]), ts=5000 + 45000)
    early_wire.full = False  # and drains; frames 25..29 are not keyframes
    await feed(receiver, frames[25:], seq=1000 + sum(sizes[:25]), ts=5000 + 75000)

    assert frames_of(late_wire.media()) == [whole(f) for f in frames[20:]]
    assert late.frames_dropped == 15  # frames 5..19 (it attached after frame 4)
    # early: everything up to 14, the keyframe at 20 was dropped too (full), so it
    # resumed at 30 — with no gap in its sequence numbers, the subscriber sees none.
    assert frames_of(early_wire.media()) == [whole(f) for f in frames[:15] + frames[30:]]
    assert early.frames_dropped == 15
    seqs = [p.sequence_number for p in early_wire.media()]
    assert seqs == [(seqs[0] + i) & 0xFFFF for i in range(len(seqs))]
    ts = [p.timestamp for p in early_wire.media()]
    assert all(0 < (b - a) & 0xFFFFFFFF < 1 << 31 or a == b for a, b in itertools.pairwise(ts))
    assert source.pli_requested > asked + 1  # waiting slots kept asking (coalesced upstream)


async def test_a_full_slot_does_not_hold_back_the_others(pc: RTCPeerConnection) -> None:
    receiver, params = await started_receiver(pc, "audio", OPUS)
    source = Source("A", "audio", FakeClock(), Changes())
    source.set_forwarding(True)
    source.bind(receiver)
    await receiver.receive(params)
    good, full = Wire(), Wire()
    full.full = True
    reader, stuck = await started(ForwardTrack("audio"), good), await started(
        ForwardTrack("audio"), full
    )
    reader.attach(source)
    stuck.attach(source)
    for i in range(300):  # 6 s of Opus, as fast as it comes
        packet = RtpPacket(payload_type=96, sequence_number=i, timestamp=960 * i, ssrc=SSRC)
        packet.payload = bytes([0xFC, i % 256])
        await receiver._handle_rtp_packet(packet, arrival_time_ms=0)
    assert [p.payload[1] for p in good.media()] == [i % 256 for i in range(300)]
    assert full.sent == [] and stuck.frames_dropped == 300


async def test_nacks_are_answered_as_rtx_from_the_cache(pc: RTCPeerConnection) -> None:
    receiver, params = await started_receiver(pc, "video", VP8)
    source = Source("A", "video", FakeClock(), Changes())
    source.set_forwarding(True)
    source.bind(receiver)
    await receiver.receive(params)
    wire = Wire()
    slot = await started(ForwardTrack("video"), wire)
    slot.attach(source)
    await feed(receiver, vp8_frames(3))
    sent = wire.media()
    lost = [sent[1].sequence_number, (sent[-1].sequence_number + 5) & 0xFFFF]  # + unknown
    slot._on_nack(lost)
    (rtx,) = [p for p in wire.sent if p.payload_type == 101]
    assert rtx.ssrc == 78 and rtx.timestamp == sent[1].timestamp
    assert rtx.payload == sent[1].sequence_number.to_bytes(2, "big") + sent[1].payload
    assert (slot.nacks_answered, slot.nacks_missed) == (1, 1)


async def test_revoked_source_forwards_nothing_and_idle_media_goes_down(
    pc: RTCPeerConnection,
) -> None:
    clock = FakeClock()
    receiver, params = await started_receiver(pc, "video", VP8)
    changes = Changes()
    source = Source("A", "video", clock, changes)
    source.bind(receiver)
    await receiver.receive(params)
    wire = Wire()
    sink = await started(ForwardTrack("video"), wire)
    sink.attach(source)
    frames = vp8_frames(6)
    await feed(receiver, frames[:3])
    assert changes.log == [] and wire.sent == [] and source.frames_in == 3  # not granted
    source.set_forwarding(True)
    await feed(receiver, frames[3:], seq=2000, ts=100000)
    assert changes.log == [("video", True)]
    clock.advance(2.9)
    source.check_idle(clock.monotonic(), 3.0)
    assert changes.log == [("video", True)]
    clock.advance(0.2)
    source.check_idle(clock.monotonic(), 3.0)
    assert changes.log == [("video", True), ("video", False)]


async def test_sequence_numbers_and_timestamps_continue_across_a_reconnect(
    pc: RTCPeerConnection,
) -> None:
    clock = FakeClock()
    source = Source("A", "video", clock, Changes())
    source.set_forwarding(True)
    wire = Wire()
    sink = await started(ForwardTrack("video"), wire)
    sink.attach(source)
    frames = vp8_frames(8, keyframes=(0, 4))
    first, params = await started_receiver(pc, "video", VP8)
    source.bind(first)
    await first.receive(params)
    await feed(first, frames[:4])
    before = wire.media()
    await asyncio.sleep(0.1)  # the publisher's browser reconnects; its new stream starts over
    second, params = await started_receiver(pc, "video", VP8)
    source.bind(second)
    await second.receive(params)
    await feed(second, frames[4:], seq=7, ts=0)
    after = wire.media()[len(before):]
    assert frames_of(after) == [whole(f) for f in frames[4:]]
    assert after[0].sequence_number == (before[-1].sequence_number + 1) & 0xFFFF
    gap = (after[0].timestamp - before[-1].timestamp) & 0xFFFFFFFF
    assert 3000 <= gap < 90000  # forward by at least a frame, by about the time that passed


async def test_a_slot_whose_sender_has_not_started_stays_quiet(pc: RTCPeerConnection) -> None:
    """Attached at answer time, before ICE+DTLS: no stale frames, no keyframe requests."""
    receiver, params = await started_receiver(pc, "video", VP8)
    source = Source("A", "video", FakeClock(), Changes())
    source.set_forwarding(True)
    source.bind(receiver)
    await receiver.receive(params)
    slot = ForwardTrack("video")
    slot.attach(source)
    frames = vp8_frames(30, keyframes=(0,))
    await feed(receiver, frames[:20])
    assert slot.packets_sent == 0 and slot.frames_dropped == 0 and source.pli_requested == 0
    first = asyncio.ensure_future(slot.recv())  # the transport is up: the sender asks
    await asyncio.sleep(0)
    assert source.pli_requested == 1
    await feed(receiver, frames[20:], seq=5000, ts=900000)  # no keyframe among them
    assert not first.done()
    first.cancel()


RED_CODEC = RTCRtpCodecParameters(
    mimeType="audio/red", clockRate=48000, channels=2, payloadType=63,
    parameters={"96/96": None},
)


async def test_red_goes_as_is_to_red_slots_and_as_its_primary_to_the_others(
    pc: RTCPeerConnection,
) -> None:
    """A publisher sending RED (PT 63 around Opus PT 96): a slot that negotiated RED
    with the same Opus PT gets the payload unchanged, one whose Opus PT is 109 gets the
    block headers renumbered, one without RED gets the primary block as plain Opus; a
    malformed packet reaches nobody and raises nothing; the receiver behind (the taps'
    frames) sees plain Opus."""
    receiver, params = await started_receiver(pc, "audio", OPUS)
    params.codecs = [RED_CODEC, OPUS]
    source = Source("A", "audio", FakeClock(), Changes())
    source.set_forwarding(True)
    source.bind(receiver)
    await receiver.receive(params)
    wires = {"red": Wire(), "red109": Wire(), "plain": Wire()}
    tracks = {name: await started(ForwardTrack("audio"), wire) for name, wire in wires.items()}
    tracks["red"].out = forward.RtpOut(
        ssrc=77, pt=100, rtx_ssrc=78, rtx_pt=None, extension=b"", protect=bytes,
        transport=wires["red"], addr=None, red_pt=102,
    )
    # This subscriber's browser numbered Opus 96 too: RED blocks keep naming 96.
    tracks["red"].out.pt = 96
    tracks["red"].out.pt_marker = (96, 96 | 0x80, 102, 102 | 0x80)
    tracks["red109"].out = forward.RtpOut(
        ssrc=79, pt=109, rtx_ssrc=80, rtx_pt=None, extension=b"", protect=bytes,
        transport=wires["red109"], addr=None, red_pt=63,
    )
    for track in tracks.values():
        track.attach(source)
    frames: list[bytes] = []

    class Tap:
        def frame(self, person: str, kind: str, codec: str, packet: Any, key: bool) -> None:
            frames.append(bytes(packet))

    source.taps = (Tap(),)
    sent = [
        red.encode([], (96, b"\xfc\x01")),
        red.encode([(96, 960, b"\xfc\x01")], (96, b"\xfc\x02")),
        bytes.fromhex("e00f0005e0"),  # malformed: a block longer than the payload
        red.encode([(96, 960, b"\xfc\x02")], (96, b"\xfc\x03")),
        red.encode([(96, 960, b"\xfc\x03")], (96, b"\xfc\x04")),
    ]
    for i, payload in enumerate(sent):
        packet = RtpPacket(payload_type=63, sequence_number=i, timestamp=960 * i, ssrc=SSRC)
        packet.payload = payload
        await receiver._handle_rtp_packet(packet, arrival_time_ms=0)
    good = [p for i, p in enumerate(sent) if i != 2]
    assert [(p.payload_type, p.payload) for p in wires["red"].sent] == [(102, p) for p in good]
    assert [(p.payload_type, p.payload) for p in wires["red109"].sent] == [
        (63, red.retag(p, 96, 109)) for p in good
    ]
    assert wires["red109"].sent[1].payload == bytes.fromhex("ed0f0002" "6d" "fc01" "fc02")
    assert [(p.payload_type, p.payload) for p in wires["plain"].sent] == [
        (100, bytes([0xFC, n])) for n in (1, 2, 3, 4)
    ]
    # The dropped packet is a gap, as if lost on the way (Opus FEC and the browser's
    # concealment cover it; audio is never NACKed).
    seqs = [p.sequence_number for p in wires["plain"].sent]
    assert [(s - seqs[0]) & 0xFFFF for s in seqs] == [0, 1, 3, 4]
    assert (source.red_in, source.red_malformed) == (5, 1)
    assert frames[:3] == [b"\xfc\x01", b"\xfc\x02", b"\xfc\x03"]  # one frame late


async def test_frames_are_made_only_while_a_tap_takes_them(pc: RTCPeerConnection) -> None:
    receiver, params = await started_receiver(pc, "video", VP8)
    source = Source("A", "video", FakeClock(), Changes())
    source.set_forwarding(True)
    source.bind(receiver)
    await receiver.receive(params)
    made: list[tuple[bytes, bool]] = []

    class Tap:
        def frame(self, person: str, kind: str, codec: str, packet: Any, key: bool) -> None:
            made.append((bytes(packet), key))

    frames = vp8_frames(9, keyframes=(0, 3, 6))
    sizes = [len(f) for f in frames]
    await feed(receiver, frames[:3])
    source.taps = (Tap(),)  # recording starts
    await feed(receiver, frames[3:6], seq=1000 + sum(sizes[:3]), ts=5000 + 9000)
    source.taps = ()  # and stops
    await feed(receiver, frames[6:], seq=1000 + sum(sizes[:6]), ts=5000 + 18000)
    # The jitter buffer hands a frame out when the next one starts: frames 3 and 4
    # while tapped (5 waits for a packet that the tap no longer asks for).
    assert made == [(whole(frames[3]), True), (whole(frames[4]), False)]
    assert source.frames_in == 9 and source.keyframes_in == 3


def rtp_stream(count: int, lost: tuple[int, ...]) -> list[RtpPacket]:
    """VP8-ish packets with abs-send-time (so the REMB estimator runs), a few lost."""
    out = []
    for i in range(count):
        if i in lost:
            continue
        packet = RtpPacket(payload_type=97, sequence_number=(65530 + i) & 0xFFFF,
                           timestamp=3000 * (i // 3), ssrc=SSRC, marker=int(i % 3 == 2))
        packet.payload = bytes([0x10 if i % 3 == 0 else 0x00, i % 256]) + bytes(1000)
        packet.extensions.abs_send_time = (i * 5 * 262) & 0xFFFFFF  # ~5 ms apart, 6.18 fixed
        out.append(packet)
    return out


async def test_receiving_without_frames_leaves_aiortcs_state_as_aiortc_would() -> None:
    """:func:`forward.receive_without_frames` is aiortc's ``_handle_rtp_packet`` minus
    the frame making: the same statistics (receiver reports), the same NACKs and REMB
    sent, on the same packets, through a real receiver each."""
    sent: dict[str, list[Any]] = {"aiortc": [], "ours": []}
    state = {}
    for name in sent:
        peer = RTCPeerConnection()
        receiver, _params = await started_receiver(peer, "video", VP8)
        receiver._enabled = True
        receiver._set_rtcp_ssrc(1234)
        receiver._RTCRtpReceiver__codecs = {97: VP8}

        async def capture(packet: Any, _name: str = name) -> None:
            sent[_name].append(bytes(packet))

        receiver._send_rtcp = capture
        for i, packet in enumerate(rtp_stream(2000, lost=(7, 8, 100, 250, 1500))):
            if name == "aiortc":
                await receiver._handle_rtp_packet(packet, arrival_time_ms=1000 + 5 * i)
            else:
                await forward.receive_without_frames(receiver, packet, 1000 + 5 * i)
        stats = receiver._RTCRtpReceiver__remote_streams[SSRC]
        state[name] = (
            stats.packets_received, stats.packets_lost, stats.max_seq, stats.cycles,
            sorted(receiver._RTCRtpReceiver__nack_generator.missing),
            list(receiver._RTCRtpReceiver__active_ssrc),
        )
        await peer.close()
    assert state["ours"] == state["aiortc"]
    # aiortc's own path also asks for a keyframe (PLI: PSFB, FMT 1) when its jitter
    # buffer loses a frame: that is the part left out, subscribers ask for their own.
    pli = [p for p in sent["aiortc"] if p[1] == 206 and p[0] & 0x1F == 1]
    assert pli and sent["ours"] == [p for p in sent["aiortc"] if p not in pli]
    assert {p[1] for p in sent["ours"]} == {205, 206}  # NACKs (RTPFB) and REMB (PSFB)
    assert state["ours"][0] > 0
