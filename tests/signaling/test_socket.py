"""Signaling over real socket.io clients: refusals before any state change, roles
decided by the server, who is here (coalesced), chat with pictures, the whiteboard,
reconnects and the end."""

from __future__ import annotations

import asyncio
import struct
import zlib
from typing import Any

import msgspec
import pytest

from signaling.server import tokens
from signaling.session import room as room_module
from signaling.session.declarations import Roster
from tests.signaling.test_participant_rules import GOOD, present, text_of
from tests.support import SECRET, Peer, ServerHandle, lecture


def png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    raw = b"\x00\xff\x00\x00"
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def seen(peer: Peer) -> dict[str, dict[str, Any]]:
    """Who this client was told is here: its last welcome, then its ``roster`` events
    (each decoded with the declaration: nothing missing, nothing more)."""
    people: dict[str, dict[str, Any]] = {}
    for event, data in peer.events:
        if event == "welcome":
            people = {p["id"]: p for p in data["people"]}
        elif event == "roster":
            msgspec.convert(data, Roster)
            for p in data["added"] + data["changed"]:
                people[p["id"]] = p
            for pid in data["removed"]:
                people.pop(pid, None)
    return people


async def until_seen(peer: Peer, person: str, **state: Any) -> dict[str, Any]:
    async def _wait() -> dict[str, Any]:
        while True:
            p = seen(peer).get(person)
            if p is not None and all(p[k] == v for k, v in state.items()):
                return p
            await peer.wait_for("roster", len(peer.named("roster")) + 1)

    return await asyncio.wait_for(_wait(), 10)


STROKE = {
    "type": "stroke",
    "id": "k1",
    "tool": "pen",
    "color": "#d03030",
    "width": 4,
    "points": [[0.1, 0.1], [0.5, 0.5]],
}


async def test_refusals_change_nothing(server: ServerHandle) -> None:
    session_id, toks = await server.create()
    header, payload, sig = toks["s1"].split(".")
    expired = tokens.issue(SECRET.encode(), tokens.Grant("s1", session_id, "learner", "x", 0, 1))
    unknown = tokens.issue(SECRET.encode(), tokens.Grant("s1", "s_gone", "learner", "x", 0, 2**40))
    cases = {
        None: "no_token",
        f"{header}.{payload}x.{sig}": "bad_token",
        expired: "expired",
        unknown: "unknown_session",
    }
    for token, code in cases.items():
        peer = await server.connect(token)
        assert not peer.sio.connected
        assert peer.refused["code"] == code, (token, peer.refused)
    _, session = await server.api("GET", f"/api/v1/sessions/{session_id}")
    assert (session["state"], session["present"]) == ("scheduled", [])


async def test_join_welcome_and_presence_list(server: ServerHandle) -> None:
    session_id, toks = await server.create()
    teacher = await server.connect(toks["t1"])
    (welcome,) = await teacher.wait_for("welcome")
    assert welcome["you"]["id"] == "t1" and welcome["caps"]["end"] is True
    assert welcome["session"]["state"] == "live" and welcome["resumed"] is False
    assert {p["id"]: p["present"] for p in welcome["people"]} == {"t1": True, "s1": False}
    assert welcome["audience"] == {"learners": 0, "listed": True}
    student = await server.connect(toks["s1"])
    await student.wait_for("welcome")
    s1 = await until_seen(teacher, "s1", present=True)
    assert "school" not in s1  # learners' schools are not shown to others
    assert teacher.named("roster")[-1]["audience"] == {"learners": 1, "listed": True}
    _, session = await server.api("GET", f"/api/v1/sessions/{session_id}")
    assert sorted(session["present"]) == ["s1", "t1"]


async def test_server_decides_what_a_role_may_do(server: ServerHandle) -> None:
    _, toks = await server.create(lecture(2))
    teacher, learner = await server.connect(toks["t1"]), await server.connect(toks["s1"])
    await learner.wait_for("welcome")
    (welcome,) = learner.named("welcome")
    assert welcome["caps"] == {
        "publish": [],
        "draw": False,
        "grant": False,
        "end": False,
        "report": False,
    }
    for event, data in [
        ("grant", {"person": "s1", "what": "stage", "on": True}),
        ("end", {}),
        ("board", {"op": STROKE}),
    ]:
        ack = await learner.call(event, data)
        assert ack["ok"] is False and ack["error"]["code"] == "forbidden", (event, ack)
    assert len(learner.named("error")) == 3
    bad = await learner.call("hand", {"up": "please"})
    assert bad == {
        "ok": False,
        "error": {"code": "invalid", "message": "up: must be true or false", "field": "up"},
    }
    assert (await learner.call("hand", {"up": True}))["ok"]
    await until_seen(teacher, "s1", hand=True)
    await until_seen(learner, "s1", hand=True)  # one's own hand, as the others see it
    assert (await teacher.call("grant", {"person": "s1", "what": "pen", "on": True}))["ok"]
    caps = await learner.wait_for("caps")
    assert caps[-1]["draw"] is True and caps[-1]["publish"] == []
    assert (await teacher.call("grant", {"person": "s1", "what": "stage", "on": True}))["ok"]
    (invited,) = await learner.wait_for("invited")  # asked first: nothing published yet
    assert invited["open"] is True and len(learner.named("caps")) == 1
    assert (await learner.call("stage_answer", {"accept": True}))["ok"]
    caps = await learner.wait_for("caps", 2)
    assert caps[-1]["publish"] == ["audio", "video"]
    assert (await learner.call("board", {"op": STROKE}))["ok"]


async def test_chat_with_picture_and_board_reach_everyone_and_late_joiners(
    server: ServerHandle,
) -> None:
    _, toks = await server.create()
    teacher, student = await server.connect(toks["t1"]), await server.connect(toks["s1"])
    await student.wait_for("welcome")
    async with server.http.post(
        server.base + "/api/v1/me/uploads",
        data=png(),
        headers={"Authorization": f"Bearer {toks['s1']}", "Content-Type": "image/png"},
    ) as r:
        assert r.status == 201
        upload = await r.json()
    async with server.http.post(
        server.base + "/api/v1/me/uploads",
        data=b"GIF89a not a png",
        headers={"Authorization": f"Bearer {toks['s1']}", "Content-Type": "image/png"},
    ) as r:
        assert r.status == 415
    assert (await student.call("chat", {"text": "这道题", "image": upload["id"]}))["ok"]
    (message,) = await teacher.wait_for("chat")
    assert message["from"] == "s1" and message["text"] == "这道题"
    async with server.http.get(server.base + message["image"]) as r:
        assert r.status == 200 and r.content_type == "image/png" and await r.read() == png()
    async with server.http.get(server.base + f"/uploads/{upload['id']}") as r:
        assert r.status == 403  # unsigned
    assert (await teacher.call("board", {"op": STROKE}))["ok"]
    assert (await teacher.call("board", {"op": {**STROKE, "id": "k2"}}))["ok"]
    assert (await student.call("board", {"op": {"type": "undo", "id": "k1"}}))["error"][
        "code"
    ] == "forbidden"
    assert (await teacher.call("board", {"op": {"type": "undo", "id": "k1"}}))["ok"]
    ops = await student.wait_for("board", 3)
    assert [o["seq"] for o in ops] == [1, 2, 3] and ops[0]["by"] == "t1"
    await student.sio.disconnect()
    again = await server.connect(toks["s1"])
    (welcome,) = await again.wait_for("welcome")
    assert [s["id"] for s in welcome["board"]["strokes"]] == ["k2"]
    assert welcome["chat"][-1]["text"] == "这道题" and welcome["resumed"] is True


async def test_reconnect_keeps_grants_and_a_second_tab_replaces_the_first(
    server: ServerHandle,
) -> None:
    session_id, toks = await server.create(lecture(1))
    teacher, learner = await server.connect(toks["t1"]), await server.connect(toks["s1"])
    await learner.wait_for("welcome")
    await teacher.call("grant", {"person": "s1", "what": "pen", "on": True})
    await learner.wait_for("caps")
    await learner.sio.disconnect()
    back = await server.connect(toks["s1"])
    (welcome,) = await back.wait_for("welcome")
    assert welcome["resumed"] and welcome["caps"]["draw"] and welcome["you"]["pen"]
    tab = await server.connect(toks["s1"])
    await tab.wait_for("welcome")
    await back.wait_for("replaced")
    await asyncio.sleep(0.2)
    assert not back.sio.connected and tab.sio.connected
    _, session = await server.api("GET", f"/api/v1/sessions/{session_id}")
    assert sorted(session["present"]) == ["s1", "t1"]  # one s1, not two


async def test_end_session_then_feedback_rules(server: ServerHandle) -> None:
    session_id, toks = await server.create()
    teacher, student = await server.connect(toks["t1"]), await server.connect(toks["s1"])
    await student.wait_for("welcome")
    early = await server.api(
        "POST",
        "/api/v1/me/feedback",
        {"rating": 5, "satisfaction": "satisfied", "text": GOOD},
        token=toks["s1"],
    )
    assert early[0] == 409
    assert (await teacher.call("end"))["ok"]
    (ended,) = await student.wait_for("ended")
    assert ended["by"] == "t1"
    late = await server.connect(toks["s1"])
    assert late.refused["code"] == "ended"
    status, me = await server.api("GET", "/api/v1/me", token=toks["s1"])
    assert status == 200 and me["feedback_open"] is True and me["session"]["state"] == "ended"
    short = {"rating": 5, "satisfaction": "satisfied", "text": text_of(199)}  # 199 counted
    status, body = await server.api("POST", "/api/v1/me/feedback", short, token=toks["s1"])
    assert status == 400 and body["error"]["field"] == "text"
    ok = {**short, "text": text_of(200)}
    assert (await server.api("POST", "/api/v1/me/feedback", ok, token=toks["t1"]))[0] == 403
    assert (await server.api("POST", "/api/v1/me/feedback", ok, token=toks["s1"]))[0] == 201
    assert (await server.api("POST", "/api/v1/me/feedback", ok, token=toks["s1"]))[0] == 409
    status, record = await server.api("GET", f"/api/v1/sessions/{session_id}/record")
    assert status == 200, record  # a busy node may answer 503: say so, not KeyError
    assert record["feedback"]["s1"]["rating"] == 5 and "submitted_at" in record["feedback"]["s1"]


async def test_review_reports_are_stored_in_the_record(server: ServerHandle) -> None:
    body = lecture(1)
    body["form"] = "review"
    body["people"] = [{"id": f"r{i}", "name": f"专家{i}", "role": "instructor"} for i in (1, 2)] + [
        {"id": "p1", "name": "学员教师", "role": "learner"}
    ]
    session_id, toks = await server.create(body)
    reviewer = await server.connect(toks["r1"])
    await reviewer.wait_for("welcome")
    present(server, session_id, "r1")  # the journal sees the reviewer in the review
    await asyncio.sleep(0.05)
    report = {"text": "教学设计清晰，建议加强课堂互动。" + GOOD, "attachments": []}
    assert (await server.api("POST", "/api/v1/me/report", report, token=toks["p1"]))[0] == 403
    assert (await server.api("POST", "/api/v1/me/report", report, token=toks["r1"]))[0] == 201
    _, record = await server.api("GET", f"/api/v1/sessions/{session_id}/record")
    assert record["reports"]["r1"]["text"].startswith("教学设计")


async def test_a_burst_of_joins_reaches_the_others_as_one_roster_event(
    server: ServerHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Twenty learners join at once: the teacher (and every learner present) gets one
    coalesced ``roster`` with all of them, never one event per join, and none before a
    newcomer's own welcome. The window is widened so that a slow machine still fits the
    whole burst in one."""
    _, toks = await server.create(lecture(20))
    teacher = await server.connect(toks["t1"])
    await teacher.wait_for("roster")  # the teacher's own arrival, told: a window closed
    monkeypatch.setattr(room_module, "ROSTER_WINDOW_S", 3.0)
    before = len(teacher.named("roster"))
    learners = await asyncio.gather(*(server.connect(toks[f"s{i}"]) for i in range(1, 21)))
    for peer in learners:
        await peer.wait_for("welcome")
    await until_seen(teacher, "s20", present=True)
    await asyncio.sleep(0.3)
    (burst,) = teacher.named("roster")[before:]
    assert sorted(p["id"] for p in burst["changed"]) == sorted(f"s{i}" for i in range(1, 21))
    assert burst["audience"] == {"learners": 20, "listed": True}
    for peer in learners:
        names = [event for event, _ in peer.events]
        assert names[0] == "welcome" and names.count("roster") == 1, names
        assert all(p["present"] for pid, p in seen(peer).items() if pid.startswith("s"))
