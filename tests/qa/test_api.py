"""The Q&A centre's REST on the real app (in this process), SQLite and PostgreSQL, a fake
clock and a calendar in which today is in term: a question asked with a photo, answered
with a photo and a voice note, solved with the answer accepted, paid; every malformed
or oversized request is a 4xx with a clear error and stores nothing."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import socketio
from aiohttp import web

from rtc.clock import FakeClock
from signaling.qa.rules import QaPolicy
from signaling.server.app import create_app
from signaling.server.config import Config
from tests.conftest import free_port
from tests.oncall.support import calendar_text
from tests.support import API_KEY, SECRET

P = QaPolicy()
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
WEBM = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm" + b"\x00" * 200
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 64
QS = "/api/v1/qa/questions"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@dataclass
class Server:
    base: str
    clock: FakeClock
    runner: web.AppRunner
    http: aiohttp.ClientSession
    data: Path

    async def call(self, method: str, path: str, token: str | None = None, body: Any = None,
                   raw: bytes | None = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.http.request(method, self.base + path, headers=headers,
                                     json=body if raw is None else None, data=raw) as r:
            return r.status, await r.json(content_type=None)

    async def pass_for(self, kind: str, pid: str, **extra: Any) -> str:
        body = {"kind": kind, "person": {"id": pid, "name": f"{pid}", "school": "一中"}, **extra}
        status, made = await self.call("POST", "/api/v1/oncall/passes", API_KEY, body)
        assert status == 201, made
        return str(made["token"])

    def files(self) -> list[str]:
        folder = self.data / "qa_media"
        return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.fixture
async def server(database_url: str, tmp_path: Path) -> AsyncIterator[Server]:
    clock = FakeClock(start=1_790_000_000.0)
    cal = tmp_path / "calendar.toml"
    cal.write_text(calendar_text(clock.time()), encoding="utf-8")
    port = free_port()
    config = Config(host="127.0.0.1", port=port, data_dir=tmp_path / "data", api_key=API_KEY,
                    token_secret=SECRET, ice_hosts=("127.0.0.1",), calendar=cal,
                    database_url=database_url)
    runner = web.AppRunner(create_app(config, clock), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    srv = Server(f"http://127.0.0.1:{port}", clock, runner, aiohttp.ClientSession(),
                 tmp_path / "data")
    yield srv
    await srv.http.close()
    await runner.cleanup()


async def people(srv: Server) -> tuple[str, str, str]:
    student = await srv.pass_for("student_call", "s1", grade="8")
    teacher = await srv.pass_for("teacher_duty", "t1", subjects=["math"], grades=["8"])
    other = await srv.pass_for("teacher_duty", "t2", subjects=["physics"], grades=["8"])
    return student, teacher, other


async def test_asked_answered_solved_and_paid(server: Server) -> None:
    student, teacher, physics = await people(server)
    status, me = await server.call("GET", "/api/v1/qa/me", student)
    assert status == 200 and me["me"]["kind"] == "student_call" and me["policy"]["max_photos"] == 4
    status, asked = await server.call("POST", QS, student, {
        "subject": "math", "text": "这道三角形的题怎么证全等？", "photos": [b64(PNG)]})
    assert status == 201, asked
    qid = asked["id"]
    assert asked["state"] == "open" and len(asked["photos"]) == 1 and asked["mine"]

    status, listed = await server.call("GET", QS, teacher)
    assert [x["id"] for x in listed["questions"]] == [qid]
    assert (await server.call("GET", QS, physics))[1]["questions"] == []
    assert (await server.call("GET", f"{QS}/{qid}", physics))[0] == 404

    text = "先找出两组对应边和它们的夹角，用边角边判定全等。"
    status, answered = await server.call("POST", f"{QS}/{qid}/answers", teacher, {
        "text": text, "photos": [b64(PNG)], "voice": b64(WEBM)})
    assert status == 201, answered
    assert answered["state"] == "answered" and not answered["may_answer"]
    ans = answered["answers"][0]
    async with server.http.get(server.base + ans["voice"]) as r:
        assert r.status == 200 and r.content_type == "audio/webm" and await r.read() == WEBM
    async with server.http.get(server.base + ans["photos"][0]) as r:
        assert r.status == 200 and r.content_type == "image/png"
    async with server.http.get(server.base + ans["voice"].split("?")[0]) as r:
        assert r.status == 403  # unsigned
    assert (await server.call("POST", f"{QS}/{qid}/answers", teacher, {"text": text}))[1][
        "error"]["code"] == "already_answered"

    status, seen = await server.call("GET", f"{QS}/{qid}", student)
    assert seen["answers"][0]["text"] == text and seen["may_solve"]
    status, solved = await server.call("POST", f"{QS}/{qid}/solve", student, {"accept": ans["id"]})
    assert status == 200 and solved["state"] == "solved" and solved["answers"][0]["accepted"]

    status, paid = await server.call("GET", "/api/v1/qa/points?teacher=t1", API_KEY)
    assert status == 200, paid
    assert (paid["accepted"], paid["counted"], paid["points"]) == (
        1, 1, float(P.points_per_accepted_answer))
    assert paid["term"]["name"] == "test-term"
    assert (await server.call("GET", "/api/v1/qa/me/points", teacher))[1]["points"] == 2
    assert (await server.call("GET", "/api/v1/qa/points?teacher=t1&term=nope", API_KEY))[0] == 404
    assert (await server.call("GET", "/api/v1/qa/points?teacher=t1", teacher))[0] == 401


BAD_QUESTIONS: list[tuple[Any, int, str]] = [
    ({"subject": "astrology", "text": "x"}, 400, "invalid"),
    ({"subject": "math", "text": "x", "extra": 1}, 400, "invalid"),
    ({"subject": "math", "text": 5}, 400, "invalid"),
    ({"subject": "math", "text": "   "}, 400, "empty"),
    ({"subject": "math", "text": "x" * (P.max_question_chars + 1)}, 413, "too_long"),
    ({"subject": "math", "text": "x", "photos": [b64(PNG)] * 5}, 413, "too_many_photos"),
    ({"subject": "math", "text": "x", "photos": ["not base64!"]}, 400, "invalid"),
    ({"subject": "math", "text": "x", "photos": [7]}, 400, "invalid"),
    ({"subject": "math", "text": "x", "photos": [b64(b"hello, not a picture")]}, 415,
     "not_a_picture"),
    ({"subject": "math", "text": "x", "photos": [b64(PNG + b"\x00" * P.max_photo_bytes)]},
     413, "too_large"),
    ([1, 2], 400, "invalid"),
]


@pytest.mark.parametrize(("body", "status", "code"), BAD_QUESTIONS)
async def test_a_bad_question_is_refused_and_nothing_kept(
        server: Server, body: Any, status: int, code: str) -> None:
    student, _, _ = await people(server)
    got, answer = await server.call("POST", QS, student, body)
    assert (got, answer["error"]["code"]) == (status, code), answer
    assert answer["error"]["message"]
    assert (await server.call("GET", QS, student))[1]["questions"] == []
    assert server.files() == []


async def test_raw_bodies_and_passes_are_checked(server: Server) -> None:
    student, teacher, _ = await people(server)
    cases = [
        (None, None, b"{}", 401, "no_token"),
        ("abc", None, b"{}", 401, "bad_token"),
        (teacher, None, b'{"subject": "math", "text": "x"}', 403, "students_only"),
        (student, None, b"{not json", 400, "invalid"),
        (student, None, b"[" * 100 + b"]" * 100, 400, "invalid"),
        (student, None, b"\xff\xfe", 400, "invalid"),
        (student, None, b"x" * (P.max_photos * P.max_photo_bytes * 2), 413, "too_large"),
    ]
    for token, _, raw, status, code in cases:
        got, answer = await server.call("POST", QS, token, raw=raw)
        assert (got, answer["error"]["code"]) == (status, code), (raw[:20], answer)
    assert (await server.call("GET", QS, student))[1]["questions"] == []


async def test_bad_answers_and_bounds(server: Server) -> None:
    student, teacher, physics = await people(server)
    qid = (await server.call("POST", QS, student, {"subject": "math", "text": "求解"}))[1]["id"]
    cases: list[tuple[str, Any, int, str]] = [
        (physics, {"text": "答"}, 403, "not_your_subject"),
        (student, {"text": "答"}, 403, "teachers_only"),
        (teacher, {"text": "答", "voice": b64(WAV)}, 415, "not_a_voice_note"),
        (teacher, {"text": "答", "voice": b64(WEBM + b"\x00" * P.max_voice_bytes)}, 413,
         "too_large"),
        (teacher, {"text": ""}, 400, "empty"),
        (teacher, {"text": "x" * (P.max_answer_chars + 1)}, 413, "too_long"),
    ]
    for token, body, status, code in cases:
        got, answer = await server.call("POST", f"{QS}/{qid}/answers", token, body)
        assert (got, answer["error"]["code"]) == (status, code), answer
    assert (await server.call("POST", f"{QS}/nope/answers", teacher, {"text": "答"}))[0] == 404
    seen = (await server.call("GET", f"{QS}/{qid}", student))[1]
    assert seen["answers"] == [] and seen["state"] == "open" and server.files() == []

    for _ in range(P.max_open_per_student - 1):
        again = await server.call("POST", QS, student, {"subject": "math", "text": "再问"})
        assert again[0] == 201
    got, answer = await server.call("POST", QS, student, {"subject": "math", "text": "又问"})
    assert (got, answer["error"]["code"]) == (429, "too_many_open")
    # Solved questions no longer count.
    assert (await server.call("POST", f"{QS}/{qid}/solve", student, {}))[0] == 200
    assert (await server.call("POST", QS, student, {"subject": "math", "text": "又问"}))[0] == 201
    got, answer = await server.call("POST", f"{QS}/{qid}/solve", student, {"accept": 5})
    assert got == 400


async def test_an_unsolved_question_closes_after_the_policy_days(server: Server) -> None:
    student, _, _ = await people(server)
    qid = (await server.call("POST", QS, student, {"subject": "math", "text": "求解"}))[1]["id"]
    server.clock.advance(P.auto_close_days * 86_400)
    # A week later: the passes of then have expired; the platform mints new ones.
    fresh = await server.pass_for("teacher_duty", "t1", subjects=["math"], grades=["8"])
    student = await server.pass_for("student_call", "s1", grade="8")
    assert (await server.call("GET", f"{QS}/{qid}", student))[1]["state"] == "closed"
    assert (await server.call("GET", QS, fresh))[1]["questions"] == []
    got, answer = await server.call("POST", f"{QS}/{qid}/answers", fresh, {"text": "迟到的答案"})
    assert (got, answer["error"]["code"]) == (409, "closed")
    assert (await server.call("POST", QS, student, {"subject": "math", "text": "新问题"}))[0] == 201


async def test_every_qa_route_is_in_the_openapi_document(server: Server) -> None:
    status, doc = await server.call("GET", "/api/v1/openapi.json")
    assert status == 200
    routes = {(r.method.lower(), r.resource.canonical.removeprefix("/api/v1"))
              for r in server.runner.app.router.routes()
              if r.resource is not None and r.resource.canonical.startswith("/api/v1/qa")
              and r.method != "HEAD"}
    assert len(routes) == 8
    for method, path in routes:
        assert method in doc["paths"][path], (method, path)
    assert "oncallPass" in doc["components"]["securitySchemes"]


async def test_teachers_on_duty_of_the_subject_are_told_on_oncall(server: Server) -> None:
    student, teacher, physics = await people(server)
    told: dict[str, asyncio.Queue[Any]] = {}
    clients = []
    for name, token in (("math", teacher), ("physics", physics)):
        sio = socketio.AsyncClient(reconnection=False)
        queue: asyncio.Queue[Any] = asyncio.Queue()
        told[name] = queue
        sio.on("qa_question", queue.put_nowait, namespace="/oncall")
        await sio.connect(server.base, namespaces=["/oncall"], auth={"token": token},
                          transports=["websocket"], wait_timeout=10)
        ack = await sio.call("duty", {"on": True}, namespace="/oncall", timeout=10)
        assert ack["ok"], ack
        clients.append(sio)
    status, asked = await server.call("POST", QS, student, {"subject": "math", "text": "求解"})
    assert status == 201
    heard = await asyncio.wait_for(told["math"].get(), 10)
    assert heard == {"question": asked["id"], "subject": "math", "grade": "8", "text": "求解"}
    # The physics teacher is told nothing: a later event reaches them first if any.
    await server.call("POST", QS, await server.pass_for("student_call", "s9", grade="8"),
                      {"subject": "physics", "text": "物理题"})
    assert (await asyncio.wait_for(told["physics"].get(), 10))["subject"] == "physics"
    assert told["math"].empty()
    for sio in clients:
        await sio.disconnect()
