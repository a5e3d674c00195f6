"""Per-subscriber quality in the forward path (rtc/quality.py levels applied by
``ForwardTrack.set_level``): real aiortc receivers, slots sending into a Wire."""

from __future__ import annotations

import itertools

import pytest
from aiortc import RTCPeerConnection
from aiortc.rtp import RtpPacket

from rtc.clock import FakeClock
from rtc.fanout import ForwardTrack, Source
from rtc.quality import Level
from tests.rtc.test_forward import (
    OPUS,
    SSRC,
    VP8,
    Changes,
    Wire,
    feed,
    frames_of,
    pc,
    started,
    started_receiver,
    vp8_frames,
    whole,
)

pytestmark = pytest.mark.timeout(20)
__all__ = ["pc"]  # the fixture, shared with test_forward


async def feed_audio(receiver: object, count: int, seq: int, ts: int) -> None:
    for i in range(count):
        packet = RtpPacket(payload_type=96, sequence_number=seq + i, timestamp=ts + 960 * i)
        packet.ssrc = SSRC + 1
        packet.payload = b"\xfc\xff\xfe" + bytes([i & 0xFF])  # a Opus frame's bytes
        await receiver._handle_rtp_packet(packet, arrival_time_ms=0)  # type: ignore[attr-defined]


def continuous(packets: list[RtpPacket]) -> bool:
    seqs = [p.sequence_number for p in packets]
    return seqs == [(seqs[0] + i) & 0xFFFF for i in range(len(seqs))]


async def test_audio_only_gets_audio_not_video_and_resumes_at_a_keyframe(
    pc: RTCPeerConnection,
) -> None:
    clock = FakeClock()
    video = Source("teacher", "video", clock, Changes())
    audio = Source("teacher", "audio", clock, Changes())
    vreceiver, vparams = await started_receiver(pc, "video", VP8)
    areceiver, aparams = await started_receiver(pc, "audio", OPUS)
    for source, receiver in ((video, vreceiver), (audio, areceiver)):
        source.set_forwarding(True)
        source.bind(receiver)
    await vreceiver.receive(vparams)
    await areceiver.receive(aparams)
    vwire, awire = Wire(), Wire()
    vslot = await started(ForwardTrack("video"), vwire)
    aslot = await started(ForwardTrack("audio"), awire)
    vslot.attach(video)
    aslot.attach(audio)
    frames = vp8_frames(30, keyframes=(0, 20))
    sizes = [len(f) for f in frames]
    at = [1000 + sum(sizes[:i]) for i in range(len(frames) + 1)]

    await feed(vreceiver, frames[:5])
    await feed_audio(areceiver, 10, seq=500, ts=0)
    before = vwire.media()
    assert frames_of(before) == [whole(f) for f in frames[:5]]

    vslot.set_level(Level.AUDIO_ONLY)
    aslot.set_level(Level.AUDIO_ONLY)  # audio slots ignore levels: audio is never dropped
    assert video.subscribers == 0 and audio.subscribers == 1
    await feed(vreceiver, frames[5:12], seq=at[5], ts=5000 + 15000)
    await feed_audio(areceiver, 50, seq=510, ts=9600)
    assert vwire.media() == before  # no video at all while audio only
    assert len(awire.media()) == 60 and continuous(awire.media())

    asked = video.pli_requested
    vslot.set_level(Level.FULL)
    assert video.pli_requested == asked + 1  # the publisher is asked for a keyframe
    await feed(vreceiver, frames[12:], seq=at[12], ts=5000 + 36000)
    after = vwire.media()[len(before) :]
    # Frames 12..19 are deltas the subscriber could not decode: it resumes at 20.
    assert frames_of(after) == [whole(f) for f in frames[20:]]
    assert after[0].sequence_number == (before[-1].sequence_number + 1) & 0xFFFF
    assert continuous(vwire.media())
    ts = [p.timestamp for p in vwire.media()]
    assert all((b - a) & 0xFFFFFFFF < 1 << 31 for a, b in itertools.pairwise(ts))


async def test_a_slot_attached_while_audio_only_stays_off_the_source(
    pc: RTCPeerConnection,
) -> None:
    video = Source("teacher", "video", FakeClock(), Changes())
    video.set_forwarding(True)
    slot = await started(ForwardTrack("video"), Wire())
    slot.set_level(Level.AUDIO_ONLY)
    slot.attach(video)  # the stage moved to someone else meanwhile
    assert video.subscribers == 0 and slot.source is video
    slot.set_level(Level.REDUCED)
    assert video.subscribers == 1


async def test_reduced_leaves_out_non_reference_frames_without_a_gap(
    pc: RTCPeerConnection,
) -> None:
    receiver, params = await started_receiver(pc, "video", VP8)
    video = Source("teacher", "video", FakeClock(), Changes())
    video.set_forwarding(True)
    video.bind(receiver)
    await receiver.receive(params)
    wire = Wire()
    slot = await started(ForwardTrack("video"), wire)
    slot.attach(video)
    slot.set_level(Level.REDUCED)
    frames = vp8_frames(9)
    # Mark every odd frame non-reference (the descriptor's N bit), as a VP8 encoder
    # with temporal layers does for its upper layer.
    frames = [
        [bytes([p[0] | 0x20]) + p[1:] for p in f] if i % 2 else f for i, f in enumerate(frames)
    ]
    await feed(receiver, frames)
    assert frames_of(wire.media()) == [whole(f) for f in frames[::2]]
    assert slot.frames_thinned == 4
    assert continuous(wire.media())
    slot.set_level(Level.FULL)
    assert "forward" not in slot.__dict__  # a full slot runs the plain path again


async def test_a_parked_slot_is_detached_when_its_source_closes(pc: RTCPeerConnection) -> None:
    video = Source("teacher", "video", FakeClock(), Changes())
    video.set_forwarding(True)
    slot = await started(ForwardTrack("video"), Wire())
    slot.attach(video)
    slot.set_level(Level.AUDIO_ONLY)
    video.close()  # the teacher stopped publishing: a new source will come
    assert slot.source is None
