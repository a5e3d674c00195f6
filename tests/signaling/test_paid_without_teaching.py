"""Issue 9: the ways of being paid without teaching, with real aiortc peers on a real
server, all at once for one minute of real time:

* a lecturer alone, microphone silent and no camera, nobody watching: nothing;
* a tutoring classroom teacher alone (voiced): nothing;
* one teacher in two concurrent one-to-ones: the wall clock once;
* a lecture learner present but receiving nothing: no watched minutes, while a
  learner receiving the (voiced) lecturer gets theirs.

The records come from the server; the credits use the programmes' policies with the
open hours widened to the whole day and the minimum lengths removed, so that one
minute of a test run counts at any hour (the rules under test do not depend on them).
"""

from __future__ import annotations

import asyncio
import copy
import tomllib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiortc.mediastreams import AudioStreamTrack

from recorder.credits.calendar import parse_calendar
from recorder.credits.policy import POLICY_DIR, Policy, parse_policy
from recorder.credits.rules import compute_session
from recorder.credits.statement import compute_sessions, compute_statement
from rtc.contract import StreamInfo
from tests.conftest import free_port
from tests.rtc.clients import Client, until
from tests.rtc.test_evidence import ToneAudio
from tests.signaling.test_media_session import OverSocket, follow_renegotiations
from tests.support import ONE_TO_ONE, ServerHandle, start_app

pytestmark = pytest.mark.timeout(180)

CALENDAR = parse_calendar({"timezone": "Asia/Shanghai"})
MINUTE_AND_A_BIT = 66.0


def relaxed(programme: str) -> Policy:
    data = tomllib.loads((POLICY_DIR / f"{programme}.toml").read_text(encoding="utf-8"))
    data["open_hours"] = {
        "terms_only": False,
        "working_day": [["00:00", "24:00"]],
        "rest_day": [["00:00", "24:00"]],
    }
    for form in data["forms"].values():
        if "limits" in form:
            form["limits"] = {}
    data["forms"].get("review", {})["discussion_min_minutes"] = 0
    return parse_policy(data)


def body(programme: str, form: str, people: list[tuple[str, str]]) -> dict[str, Any]:
    b = copy.deepcopy(ONE_TO_ONE)
    b["programme"], b["form"] = programme, form
    b["people"] = [
        {"id": pid, "name": pid, "role": role, "school": f"S-{pid}", "district": "海淀"
         if role == "instructor" else "朝阳"}
        for pid, role in people
    ]  # fmt: skip
    return b


class Joined:
    def __init__(self, client: Client, loop: asyncio.Task[None] | None) -> None:
        self.client, self.loop = client, loop

    async def close(self) -> None:
        if self.loop is not None:
            self.loop.cancel()
        await self.client.close()


async def join(
    server: ServerHandle, token: str, name: str, *, audio: Any = None, follow: bool = True
) -> Joined:
    """Join over socket.io with ``audio`` (a track) or receive-only; ``follow=False``:
    one empty video slot and no renegotiation (present, but nothing reaches it)."""
    peer = await server.connect(token)
    await peer.wait_for("welcome")
    client = Client(name, OverSocket(peer))  # type: ignore[arg-type]
    if audio is not None:
        client.pc.addTrack(audio)
    elif follow:  # receive-only: one audio slot to start with, as the browser does
        client.add_receivers([StreamInfo("?", "audio")])
    if not follow:
        client.pc.addTransceiver("video", direction="recvonly")
    await client.negotiate()
    loop = asyncio.create_task(follow_renegotiations(peer, client)) if follow else None
    return Joined(client, loop)


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[ServerHandle]:
    handle = await start_app(tmp_path / "data", port=free_port())
    try:
        yield handle
    finally:
        await handle.stop()


async def test_no_pay_without_teaching(server: ServerHandle) -> None:
    T, L = "instructor", "learner"
    lecture, lt = await server.create(
        body("training", "lecture", [("t1", T), ("l1", L), ("l2", L)])
    )
    dark, dt = await server.create(body("training", "lecture", [("t2", T), ("l3", L)]))
    first, ft = await server.create(body("tutoring", "one_to_one", [("t3", T), ("s3", L)]))
    second, st = await server.create(body("tutoring", "one_to_one", [("t3", T), ("s4", L)]))
    alone, at = await server.create(body("tutoring", "classroom", [("t4", T), ("s5", L)]))
    joined = [
        await join(server, lt["t1"], "t1", audio=ToneAudio()),
        await join(server, lt["l1"], "l1"),
        await join(server, lt["l2"], "l2", follow=False),  # present, receives nothing
        await join(server, dt["t2"], "t2", audio=AudioStreamTrack()),  # silence only
        await join(server, ft["t3"], "t3", audio=ToneAudio()),
        await join(server, ft["s3"], "s3"),
        await join(server, st["t3"], "t3", audio=ToneAudio()),  # the same teacher, again
        await join(server, st["s4"], "s4"),
        await join(server, at["t4"], "t4", audio=ToneAudio()),
    ]
    try:
        l1, s3, s4 = joined[1].client, joined[5].client, joined[7].client
        await until(lambda: l1.frames("t1", "audio") > 10, 15, "l1 hears t1")
        await until(lambda: s3.frames("t3", "audio") > 10 and s4.frames("t3", "audio") > 10,
                    15, "both learners hear t3")  # fmt: skip
        await asyncio.sleep(MINUTE_AND_A_BIT)
    finally:
        for j in joined:
            await j.close()
    records = {}
    for sid in (lecture, dark, first, second, alone):
        status, _ = await server.api("POST", f"/api/v1/sessions/{sid}/end")
        assert status == 200
        status, records[sid] = await server.api("GET", f"/api/v1/sessions/{sid}/record")
        assert status == 200
    training, tutoring = relaxed("training"), relaxed("tutoring")

    # The voiced lecturer is paid; the learner who received is a viewer, the other not.
    lec = compute_session(records[lecture], training, CALENDAR)
    assert lec["effective_minutes"] >= 1, lec
    assert lec["people"]["l1"]["minutes"] >= 1
    assert lec["people"]["l2"]["minutes"] == 0, lec["people"]["l2"]
    assert records[lecture]["active"]["l2"]  # although present all along

    # Silent and dark, nobody watching: nothing, though present for over a minute.
    d = compute_session(records[dark], training, CALENDAR)
    assert records[dark]["active"]["t2"] and "t2" not in records[dark]["publishing"]
    assert d["effective_minutes"] == 0 and d["people"]["t2"]["points"] == "0.00", d

    # The classroom teacher alone: voiced, but nobody receiving.
    c = compute_session(records[alone], tutoring, CALENDAR)
    assert records[alone]["publishing"]["t4"]
    assert c["effective_minutes"] == 0 and c["people"]["t4"]["points"] == "0.00", c

    # Two one-to-ones at once: each pays alone, the statement pays the wall clock once.
    each = [compute_session(records[s], tutoring, CALENDAR) for s in (first, second)]
    assert all(o["people"]["t3"]["minutes"] >= 1 for o in each), each
    statement = compute_statement([records[first], records[second]], tutoring, CALENDAR)
    (removed,) = [o for o in statement["overlaps"] if o["person"] == "t3"]
    assert removed["minutes"] >= 1, statement["overlaps"]
    paid = [o.to_json() for o in compute_sessions([records[first], records[second]],
                                                  tutoring, CALENDAR)]  # fmt: skip
    wall_clock = sum(o["people"]["t3"]["minutes"] for o in paid)
    assert wall_clock <= max(o["people"]["t3"]["minutes"] for o in each) + 1, paid
    assert [o["people"]["s3" if o["session_id"] == first else "s4"]["minutes"] for o in paid] == [
        o["people"]["s3" if o["session_id"] == first else "s4"]["minutes"] for o in each
    ]  # the learners are not touched
