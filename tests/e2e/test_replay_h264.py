"""An H.264 recording replays in Chromium (issue 13, item 5): a teacher whose camera
is H.264 (aiortc, Constrained Baseline first in its offer, as ``&codec=h264`` makes a
browser do) is recorded into Matroska segments; the replay page is told
``video/mp4; codecs="avc1.42E01F"`` and gets each segment remuxed into fragmented MP4;
Chromium's MediaSource decodes it, on the recording's clock."""

from __future__ import annotations

import asyncio
import copy
import time
from pathlib import Path
from typing import Any

import pytest
import socketio
from playwright.async_api import Browser

from tests.conftest import free_port
from tests.e2e.test_replay import copy_shots, replay_state, wait_state
from tests.e2e.test_session import LAPTOP
from tests.recording_support import Publisher, api, running
from tests.rtc.clients import Client
from tests.rtc.test_h264_media import prefer
from tests.signaling.test_media_session import OverSocket, follow_renegotiations
from tests.support import ONE_TO_ONE, Peer, token_of

pytestmark = pytest.mark.timeout(150)


async def join_h264(base: str, token: str, name: str) -> Publisher:
    peer = Peer(socketio.AsyncClient(reconnection=False))
    await peer.connect(base, token)
    await peer.wait_for("welcome")
    client = Client(name, OverSocket(peer), audio=True, video=True)  # type: ignore[arg-type]
    prefer(client, "video/H264")
    await client.negotiate()
    return Publisher(peer, client, asyncio.create_task(follow_renegotiations(peer, client)))


async def record_h264(base: str) -> tuple[dict[str, str], dict[str, Any]]:
    body = copy.deepcopy(ONE_TO_ONE)
    body["record"] = True
    status, created = await api(base, "POST", "/api/v1/sessions", body)
    assert status == 201
    tokens = {p: token_of(u) for p, u in created["join_urls"].items()}
    teacher = await join_h264(base, tokens["t1"], "t1")
    try:
        await asyncio.sleep(7)
    finally:
        await teacher.close()
    session_id = created["session_id"]
    assert (await api(base, "POST", f"/api/v1/sessions/{session_id}/end"))[0] == 200
    deadline = time.monotonic() + 30
    while True:
        _, listed = await api(base, "GET", f"/api/v1/sessions/{session_id}/recordings")
        if listed["recordings"] and listed["recordings"][0]["file_ready"]:
            return tokens, listed["recordings"][0]
        assert time.monotonic() < deadline, listed
        await asyncio.sleep(0.3)


async def test_an_h264_recording_replays(browser: Browser, tmp_path: Path, artifacts: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with running(tmp_path / "data", port, tmp_path / "server.log",
                 "--recordings-segment-seconds", "2"):
        tokens, _item = await record_h264(base)
        status, mine = await api(base, "GET", "/api/v1/me/recordings", token=tokens["s1"])
        assert status == 200
        replay_url = base + mine["recordings"][0]["replay_url"]

        laptop = await browser.new_context(**LAPTOP)  # type: ignore[arg-type]
        page = await laptop.new_page()
        manifests: list[Any] = []

        async def keep(response: Any) -> None:
            if "manifest.json" in response.url:
                manifests.append(await response.json())

        page.on("response", keep)
        await page.goto(replay_url)
        await wait_state(page, "s.duration > 0")
        # The response handler reads the manifest's body on its own task: the page can be
        # ready before that read is done.
        deadline = time.monotonic() + 10
        while not manifests:
            assert time.monotonic() < deadline, "the manifest's response was never read"
            await asyncio.sleep(0.05)
        video = next(t for m in manifests for t in m["tracks"] if t["kind"] == "video")
        assert video["codec"] == "H264" and video["mime"] == 'video/mp4; codecs="avc1.42E01F"'
        assert await page.evaluate(f"() => MediaSource.isTypeSupported({video['mime']!r})")

        await page.click('[data-testid="replay-play"]')
        await wait_state(page, "s.video.width > 0 && s.video.frames > 10 && s.t > 1")
        first = await replay_state(page)
        await asyncio.sleep(1.0)
        later = await replay_state(page)
        assert later["video"]["time"] > first["video"]["time"], "the H.264 video plays"
        # Seek into a later segment: it is placed on the clock, not at 0.
        await page.evaluate("() => window.opentutorReplay.seek(4.5)")
        await wait_state(page, "s.playing && s.t > 4.6 && Math.abs(s.video.time - s.t) < 0.6")
        assert (await replay_state(page))["errors"] == []
        await page.screenshot(path=str(artifacts / "h264-replay-laptop.png"))
        copy_shots(artifacts, "h264-replay-laptop.png")
        await laptop.close()
