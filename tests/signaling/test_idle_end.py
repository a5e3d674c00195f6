"""Teachers close the tab instead of pressing "end": an empty room ends itself."""

from __future__ import annotations

import asyncio
import copy
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.conftest import free_port
from tests.support import ONE_TO_ONE, ServerHandle, start_app


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


async def state_of(server: ServerHandle, session_id: str) -> str:
    _, session = await server.api("GET", f"/api/v1/sessions/{session_id}")
    state: str = session["state"]
    return state


async def test_empty_room_past_its_end_ends_and_feedback_opens(server: ServerHandle) -> None:
    body = copy.deepcopy(ONE_TO_ONE)
    now = datetime.now(UTC)
    body["scheduled_start"], body["scheduled_end"] = stamp(now - timedelta(hours=2)), stamp(now)
    session_id, toks = await server.create(body)
    teacher, student = await server.connect(toks["t1"]), await server.connect(toks["s1"])
    await student.wait_for("welcome")
    assert (await student.call("leave"))["ok"]
    assert await state_of(server, session_id) == "live"  # the teacher is still there
    assert (await teacher.call("leave"))["ok"]
    for _ in range(50):
        if await state_of(server, session_id) == "ended":
            break
        await asyncio.sleep(0.05)
    assert await state_of(server, session_id) == "ended"
    _, me = await server.api("GET", "/api/v1/me", token=toks["s1"])
    assert me["feedback_open"] is True


async def test_empty_room_before_its_end_waits_for_people_to_come_back(tmp_path: Path) -> None:
    server = await start_app(tmp_path / "data", port=free_port(), grace_s=0.1, idle_end_s=1.0)
    try:
        session_id, toks = await server.create()
        teacher = await server.connect(toks["t1"])
        await teacher.wait_for("welcome")
        await teacher.sio.disconnect()  # a dropped connection: grace, then idle
        await asyncio.sleep(0.6)
        back = await server.connect(toks["t1"])  # back within the idle time
        await back.wait_for("welcome")
        await asyncio.sleep(1.5)
        assert await state_of(server, session_id) == "live"
        await back.sio.disconnect()
        await asyncio.sleep(2.0)
        assert await state_of(server, session_id) == "ended"
    finally:
        await server.stop()
