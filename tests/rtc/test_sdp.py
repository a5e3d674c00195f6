"""Answers to browser-shaped offers (Chrome's codec list, trickle ICE), and bad input."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from aiortc.sdp import SessionDescription

from rtc.contract import OfferError, StreamInfo
from rtc.room import MediaRoom
from tests.rtc.clients import Client, Events

pytestmark = pytest.mark.timeout(20)

FINGERPRINT = ":".join(f"{i:02X}" for i in range(32))

HEAD = """v=0
o=- 4611731400430051336 2 IN IP4 127.0.0.1
s=-
t=0 0
a=group:BUNDLE {mids}
a=extmap-allow-mixed
a=msid-semantic: WMS s1
"""

COMMON = f"""c=IN IP4 0.0.0.0
a=rtcp:9 IN IP4 0.0.0.0
a=ice-ufrag:{{ufrag}}
a=ice-pwd:Wq1Xh0pLk7Q2n4Rz8Ty3Uv5a
a=ice-options:trickle
a=fingerprint:sha-256 {FINGERPRINT}
a=setup:actpass
a=mid:{{mid}}
"""

AUDIO = """m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126
{common}a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level
a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time
a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01
a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid
a={direction}
a=msid:s1 a1
a=rtcp-mux
a=rtpmap:111 opus/48000/2
a=rtcp-fb:111 transport-cc
a=fmtp:111 minptime=10;useinbandfec=1
a=rtpmap:63 red/48000/2
a=fmtp:63 111/111
a=rtpmap:9 G722/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:13 CN/8000
a=rtpmap:110 telephone-event/48000
a=rtpmap:126 telephone-event/8000
a=ssrc:1111 cname:chrome
a=ssrc:1111 msid:s1 a1
"""

VIDEO_CODECS = {
    "vp8": """a=rtpmap:96 VP8/90000
a=rtcp-fb:96 goog-remb
a=rtcp-fb:96 transport-cc
a=rtcp-fb:96 ccm fir
a=rtcp-fb:96 nack
a=rtcp-fb:96 nack pli
a=rtpmap:97 rtx/90000
a=fmtp:97 apt=96
""",
    "h264": """a=rtpmap:102 H264/90000
a=rtcp-fb:102 goog-remb
a=rtcp-fb:102 nack
a=rtcp-fb:102 nack pli
a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f
a=rtpmap:103 rtx/90000
a=fmtp:103 apt=102
""",
    "vp9": """a=rtpmap:98 VP9/90000
a=rtcp-fb:98 nack pli
a=fmtp:98 profile-id=0
a=rtpmap:99 rtx/90000
a=fmtp:99 apt=98
a=rtpmap:116 red/90000
a=rtpmap:117 rtx/90000
a=fmtp:117 apt=116
a=rtpmap:118 ulpfec/90000
""",
}
# Chrome also offers Baseline (42001f) and High (640c1f) H.264; only Constrained
# Baseline in packetization-mode 1 is answered.
VIDEO_CODECS["h264b"] = """a=rtpmap:104 H264/90000
a=rtcp-fb:104 nack pli
a=fmtp:104 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f
a=rtpmap:105 rtx/90000
a=fmtp:105 apt=104
"""
VIDEO_CODECS["h264hi"] = """a=rtpmap:106 H264/90000
a=rtcp-fb:106 nack pli
a=fmtp:106 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=640c1f
a=rtpmap:107 rtx/90000
a=fmtp:107 apt=106
"""
PTS = {
    "vp8": "96 97", "h264": "102 103", "vp9": "98 99 116 117 118", "h264b": "104 105",
    "h264hi": "106 107",
}


def video(common: str, direction: str, codecs: tuple[str, ...], ssrcs: bool) -> str:
    pts = " ".join(PTS[c] for c in codecs)
    body = "".join(VIDEO_CODECS[c] for c in codecs)
    out = f"""m=video 9 UDP/TLS/RTP/SAVPF {pts}
{common}a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time
a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid
a={direction}
a=rtcp-mux
a=rtcp-rsize
{body}"""
    if ssrcs:
        out += """a=ssrc-group:FID 2222 3333
a=ssrc:2222 cname:chrome
a=ssrc:3333 cname:chrome
"""
    return out


def chrome_offer(lines: list[tuple[str, str, tuple[str, ...]]], ufrag: str = "Ab3d") -> str:
    """``lines``: (kind, direction, video codecs) per m-line, mids 0, 1, …"""
    sdp = HEAD.format(mids=" ".join(str(i) for i in range(len(lines))))
    for mid, (kind, direction, codecs) in enumerate(lines):
        common = COMMON.format(ufrag=ufrag, mid=mid)
        if kind == "audio":
            sdp += AUDIO.format(common=common, direction=direction)
        else:
            sdp += video(common, direction, codecs, ssrcs=direction != "recvonly")
    return sdp.replace("\n", "\r\n")


def answer_lines(sdp: str) -> list[tuple[str, str, list[str]]]:
    """(kind, direction, codec names) per m-line of an answer."""
    parsed = SessionDescription.parse(sdp)
    return [(m.kind, str(m.direction), [c.mimeType for c in m.rtp.codecs]) for m in parsed.media]


ALL = ("vp8", "h264", "vp9")


async def test_chrome_offer_gets_opus_vp8_and_the_right_directions(
    room: MediaRoom, client: Callable[..., Client]
) -> None:
    room.set_publish("A", frozenset({"audio", "video"}))
    a = client("A", audio=True, video=True)
    await a.negotiate()
    answer = await room.offer(
        "T",
        chrome_offer(
            [("audio", "sendrecv", ()), ("video", "sendrecv", ALL), ("audio", "recvonly", ()),
             ("video", "recvonly", ALL)]
        ),
    )
    # RED (RFC 2198) first where the browser sends (libwebrtc sends RED only then),
    # Opus first where the server sends (its sender's codec is the first one).
    assert answer_lines(answer.sdp) == [
        ("audio", "recvonly", ["audio/red", "audio/opus"]),
        ("video", "recvonly", ["video/VP8", "video/rtx"]),
        ("audio", "sendonly", ["audio/opus", "audio/red"]),
        ("video", "sendonly", ["video/VP8", "video/rtx", "video/H264", "video/rtx"]),
    ]
    audio = [m for m in answer.sdp.split("m=")[1:] if m.startswith("audio")]
    for line in audio:  # in-band FEC asked of the browser's encoder, the offer's PTs kept
        assert "a=fmtp:111 minptime=10;useinbandfec=1\r\n" in line
        assert "a=rtpmap:63 red/48000/2\r\na=fmtp:63 111/111\r\n" in line
        assert "usedtx" not in line  # Chrome did not offer DTX
    assert audio[0].split("\r\n")[0].endswith("SAVPF 63 111")
    assert audio[1].split("\r\n")[0].endswith("SAVPF 111 63")
    assert answer.tracks == {"2": StreamInfo("A", "audio"), "3": StreamInfo("A", "video")}
    hosts = {m.split()[4] for m in re.findall(r"a=candidate:(.*)", answer.sdp)}
    assert hosts == {"127.0.0.1"}
    assert "a=end-of-candidates" in answer.sdp  # the server does not trickle
    # Trickled candidates in the browser's format; "" ends them.
    await room.add_ice_candidate(
        "T", "candidate:842163049 1 udp 2122260223 127.0.0.1 9 typ host generation 0 "
        "ufrag Ab3d network-id 1", "0", 0
    )
    await room.add_ice_candidate("T", "", "0", 0)
    with pytest.raises(OfferError):
        await room.add_ice_candidate("T", "candidate:garbage", "0", 0)
    with pytest.raises(ValueError):  # OfferError is a ValueError for the signaling layer
        await room.add_ice_candidate("nobody", "", "0", 0)


async def test_dtx_is_answered_when_offered_and_red_only_when_it_wraps_opus(
    room: MediaRoom,
) -> None:
    room.set_publish("T", frozenset({"audio"}))
    offer = chrome_offer([("audio", "sendrecv", ())])
    offer = offer.replace("a=fmtp:111 minptime=10;useinbandfec=1", "a=fmtp:111 usedtx=1")
    offer = offer.replace("a=fmtp:63 111/111", "a=fmtp:63 111/9")  # RED around G722 too
    answer = await room.offer("T", offer)
    assert answer_lines(answer.sdp) == [("audio", "recvonly", ["audio/opus"])]
    assert "a=fmtp:111 useinbandfec=1;usedtx=1\r\n" in answer.sdp


async def test_a_publisher_without_vp8_or_h264_is_answered_inactive(room: MediaRoom) -> None:
    room.set_publish("T", frozenset({"audio", "video"}))
    answer = await room.offer(
        "T", chrome_offer([("audio", "sendrecv", ()), ("video", "sendrecv", ("vp9", "h264b"))])
    )
    assert [(k, d) for k, d, _ in answer_lines(answer.sdp)] == [
        ("audio", "recvonly"), ("video", "inactive")
    ]
    assert room.snapshot().streams == (StreamInfo("T", "audio"),)


def fmtp_of(sdp: str, kind: str, index: int = 0) -> list[str]:
    lines = [m for m in sdp.split("m=")[1:] if m.startswith(kind)][index]
    return re.findall(r"a=fmtp:(\d+ [^\r]*)", lines)


@pytest.mark.parametrize(
    ("codecs", "chosen", "pt"),
    [
        (("vp8", "vp9", "h264b", "h264"), "video/VP8", "96"),  # Chrome's default order
        (("h264", "vp8", "h264b", "vp9"), "video/H264", "102"),  # &codec=h264
        (("h264b", "h264", "vp8"), "video/VP8", "96"),  # Baseline first is not asking for CB
        (("h264hi", "h264b", "h264"), "video/H264", "102"),  # no VP8: CB rather than nothing
    ],
)
async def test_a_publisher_gets_one_codec_from_its_offers_order(
    room: MediaRoom, codecs: tuple[str, ...], chosen: str, pt: str
) -> None:
    room.set_publish("T", frozenset({"video"}))
    answer = await room.offer("T", chrome_offer([("video", "sendrecv", codecs)]))
    assert answer_lines(answer.sdp) == [("video", "recvonly", [chosen, "video/rtx"])]
    line = answer.sdp.split("m=video")[1].split("\r\n")[0]
    assert line.endswith(f"SAVPF {pt} {int(pt) + 1}")
    if chosen == "video/H264":
        assert fmtp_of(answer.sdp, "video") == [
            "102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
            "103 apt=102",
        ]
    assert room.snapshot().streams == (StreamInfo("T", "video"),)


@pytest.mark.parametrize(
    ("codecs", "answered"),
    [
        (ALL, ["video/VP8", "video/rtx", "video/H264", "video/rtx"]),
        (("h264", "vp8"), ["video/VP8", "video/rtx", "video/H264", "video/rtx"]),  # VP8 first
        (("vp8", "vp9"), ["video/VP8", "video/rtx"]),  # a browser without H.264
        (("h264b", "h264"), ["video/H264", "video/rtx"]),  # without VP8
    ],
)
async def test_a_slot_is_answered_with_every_codec_it_can_carry(
    room: MediaRoom, codecs: tuple[str, ...], answered: list[str]
) -> None:
    answer = await room.offer("S", chrome_offer([("video", "recvonly", codecs)]))
    assert answer_lines(answer.sdp) == [("video", "sendonly", answered)]
    if "video/H264" in answered:  # Constrained Baseline only, the offer's payload types
        assert "102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f" in (
            fmtp_of(answer.sdp, "video")
        )
        assert "104" not in answer.sdp.split("m=video")[1].split("\r\n")[0]


async def test_an_offer_with_new_ice_credentials_replaces_the_connection(
    room: MediaRoom, events: Events
) -> None:
    await room.offer("T", chrome_offer([("audio", "recvonly", ())], ufrag="One1"))
    first = room._people["T"].pc
    await room.offer("T", chrome_offer([("audio", "recvonly", ())], ufrag="One1"))
    assert room._people["T"].pc is first  # same browser connection: renegotiation
    await room.offer("T", chrome_offer([("audio", "recvonly", ())], ufrag="Two2"))
    assert room._people["T"].pc is not first  # a reloaded page: a new connection
    assert first is not None and first.connectionState == "closed"


@pytest.mark.parametrize(
    "sdp", ["", "hello", "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"]
)
async def test_bad_offers_are_refused_with_a_value_error(room: MediaRoom, sdp: str) -> None:
    with pytest.raises(OfferError):
        await room.offer("T", sdp)
    assert room.snapshot().people["T"].connection == "none"
