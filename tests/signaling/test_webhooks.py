"""Signed webhooks against a real receiver on loopback: the events of a session arrive
signed with the API key (HMAC over timestamp and body); a receiver that fails is
retried with backoff; one that never answers 2xx ends on the dead-letter list."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import socketio
from aiohttp import web

from signaling.server.webhooks import SIGNATURE_HEADER, verify
from tests.conftest import free_port
from tests.support import API_KEY, Peer, ServerHandle, start_app


class Receiver:
    """A platform's webhook endpoint: keeps what it got, fails the first ``fail``."""

    def __init__(self, fail: int = 0) -> None:
        self.fail = fail
        self.got: list[dict[str, Any]] = []
        self.attempts = 0
        self.bad_signatures = 0

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.attempts += 1
        if not verify(API_KEY.encode(), request.headers.get(SIGNATURE_HEADER, ""), body,
                      now=time.time()):
            self.bad_signatures += 1
            return web.Response(status=401)
        if self.fail > 0:
            self.fail -= 1
            return web.Response(status=500)
        self.got.append(json.loads(body))
        return web.Response(status=204)

    def events(self) -> list[str]:
        return [e["event"] for e in self.got]


@pytest.fixture
async def receiver_url() -> AsyncIterator[tuple[Receiver, str]]:
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/hooks", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield receiver, f"http://127.0.0.1:{port}/hooks"
    await runner.cleanup()


async def until(check: Any, within: float = 10) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_session_events_arrive_signed_and_retried(
    receiver_url: tuple[Receiver, str], tmp_path: Path
) -> None:
    receiver, url = receiver_url
    receiver.fail = 2  # the platform is briefly down: two 500s, then it answers
    server: ServerHandle = await start_app(tmp_path / "data", port=free_port(),
                                           webhook_url=url, webhook_backoff_s=0.05)
    try:
        session_id, tokens = await server.create()
        peer = Peer(socketio.AsyncClient(reconnection=False))
        await peer.connect(server.base, tokens["t1"])
        await peer.wait_for("welcome")
        await peer.sio.disconnect()
        status, _ = await server.api("POST", f"/api/v1/sessions/{session_id}/end")
        assert status == 200
        await until(lambda: "session.ended" in receiver.events())
        assert receiver.events() == ["participant.joined", "session.started",
                                     "participant.left", "session.ended"]
        assert {e["session_id"] for e in receiver.got} == {session_id}
        joined = next(e for e in receiver.got if e["event"] == "participant.joined")
        assert joined["data"] == {"person": "t1"}
        assert receiver.bad_signatures == 0 and receiver.attempts == len(receiver.got) + 2
        status, state = await server.api("GET", "/api/v1/webhooks")
        assert status == 200 and state["dead"] == [] and state["delivered"] == len(receiver.got)
    finally:
        await server.stop()


async def test_a_receiver_that_never_answers_ends_on_the_dead_letter_list(
    receiver_url: tuple[Receiver, str], tmp_path: Path
) -> None:
    receiver, url = receiver_url
    receiver.fail = 10_000
    server: ServerHandle = await start_app(tmp_path / "data", port=free_port(),
                                           webhook_url=url, webhook_backoff_s=0.01)
    try:
        session_id, _ = await server.create()
        status, _ = await server.api("POST", f"/api/v1/sessions/{session_id}/end")
        assert status == 200
        state: dict[str, Any] = {}

        async def dead() -> list[Any]:
            nonlocal state
            _, state = await server.api("GET", "/api/v1/webhooks")
            return list(state["dead"])

        deadline = time.monotonic() + 10
        while not await dead():
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        (letter,) = state["dead"]
        assert letter["event"] == "session.ended" and letter["error"] == "HTTP 500"
        assert receiver.attempts == 6  # the first try and five retries
        status, _ = await server.api("GET", "/api/v1/webhooks", key="wrong")
        assert status == 401
    finally:
        await server.stop()
