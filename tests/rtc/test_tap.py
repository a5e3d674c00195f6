"""Frame taps (the recorder's way in): every forwarded encoded frame, once, with the
codec name, and a keyframe first — without any subscriber in the room."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

from rtc.room import MediaRoom
from tests.rtc.clients import Client, until

pytestmark = pytest.mark.timeout(30)


class Tap:
    def __init__(self) -> None:
        self.frames: list[tuple[str, str, str, int, bool]] = []

    def frame(self, person: str, kind: str, codec: str, packet: Any, keyframe: bool) -> None:
        self.frames.append((person, kind, codec, int(packet.pts), keyframe))

    def of(self, kind: str) -> list[tuple[str, str, str, int, bool]]:
        return [f for f in self.frames if f[1] == kind]


async def test_tap_sees_encoded_frames_without_subscribers(
    room: MediaRoom, client: Callable[..., Client]
) -> None:
    room.set_publish("A", frozenset({"audio", "video"}))
    publisher = client("A", audio=True, video=True)
    await publisher.negotiate()
    await until(lambda: room.snapshot().people["A"].published == {"audio", "video"}, 10)
    tap = Tap()
    room.add_tap(tap)
    await until(lambda: len(tap.of("video")) > 20 and len(tap.of("audio")) > 20, 15, "frames")
    video, audio = tap.of("video"), tap.of("audio")
    assert {f[2] for f in video} == {"VP8"} and {f[2] for f in audio} == {"opus"}
    assert any(f[4] for f in video), "adding a tap asks the publisher for a keyframe"
    assert all(b[3] > a[3] for a, b in itertools.pairwise(video)), "pts increase"
    room.remove_tap(tap)
    seen = len(tap.frames)
    await publisher.negotiate()
    assert len(tap.frames) - seen < 5  # at most a frame in flight
