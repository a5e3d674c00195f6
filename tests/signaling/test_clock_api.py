"""``GET /api/v1/me/clock`` through the real app, with socket.io participants: the
instructor's counted figures and reason, a learner's elapsed time and limits only, an
observer's link refused, and the final figures as soon as the session ends."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from rtc.clock import FakeClock
from signaling.server.app import create_app
from signaling.server.config import Config
from signaling.server.http_util import SERVICES
from signaling.server.tokens import Grant, issue
from tests.conftest import free_port
from tests.support import API_KEY, ONE_TO_ONE, SECRET, ServerHandle

T0 = datetime(2024, 3, 6, 10, 0, tzinfo=UTC)  # a Wednesday in term, 18:00 in Beijing
COUNTED = ("counted_minutes", "meets_minimum", "counting", "why_not", "took_part")


async def test_clock_instructor_learner_observer(server: ServerHandle) -> None:
    session_id, toks = await server.create()
    # Before anyone joined: elapsed 0, nothing counted, "not started".
    status, before = await server.api("GET", "/api/v1/me/clock", token=toks["t1"])
    assert status == 200, before
    assert before["started_at"] is None and before["elapsed_s"] == 0
    assert (before["counted_minutes"], before["counting"], before["why_not"]) == (
        0, False, "not_started")
    assert (before["min_minutes"], before["max_minutes"]) == (10, 60)  # training one_to_one

    teacher = await server.connect(toks["t1"])
    learner = await server.connect(toks["s1"])
    await teacher.wait_for("welcome")
    await learner.wait_for("welcome")
    # (The teacher's "not started" stays cached for 15 s; the end below replaces it.)
    status, mine = await server.api("GET", "/api/v1/me/clock", token=toks["s1"])
    assert status == 200
    assert mine["started_at"] is not None and isinstance(mine["elapsed_s"], int)
    assert (mine["min_minutes"], mine["max_minutes"], mine["final"]) == (10, 60, False)
    assert all(mine[k] is None for k in COUNTED)  # the teacher's pay is not the learner's
    assert "policy_version" not in mine

    # An observer's link (a supervisor watching) is refused as on every /me endpoint.
    svc = server.app[SERVICES]
    now = int(time.time())
    observer = issue(svc.config.secret, Grant("~office", session_id, "observer", "督导",
                                              now, now + 3600))
    status, refused = await server.api("GET", "/api/v1/me/clock", token=observer)
    assert (status, refused["error"]["code"]) == (403, "observer")
    for token in ("not-a-token", "a.b.c", ""):
        status, _ = await server.api("GET", "/api/v1/me/clock", token=token, key=None)
        assert status == 401

    # Their transports up and carrying packets (what the room observes): they took part.
    present(server, session_id, "t1")
    present(server, session_id, "s1")
    status, ended = await server.api("POST", f"/api/v1/sessions/{session_id}/end")
    assert status == 200, ended
    status, final = await server.api("GET", "/api/v1/me/clock", token=toks["t1"])
    assert status == 200
    # Not the cached "not started": the end is part of the cache's key.
    assert final["final"] is True and final["ended_at"] is not None
    assert (final["counting"], final["why_not"], final["took_part"]) == (False, "ended", 2)
    # Socket.io peers send no media: nothing effective, nothing counted (the engine's word).
    status, credits = await server.api("GET", f"/api/v1/sessions/{session_id}/credits")
    assert final["counted_minutes"] == credits["effective_minutes"] == 0
    assert final["meets_minimum"] is credits["counted"] is False
    assert final["policy_version"] == credits["policy_version"]


@dataclass
class Clocked:
    server: ServerHandle
    clock: FakeClock

    async def run(self, seconds: int, session_id: str, *people: str) -> None:
        """``seconds`` pass with ``people``'s media carrying packets all along (what the
        room observes of a transport that is up): the journal keeps them active."""
        journal = self.server.app[SERVICES].journal
        for _ in range(seconds // 5):
            for person in people:
                journal.observe(session_id, person, "traffic")
            self.clock.advance(5)
            await asyncio.sleep(0)


def present(server: ServerHandle, session_id: str, person: str) -> None:
    journal = server.app[SERVICES].journal
    for kind in ("signal_up", "transport_up", "traffic"):
        journal.observe(session_id, person, kind)


@pytest.fixture
async def clocked(tmp_path: Path) -> AsyncIterator[Clocked]:
    """The real app on a FakeClock: the reason is tested at a chosen hour, and the
    cache's life by moving time, not by waiting."""
    clock = FakeClock(start=T0.timestamp())
    port = free_port()
    config = Config(port=port, data_dir=tmp_path / "data", api_key=API_KEY,
                    token_secret=SECRET, ice_hosts=("127.0.0.1",), grace_s=2.0)
    runner = web.AppRunner(create_app(config, clock), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    handle = ServerHandle(f"http://127.0.0.1:{port}", runner, aiohttp.ClientSession(),
                          tmp_path / "data")
    try:
        yield Clocked(handle, clock)
    finally:
        await handle.stop()


async def test_clock_reason_while_live(clocked: Clocked) -> None:
    server = clocked.server
    body = {**ONE_TO_ONE, "scheduled_start": T0.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "scheduled_end": (T0 + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")}
    session_id, toks = await server.create(body)
    teacher = await server.connect(toks["t1"])
    learner = await server.connect(toks["s1"])
    await teacher.wait_for("welcome")
    await learner.wait_for("welcome")
    present(server, session_id, "t1")
    present(server, session_id, "s1")
    await clocked.run(180, session_id, "t1", "s1")
    status, clock = await server.api("GET", "/api/v1/me/clock", token=toks["t1"])
    assert status == 200, clock
    # In the open hours, both here, nobody's media forwarded (socket.io only): the
    # teacher is told the minutes do not count because nothing is being taught.
    assert clock["elapsed_s"] == 180 and clock["counted_minutes"] == 0
    assert (clock["counting"], clock["why_not"], clock["took_part"]) == (
        False, "instructor_silent", 2)

    # The learner's connection drops; the teacher stays. Within 15 s the same figures
    # (one computation per session), after it the new reason: alone.
    server.app[SERVICES].journal.observe(session_id, "s1", "transport_down")
    await clocked.run(10, session_id, "t1")
    _, cached = await server.api("GET", "/api/v1/me/clock", token=toks["t1"])
    assert cached["why_not"] == "instructor_silent" and cached["elapsed_s"] == 190
    await clocked.run(60, session_id, "t1")
    _, alone = await server.api("GET", "/api/v1/me/clock", token=toks["t1"])
    assert (alone["counting"], alone["why_not"]) == (False, "alone")
    assert alone["elapsed_s"] == 250
