"""The /oncall namespace on the real app (in this process), SQLite or PostgreSQL, the
memory or Redis presence, a fake clock (time-outs and open hours never depend on the
machine's clock) and a calendar fixture that makes the hours open or closed."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import socketio
from aiohttp import web

from rtc.clock import FakeClock
from signaling.oncall.api import ONCALL
from signaling.server.app import create_app
from signaling.server.config import Config
from tests.conftest import create_database, free_port
from tests.oncall.support import calendar_text
from tests.support import API_KEY, SECRET

NS = "/oncall"


class Person:
    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: list[tuple[str, Any]] = []
        self.changed = asyncio.Event()
        self.refused: Any = None

        @self.sio.on("*", namespace=NS)  # type: ignore[misc]
        async def any_event(event: str, data: Any = None) -> None:
            self.events.append((event, data))
            self.changed.set()

        @self.sio.on("connect_error", namespace=NS)  # type: ignore[misc]
        async def refused(data: Any) -> None:
            self.refused = data

    async def call(self, event: str, data: Any = None) -> Any:
        return await self.sio.call(event, data, namespace=NS, timeout=15)

    def named(self, event: str) -> list[Any]:
        return [d for e, d in self.events if e == event]

    async def wait_for(self, event: str, pred: Any = lambda d: True) -> Any:
        async def _wait() -> Any:
            while True:
                found = [d for d in self.named(event) if pred(d)]
                if found:
                    return found[-1]
                self.changed.clear()
                await self.changed.wait()

        return await asyncio.wait_for(_wait(), 10)


@dataclass
class Server:
    base: str
    clock: FakeClock
    runner: web.AppRunner
    http: aiohttp.ClientSession
    people: list[Person] = field(default_factory=list)

    async def api(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {API_KEY}"}
        async with self.http.request(method, self.base + path, json=body,
                                     headers=headers) as r:
            return r.status, await r.json(content_type=None)

    async def pass_for(self, kind: str, pid: str, name: str, **extra: Any) -> str:
        body = {"kind": kind, "person": {"id": pid, "name": name, "school": "一中"}, **extra}
        status, made = await self.api("POST", "/api/v1/oncall/passes", body)
        assert status == 201, made
        return str(made["token"])

    async def teacher(self, pid: str, subjects: tuple[str, ...] = ("math",)) -> Person:
        token = await self.pass_for("teacher_duty", pid, f"{pid}老师",
                                    subjects=list(subjects), grades=["8"])
        return await self.join(token)

    async def student(self, pid: str) -> Person:
        return await self.join(await self.pass_for("student_call", pid, f"{pid}同学", grade="8"))

    async def join(self, token: str | None) -> Person:
        person = Person()
        self.people.append(person)
        auth = {"token": token} if token is not None else {}
        with contextlib.suppress(socketio.exceptions.ConnectionError):
            await person.sio.connect(self.base, namespaces=[NS], auth=auth,
                                     transports=["websocket"], wait_timeout=10)
        return person


def _calendar(folder: Path, now: float, open_now: bool) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    cal = folder / "calendar.toml"
    cal.write_text(calendar_text(now, open_now=open_now), encoding="utf-8")
    return cal


async def _serve(tmp_path: Path, *, open_now: bool, redis_url: str = "",
                 database_url: str = "", node_id: str = "local") -> Server:
    clock = FakeClock(start=1_790_000_000.0)
    cal = _calendar(tmp_path, clock.time(), open_now)
    port = free_port()
    config = Config(host="127.0.0.1", port=port, data_dir=tmp_path / "data", api_key=API_KEY,
                    token_secret=SECRET, ice_hosts=("127.0.0.1",), calendar=cal,
                    redis_url=redis_url, database_url=database_url, node_id=node_id)
    runner = web.AppRunner(create_app(config, clock), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return Server(f"http://127.0.0.1:{port}", clock, runner, aiohttp.ClientSession())


@pytest.fixture(params=["local", "redis+postgres"])
async def server(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Server]:
    redis_url = database_url = ""
    if request.param != "local":
        redis_url = request.getfixturevalue("redis_url")
        database_url = create_database(request.getfixturevalue("postgres_url"))
    srv = await _serve(tmp_path, open_now=True, redis_url=redis_url,
                       database_url=database_url)
    yield srv
    for person in srv.people:
        if person.sio.connected:
            await person.sio.disconnect()
    await srv.http.close()
    await srv.runner.cleanup()


async def test_concurrent_calls_exactly_one_wins_and_accept_makes_the_session(
        server: Server) -> None:
    teacher = await server.teacher("t1")
    assert (await teacher.call("duty", {"on": True})) == {"ok": True, "state": "on_duty"}
    students = [await server.student(f"s{i}") for i in range(6)]
    listed = await students[0].call("teachers", {"subject": "math"})
    assert [t["teacher"] for t in listed["teachers"]] == ["t1"]
    assert listed["teachers"][0]["reasons"][:2] == ["subject", "grade"]
    answers = await asyncio.gather(*(s.call("call", {"teacher": "t1", "subject": "math"})
                                     for s in students))
    winners = [a for a in answers if a["ok"]]
    assert len(winners) == 1, answers
    assert winners[0]["call"]["state"] == "ringing"
    assert sorted(a["error"]["code"] for a in answers if not a["ok"]) == ["busy"] * 5
    call_id = winners[0]["call"]["call"]
    ring = await teacher.wait_for("call", lambda d: d["state"] == "ringing")
    assert ring["call"] == call_id and ring["student"]["grade"] == "8"

    accepted = await teacher.call("answer", {"call": call_id, "accept": True})
    assert accepted["ok"] and "/join?token=" in accepted["join_url"]
    winner = students[answers.index(winners[0])]
    landed = await winner.wait_for("call", lambda d: d["state"] == "accepted")
    assert "/join?token=" in landed["join_url"]
    # A real session, through the same code as POST /api/v1/sessions.
    sessions = await server.runner.app[ONCALL].svc.store.sessions_of("t1")
    assert len(sessions) == 1
    status, record = await server.api("GET", f"/api/v1/sessions/{sessions[0]}")
    assert status == 200
    assert {p["id"]: p["role"] for p in record["people"]} == {
        "t1": "instructor", winner_id(students, winner): "learner"}
    # A page reloaded mid-session is sent back into it.
    again_teacher = await server.join(await server.pass_for(
        "teacher_duty", "t1", "t1老师", subjects=["math"], grades=["8"]))
    hello = await again_teacher.wait_for("hello")
    assert hello["session_url"] == accepted["join_url"] and hello["state"] == "in_session"
    # In a session: the teacher is busy, a second call is refused.
    again = await students[1 if winner is not students[1] else 2].call(
        "call", {"teacher": "t1", "subject": "math"})
    assert again["error"]["code"] in ("busy", "already_calling")
    await _stored(server, call_id, "accepted")


def winner_id(students: list[Person], winner: Person) -> str:
    return f"s{students.index(winner)}"


async def _stored(server: Server, call_id: str, outcome: str) -> None:
    async def look() -> None:
        while True:
            status, body = await server.api("GET", "/api/v1/oncall/calls")
            assert status == 200
            if any(c["call_id"] == call_id and c["outcome"] == outcome
                   for c in body["calls"]):
                return
            await asyncio.sleep(0.05)

    await asyncio.wait_for(look(), 10)


async def test_decline_then_timeout(server: Server) -> None:
    teacher = await server.teacher("t2")
    await teacher.call("duty", {"on": True})
    student = await server.student("s9")
    placed = await student.call("call", {"teacher": "t2", "subject": "math"})
    call_id = placed["call"]["call"]
    assert (await teacher.call("answer", {"call": call_id, "accept": False}))["ok"]
    await student.wait_for("call", lambda d: d["state"] == "declined")
    await _stored(server, call_id, "declined")

    again = await student.call("call", {"teacher": "t2", "subject": "math"})
    assert again["ok"], again
    second = again["call"]["call"]
    server.clock.advance(30)  # nobody answers
    timed_out = await student.wait_for("call", lambda d: d["call"] == second
                                       and d["state"] == "timed_out")
    assert timed_out["reason"] == "no_answer"
    await teacher.wait_for("duty", lambda d: d["state"] == "away")
    await _stored(server, second, "timed_out")
    late = await teacher.call("answer", {"call": second, "accept": True})
    assert late["error"]["code"] == "not_ringing"


async def test_malformed_and_wrong_kind(server: Server) -> None:
    nobody = await server.join("not.a.token")
    assert not nobody.sio.connected
    student = await server.student("s5")
    for event, payload in [("duty", {"on": True}), ("call", {"teacher": 5}),
                           ("call", None), ("teachers", {"subject": "cooking"}),
                           ("answer", {"call": "x", "accept": True}), ("nope", {})]:
        answer = await student.call(event, payload)
        assert answer["ok"] is False, (event, payload)
    status, body = await server.api("POST", "/api/v1/oncall/passes",
                                    {"kind": "teacher_duty", "person": {"id": "t", "name": "x"}})
    assert status == 400 and body["error"]["field"] == "subjects"


async def test_closed_hours_refused(tmp_path: Path) -> None:
    srv = await _serve(tmp_path, open_now=False)
    try:
        teacher = await srv.teacher("t3")
        refused = await teacher.call("duty", {"on": True})
        assert refused["error"]["code"] == "closed"
        assert refused["error"]["open"]["reason"] == "out_of_term"
        student = await srv.student("s3")
        call = await student.call("call", {"teacher": "t3", "subject": "math"})
        assert call["error"]["code"] == "closed"
    finally:
        for person in srv.people:
            await person.sio.disconnect()
        await srv.http.close()
        await srv.runner.cleanup()


async def test_every_oncall_route_is_documented(server: Server) -> None:
    status, doc = await server.api("GET", "/api/v1/openapi.json")
    assert status == 200
    routes = {(r.method.lower(), r.resource.canonical.removeprefix("/api/v1"))
              for r in server.runner.app.router.routes()
              if r.resource is not None and r.resource.canonical.startswith("/api/v1/oncall")
              and r.method != "HEAD"}
    assert len(routes) == 3
    for method, path in routes:
        assert method in doc["paths"][path], (method, path)


async def test_continuous_time_limit_warns_ends_and_asks_to_rest(tmp_path: Path) -> None:
    srv = await _serve(tmp_path, open_now=True)
    try:
        teacher = await srv.teacher("t4")
        await teacher.call("duty", {"on": True})
        student = await srv.student("s4")
        placed = await student.call("call", {"teacher": "t4", "subject": "math"})
        accepted = await teacher.call("answer", {"call": placed["call"]["call"], "accept": True})
        assert accepted["ok"], accepted
        oncall = srv.runner.app[ONCALL]
        (session_id,) = await oncall.svc.store.sessions_of("t4")
        stored = await oncall.svc.store.session(session_id)
        assert stored is not None
        length = stored.spec.scheduled_end - stored.spec.scheduled_start
        assert length.total_seconds() == 40 * 60  # the policy's continuous_minutes

        srv.clock.advance(35 * 60)  # warn_minutes (5) before the end
        for person in (teacher, student):
            assert (await person.wait_for("limit_warning"))["minutes_left"] == 5
        assert not student.named("limit_reached")
        srv.clock.advance(5 * 60)
        for person in (teacher, student):
            assert (await person.wait_for("limit_reached"))["rest_minutes"] == 10
        stored = await oncall.svc.store.session(session_id)
        assert stored is not None and stored.state == "ended"
        await teacher.wait_for("duty", lambda d: d["state"] == "on_duty")  # free again

        again = await student.call("call", {"teacher": "t4", "subject": "math"})
        assert again["error"]["code"] == "resting", again
        srv.clock.advance(10 * 60)  # rested: a new allowance
        after = await student.call("call", {"teacher": "t4", "subject": "math"})
        assert after["ok"], after
    finally:
        for person in srv.people:
            await person.sio.disconnect()
        await srv.http.close()
        await srv.runner.cleanup()


async def test_two_nodes_share_who_is_on_duty(
        tmp_path: Path, redis_url: str, postgres_url: str) -> None:
    database_url = create_database(postgres_url)
    nodes = []
    try:
        for name in ("a", "b"):
            nodes.append(await _serve(tmp_path / name, open_now=True, redis_url=redis_url,
                                      database_url=database_url, node_id=name))
        teacher = await nodes[0].teacher("t7")
        assert (await teacher.call("duty", {"on": True}))["ok"]
        student = await nodes[1].student("s7")
        listed = await student.call("teachers", {"subject": "math"})
        assert [(t["teacher"], t["node"]) for t in listed["teachers"]] == [("t7", "a")]
        elsewhere = await student.call("call", {"teacher": "t7", "subject": "math"})
        assert elsewhere["error"] == {"code": "elsewhere", "message": "elsewhere", "node": "a",
                                      "url": nodes[0].base}
        # The page goes to the teacher's node with the same pass and calls again: it rings.
        token = await nodes[1].pass_for("student_call", "s7", "s7同学", grade="8")
        moved = await nodes[0].join(token)
        rung = await moved.call("call", {"teacher": "t7", "subject": "math"})
        assert rung["ok"] and rung["call"]["state"] == "ringing", rung
        await teacher.wait_for("call", lambda d: d["call"] == rung["call"]["call"])
        assert (await moved.call("cancel", {"call": rung["call"]["call"]}))["ok"]
        await teacher.sio.disconnect()  # off duty: gone from every node's list
        for _ in range(50):
            listed = await student.call("teachers", {})
            if not listed["teachers"]:
                break
            nodes[1].clock.advance(1)  # the rate limit's buckets refill on the node's clock
            await asyncio.sleep(0.1)
        assert listed == {"ok": True, "teachers": [], "open": listed["open"]}
    finally:
        for srv in nodes:
            for person in srv.people:
                if person.sio.connected:
                    await person.sio.disconnect()
            await srv.http.close()
            await srv.runner.cleanup()
