"""H.264 beside VP8 with real aiortc peers through a MediaRoom over 127.0.0.1: a
publisher that asks for H.264 (its offer lists Constrained Baseline first) is forwarded
as H.264, unchanged, to slots that negotiated it; a new subscriber starts at an IDR
(the PLI reached the publisher); a slot that negotiated only VP8 gets no H.264 packets;
a slot moves between a VP8 and an H.264 publisher without renegotiation."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from aiortc import RTCRtpSender

from rtc.contract import StreamInfo
from rtc.room import MediaRoom
from tests.rtc.clients import HEIGHT, WIDTH, Client, until

pytestmark = pytest.mark.timeout(40)

AV = frozenset({"audio", "video"})


def prefer(client: Client, mime: str, *, only: bool = False, direction: str = "") -> None:
    """setCodecPreferences on ``client``'s video transceivers (of ``direction``, if
    given): ``mime`` first (Constrained Baseline for H.264), or alone."""
    caps = RTCRtpSender.getCapabilities("video").codecs
    main = [
        c for c in caps
        if c.mimeType.lower() == mime.lower()
        and (mime.lower() != "video/h264" or c.parameters.get("profile-level-id") == "42e01f")
    ]
    rest = [] if only else [c for c in caps if c not in main and c.name.lower() != "rtx"]
    rtx = [c for c in caps if c.name.lower() == "rtx"]
    for t in client.pc.getTransceivers():
        if t.kind == "video" and (not direction or t.direction == direction):
            t.setCodecPreferences(main + rest + rtx)


def slot_codec(room: MediaRoom, person: str, publisher: str) -> str | None:
    """The codec name the server sends on ``person``'s slot for ``publisher``'s video."""
    for slot in room._people[person].slots.values():
        if slot.stream == StreamInfo(publisher, "video") and slot.track.out is not None:
            pts = slot.track.out.codec_pts
            return next((name for name, (pt, _) in pts.items() if pt == slot.track.out.pt), None)
    return None


async def test_an_h264_publisher_is_forwarded_as_h264(
    room: MediaRoom, client: Callable[..., Client]
) -> None:
    room.set_publish("A", AV)
    a = client("A", audio=True, video=True)
    prefer(a, "video/H264")
    await a.negotiate()
    assert "H264/90000" in a.answers[0].split("m=video")[1]
    assert "VP8" not in a.answers[0].split("m=video")[1]

    b = client("B")  # offers both (aiortc's default: VP8 first, then H.264)
    await b.negotiate(room.snapshot().streams_for("B"))
    await until(lambda: b.frames("A", "video") >= 30, 15, "B decoding A's H.264")
    assert b.received[b.mid_of("A", "video")].sizes == {(WIDTH, HEIGHT)}
    assert slot_codec(room, "B", "A") == "h264"
    source = room._sources[("A", "video")]
    assert source.codec == "h264"
    # B's receiver decoded with H.264: aiortc picks the decoder by the packets' type.
    receiver = next(t.receiver for t in b.pc.getTransceivers() if t.mid == b.mid_of("A", "video"))
    codecs = receiver._RTCRtpReceiver__codecs  # type: ignore[attr-defined]
    assert {c.name for c in codecs.values() if c.name != "rtx"} == {"VP8", "H264"}

    # A newcomer starts at an IDR: the server asked the publisher for one.
    requests = a.keyframe_requests
    keyframes = source.keyframes_in
    c = client("C")
    await c.negotiate(room.snapshot().streams_for("C"))
    await until(lambda: c.frames("A", "video") >= 5, 10, "C's first H.264 frames")
    assert a.keyframe_requests > requests
    assert source.keyframes_in > keyframes
    assert c.received[c.mid_of("A", "video")].sizes == {(WIDTH, HEIGHT)}

    # A browser without H.264: its slot is attached but carries nothing; audio does.
    d = client("D")
    d.add_receivers(room.snapshot().streams_for("D"))
    prefer(d, "video/VP8", only=True)
    await d.negotiate()
    assert "H264" not in d.answers[0]
    await until(lambda: d.frames("A", "audio") >= 30, 10, "D hearing A")
    assert d.frames("A", "video") == 0
    assert room._people["D"].slots[d.mid_of("A", "video")].track.packets_sent == 0


async def test_a_slot_moves_between_a_vp8_and_an_h264_publisher(
    room: MediaRoom, client: Callable[..., Client]
) -> None:
    room.set_publish("A", frozenset({"video"}))
    a = client("A", video=True)  # VP8 (aiortc's default order)
    await a.negotiate()
    b = client("B")
    await b.negotiate(room.snapshot().streams_for("B"))
    await until(lambda: b.frames("A", "video") >= 10, 10, "B decoding A's VP8")
    assert slot_codec(room, "B", "A") == "vp8"
    mid = b.mid_of("A", "video")

    room.set_publish("A", frozenset())  # the stage moves to E, who sends H.264
    room.set_publish("E", frozenset({"video"}))
    e = client("E", video=True)
    prefer(e, "video/H264")
    await e.negotiate()
    await until(lambda: b.mapping.get(mid) == StreamInfo("E", "video") or any(
        s.stream == StreamInfo("E", "video") for s in room._people["B"].slots.values()
    ), 5, "B's slot moved to E")
    slot = next(s for s in room._people["B"].slots.values() if s.stream == StreamInfo("E", "video"))
    assert slot.mid == mid  # the same slot, not renegotiated
    before = b.received[mid].frames
    await until(lambda: b.received[mid].frames >= before + 10, 15, "B decoding E's H.264")
    assert slot_codec(room, "B", "E") == "h264"
