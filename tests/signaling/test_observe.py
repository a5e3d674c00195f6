"""A supervisor opens a live session read-only (issue 16), on the real app: who may mint
an observer link (``POST /api/v1/live/{id}/observe``: staff in scope, with the CSRF
header; not the API key, not in another district, not before or after the session),
the audit log, the seat itself over socket.io (receives, is refused everything else,
is shown to nobody), and, with real aiortc peers, that the observer gets the teacher's
media while the session's presence, evidence and credits know nothing of them."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from recorder.credits.calendar import SAMPLE_CALENDAR, load_calendar
from recorder.credits.policy import load_policy
from recorder.credits.rules import compute_session
from rtc.contract import StreamInfo
from signaling.server.http_util import SERVICES
from tests.conftest import free_port
from tests.rtc.clients import Client, until
from tests.rtc.test_evidence import ToneAudio
from tests.signaling.test_live_api import health_of, live_until
from tests.signaling.test_media_session import OverSocket, follow_renegotiations
from tests.signaling.test_socket import seen
from tests.signaling.test_staff import (  # noqa: F401  (pytest fixtures, used by name)
    MIYUN,
    PASSWORD,
    TONGZHOU,
    Browser,
    browsers,
    session_in,
    staff_rows,
    staff_server,
)
from tests.support import Peer, ServerHandle, start_app, token_of

pytestmark = pytest.mark.timeout(120)


def observe_path(session_id: str) -> str:
    return f"/api/v1/live/{session_id}/observe"


async def test_who_may_observe_and_what_the_seat_may_do(
    staff_server: ServerHandle, browsers: list[Browser],  # noqa: F811 (the fixtures)
) -> None:
    server = staff_server
    ours, tz_tokens = await server.create(session_in(TONGZHOU, "S1"))
    theirs, my_tokens = await server.create(session_in(MIYUN, "S7"))
    city, district, school = browsers
    for browser, name in ((city, "city-office"), (district, "tz-office"), (school, "s7-office")):
        assert (await browser.login(name))[0] == 200

    # Not live yet: nothing to watch (and asking does not start it).
    status, body = await district.call("POST", observe_path(ours), csrf=district.csrf)
    assert (status, body["error"]["code"]) == (409, "not_live")
    teacher = await server.connect(tz_tokens["t1"])
    await teacher.wait_for("welcome")
    await (await server.connect(my_tokens["t1"])).wait_for("welcome")

    # Refusals: nobody signed in, the API key, no CSRF header, another district, unknown.
    status, body = await server.api("POST", observe_path(ours), key=None)
    assert status == 401, body
    status, body = await server.api("POST", observe_path(ours))
    assert (status, body["error"]["code"]) == (403, "staff_only")
    status, body = await district.call("POST", observe_path(ours))
    assert (status, body["error"]["code"]) == (403, "csrf")
    for browser, session_id in ((district, theirs), (school, ours), (district, "s_nope")):
        status, body = await browser.call("POST", observe_path(session_id), csrf=browser.csrf)
        assert status == 404, (session_id, body)
    assert staff_rows(server, "SELECT who FROM staff_audit WHERE action = 'observe'") == []

    # In scope: a district office its district's session, a school its school's, the city any.
    status, link = await district.call("POST", observe_path(ours), csrf=district.csrf)
    assert status == 200, link
    assert link["role"] == "observer" and link["staff"] == "tz-office"
    assert link["session_id"] == ours and link["join_url"].startswith(server.base + "/join?")
    assert district.last.headers["Cache-Control"] == "no-store"
    for browser, session_id in ((school, theirs), (city, theirs)):
        status, _ = await browser.call("POST", observe_path(session_id), csrf=browser.csrf)
        assert status == 200
    audit = staff_rows(server, "SELECT who, target FROM staff_audit WHERE action = 'observe' "
                       "ORDER BY seq")
    assert audit == [("tz-office", ours), ("s7-office", theirs), ("city-office", theirs)]

    # The link is no participant's: the participant API refuses it.
    observer_token = token_of(link["join_url"])
    for method, path in (("GET", "/api/v1/me"), ("POST", "/api/v1/me/feedback"),
                         ("GET", "/api/v1/me/recordings")):
        status, body = await server.api(method, path, {}, token=observer_token)
        assert (status, body["error"]["code"]) == (403, "observer"), path

    # The seat: the whole state on join; every command but receiving refused.
    await teacher.call("chat", {"text": "先看第一题"})
    observer = await server.connect(observer_token)
    (welcome,) = await observer.wait_for("welcome")
    assert welcome["you"]["role"] == "observer" and welcome["you"]["id"] == "~tz-office"
    assert welcome["caps"] == {"publish": [], "draw": False, "grant": False, "end": False,
                               "report": False}
    assert [c["text"] for c in welcome["chat"]] == ["先看第一题"]
    assert set(seen(observer)) == {"t1", "s1"}
    for event, data in (("chat", {"text": "督导"}), ("hand", {"up": True}),
                        ("board", {"op": {"type": "clear"}}), ("end", {}), ("record", {"on": True}),
                        ("grant", {"person": "s1", "what": "stage", "on": True})):
        ack = await observer.call(event, data)
        assert ack["ok"] is False and ack["error"]["code"] == "forbidden", (event, ack)
    await teacher.call("chat", {"text": "再看第二题"})
    await observer.wait_for("chat")
    assert [c["text"] for c in observer.named("chat")] == ["再看第二题"]

    # Silent: the teacher's roster never names the observer; the console's Now page does.
    learner = await server.connect(tz_tokens["s1"])
    await learner.wait_for("welcome")
    await asyncio.sleep(0.5)  # a roster window or two (0.2 s) for any delta to go out
    for peer in (teacher, learner):
        assert set(seen(peer)) == {"t1", "s1"}
        assert all(p["role"] != "observer" for p in seen(peer).values())
    status, live = await district.call("GET", "/api/v1/live")
    (session,) = live["sessions"]
    assert session["observers"] == ["tz-office"]
    assert {p["id"] for p in session["people"]} == {"t1", "s1"}

    # The record: people and presence as without the observer; the visit beside them.
    status, record = await server.api("GET", f"/api/v1/sessions/{ours}/record")
    assert status == 200, record
    assert [p["id"] for p in record["people"]] == ["t1", "s1"]
    assert set(record["active"]) <= {"t1", "s1"}
    (visit,) = record["observers"]
    assert visit["staff"] == "tz-office" and visit["joined"] and visit["left"] is None
    await observer.sio.disconnect()
    await until(lambda: server.query(
        f"SELECT left_at FROM observers WHERE session_id = '{ours}'")[0][0] is not None,
        within=10, what="the visit closed")

    # Ended: no more links.
    assert (await server.api("POST", f"/api/v1/sessions/{ours}/end"))[0] == 200
    status, body = await district.call("POST", observe_path(ours), csrf=district.csrf)
    assert (status, body["error"]["code"]) == (409, "ended")
    status, record = await server.api("GET", f"/api/v1/sessions/{ours}/record")
    assert [v["staff"] for v in record["observers"]] == ["tz-office"]
    assert record["observers"][0]["left"] is not None


# -- media: the observer receives, and counts for nothing ------------------------------

@pytest.fixture
async def media_server(tmp_path: Path) -> AsyncIterator[ServerHandle]:
    handle = await start_app(tmp_path / "data", port=free_port())
    accounts = handle.app[SERVICES].staff
    assert accounts is not None
    await accounts.create_user("tz-office", PASSWORD, "district", TONGZHOU)
    try:
        yield handle
    finally:
        await handle.stop()


class Joined:
    def __init__(self, peer: Peer, client: Client, loop: asyncio.Task[None]) -> None:
        self.peer, self.client, self.loop = peer, client, loop

    async def close(self) -> None:
        self.loop.cancel()
        await self.client.close()


async def join(server: ServerHandle, token: str, name: str, tone: ToneAudio | None) -> Joined:
    """With ``tone``: publishing it and a camera (the teacher); without: receive-only,
    as a lecture's learner or an observer's browser."""
    peer = await server.connect(token)
    await peer.wait_for("welcome")
    client = Client(name, OverSocket(peer), video=tone is not None)  # type: ignore[arg-type]
    if tone is not None:
        client.pc.addTrack(tone)
    else:
        client.add_receivers([StreamInfo("?", "audio"), StreamInfo("?", "video")])
    await client.negotiate()
    return Joined(peer, client, asyncio.create_task(follow_renegotiations(peer, client)))


def credit_inputs(record: dict[str, Any]) -> dict[str, Any]:
    """What the credits engine reads of a record, per person."""
    return {k: record[k] for k in ("people", "active", "voiced", "publishing", "receiving",
                                   "feedback", "reports", "replay")}


async def test_an_observer_receives_the_teacher_and_counts_for_nothing(
    media_server: ServerHandle,
) -> None:
    server = media_server
    session_id, tokens = await server.create(session_in(TONGZHOU, "S1"))
    teacher = await join(server, tokens["t1"], "t1", ToneAudio())
    learner = await join(server, tokens["s1"], "s1", None)
    office = Browser(server)
    observer: Joined | None = None
    try:
        assert (await office.login("tz-office"))[0] == 200
        status, link = await office.call("POST", observe_path(session_id), csrf=office.csrf)
        assert status == 200, link
        observer = await join(server, token_of(link["join_url"]), "~tz-office", None)
        watching = observer
        # The forward path treats the observer as any subscriber: the teacher's audio
        # and video reach them, decoded, as they reach the learner.
        await until(lambda: watching.client.frames("t1", "video") > 20
                    and watching.client.frames("t1", "audio") > 20
                    and learner.client.frames("t1", "video") > 20,
                    within=40, what="the teacher's media at the observer and the learner")
        body = await live_until(server, "the learner is receiving", lambda b: (
            health_of(b, session_id, "s1").get("receiving") is True
            and health_of(b, session_id, "t1").get("video") == "live"))
        (live,) = body["sessions"]
        assert {p["id"] for p in live["people"]} == {"t1", "s1"}
        assert live["observers"] == ["tz-office"]
        assert "~tz-office" not in seen(teacher.peer) and "~tz-office" not in seen(learner.peer)
    finally:
        for joined in (teacher, learner, observer):
            if joined is not None:
                await joined.close()
        await office.close()
    assert (await server.api("POST", f"/api/v1/sessions/{session_id}/end"))[0] == 200

    # Nothing of the observer in what pays: presence, the per-minute evidence, the record.
    journal = server.app[SERVICES].journal
    assert set(journal.intervals(session_id)) == {"t1", "s1"}
    assert {row.person for row in journal.evidence_rows(session_id)} <= {"t1", "s1"}
    status, evidence = await server.api("GET", f"/api/v1/sessions/{session_id}/evidence")
    assert status == 200 and "~tz-office" not in str(evidence)
    status, record = await server.api("GET", f"/api/v1/sessions/{session_id}/record")
    assert status == 200, record
    for field in ("active", "voiced", "publishing", "receiving"):
        assert set(record[field]) <= {"t1", "s1"}, field
    assert record["receiving"].get("s1"), "the learner's receiving evidence is there"
    assert [(v["staff"], v["left"] is not None) for v in record["observers"]] == [
        ("tz-office", True)]
    # The credits of this record are those of the same record without its observers.
    unwatched = copy.deepcopy(record)
    del unwatched["observers"]
    assert credit_inputs(unwatched) == credit_inputs(record)
    policy, calendar = load_policy("training"), load_calendar(SAMPLE_CALENDAR)
    assert compute_session(record, policy, calendar) == compute_session(
        unwatched, policy, calendar)
