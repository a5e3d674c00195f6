"""Per-subscriber quality with real Chromiums on a capped link (issue 13, item 2): a
student's Chromium runs in a network namespace of its own whose veth pair is capped by
``tbf`` (bench/network.py's :class:`Link`); the teacher's Chromium publishes its fake
camera and microphone to the server's media room (in this process, as in
test_audio_red.py). At 150 kbit/s the server switches the student to audio only and
their audio keeps flowing; with the cap lifted, video comes back at a keyframe.
Assertions are on states and events (each waited for with a generous bound), never on
how long they took."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import Callable
from typing import Any

import pytest

from bench.network import Call, call
from tests.rtc.clients import Events

pytestmark = [
    pytest.mark.timeout(150),
    pytest.mark.skipif(
        os.geteuid() != 0 or shutil.which("tc") is None,
        reason="needs root and tc for a network namespace (./scripts/test runs e2e so)",
    ),
]


async def until(what: str, check: Callable[[], Any], bound: float = 40.0) -> Any:
    deadline = time.monotonic() + bound
    while not (result := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"never: {what}")
        await asyncio.sleep(0.25)
    return result


def levels(c: Call) -> list[str]:
    return [level for _, level, _ in c.levels()]


async def test_a_capped_student_gets_audio_only_then_video_again_at_a_keyframe() -> None:
    events = Events()
    async with call(events) as c:
        assert levels(c) == []  # a clean link: full, nothing said
        video = c.room._sources[("T", "video")]
        audio = c.room._sources[("T", "audio")]
        assert video.subscribers == audio.subscribers == 1

        c.link.cap(150)
        await until("audio only", lambda: "audio_only" in levels(c), bound=60)
        assert ("S", "audio_only", "network") in [a for _, n, a in events.log if n == "quality"]
        assert video.subscribers == 0 and audio.subscribers == 1  # video no longer sent
        heard = (await c.stats())["audio"]["packets"]
        await until_async("audio keeps flowing", lambda s: s["audio"]["packets"] > heard + 150, c)

        c.link.cap(None)
        keyframes = (await c.stats())["video"]["keyframes"]
        await until("video again", lambda: levels(c)[-1] != "audio_only", bound=60)
        assert video.subscribers == 1
        await until_async("a keyframe decoded", lambda s: s["video"]["keyframes"] > keyframes, c)
        decoded = (await c.stats())["video"]["decoded"]
        await until_async("video moving", lambda s: s["video"]["decoded"] > decoded + 30, c)
        assert (await c.stats())["state"] == "connected"


async def until_async(what: str, check: Callable[[dict[str, Any]], bool], c: Call) -> None:
    deadline = time.monotonic() + 30
    while not check(await c.stats()):
        if time.monotonic() > deadline:
            raise AssertionError(f"never: {what}")
        await asyncio.sleep(0.5)
