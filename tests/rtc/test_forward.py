"""The forward path's pieces, through real aiortc objects but without a network:
RTP packets go straight into a real RTCRtpReceiver whose decoder queue is tapped."""

from __future__ import annotations

import asyncio
import fractions
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

from rtc import forward
from rtc.clock import FakeClock
from rtc.forward import ForwardPacker, ForwardTrack, Source

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


async def started(track: ForwardTrack) -> ForwardTrack:
    """As if its RTCRtpSender were running: it asked for a first frame."""
    waiting = asyncio.ensure_future(track.recv())
    await asyncio.sleep(0)
    waiting.cancel()
    return track


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
    for payloads in frames:
        for i, payload in enumerate(payloads):
            packet = RtpPacket(payload_type=97, sequence_number=seq, timestamp=ts, ssrc=SSRC)
            packet.payload = payload
            packet.marker = int(i == len(payloads) - 1)
            await receiver._handle_rtp_packet(packet, arrival_time_ms=0)
            seq += 1
        ts += 3000


def test_the_pinned_aiortc_has_every_internal_we_use() -> None:
    assert aiortc.__version__ == forward.AIORTC_VERSION
    forward.check_aiortc()


def test_keyframe_detection_on_real_vp8() -> None:
    frames = vp8_frames(4, keyframes=(0, 2))
    assert [forward.is_keyframe("VP8", whole(f)) for f in frames] == [True, False, True, False]
    assert forward.is_keyframe("opus", b"\x01")
    assert forward.is_keyframe("H264", b"\x00\x00\x00\x01\x67\x42" + b"\x00\x00\x01\x65\x88")
    assert not forward.is_keyframe("H264", b"\x00\x00\x00\x01\x41\x9a")


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


async def test_receiver_frames_reach_every_sink_without_a_decoder(pc: RTCPeerConnection) -> None:
    receiver, params = await started_receiver(pc, "video", VP8)
    changes = Changes()
    source = Source("A", "video", FakeClock(), changes)
    source.set_forwarding(True)
    sinks = [await started(ForwardTrack("video")), await started(ForwardTrack("video"))]
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
    for sink in sinks:
        got = [await sink.recv() for _ in range(4)]  # the 5th waits for a 6th's first packet
        assert [bytes(p) for p in got] == [whole(f) for f in frames[:4]]
        assert [p.is_keyframe for p in got] == [True, False, False, False]
        assert [int(p.pts or 0) - int(got[0].pts or 0) for p in got] == [0, 3000, 6000, 9000]
        assert got[0].time_base == fractions.Fraction(1, 90000)
    assert source.frames_in == 4 and source.keyframes_in == 1

    await receiver.stop()  # aiortc stops its "decoder": the track ended
    assert changes.log == [("video", True), ("video", False)]
    assert not source.bound


async def test_a_new_sink_waits_for_a_keyframe_and_an_overflow_restarts_at_one(
    pc: RTCPeerConnection,
) -> None:
    receiver, params = await started_receiver(pc, "video", VP8)
    source = Source("A", "video", FakeClock(), Changes())
    source.set_forwarding(True)
    source.bind(receiver)
    await receiver.receive(params)
    early = await started(ForwardTrack("video"))
    early.attach(source)
    frames = vp8_frames(40, keyframes=(0, 30))
    await feed(receiver, frames[:5])  # frames 0..3 out
    assert early.queued == 4
    asked = source.pli_requested
    late = await started(ForwardTrack("video"))  # joins mid-stream: asks for a keyframe
    late.attach(source)
    assert source.pli_requested == asked + 1
    await feed(receiver, frames[5:], seq=1000 + sum(len(f) for f in frames[:5]), ts=5000 + 15000)
    # Nobody read: early overflowed at 10 frames, dropped everything and, like late,
    # restarted at the next keyframe (30); frames 30..38 are out, 39 waits for a successor.
    for track in (early, late):
        got = [await track.recv() for _ in range(track.queued)]
        assert [bytes(p) for p in got] == [whole(f) for f in frames[30:39]]
        assert got[0].is_keyframe
    assert late.frames_dropped == 26 and early.frames_dropped == 30
    assert source.pli_requested > asked + 1  # waiting slots kept asking (coalesced upstream)
    assert source.keyframes_in == 2


async def test_a_reading_sink_is_not_held_back_by_a_stuck_one(pc: RTCPeerConnection) -> None:
    receiver, params = await started_receiver(pc, "audio", OPUS)
    source = Source("A", "audio", FakeClock(), Changes())
    source.set_forwarding(True)
    source.bind(receiver)
    await receiver.receive(params)
    reader, stuck = ForwardTrack("audio"), await started(ForwardTrack("audio"))
    reader.attach(source)
    stuck.attach(source)
    received = 0

    async def read() -> None:
        nonlocal received
        while True:
            await reader.recv()
            received += 1

    task = asyncio.ensure_future(read())
    for i in range(300):  # 6 s of Opus, as fast as it comes
        packet = RtpPacket(payload_type=96, sequence_number=i, timestamp=960 * i, ssrc=SSRC)
        packet.payload = bytes([0xFC, i % 256])
        await receiver._handle_rtp_packet(packet, arrival_time_ms=0)
        await asyncio.sleep(0)
    await asyncio.sleep(0)
    task.cancel()
    assert received == 299  # every whole frame (the last waits for its successor)
    assert stuck.queued == forward.QUEUE_FRAMES["audio"]  # oldest dropped, bounded
    assert stuck.frames_dropped == 299 - forward.QUEUE_FRAMES["audio"]
    newest = [bytes(await stuck.recv())[1] for _ in range(stuck.queued)]
    assert newest == [i % 256 for i in range(299 - forward.QUEUE_FRAMES["audio"], 299)]


async def test_revoked_source_forwards_nothing_and_idle_media_goes_down(
    pc: RTCPeerConnection,
) -> None:
    clock = FakeClock()
    receiver, params = await started_receiver(pc, "video", VP8)
    changes = Changes()
    source = Source("A", "video", clock, changes)
    source.bind(receiver)
    await receiver.receive(params)
    sink = await started(ForwardTrack("video"))
    sink.attach(source)
    frames = vp8_frames(6)
    await feed(receiver, frames[:3])
    assert changes.log == [] and sink.queued == 0 and source.frames_in == 2  # not granted
    source.set_forwarding(True)
    await feed(receiver, frames[3:], seq=2000, ts=100000)
    assert changes.log == [("video", True)]
    clock.advance(2.9)
    source.check_idle(clock.monotonic(), 3.0)
    assert changes.log == [("video", True)]
    clock.advance(0.2)
    source.check_idle(clock.monotonic(), 3.0)
    assert changes.log == [("video", True), ("video", False)]


async def test_timestamps_go_forward_across_a_reconnect(pc: RTCPeerConnection) -> None:
    clock = FakeClock()
    source = Source("A", "video", clock, Changes())
    source.set_forwarding(True)
    sink = await started(ForwardTrack("video"))
    sink.attach(source)
    frames = vp8_frames(8, keyframes=(0, 4))
    first, params = await started_receiver(pc, "video", VP8)
    source.bind(first)
    await first.receive(params)
    await feed(first, frames[:4])
    before = [int((await sink.recv()).pts or 0) for _ in range(sink.queued)]
    clock.advance(2.0)  # the publisher's browser reconnects; its new stream starts over
    second, params = await started_receiver(pc, "video", VP8)
    source.bind(second)
    await second.receive(params)
    await feed(second, frames[4:], seq=7, ts=0)
    after = [int((await sink.recv()).pts or 0) for _ in range(sink.queued)]
    assert after and after[0] > before[-1]
    assert after == sorted(after)


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
    assert slot.queued == 0 and slot.frames_dropped == 0 and source.pli_requested == 0
    first = asyncio.ensure_future(slot.recv())  # the transport is up: the sender asks
    await asyncio.sleep(0)
    assert source.pli_requested == 1
    await feed(receiver, frames[20:], seq=5000, ts=900000)  # no keyframe among them
    assert not first.done()
    first.cancel()
