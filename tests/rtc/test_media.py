"""Real aiortc peers through a MediaRoom over 127.0.0.1: forwarding, events, keyframes."""

from __future__ import annotations

import asyncio
import itertools
import re
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import aiortc.rtcrtpreceiver
import aiortc.rtcrtpsender
import pytest
from aiortc.codecs.h264 import H264Encoder
from aiortc.codecs.opus import OpusEncoder
from aiortc.codecs.vpx import Vp8Encoder

from rtc import fanout, forward, wire
from rtc.clock import SystemClock
from rtc.contract import StreamInfo
from rtc.room import MediaRoom
from tests.rtc.clients import HEIGHT, LOOPBACK, WIDTH, Client, Events, PatternVideo, until

pytestmark = pytest.mark.timeout(30)

A_AUDIO, A_VIDEO = StreamInfo("A", "audio"), StreamInfo("A", "video")
AV = frozenset({"audio", "video"})


def server_senders(room: MediaRoom) -> list[Any]:
    return [
        t.sender
        for p in room._people.values()
        if p.pc is not None
        for t in p.pc.getTransceivers()
    ]


def candidate_hosts(sdp: str) -> set[str]:
    return {m.split()[4] for m in re.findall(r"a=candidate:(.*)", sdp)}


async def publisher_and(
    room: MediaRoom, client: Callable[..., Client], *subscribers: str
) -> tuple[Client, list[Client]]:
    room.set_publish("A", AV)
    a = client("A", audio=True, video=True)
    await a.negotiate()
    subs = []
    for name in subscribers:
        c = client(name)
        await c.negotiate(room.snapshot().streams_for(name))
        subs.append(c)
    return a, subs


# --------------------------------------------------------------------------- spies


@dataclass
class CodecSpy:
    encoders: list[tuple[Any, Any]] = field(default_factory=list)  # (sender, encoder)
    encodes: Counter[int] = field(default_factory=Counter)  # id(encoder) → encode() calls
    workers: list[bool] = field(default_factory=list)  # decoder threads: tapped?
    decoders: list[tuple[bool, str]] = field(default_factory=list)  # (server?, codec)


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> Iterator[CodecSpy]:
    found = CodecSpy()
    get_encoder = aiortc.rtcrtpsender.get_encoder  # type: ignore[attr-defined]

    def spying_get_encoder(codec: Any) -> Any:
        sender = sys._getframe(1).f_locals.get("self")  # RTCRtpSender._next_encoded_frame
        encoder = get_encoder(codec)
        found.encoders.append((sender, encoder))
        return encoder

    monkeypatch.setattr(aiortc.rtcrtpsender, "get_encoder", spying_get_encoder)
    for cls in (Vp8Encoder, OpusEncoder, H264Encoder):
        original = cls.encode

        def encode(self: Any, frame: Any, force: bool = False, _orig: Any = original) -> Any:
            found.encodes[id(self)] += 1
            return _orig(self, frame, force)

        monkeypatch.setattr(cls, "encode", encode)

    local = threading.local()
    worker = aiortc.rtcrtpreceiver.decoder_worker
    get_decoder = aiortc.rtcrtpreceiver.get_decoder  # type: ignore[attr-defined]

    def spying_worker(loop: Any, input_q: Any, output_q: Any, error: Any) -> None:
        local.server = isinstance(input_q, forward._DecoderQueueTap)
        found.workers.append(local.server)
        worker(loop, input_q, output_q, error)

    def spying_get_decoder(codec: Any) -> Any:
        found.decoders.append((getattr(local, "server", False), codec.name))
        return get_decoder(codec)

    monkeypatch.setattr(aiortc.rtcrtpreceiver, "decoder_worker", spying_worker)
    monkeypatch.setattr(aiortc.rtcrtpreceiver, "get_decoder", spying_get_decoder)
    yield found


# --------------------------------------------------------------------------- tests


async def test_two_subscribers_get_frames_and_no_server_codec_runs(
    room: MediaRoom, client: Callable[..., Client], spy: CodecSpy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    eager = Counter[str]()
    run_eagerly = forward.run_eagerly

    def counting(coro: Any) -> None:
        eager["packets"] += 1
        run_eagerly(coro)

    monkeypatch.setattr(forward, "run_eagerly", counting)
    a, (b, c) = await publisher_and(room, client, "B", "C")
    assert b.mapping == {"0": A_AUDIO, "1": A_VIDEO}
    for sub in (b, c):

        def decoded(sub: Client = sub) -> bool:
            return sub.frames("A", "video") >= 45 and sub.frames("A", "audio") >= 60

        await until(decoded, 10, f"{sub.name} decoding A")
        assert sub.received[sub.mid_of("A", "video")].sizes == {(WIDTH, HEIGHT)}

    # Loopback only, both directions.
    for sdp in a.offers + b.offers + c.offers + a.answers + b.answers + c.answers:
        assert candidate_hosts(sdp) == {"127.0.0.1"}

    senders = server_senders(room)
    slot_senders = [
        s.transceiver.sender for p in room._people.values() for s in p.slots.values()
    ]
    assert len(slot_senders) == 4
    # No server-side sender ever asked aiortc for an encoder …
    assert not [e for s, e in spy.encoders if any(s is x for x in senders)]
    # … each holds a packer that refuses to encode (a guard), and the slots sent the
    # publisher's RTP packets themselves, rewritten, without packing anything …
    for sender in slot_senders:
        packer = forward.packer_of(sender)
        assert isinstance(packer, forward.ForwardPacker)
        assert packer.packed == 0
    slots = [s for p in room._people.values() for s in p.slots.values()]
    assert all(s.track.packets_sent > 20 and s.track.frames_sent > 20 for s in slots)
    # … while the instrumentation did see the publisher's client encoding.
    client_encoders = [e for s, e in spy.encoders if any(s is x for x in a.pc.getSenders())]
    assert {type(e) for e in client_encoders} == {Vp8Encoder, OpusEncoder}
    assert all(spy.encodes[id(e)] > 20 for e in client_encoders)
    assert sum(spy.encodes.values()) == sum(spy.encodes[id(e)] for e in client_encoders)
    # No decoder on the server: its receivers' decoder threads were tapped and made none.
    assert spy.workers.count(True) == 2
    assert not [d for d in spy.decoders if d[0]]
    assert sorted(name for _, name in spy.decoders) == ["VP8", "VP8", "opus", "opus"]
    # The server took SRTP off aioice's datagram call, not through its queue
    # (forward.receive_eagerly): the publisher's packets and the subscribers' RTCP.
    server_connections = [conn for p in room._people.values() if p.pc is not None
                          for conn in forward.ice_connections(p.pc)]
    assert len(server_connections) == 3
    assert all(getattr(conn, forward._EAGER, False) for conn in server_connections)
    assert eager["packets"] > 105, eager
    # Its sockets are read 4 KiB at a time, not into asyncio's 256 KiB buffers.
    reads = {protocol.transport.max_size for conn in server_connections
             for protocol in conn._protocols}
    assert reads == {forward.DATAGRAM_READ}


async def test_events_arrive_in_order(
    room: MediaRoom, client: Callable[..., Client], events: Events
) -> None:
    _a, (b,) = await publisher_and(room, client, "B")
    await until(lambda: b.frames("A", "video") >= 40, 8, "B decoding A")
    await room.remove("A")
    await room.remove("B")

    seen = events.of("A")
    assert seen[0] == ("transport", True)
    assert sorted(seen[1:3]) == [("media_up", "audio"), ("media_up", "video")]
    assert sorted(seen[3:5]) == [("media_down", "audio"), ("media_down", "video")]
    assert seen[5:] == [("transport", False)]
    assert events.of("B") == [
        ("transport", True),
        ("tracks_changed", {}),  # A left: B's slots are empty now
        ("transport", False),
    ]
    for person in ("A", "B"):
        up, down = events.times("transport", person)
        traffic = events.times("traffic", person)
        assert traffic and all(up <= t <= down for t in traffic)
        assert all(t2 - t1 >= 0.99 for t1, t2 in itertools.pairwise(traffic))
    # A published for over a second: its RTP said so more than once.
    assert len(events.times("traffic", "A")) >= 2


async def test_receive_only_phone_gives_traffic_evidence(
    room: MediaRoom, client: Callable[..., Client], events: Events
) -> None:
    _a, (_b,) = await publisher_and(room, client, "B")  # B sends no media at all
    await until(lambda: len(events.times("traffic", "B")) >= 3, 6, "traffic from B")
    snap = room.snapshot().people["B"]
    assert snap.transport_up and snap.rtp_in == 0
    assert snap.rtcp_in >= 2  # its receiver reports
    assert snap.stun_in >= 1  # its ICE checks count too
    times = events.times("traffic", "B")
    assert all(t2 - t1 >= 0.99 for t1, t2 in itertools.pairwise(times))


async def test_late_subscriber_gets_a_keyframe_promptly(
    room: MediaRoom, client: Callable[..., Client]
) -> None:
    a, (b,) = await publisher_and(room, client, "B")
    await until(lambda: b.frames("A", "video") >= 20, 8, "B decoding A")
    await asyncio.sleep(0.6)  # past any coalescing window; the publisher makes no keyframes
    requests = a.keyframe_requests
    keyframes = room.snapshot().people["A"].sources["video"].keyframes_in

    c = client("C")
    started = time.monotonic()
    await c.negotiate(room.snapshot().streams_for("C"))
    await until(lambda: c.frames("A", "video") >= 1, 3, "C's first frame")
    # The publisher makes no keyframe by itself (aiortc: one per 3000 frames), so any
    # frame at all is the PLI's doing; on a loaded 2-core machine it takes ~0.1-0.3 s.
    assert c.received[c.mid_of("A", "video")].first_at - started < 1.5  # type: ignore[operator]
    assert a.keyframe_requests > requests  # the PLI reached the publisher
    video = room.snapshot().people["A"].sources["video"]
    assert video.keyframes_in > keyframes and video.pli_sent >= 1


async def test_subscriber_pli_is_relayed_and_coalesced(
    room: MediaRoom, client: Callable[..., Client]
) -> None:
    a, (b,) = await publisher_and(room, client, "B")
    await until(lambda: b.frames("A", "video") >= 20, 8, "B decoding A")
    await asyncio.sleep(0.6)
    requests = a.keyframe_requests
    receiver = next(
        t.receiver for t in b.pc.getTransceivers() if t.mid == b.mid_of("A", "video")
    )
    ssrc = receiver.getSynchronizationSources()[0].source  # the server sender's SSRC
    for _ in range(10):  # a burst of real RTCP PLIs from the subscriber
        await receiver._send_rtcp_pli(ssrc)
        await asyncio.sleep(0.01)
    await until(lambda: a.keyframe_requests > requests, 2, "PLI at the publisher")
    await asyncio.sleep(0.8)
    assert 1 <= a.keyframe_requests - requests <= 2  # coalesced (one, maybe a trailing one)


async def test_revoking_publish_stops_forwarding_at_once(
    room: MediaRoom, client: Callable[..., Client], events: Events
) -> None:
    _a, (b,) = await publisher_and(room, client, "B")
    await until(lambda: b.frames("A", "video") >= 20, 8, "B decoding A")
    mid = b.mid_of("A", "video")

    room.set_publish("A", frozenset())
    sent = room.snapshot().people["B"].slots[mid].frames_sent
    assert events.last("tracks_changed", "B") == ("B", {})
    assert room.snapshot().streams == ()
    assert sorted(events.of("A")[-2:]) == [("media_down", "audio"), ("media_down", "video")]
    decoded = b.received[mid].frames
    await asyncio.sleep(0.5)
    assert room.snapshot().people["B"].slots[mid].frames_sent == sent
    assert b.received[mid].frames <= decoded + 2  # at most what was already on the wire
    assert room.snapshot().people["A"].sources["video"].frames_in > 0  # A still sends

    room.set_publish("A", frozenset({"video"}))  # the grant is back: same slot, no offer
    assert events.last("tracks_changed", "B") == ("B", {mid: A_VIDEO})
    await until(lambda: b.received[mid].frames >= decoded + 10, 3, "frames again")


async def test_new_publisher_renegotiates_then_reuses_free_slots(
    room: MediaRoom, client: Callable[..., Client], events: Events
) -> None:
    b = client("B")
    b.pc.addTransceiver("audio", direction="recvonly")
    await b.negotiate()
    room.set_publish("A", AV)
    a = client("A", audio=True, video=True)
    await a.negotiate()
    assert events.last("renegotiate", "B") == ("B", [A_AUDIO, A_VIDEO])
    assert events.last("tracks_changed", "B") == ("B", {"0": A_AUDIO})  # the free one
    await b.negotiate([A_AUDIO, A_VIDEO])
    assert b.mapping == {"0": A_AUDIO, "1": A_VIDEO}
    await until(lambda: b.frames("A", "video") >= 10, 5, "B decoding A")

    await room.remove("A")
    assert events.last("tracks_changed", "B") == ("B", {})
    room.set_publish("D", AV)
    d = client("D", audio=True, video=True)
    await d.negotiate()
    renegotiations = len([e for e in events.log if e[1] == "renegotiate"])
    assert events.last("tracks_changed", "B") == (
        "B", {"0": StreamInfo("D", "audio"), "1": StreamInfo("D", "video")}
    )
    assert len([e for e in events.log if e[1] == "renegotiate"]) == renegotiations
    await until(lambda: b.received["1"].frames >= 20, 5, "B decoding D on the old slot")


async def test_reconnect_by_reset_and_new_offer(
    room: MediaRoom, client: Callable[..., Client], events: Events
) -> None:
    a, (b,) = await publisher_and(room, client, "B")
    await until(lambda: b.frames("A", "video") >= 10, 8, "B decoding A")

    # The subscriber's browser reconnects: a new peer connection, a new offer.
    await room.reset("B")
    assert events.of("B")[-1] == ("transport", False)
    await b.close()
    b2 = client("B")
    await b2.negotiate(room.snapshot().streams_for("B"))
    await until(lambda: b2.frames("A", "video") >= 10, 5, "B again")
    assert events.of("B")[-1] == ("transport", True)
    traffic = events.times("traffic", "B")  # ≤ 1 per second, across the reconnect too
    assert all(t2 - t1 >= 0.99 for t1, t2 in itertools.pairwise(traffic))

    # The publisher reconnects: subscribers keep their slot and resume on a keyframe.
    mid = b2.mid_of("A", "video")
    await room.reset("A")
    await a.close()
    assert sorted(events.of("A")[-3:]) == sorted(
        [("media_down", "audio"), ("media_down", "video"), ("transport", False)]
    )
    assert events.of("A")[-1] == ("transport", False)
    decoded = b2.received[mid].frames
    a2 = client("A", audio=True, video=True)
    await a2.negotiate()
    await until(lambda: b2.received[mid].frames >= decoded + 10, 5, "B decoding the new A")
    assert b2.mapping == {"0": A_AUDIO, "1": A_VIDEO}


def slot_of(room: MediaRoom, person: str, mid: str) -> fanout.ForwardTrack:
    return room._people[person].slots[mid].track


def client_protocols(c: Client) -> list[Any]:
    return [p for conn in forward.ice_connections(c.pc) for p in conn._protocols]


async def test_a_subscriber_whose_socket_is_full_does_not_stall_the_others(
    room: MediaRoom, client: Callable[..., Client], monkeypatch: pytest.MonkeyPatch
) -> None:
    _a, (b, c) = await publisher_and(room, client, "B", "C")
    await until(lambda: c.frames("A", "video") >= 10, 8, "C decoding A")
    # The kernel's send buffer towards C is full (a phone on a link slower than the
    # stream, on a real network): the server must drop for C alone, at once.
    video = slot_of(room, "C", c.mid_of("A", "video"))
    audio = slot_of(room, "C", c.mid_of("A", "audio"))
    def full(*args: Any) -> None:
        raise BlockingIOError  # what sendto() says when the kernel's buffer is full

    for slot in (video, audio):
        assert slot.out is not None
        # Both: Python's forward sends with ``send``, the C forward_all with ``link``
        # (a link that is not C's sends the slot back to Python's forward).
        monkeypatch.setattr(slot.out, "send", full)
        monkeypatch.setattr(slot.out, "link", wire.PyLink(bytes, full, None))
    frames_b, sent_c = b.frames("A", "video"), video.packets_sent
    frames_in = room.snapshot().people["A"].sources["video"].frames_in
    asked = room.snapshot().people["A"].sources["video"].pli_requested
    await asyncio.sleep(1.5)
    assert b.frames("A", "video") >= frames_b + 25  # B goes on (45 at full rate)
    snap = room.snapshot()
    assert snap.people["A"].sources["video"].frames_in >= frames_in + 30  # so does A
    assert video.packets_sent == sent_c  # nothing more queued for C anywhere
    slow_video = snap.people["C"].slots[c.mid_of("A", "video")]
    slow_audio = snap.people["C"].slots[c.mid_of("A", "audio")]
    assert slow_video.frames_dropped > 0 and slow_audio.frames_dropped > 0
    # C waits for a keyframe; the request reached the coalescer, not a PLI per frame.
    source = snap.people["A"].sources["video"]
    assert source.pli_requested > asked and source.pli_sent <= 2 + 1.5 / 0.5

    # C's link drains: it resumes from a fresh keyframe.
    monkeypatch.undo()
    decoded = c.frames("A", "video")
    await until(lambda: c.frames("A", "video") >= decoded + 15, 4, "C again")


async def test_a_subscriber_that_stops_reading_loses_only_its_own_packets(
    room: MediaRoom, client: Callable[..., Client]
) -> None:
    """A real slow phone: C's socket is not read for a second; the kernel drops what
    overflows its buffer. B never notices; C recovers by NACK and keyframe."""
    _a, (b, c) = await publisher_and(room, client, "B", "C")
    await until(lambda: c.frames("A", "video") >= 10, 8, "C decoding A")
    protocols = client_protocols(c)
    for p in protocols:
        p.transport.get_extra_info("socket").setsockopt(
            socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024
        )
        p.transport.pause_reading()
    frames_b = b.frames("A", "video")
    await asyncio.sleep(1.0)
    for p in protocols:
        p.transport.resume_reading()
    assert b.frames("A", "video") >= frames_b + 15
    decoded = c.frames("A", "video")
    await until(lambda: c.frames("A", "video") >= decoded + 20, 5, "C again")


async def test_a_lost_packet_is_resent_from_the_cache(
    room: MediaRoom, client: Callable[..., Client]
) -> None:
    _a, (b,) = await publisher_and(room, client, "B")
    await until(lambda: b.frames("A", "video") >= 10, 8, "B decoding A")
    slot = slot_of(room, "B", b.mid_of("A", "video"))
    assert slot.out is not None
    dropped: list[int] = []
    (protocol,) = client_protocols(b)
    original = protocol.datagram_received

    def lossy(data: bytes, addr: Any) -> None:
        # Drop one SRTP packet of the video stream (the SSRC is in clear), once.
        if not dropped and len(data) > 12 and int.from_bytes(data[8:12]) == slot.out.ssrc:
            dropped.append(int.from_bytes(data[2:4]))
            return
        original(data, addr)

    protocol.datagram_received = lossy
    await until(lambda: slot.nacks_answered >= 1, 3, "a NACK answered")
    assert dropped and slot.nacks_missed == 0
    decoded = b.frames("A", "video")
    await until(lambda: b.frames("A", "video") >= decoded + 10, 3, "B goes on")


async def test_a_track_gone_quiet_goes_down_and_comes_back_up(events: Events) -> None:
    room = MediaRoom(events, clock=SystemClock(), host_addresses=LOOPBACK, media_idle=0.6)
    a = Client("A", room, audio=True, video=True)
    b = Client("B", room)
    try:
        room.set_publish("A", AV)
        await a.negotiate()
        await b.negotiate(room.snapshot().streams_for("B"))
        await until(lambda: b.frames("A", "video") >= 10, 8, "B decoding A")
        sender = next(s for s in a.pc.getSenders() if s.track is a.video_track)
        sender.replaceTrack(None)  # the phone turned its camera off; audio goes on
        await until(lambda: events.last("media_down", "A") is not None, 3, "media_down")
        assert events.of("A")[-1] == ("media_down", "video")
        assert room.snapshot().people["A"].published == {"audio"}
        assert room.snapshot().streams == (A_AUDIO, A_VIDEO)  # still granted: slot kept
        sender.replaceTrack(PatternVideo())  # and back on
        await until(lambda: events.of("A")[-1] == ("media_up", "video"), 3, "media_up")
        assert room.snapshot().people["A"].published == AV
    finally:
        await a.close()
        await b.close()
        await room.close()
