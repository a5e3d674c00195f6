"""``GET /api/v1/live`` (issue 16, the console's Now page) on a real server with real
aiortc peers: what the server counted in the last seconds, in words; and who may see
which live session."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from rtc.contract import StreamInfo
from signaling.server.http_util import SERVICES
from tests.conftest import free_port
from tests.rtc.clients import Client
from tests.rtc.test_evidence import ToneAudio
from tests.signaling.test_media_session import OverSocket, follow_renegotiations
from tests.signaling.test_staff import MIYUN, PASSWORD, TONGZHOU, Browser, session_in
from tests.support import ServerHandle, start_app

pytestmark = pytest.mark.timeout(120)
LIVE = "/api/v1/live"


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[ServerHandle]:
    handle = await start_app(tmp_path / "data", port=free_port())
    accounts = handle.app[SERVICES].staff
    assert accounts is not None
    await accounts.create_user("tz-office", PASSWORD, "district", TONGZHOU)
    await accounts.create_user("s7-office", PASSWORD, "school", MIYUN, "S7")
    try:
        yield handle
    finally:
        await handle.stop()


class Joined:
    def __init__(self, client: Client, loop: asyncio.Task[None]) -> None:
        self.client, self.loop = client, loop

    async def close(self) -> None:
        self.loop.cancel()
        await self.client.close()


async def join(server: ServerHandle, token: str, name: str, tone: ToneAudio | None) -> Joined:
    """With ``tone``: a teacher publishing it and a camera; without: receive-only."""
    peer = await server.connect(token)
    await peer.wait_for("welcome")
    client = Client(name, OverSocket(peer), video=tone is not None)  # type: ignore[arg-type]
    if tone is not None:
        client.pc.addTrack(tone)
    else:
        client.add_receivers([StreamInfo("?", "audio")])
    await client.negotiate()
    return Joined(client, asyncio.create_task(follow_renegotiations(peer, client)))


async def live_until(server: ServerHandle, what: str,
                     ok: Callable[[dict[str, Any]], bool], within: float = 25) -> dict[str, Any]:
    """Poll ``/live`` (as the console does) until ``ok`` holds of its body."""
    deadline = asyncio.get_running_loop().time() + within
    body: dict[str, Any] = {}
    while asyncio.get_running_loop().time() < deadline:
        status, body = await server.api("GET", LIVE)
        assert status == 200, body
        if ok(body):
            return body
        await asyncio.sleep(0.5)
    raise AssertionError(f"{what}: {body}")


def person(body: dict[str, Any], session_id: str, person_id: str) -> dict[str, Any]:
    session = next(s for s in body["sessions"] if s["id"] == session_id)
    return next(p for p in session["people"] if p["id"] == person_id)


def health_of(body: dict[str, Any], session_id: str, person_id: str) -> dict[str, Any]:
    try:
        return dict(person(body, session_id, person_id)["health"])
    except StopIteration:
        return {}


async def test_a_voiced_teacher_then_muted(server: ServerHandle) -> None:
    session_id, tokens = await server.create(session_in(TONGZHOU, "S1"))
    status, body = await server.api("GET", LIVE)
    assert (status, body["sessions"], body["node"]) == (200, [], "local")  # not live yet
    tone = ToneAudio()
    teacher = await join(server, tokens["t1"], "t1", tone)
    learner = await join(server, tokens["s1"], "s1", None)
    try:
        body = await live_until(server, "the teacher is heard and seen", lambda b: (
            health_of(b, session_id, "t1").get("audio") == "voiced"
            and health_of(b, session_id, "t1").get("video") == "live"
            and health_of(b, session_id, "s1").get("receiving") is True))
        session = body["sessions"][0]
        assert session["title"] == "函数图像答疑" and session["form"] == "one_to_one"
        assert session["programme"] == "training" and session["node"] == "local"
        assert session["recording"]["on"] is False and session["minutes"] == 0
        assert session["started_at"] and [p["id"] for p in session["instructors"]] == ["t1"]
        assert {p["id"] for p in session["people"]} == {"t1", "s1"}
        t1 = person(body, session_id, "t1")
        assert t1["role"] == "instructor" and t1["name"] == "王老师" and t1["joined_at"]
        assert t1["health"]["fps"] >= 5 and t1["health"]["kbps_in"] > 0
        s1 = health_of(body, session_id, "s1")
        assert s1["audio"] == "off" and s1["video"] == "camera_off"
        assert s1["kbps_out"] > 0 and s1["loss_pct"] is not None and s1["loss_pct"] < 50

        tone.muted = True  # a muted microphone sends digital silence
        await live_until(server, "the muted teacher is silent", lambda b: (
            health_of(b, session_id, "t1").get("audio") == "silent"))
    finally:
        await teacher.close()
        await learner.close()

    status, ended = await server.api("POST", f"/api/v1/sessions/{session_id}/end")
    assert status == 200, ended
    await live_until(server, "an ended session is gone", lambda b: b["sessions"] == [])


async def test_staff_see_only_their_scope(server: ServerHandle) -> None:
    tongzhou, tz_tokens = await server.create(session_in(TONGZHOU, "S1"))
    miyun, my_tokens = await server.create(session_in(MIYUN, "S7"))
    await (await server.connect(tz_tokens["t1"])).wait_for("welcome")  # live: signal only
    await (await server.connect(my_tokens["t1"])).wait_for("welcome")
    status, body = await server.api("GET", LIVE)
    assert {s["id"] for s in body["sessions"]} == {tongzhou, miyun}  # the key: the city
    assert all(len(s["people"]) == 1 for s in body["sessions"])

    status, body = await server.api("GET", LIVE, key=None)
    assert status == 401, body
    for username, expected in (("tz-office", tongzhou), ("s7-office", miyun)):
        browser = Browser(server)
        try:
            assert (await browser.login(username))[0] == 200
            status, body = await browser.call("GET", LIVE)
            assert status == 200, body
            assert [s["id"] for s in body["sessions"]] == [expected], username
        finally:
            await browser.close()

    status, doc = await server.api("GET", "/api/v1/openapi.json")
    assert "/live" in doc["paths"] and "LiveSession" in doc["components"]["schemas"]


async def test_each_node_answers_for_every_node(tmp_path: Path, redis_url: str) -> None:
    """Several nodes (Redis): a node asked for its own rooms (``here=1``, what nodes ask
    each other) lists those; asked plainly, it gathers every node's, each naming its
    node, in the asker's scope (narrowed for the other node too)."""
    data = tmp_path / "data"
    a = await start_app(data, port=free_port(), redis_url=redis_url, node_id="live-a")
    b = await start_app(data, port=free_port(), redis_url=redis_url, node_id="live-b")
    try:
        on_a, a_tokens = await a.create(session_in(TONGZHOU, "S1"))
        on_b, b_tokens = await b.create(session_in(MIYUN, "S7"))
        await (await a.connect(a_tokens["t1"])).wait_for("welcome")  # placed on a
        await (await b.connect(b_tokens["t1"])).wait_for("welcome")  # placed on b
        for node, name, session_id in ((a, "live-a", on_a), (b, "live-b", on_b)):
            status, body = await node.api("GET", LIVE + "?here=1")
            assert status == 200, body
            assert (body["node"], body["several_nodes"]) == (name, True)
            assert [(s["id"], s["node"]) for s in body["sessions"]] == [(session_id, name)]
            status, body = await node.api("GET", LIVE)
            assert status == 200 and body["unreachable"] == []
            assert sorted((s["id"], s["node"]) for s in body["sessions"]) == sorted(
                [(on_a, "live-a"), (on_b, "live-b")])
            status, body = await node.api(
                "GET", f"{LIVE}?as_level=district&as_district={TONGZHOU}")
            assert [s["id"] for s in body["sessions"]] == [on_a], body
    finally:
        await b.stop()
        await a.stop()
