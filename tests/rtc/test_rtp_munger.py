"""The pure forward-path logic, tested the way LiveKit tests its ``rtpmunger``: tables of
packets in and packets out, no sockets, no clock (a fake egress keeps what was sent);
and captured VP8/RTX packets (written by aiortc's own encoder and packetiser,
``fixtures/vp8-packets.bin``) for the payload readers."""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiortc.rtp import RtpPacket, unwrap_rtx

from rtc import payloads
from rtc.rtp_munger import RtpMunger

VIDEO_RATE, VIDEO_STEP = 90000, 3000
SSRC, RTX_SSRC, PT, RTX_PT = 0x11111111, 0x22222222, 96, 97


class Draws(random.Random):
    """``randint`` answers from a list: the random starting points, made explicit."""

    def __init__(self, *values: int) -> None:
        super().__init__(0)
        self._values = list(values)

    def randint(self, a: int, b: int) -> int:
        value = self._values.pop(0)
        assert a <= value <= b
        return value


class FakeEgress:  # structurally an rtc.rtp_munger.Egress
    """An egress that keeps the packets it is given (SRTP protect is the identity) and
    can be told to fail the next send as a full socket buffer would."""

    errors: tuple[type[BaseException], ...] = (OSError,)

    def __init__(self) -> None:
        self.b0, self.pt_marker = 0x80, (PT, PT | 0x80, PT, PT | 0x80)
        self.pt, self.red_pt = PT, None
        self.ssrc, self.rtx_ssrc, self.rtx_pt, self.rtx_seq = SSRC, RTX_SSRC, RTX_PT, 7
        self.extension = b""
        self.sent: list[RtpPacket] = []
        self.fail_next = False

    def send(
        self, b0: int, b1: int, seq: int, ts: int, ssrc: int, ext: bytes, payload: bytes, /
    ) -> None:
        if self.fail_next:
            self.fail_next = False
            raise BlockingIOError
        header = struct.pack("!BBHII", b0, b1, seq, ts, ssrc)
        self.sent.append(RtpPacket.parse(header + ext + payload))


@dataclass(frozen=True)
class In:
    """One publisher packet offered to the slot at wall time ``now``."""

    seq: int
    ts: int
    key: bool = False
    now: float = 0.0
    fails: bool = False  # the subscriber's socket buffer is full for this one


@dataclass(frozen=True)
class Restart:
    """Upstream changed: the publisher reconnected or another one took the stage."""


Step = In | Restart
Out = tuple[int, int] | None  # (sequence number, timestamp) that went out, or nothing


def munger(*draws: int, video: bool = True) -> tuple[RtpMunger, FakeEgress]:
    m = RtpMunger(video=video, clock_rate=VIDEO_RATE, frame_step=VIDEO_STEP,
                  rng=Draws(*(draws or (100, 1_000_000))))
    egress = FakeEgress()
    m.out = egress
    return m, egress


def run(steps: list[Step], draws: tuple[int, int] = (100, 1_000_000)) -> list[Out]:
    m, egress = munger(*draws)
    outs: list[Out] = []
    for step in steps:
        if isinstance(step, Restart):
            m.restart()
            continue
        before = len(egress.sent)
        egress.fail_next = step.fails
        payload = b"\x10\x00" if step.key else b"\x10\x01"
        m.forward(step.seq, step.ts, 1, payload, step.key, step.now)
        got = egress.sent[before:]
        assert all(p.ssrc == SSRC and p.payload_type == PT for p in got)
        outs.append((got[0].sequence_number, got[0].timestamp) if got else None)
    return outs


CASES: list[tuple[str, list[Step], list[Out]]] = [
    (
        "nothing before the first keyframe, then random starting points",
        [In(5, 900), In(6, 900), In(7, 3900, key=True), In(8, 3900), In(9, 6900)],
        [None, None, (100, 1_000_000), (101, 1_000_000), (102, 1_003_000)],
    ),
    (
        "sequence numbers wrap on both sides",
        [In(65534, 0, key=True), In(65535, 0), In(0, 3000), In(1, 3000)],
        [(100, 1_000_000), (101, 1_000_000), (102, 1_003_000), (103, 1_003_000)],
    ),
    (
        "a reordered packet from before the (re)start is refused, a later one is not",
        [In(10, 0, key=True), In(9, 0), In(12, 3000), In(11, 0)],
        [(100, 1_000_000), None, (102, 1_003_000), (101, 1_000_000)],
    ),
    (
        "another publisher: continue after the last sent, time moved on by the wall clock",
        [In(10, 0, key=True, now=1.0), In(11, 3000, now=1.0), Restart(),
         In(7000, 55, now=1.5), In(7001, 55, key=True, now=1.5), In(7002, 3055, now=1.6)],
        [(100, 1_000_000), (101, 1_003_000), None, (102, 1_003_000 + 45_000),
         (103, 1_048_000 + 3000)],
    ),
    (
        "a quick switch still moves the timestamp on by at least one frame",
        [In(10, 0, key=True, now=1.0), Restart(), In(500, 77, key=True, now=1.0)],
        [(100, 1_000_000), (101, 1_003_000)],
    ),
    (
        "a full buffer drops and waits for a keyframe; no gap in what the subscriber sees",
        [In(10, 0, key=True), In(11, 3000, fails=True), In(12, 6000), In(13, 9000, key=True)],
        [(100, 1_000_000), None, None, (101, 1_003_000)],
    ),
]


@pytest.mark.parametrize(("steps", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_numbering(steps: list[Step], expected: list[Out]) -> None:
    assert run(steps) == expected


def test_timestamps_wrap_at_2_32() -> None:
    steps: list[Step] = [In(1, 0xFFFFF000, key=True), In(2, 0xFFFFF000 + 3000)]
    assert run(steps, draws=(100, 0xFFFFFFF0)) == [(100, 0xFFFFFFF0), (101, 3000 - 0x10)]


def test_counters_and_audio_needs_no_keyframe() -> None:
    m, egress = munger(video=False)
    for n in range(3):
        m.forward(40 + n, 960 * n, 0, b"opus", True, 0.0)  # audio: every packet "starts"
    egress.fail_next = True
    assert m.forward(43, 2880, 0, b"opus", True, 0.0) is False  # audio never waits
    assert m.forward(44, 3840, 0, b"opus", True, 0.0) is False
    assert [p.sequence_number for p in egress.sent] == [100, 101, 102, 104]  # 103 was lost
    assert (m.packets_sent, m.frames_sent, m.octets_sent, m.frames_dropped) == (4, 4, 16, 1)


def test_nack_answered_as_rtx_from_the_current_feed_only() -> None:
    m, egress = munger(100, 0)
    cache = {seq: (0, 1, bytes([seq])) for seq in range(10, 15)}
    for seq in range(10, 15):
        m.forward(seq, 0, 1, bytes([seq]), seq == 10, 0.0)
    assert [m.original(o) for o in (100, 102, 104, 105)] == [10, 12, 14, 15]
    del egress.sent[:]
    m.answer_nack([101, 103, 105], cache.get)  # 105 was never sent: not in the cache
    assert [(p.ssrc, p.payload_type, p.sequence_number) for p in egress.sent] == [
        (RTX_SSRC, RTX_PT, 7), (RTX_SSRC, RTX_PT, 8)]
    assert [payloads.unwrap_rtx(p.payload) for p in egress.sent] == [
        (101, bytes([11])), (103, bytes([13]))]
    assert (m.nacks_answered, m.nacks_missed) == (2, 1)
    m.restart()
    assert m.original(102) is None  # waiting for a keyframe: nothing to resend
    m.forward(900, 0, 1, b"k", True, 1.0)
    assert egress.sent[-1].sequence_number == 105 and m.original(105) == 900
    assert m.original(102) is None  # the previous publisher's packet


# ----------------------------------------------------------------- captured packets

FIXTURE = Path(__file__).with_name("fixtures") / "vp8-packets.bin"


def captured() -> list[tuple[RtpPacket, RtpPacket]]:
    """(media packet, its RTX wrapping) pairs, as aiortc wrote them."""
    data, pos, raw = FIXTURE.read_bytes(), 0, []
    while pos < len(data):
        (size,) = struct.unpack_from("!H", data, pos)
        raw.append(RtpPacket.parse(data[pos + 2 : pos + 2 + size]))
        pos += 2 + size
    return list(zip(raw[0::2], raw[1::2], strict=True))


def test_vp8_descriptors_of_captured_packets() -> None:
    pairs = captured()
    frames: dict[int, list[RtpPacket]] = {}
    for media, _ in pairs:
        frames.setdefault(media.timestamp, []).append(media)
    assert len(frames) == 3
    for n, packets in enumerate(frames.values()):
        starts = [payloads.vp8_frame_start(p.payload) for p in packets]
        # Exactly the first packet of each frame starts it; only frame 0 is a keyframe.
        assert starts[0] == (True, n == 0)
        assert all(s == (False, False) for s in starts[1:])
        assert packets[-1].marker and not any(p.marker for p in packets[:-1])


def test_rtx_of_captured_packets() -> None:
    for media, rtx in captured():
        assert payloads.unwrap_rtx(rtx.payload) == (media.sequence_number, media.payload)
        assert payloads.wrap_rtx(media.sequence_number, media.payload) == rtx.payload
        assert unwrap_rtx(rtx, media.payload_type, media.ssrc).payload == media.payload
    assert payloads.unwrap_rtx(b"\x00\x01") is None  # padding-only probe


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"", (False, False)),
        (b"\x10\x00", (True, True)),  # S, partition 0, P bit clear: keyframe
        (b"\x10\x01", (True, False)),  # P bit set: delta frame
        (b"\x11\x00", (False, False)),  # partition 1 is not a frame start
        (b"\x00\x00", (False, False)),  # no S bit
        (b"\x90\x80\x85\x12\x00", (True, True)),  # X, I with a 15-bit picture ID
        (b"\x90\x80\x05\x01", (True, False)),  # X, I with a 7-bit picture ID
        (b"\x90\xf0\x05\x01\x02\x00", (True, True)),  # X, I, L, T/K
        (b"\x90", (False, False)),  # truncated descriptor: not a start, no exception
        (b"\x90\x80", (False, False)),
    ],
)
def test_vp8_descriptor_table(payload: bytes, expected: tuple[bool, bool]) -> None:
    assert payloads.vp8_frame_start(payload) == expected
