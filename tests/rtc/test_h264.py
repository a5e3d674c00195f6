"""The H.264 RTP payload inspector (rtc/h264.py) and the codec choice, on hand-built
payloads: NAL headers (F | NRI | type), FU headers (S | E | R | type) and the slice
header's first bit (first_mb_in_slice == 0 is the Exp-Golomb code ``1``); then on real
packets from Chromium (``fixtures/h264-chromium.bin``), through the keyframe gate."""

from __future__ import annotations

import random
import struct
from pathlib import Path

import pytest
from aiortc.rtp import RtpPacket

from rtc import h264
from rtc.rtp_munger import RtpMunger
from tests.rtc.test_rtp_munger import FakeEgress

MB0 = 0x88  # slice header starting with first_mb_in_slice = 0 (bit 1), then more bits
MB5 = 0x0C  # first_mb_in_slice = 5 (00110…): a later slice of the same picture


def stap_a(*nals: bytes) -> bytes:
    out = bytes([0x78])  # NRI 3, type 24
    for nal in nals:
        out += len(nal).to_bytes(2, "big") + nal
    return out


SPS = bytes([0x67, 0x42, 0xE0, 0x1F, 0xDA, 0x02, 0x80])
PPS = bytes([0x68, 0xCE, 0x3C, 0x80])
IDR = bytes([0x65, MB0, 0x84, 0x00])
IDR_LATER = bytes([0x65, MB5, 0x84, 0x00])
P = bytes([0x41, MB0, 0x9A, 0x00])
P_LATER = bytes([0x41, MB5, 0x9A, 0x00])

CASES: list[tuple[str, bytes, tuple[bool, bool]]] = [
    ("single IDR slice at mb 0", IDR, (True, True)),
    ("single IDR slice, later slice", IDR_LATER, (False, False)),
    ("single P slice at mb 0", P, (True, False)),
    ("single P slice, later slice", P_LATER, (False, False)),
    ("single SPS", SPS, (True, True)),
    ("single PPS", PPS, (True, True)),
    ("single SEI", bytes([0x06, 0x05, 0x01]), (True, False)),
    ("single AUD", bytes([0x09, 0xF0]), (True, False)),
    ("single filler", bytes([0x0C, 0xFF]), (False, False)),
    ("STAP-A SPS PPS", stap_a(SPS, PPS), (True, True)),
    ("STAP-A SPS PPS IDR", stap_a(SPS, PPS, IDR), (True, True)),
    ("STAP-A of P slices", stap_a(P, P_LATER), (True, False)),
    ("STAP-A later slices only", stap_a(P_LATER, IDR_LATER), (False, False)),
    ("STAP-A SEI then IDR", stap_a(bytes([0x06, 0x05]), IDR), (True, True)),
    ("FU-A IDR start at mb 0", bytes([0x7C, 0x85, MB0, 0x00]), (True, True)),
    ("FU-A IDR start, later slice", bytes([0x7C, 0x85, MB5, 0x00]), (False, False)),
    ("FU-A IDR middle", bytes([0x7C, 0x05, 0x12, 0x34]), (False, False)),
    ("FU-A IDR end", bytes([0x7C, 0x45, 0x12, 0x34]), (False, False)),
    ("FU-A P start", bytes([0x5C, 0x81, MB0, 0x00]), (True, False)),
    ("FU-A start without slice bytes", bytes([0x7C, 0x85]), (False, False)),
    ("STAP-B", bytes([0x79, 0x00, 0x01, 0x00, 0x04]) + IDR, (False, False)),
    ("MTAP16", bytes([0x7A, 0x00]), (False, False)),
    ("FU-B", bytes([0x7D, 0x85, MB0]), (False, False)),
    ("empty", b"", (False, False)),
    ("one byte", bytes([0x65]), (False, False)),
    ("forbidden bit", bytes([0xE5, MB0]), (False, False)),
    ("STAP-A size past the end", bytes([0x78, 0x00, 0x40]) + SPS, (False, False)),
    ("STAP-A zero size", bytes([0x78, 0x00, 0x00]) + SPS, (False, False)),
    ("STAP-A cut after SPS", stap_a(SPS) + bytes([0x00, 0x40, 0x65]), (True, True)),
    ("STAP-A header only", bytes([0x78]), (False, False)),
]


@pytest.mark.parametrize(("name", "payload", "expected"), CASES, ids=[c[0] for c in CASES])
def test_frame_start(name: str, payload: bytes, expected: tuple[bool, bool]) -> None:
    assert h264.frame_start(payload) == expected


def test_random_bytes_never_raise() -> None:
    rng = random.Random(6184)
    for _ in range(20000):
        payload = rng.randbytes(rng.randrange(0, 12))
        start, key = h264.frame_start(payload)
        assert not key or start


@pytest.mark.parametrize(
    ("fmtp", "ok"),
    [
        ({"packetization-mode": "1", "profile-level-id": "42e01f"}, True),
        ({"packetization-mode": 1, "profile-level-id": "42E01F"}, True),
        ({"packetization-mode": "1", "profile-level-id": "42c01f"}, True),
        ({"packetization-mode": "0", "profile-level-id": "42e01f"}, False),
        ({"profile-level-id": "42e01f"}, False),
        ({"packetization-mode": "1", "profile-level-id": "42001f"}, False),  # Baseline
        ({"packetization-mode": "1", "profile-level-id": "640c1f"}, False),  # High
        ({"packetization-mode": "1", "profile-level-id": "4d001f"}, False),  # Main
        ({"packetization-mode": "1", "profile-level-id": "zz"}, False),
        ({"packetization-mode": "1", "profile-level-id": "42zz1f"}, False),
        ({"packetization-mode": "1"}, False),
    ],
)
def test_constrained_baseline(fmtp: dict[str, object], ok: bool) -> None:
    assert h264.is_constrained_baseline(fmtp) is ok


CB = ("video/H264", {"packetization-mode": "1", "profile-level-id": "42e01f"})
HIGH = ("video/H264", {"packetization-mode": "1", "profile-level-id": "640c1f"})
VP8 = ("video/VP8", {})
RTX = ("video/rtx", {"apt": 96})


@pytest.mark.parametrize(
    ("offered", "chosen"),
    [
        ([VP8, RTX, CB, RTX], "video/vp8"),  # every browser's default order
        ([CB, RTX, VP8, RTX], "video/h264"),  # setCodecPreferences([H264 CB, …])
        ([RTX, CB, VP8], "video/h264"),  # RTX/RED/FEC entries do not count
        ([HIGH, CB, VP8], "video/vp8"),  # High first is not the client asking for CB
        ([CB], "video/h264"),
        ([HIGH, CB], "video/h264"),  # no VP8: H.264 rather than nothing
        ([HIGH], None),
        ([("video/VP9", {})], None),
        ([], None),
    ],
)
def test_publish_codec(offered: list[tuple[str, dict[str, object]]], chosen: str | None) -> None:
    assert h264.publish_codec(offered) == chosen


# ------------------------------------------- real packets from Chromium (fixtures/)

FIXTURE = Path(__file__).with_name("fixtures") / "h264-chromium.bin"


def chromium_packets() -> list[RtpPacket]:
    """Chromium's first 40 H.264 packets (capture_h264_chromium.py): an IDR, then deltas."""
    data, pos, out = FIXTURE.read_bytes(), 0, []
    while pos < len(data):
        (size,) = struct.unpack_from("!H", data, pos)
        out.append(RtpPacket.parse(data[pos + 2 : pos + 2 + size]))
        pos += 2 + size
    return out


def test_chromium_packets() -> None:
    packets = chromium_packets()
    pictures: dict[int, list[RtpPacket]] = {}
    for p in packets:
        pictures.setdefault(p.timestamp, []).append(p)
    first, *rest = pictures.values()
    # The IDR: STAP-A (SPS, PPS), then FU-A fragments of the IDR slice.
    assert first[0].payload[0] & 0x1F == h264.STAP_A
    assert h264.frame_start(first[0].payload) == (True, True)
    assert h264.frame_start(first[1].payload) == (True, True)  # FU-A start of the IDR
    assert all(h264.frame_start(p.payload) == (False, False) for p in first[2:])
    assert first[-1].marker
    # Delta pictures: each starts once, at its first packet, and is no keyframe.
    assert len(rest) >= 10
    for packets_of in rest:
        starts = [h264.frame_start(p.payload) for p in packets_of]
        assert starts[0] == (True, False)
        assert all(s == (False, False) for s in starts[1:])
        assert packets_of[-1].marker


def test_chromium_packets_cut_anywhere_never_raise() -> None:
    for p in chromium_packets()[:6]:
        for n in range(min(len(p.payload), 64)):
            start, key = h264.frame_start(p.payload[:n])
            assert not key or start


def test_a_subscriber_joining_mid_stream_starts_at_the_idr() -> None:
    """The keyframe gate with Chromium's packets: delta pictures first (a newcomer
    arriving mid-stream) are held back; the IDR's STAP-A opens the gate, and the
    subscriber's first packet carries SPS and PPS."""
    packets = chromium_packets()
    idr = [p for p in packets if p.timestamp == packets[0].timestamp]
    deltas = packets[len(idr) :]
    egress = FakeEgress()
    m = RtpMunger(video=True, clock_rate=90000, frame_step=3000, rng=random.Random(1))
    m.out = egress
    now = 100.0
    waiting = []
    # The IDR (answering the newcomer's PLI) arrives after a few deltas: numbered anew in
    # that order, as the publisher would have sent them.
    for seq, p in enumerate(deltas[:8] + idr + deltas[8:], start=5000):
        _, key = h264.frame_start(p.payload)
        waiting.append(m.forward(seq, p.timestamp, p.marker, p.payload, key, now))
        now += 0.01
    assert all(waiting[:8]) and not any(waiting[8:])  # waited for the IDR, then not
    sent = egress.sent
    assert len(sent) == len(packets) - 8
    assert sent[0].payload == idr[0].payload and sent[0].payload[3] & 0x1F == h264.SPS
    assert [s.sequence_number for s in sent] == [
        (sent[0].sequence_number + i) & 0xFFFF for i in range(len(sent))
    ]
