"""The forward path's send in C (rtc/_wire.c) and in Python (rtc/wire.PyLink) put the
same bytes on the wire (both call pylibsrtp's libsrtp: this checks the C side's header,
buffer and call, on sessions that start alike): recorded packet sequences (real VP8
and H.264 packets from Chromium and aiortc, fixtures/*.bin) through a munger's
numbering, sequence numbers wrapping (the SRTP rollover counter), RTX, every SRTP
profile aiortc offers; then both paths carry a real aiortc session through a MediaRoom."""

from __future__ import annotations

import os
import random
import socket
import struct
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from aiortc.rtp import RtpPacket
from pylibsrtp import Policy

from rtc import rtp_munger, wire
from rtc.forward import RtpOut
from rtc.payloads import vp8_frame_start
from rtc.room import MediaRoom
from rtc.rtp_munger import RtpMunger
from tests.rtc.clients import Client, until

FIXTURES = Path(__file__).with_name("fixtures")
PROFILES = {  # libsrtp profile → master key + salt bytes, in aiortc's order of preference
    Policy.SRTP_PROFILE_AEAD_AES_256_GCM: 32 + 12,
    Policy.SRTP_PROFILE_AEAD_AES_128_GCM: 16 + 12,
    Policy.SRTP_PROFILE_AES128_CM_SHA1_80: 16 + 14,
}
MID = b"\xbe\xde\x00\x01\x10\x31\x00\x00"  # one-byte header extension: mid "1"


def native() -> type:
    """The C link, which the test command requires to be built (scripts/test sets
    OPENTUTOR_REQUIRE_NATIVE=1 after installing a compiler and Python's headers)."""
    from rtc import _wire  # absent when not built

    return _wire.Link


@pytest.fixture(autouse=True)
def built() -> None:
    if not wire.native_built():
        if os.environ.get("OPENTUTOR_REQUIRE_NATIVE") == "1":
            pytest.fail("rtc._wire was not built (no compiler or no Python headers)")
        pytest.skip("rtc._wire was not built: only the Python path exists here")


def c_link(profile: int, key: bytes, fd: int, addr: tuple[str, int]) -> Any:
    """A C link on a session of its own (as aiortc makes one per transport)."""
    session = wire.outbound_session(profile, key)
    return native()(wire._PROTECT, wire.session_address(session), session, fd, addr)


def recorded(name: str) -> list[RtpPacket]:
    data, out = (FIXTURES / name).read_bytes(), []
    while data:
        (size,) = struct.unpack("!H", data[:2])
        out.append(RtpPacket.parse(data[2 : 2 + size]))
        data = data[2 + size :]
    return out


class Capture:
    """What an egress sends, by (protected) datagram."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def sendto(self, data: bytes, addr: object) -> int:
        self.sent.append(data)
        return len(data)


def slot(link: wire.Wire) -> RtpMunger:
    """A video slot whose numbering (media and RTX) continues from just below the 16-bit
    wrap, as a slot does after a restart."""
    munger = RtpMunger(video=True, clock_rate=90_000, frame_step=3000)
    munger.out = RtpOut(ssrc=0x11223344, pt=100, rtx_ssrc=0x55667788, rtx_pt=101,
                        extension=MID, link=link)
    munger.out.rtx_seq = 65_530
    munger.last_out, munger.last_ts, munger.last_time = 65_500, 12_345, 0.0
    return munger


def drive(munger: RtpMunger, packets: list[RtpPacket], rounds: int) -> None:
    """The recorded stream again and again (sequence numbers continuing), each packet
    through the munger as the fan-out sends it, and every third one NACKed (RTX)."""
    n = 0
    for r in range(rounds):
        for p in packets:
            seq = (p.sequence_number + r * len(packets)) & 0xFFFF
            ts = (p.timestamp + r * 9000) & 0xFFFFFFFF
            keystart = n == 0
            munger.forward(seq, ts, p.marker, p.payload, keystart, 0.0)
            n += 1
            if n % 3 == 0:
                cached = (ts, p.marker, p.payload)

                def lookup(seq: int, c: tuple[int, int, bytes] = cached) -> tuple[int, int, bytes]:
                    return c

                munger.answer_nack([munger.last_out], lookup)


@pytest.mark.parametrize("profile", list(PROFILES), ids=["aes256gcm", "aes128gcm", "aes128cm"])
@pytest.mark.parametrize("fixture", ["vp8-packets.bin", "h264-chromium.bin"])
def test_c_and_python_put_the_same_bytes_on_the_wire(profile: int, fixture: str) -> None:
    packets = [p for p in recorded(fixture) if p.payload_type in (96, 108)]  # media, not RTX
    key = bytes(range(PROFILES[profile]))
    captured, c_sent = Capture(), []
    py = wire.PyLink(wire.outbound_session(profile, key).protect, captured.sendto, ("192.0.2.1", 9))
    c = c_link(profile, key, -1, ("192.0.2.1", 9))

    class CLink:  # the C link's bytes, unsent (no socket): what send() would write
        def send(self, *fields: object) -> int:
            c_sent.append(c.protect(*fields))
            return len(c_sent[-1])

        protect = c.protect

    for link in (py, CLink()):
        drive(slot(link), packets, rounds=100 // len(packets) + 2)
    assert len(captured.sent) == len(c_sent) > 2 * len(packets)
    assert captured.sent == c_sent
    # Both SSRCs crossed the wrap (the rollover counter is part of the keystream).
    numbers = {(ssrc, seq) for _, _, seq, _, ssrc in
               (struct.unpack("!BBHII", d[:12]) for d in captured.sent)}
    for ssrc in (0x11223344, 0x55667788):
        assert {(ssrc, 65_535), (ssrc, 0)} <= numbers


def test_a_sequence_across_the_wrap_is_identical() -> None:
    """The rollover counter: 65,530 → 10 on one SSRC, on both paths, per profile."""
    for profile, size in PROFILES.items():
        key = os.urandom(size)
        session = wire.outbound_session(profile, key)
        c = c_link(profile, key, -1, ("127.0.0.1", 9))
        for i in range(20):
            seq = (65_530 + i) & 0xFFFF
            payload = os.urandom(900 + i)
            header = struct.pack("!BBHII", 0x90, 100, seq, 3000 * i, 0xCAFE)
            assert session.protect(header + MID + payload) == c.protect(
                0x90, 100, seq, 3000 * i, 0xCAFE, MID, payload
            ), (profile, seq)


@pytest.fixture
def udp_pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    out.bind(("127.0.0.1", 0))
    sink.bind(("127.0.0.1", 0))
    sink.settimeout(2)
    yield out, sink
    out.close()
    sink.close()


def test_the_c_link_sends_on_its_socket_and_outlives_its_close(
    udp_pair: tuple[socket.socket, socket.socket],
) -> None:
    out, sink = udp_pair
    key = bytes(44)
    profile = Policy.SRTP_PROFILE_AEAD_AES_256_GCM
    link = c_link(profile, key, out.fileno(), sink.getsockname())
    session = wire.outbound_session(profile, key)
    sent = link.send(0x90, 100, 1, 90, 0xCAFE, MID, b"hello")
    data, source = sink.recvfrom(2048)
    assert source == out.getsockname()
    assert sent == len(data)
    assert data == session.protect(struct.pack("!BBHII", 0x90, 100, 1, 90, 0xCAFE) + MID + b"hello")
    # aioice closing its socket does not leave the link writing to whatever socket
    # gets the number next: the link holds its own descriptor of the same socket.
    out.close()
    link.send(0x90, 100, 2, 180, 0xCAFE, MID, b"again")
    assert sink.recvfrom(2048)[1][1] == source[1]
    # The transport closed (rtc.forward closes the link then): sends raise, nothing leaves.
    link.close()
    with pytest.raises(OSError):
        link.send(0x90, 100, 3, 270, 0xCAFE, MID, b"gone")
    sink.settimeout(0.2)
    with pytest.raises(TimeoutError):
        sink.recvfrom(2048)


def test_malformed_calls_raise_and_send_nothing(
    udp_pair: tuple[socket.socket, socket.socket],
) -> None:
    out, sink = udp_pair
    profile = Policy.SRTP_PROFILE_AEAD_AES_128_GCM
    with pytest.raises(ValueError):
        native()(0, 0, None, out.fileno(), sink.getsockname())  # no function, no session
    with pytest.raises(ValueError):
        c_link(profile, bytes(28), out.fileno(), ("not-an-address", 9))
    session = wire.outbound_session(profile, bytes(28))
    assert wire.native_link(session, out.fileno(), ("not-an-address", 9)) is None
    link = c_link(profile, bytes(28), out.fileno(), sink.getsockname())
    for bad in [(256, 100, 1, 1, 1, b"", b"x"), (0x80, 100, 70_000, 1, 1, b"", b"x"),
                (0x80, 100, 1, 2**32, 1, b"", b"x"), (0x80, 100, 1, 1, 1, b"", bytes(9000))]:
        with pytest.raises(ValueError):
            link.send(*bad)
    with pytest.raises(TypeError):
        link.send(1, 2, 3)
    sink.settimeout(0.2)
    with pytest.raises(TimeoutError):
        sink.recvfrom(2048)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("c_path", [True, False], ids=["c", "python"])
async def test_a_real_session_flows_on_either_path(
    c_path: bool, room: MediaRoom, client: Callable[..., Client],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENTUTOR_NATIVE", "1" if c_path else "0")
    room.set_publish("A", frozenset({"audio", "video"}))
    a = client("A", audio=True, video=True)
    await a.negotiate()
    b = client("B")
    await b.negotiate(room.snapshot().streams_for("B"))
    await until(lambda: b.frames("A", "video") >= 30 and b.frames("A", "audio") >= 40, 10,
                "B decoding A")
    links = {type(s.track.out.link) for s in room._people["B"].slots.values()
             if isinstance(s.track.out, RtpOut)}
    assert links == ({native()} if c_path else {wire.PyLink})
    # B leaves: its transport closes, and the C link with it (it holds its own descriptor).
    link = next(s.track.out.link for s in room._people["B"].slots.values()
                if isinstance(s.track.out, RtpOut))
    await b.close()
    await until(lambda: b.pc.connectionState == "closed", 5, "B closed")
    if c_path:
        await until(lambda: raises_oserror(link), 10, "the link closed with B's transport")


def raises_oserror(link: wire.Wire) -> bool:
    try:
        link.send(0x90, 100, 1, 1, 1, b"", b"x")
    except OSError:
        return True
    return False


# -- forward_all: every slot of a source in one C call, against forward on each

FIELDS = ("waiting_keyframe", "seq_offset", "ts_offset", "first_in", "last_out", "last_ts",
          "last_time", "packets_sent", "octets_sent", "frames_sent", "frames_dropped",
          "frames_thinned")


def _slot_class() -> type[RtpMunger]:
    from rtc import _wire

    class CSlot(RtpMunger, _wire.SlotState):  # as rtc.fanout.ForwardTrack mixes it in
        # How often forward_all handed a slot back to Python:
        python_calls: ClassVar[list[int]] = [0]

        def forward(self, *args: Any) -> bool:
            self.python_calls[0] += 1
            return RtpMunger.forward(self, *args)

    return CSlot


def _c_forward_all() -> Any:
    from rtc import _wire

    return _wire.forward_all


def _out(link: wire.Wire, ssrc: int) -> RtpOut:
    return RtpOut(ssrc=ssrc, pt=100, rtx_ssrc=ssrc + 1, rtx_pt=101, extension=MID, link=link)


class Feed:
    """Five video slots of one source, each with its own SRTP session and destination:
    on the C side four send through C links on real sockets (read back from loopback)
    and one through a Python link; on the reference side all are plain RtpMungers on
    Python links. Seeded alike, keyed alike: the same calls must give the same bytes."""

    N = 5

    def __init__(self, native: bool, profile: int) -> None:

        self.native = native
        self.sockets: list[socket.socket] = []
        self.sinks: list[socket.socket] = []
        self.captured = [Capture() for _ in range(self.N)]
        cls = _slot_class() if native else RtpMunger
        self.slots: list[RtpMunger] = []
        for i in range(self.N):
            key = bytes([i]) * PROFILES[profile]
            munger = cls(video=True, clock_rate=90_000, frame_step=3000, rng=random.Random(i))
            if native and i != 3:
                out, sink = (socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in "ab")
                out.bind(("127.0.0.1", 0))
                sink.bind(("127.0.0.1", 0))
                sink.setblocking(False)
                self.sockets.append(out)
                self.sinks.append(sink)
                link: wire.Wire = c_link(profile, key, out.fileno(), sink.getsockname())
            else:
                session = wire.outbound_session(profile, key)
                link = wire.PyLink(session.protect, self.captured[i].sendto, ("192.0.2.1", 9))
            munger.out = _out(link, 0x1000 * (i + 1))
            self.slots.append(munger)
        self.routes = [i for i in range(self.N) if native and i != 3]

    def forward(self, *args: Any) -> bool:
        sinks = tuple(s for s in self.slots)
        fn = _c_forward_all() if self.native else rtp_munger.forward_all
        waiting: bool = fn(sinks, *args)
        for i, sink in zip(self.routes, self.sinks, strict=True):
            while True:
                try:
                    self.captured[i].sent.append(sink.recv(4096))
                except BlockingIOError:
                    break
        return waiting

    def close(self) -> None:
        for s in (*self.sockets, *self.sinks):
            s.close()


def script(feed: Feed, packets: list[RtpPacket]) -> list[bool]:
    """The recorded stream over and over through forward_all, with what happens to slots
    in a class: restarts (a rebase at the next keyframe), the reduced level on and off,
    a slot without an egress, and packets from before a slot's (re)start."""
    results = []
    n = 0
    for r in range(20):
        for p in packets:
            seq = (p.sequence_number + r * len(packets) + 65_400) & 0xFFFF
            ts = (p.timestamp + r * 9000) & 0xFFFFFFFF
            start, key = vp8_frame_start(p.payload)
            payload = p.payload
            if r % 2 and not key:  # odd rounds: frames nothing refers to (VP8's N bit)
                payload = bytes([payload[0] | 0x20]) + payload[1:]
            now = n * 0.033
            results.append(feed.forward(seq, ts, p.marker, payload, start and key, now))
            if n % 7 == 3:  # a late copy of an earlier packet
                old_seq, old_ts = (seq - 40) & 0xFFFF, (ts - 9000) & 0xFFFFFFFF
                results.append(feed.forward(old_seq, old_ts, 0, p.payload, False, now))
            n += 1
            slots = feed.slots
            if n == 20:
                slots[1].restart()
            if n == 45:
                slots[2].forward = slots[2].forward_reduced  # type: ignore[method-assign]
            if n == 90:
                del slots[2].forward
            if n == 60:
                saved, slots[4].out = slots[4].out, None
            if n == 80:
                slots[4].out = saved
                slots[4].restart()
            if n == 130:
                slots[0].restart()
    return results


@pytest.mark.parametrize("profile", list(PROFILES), ids=["aes256gcm", "aes128gcm", "aes128cm"])
def test_forward_all_in_c_is_forward_on_each_slot(profile: int) -> None:
    packets = [p for p in recorded("vp8-packets.bin") if p.payload_type == 96]
    feeds = [Feed(native=True, profile=profile), Feed(native=False, profile=profile)]
    try:
        results = [script(feed, packets) for feed in feeds]
        assert results[0] == results[1]
        assert any(results[0]) and not all(results[0])
        c, py = feeds
        for i in range(Feed.N):
            assert c.captured[i].sent == py.captured[i].sent, f"slot {i}"
            assert len(py.captured[i].sent) > 50
            for name in FIELDS:
                assert getattr(c.slots[i], name) == getattr(py.slots[i], name), (i, name)
        assert py.slots[2].frames_thinned > 0 and py.slots[4].frames_dropped > 0
        # The C side sent most packets itself: Python saw the rebases and slot 3 (a
        # Python link); the reduced level's forward_reduced is an instance attribute.
        sent = sum(s.packets_sent for s in c.slots)
        calls = c.slots[0].python_calls[0]  # type: ignore[attr-defined]
        assert calls < sent / 3, (calls, sent)
    finally:
        for feed in feeds:
            feed.close()


def test_forward_all_refuses_what_forward_would() -> None:
    from rtc import _wire

    munger = _slot_class()(video=False, clock_rate=48_000, frame_step=960)
    with pytest.raises(TypeError):
        _wire.forward_all([munger], 1, 1, 0, b"x", True, 0.0)  # type: ignore[arg-type]  # a list, not a tuple
    with pytest.raises(ValueError):
        _wire.forward_all((munger,), 1, 1, 4, b"x", True, 0.0)  # no such marker index
    assert _wire.forward_all((), 1, 1, 0, b"x", True, 0.0) is False
    # A slot that is not a SlotState goes through its own forward.
    seen: list[tuple[Any, ...]] = []

    class Other:
        def forward(self, *args: Any) -> bool:
            seen.append(args)
            return True

    assert _wire.forward_all((Other(),), 7, 9, 1, b"p", False, 1.5) is True
    assert seen == [(7, 9, 1, b"p", False, 1.5)]


def test_a_slot_in_a_cycle_through_its_c_fields_is_collected() -> None:
    import gc
    import weakref

    from rtc import _wire
    from rtc.fanout import ForwardTrack

    class Egress:
        track: Any = None

    track = ForwardTrack("video")
    if wire.FORWARD_ALL_NATIVE:  # the server's slots keep their numbering in C
        assert isinstance(track, _wire.SlotState)
    egress = Egress()
    egress.track, track.out = track, egress  # type: ignore[assignment]
    gone = weakref.ref(track)
    del track, egress
    gc.collect()
    assert gone() is None


def test_forward_all_on_a_closed_link_sends_nothing_as_forward_does(
    udp_pair: tuple[socket.socket, socket.socket],
) -> None:
    out, sink = udp_pair
    profile = Policy.SRTP_PROFILE_AEAD_AES_128_GCM
    slots = []
    for fn in (_c_forward_all(), rtp_munger.forward_all):
        link = c_link(profile, bytes(28), out.fileno(), sink.getsockname())
        munger = _slot_class()(video=True, clock_rate=90_000, frame_step=3000,
                               rng=random.Random(7))
        munger.out = _out(link, 0xABC)
        assert fn((munger,), 10, 900, 0, b"\x10key", True, 0.0) is False  # rebased, sent
        link.close()  # the subscriber's transport is gone
        assert fn((munger,), 11, 900, 1, b"\x00more", False, 0.0) is False
        slots.append(munger)
    for name in FIELDS:
        assert getattr(slots[0], name) == getattr(slots[1], name), name
    assert slots[0].packets_sent == 1
