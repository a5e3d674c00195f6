"""Malformed input never becomes a 500 or a hang (issue 8.4), against the real server.

First each probe the issue found (non-ASCII tokens, odd signed-URL parameters,
reserved socket.io event names, second spellings of a signature, tokens from the
future); then property tests (hypothesis) that send generated garbage to every
socket event the server handles and every REST endpoint that takes a body, and check:
no 5xx, no hang, no traceback in the server's log, the socket still connected, and
nothing changed when the input was refused.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signaling.server.namespace import RESERVED_EVENTS
from signaling.session.messages import PARSERS
from tests.conftest import free_port
from tests.support import API_KEY, SECRET, Peer, ServerHandle, lecture, start_app

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forged(token: str, **claims: Any) -> str:
    """``token`` with claims changed, correctly signed with the test server's secret."""
    header, payload, _ = token.split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=="))
    body.update(claims)
    p = _b64(json.dumps(body).encode())
    sig = hmac.new(SECRET.encode(), f"{header}.{p}".encode(), hashlib.sha256).digest()
    return f"{header}.{p}.{_b64(sig)}"


def padding_twin(token: str) -> str:
    """The same signature bytes spelled differently (an unused low bit of the last character)."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    head, sig = token.rsplit(".", 1)
    return f"{head}.{sig[:-1]}{alphabet[alphabet.index(sig[-1]) ^ 1]}"


class ServerLog(logging.Handler):
    """Every record at WARNING or above, and every traceback, the server logs."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.bad: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info or record.levelno >= logging.ERROR:
            self.bad.append(f"{record.name}: {record.getMessage()}")


@pytest.fixture
def server_log() -> Iterator[ServerLog]:
    handler = ServerLog()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


async def state(server: ServerHandle, session_id: str) -> Any:
    """What the platform sees of a session, plus what the store holds."""
    status, body = await server.api("GET", f"/api/v1/sessions/{session_id}")
    assert status == 200
    counts = [server.query(f"SELECT count(*) FROM {table}")[0][0]
              for table in ("sessions", "uploads", "feedback", "reports")]
    return body, counts


# -- the probes from the issue


async def test_non_ascii_token_is_refused_quickly_over_the_socket(
    server: ServerHandle, server_log: ServerLog
) -> None:
    _, tokens = await server.create()
    header, payload, sig = tokens["s1"].split(".")
    for token in (f"{header}.{payload}é.{sig}", f"{header}.{payload}.{sig}²", "ｔｏｋｅｎ.a.b"):
        peer = await asyncio.wait_for(server.connect(token), 5)
        assert not peer.sio.connected
        assert peer.refused["code"] == "bad_token"
    assert server_log.bad == []


async def test_non_ascii_token_is_401_on_every_participant_endpoint(
    server: ServerHandle, server_log: ServerLog
) -> None:
    _, tokens = await server.create()
    header, payload, sig = tokens["s1"].split(".")
    bad = f"{header}.{payload}é.{sig}"
    for method, path in [
        ("GET", "/api/v1/me"),
        ("GET", "/api/v1/me/recordings"),
        ("POST", "/api/v1/me/uploads"),
        ("POST", "/api/v1/me/feedback"),
        ("POST", "/api/v1/me/report"),
    ]:
        async with server.http.request(
            method, server.base + path, data=b"{}", headers={"Authorization": f"Bearer {bad}"}
        ) as r:
            assert r.status == 401, (method, path)
            assert (await r.json())["error"]["code"] == "bad_token"
    assert server_log.bad == []


async def test_second_spelling_of_a_signature_and_future_tokens_are_refused(
    server: ServerHandle,
) -> None:
    _, tokens = await server.create()
    now = int(time.time())
    for token in (
        padding_twin(tokens["s1"]),
        tokens["s1"] + "=",
        forged(tokens["s1"], iat=now + 3600),
        forged(tokens["s1"], nbf=now + 3600),
    ):
        status, body = await server.api("GET", "/api/v1/me", key=None, token=token)
        assert (status, body["error"]["code"]) == (401, "bad_token")
        peer = await asyncio.wait_for(server.connect(token), 5)
        assert not peer.sio.connected and peer.refused["code"] == "bad_token"
    # The well-formed token itself is fine.
    assert (await server.api("GET", "/api/v1/me", key=None, token=tokens["s1"]))[0] == 200


async def test_odd_signed_url_parameters_are_403(
    server: ServerHandle, server_log: ServerLog
) -> None:
    _, tokens = await server.create()
    async with server.http.post(
        server.base + "/api/v1/me/uploads",
        data=PNG,
        headers={"Authorization": f"Bearer {tokens['s1']}", "Content-Type": "image/png"},
    ) as r:
        assert r.status == 201
        path, _, query = (await r.json())["url"].partition("?")
    good = dict(p.split("=") for p in query.split("&"))
    scope = "/recordings/r_AAAAAAAAAAAAAAAA/v_AAAAAAAAAAAAAAAA"
    for params in [
        {"exp": "²", "sig": good["sig"]},
        {"exp": "١٢٣", "sig": good["sig"]},  # Arabic-Indic digits: isdigit() too
        {"exp": good["exp"], "sig": "é" * 32},
        {"exp": good["exp"], "sig": good["sig"].upper()},
        {"exp": "9" * 400, "sig": good["sig"]},
        {"exp": "-1", "sig": good["sig"]},
        {"exp": good["exp"] + " ", "sig": good["sig"]},
    ]:
        for url in (path, f"{scope}/manifest.json", f"{scope}/recording.webm"):
            async with server.http.get(server.base + url, params=params) as r:
                assert r.status == 403, (url, params, r.status)
        async with server.http.get(
            server.base + "/replay",
            params={"r": "r_AAAAAAAAAAAAAAAA", "v": "v_AAAAAAAAAAAAAAAA", **params},
        ) as r:
            assert r.status == 403
    async with server.http.get(server.base + path, params=good) as r:
        assert r.status == 200 and await r.read() == PNG
    assert server_log.bad == []


async def test_reserved_event_names_run_no_handler_and_change_nothing(
    server: ServerHandle, server_log: ServerLog
) -> None:
    session_id, tokens = await server.create()
    teacher = await server.connect(tokens["t1"])
    learner = await server.connect(tokens["s1"])
    await teacher.wait_for("welcome")
    await learner.wait_for("welcome")
    before = await state(server, session_id)
    assert sorted(before[0]["present"]) == ["s1", "t1"]
    attempts: list[tuple[str, Any]] = [
        ("disconnect", None),
        ("disconnect", "client disconnect"),
        ("disconnect", "server disconnect"),
        ("connect", {}),
        # on_connect(sid, environ, auth): a second join as the teacher from the learner's socket
        ("connect", ({}, {"token": tokens["t1"]})),
        ("connect_error", {}),
        ("disconnecting", {}),
        ("newListener", {}),
    ]
    for name, payload in attempts:
        ack = await asyncio.wait_for(learner.sio.call(name, payload, timeout=5), 6)
        assert isinstance(ack, dict) and ack["ok"] is False, (name, ack)
        assert ack["error"]["code"] == "invalid"
    await asyncio.sleep(0.3)
    assert learner.sio.connected and teacher.sio.connected
    assert teacher.named("replaced") == [] and learner.named("replaced") == []
    assert await state(server, session_id) == before
    # The socket still speaks for the learner and no one else.
    assert (await learner.call("hand", {"up": True}))["ok"] is True
    assert (await learner.call("grant", {"person": "s1", "what": "pen", "on": True}))[
        "error"
    ]["code"] == "forbidden"
    assert server_log.bad == []


async def test_undecodable_socket_packets_are_refused_cleanly(
    server: ServerHandle, server_log: ServerLog
) -> None:
    """Raw socket.io packets python-socketio's decoder would raise on: 100k-deep JSON
    (a RecursionError), a bad type digit, events that are not a non-empty list."""
    session_id, tokens = await server.create()
    learner = await server.connect(tokens["s1"])
    await learner.wait_for("welcome")
    before = await state(server, session_id)
    deep = "[" * 100_000 + "]" * 100_000
    raw = [
        f'42["chat",{{"text":{deep}}}]',
        f"42{deep}",
        f'4217["chat",{deep}]',
        "x",
        "9",
        "4",
        "44{}",  # CONNECT_ERROR is the server's to send
        "42",
        "42[]",
        "42{}",
        '42"hand"',
        "42[1,2]",
        '42["chat"',
        "45-[]",
    ]
    for packet in raw:
        await learner.sio.eio.send(packet)
    await learner.wait_for("error", count=8, within=5)
    assert learner.sio.connected
    assert (await learner.call("hand", {"up": False}))["ok"] is True
    assert await state(server, session_id) == before
    assert server_log.bad == []


# -- property tests: generated garbage, every socket event and every REST body

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=50),
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=30,
)
# Dicts with the keys the schemas read, so some garbage gets past the first check.
KEYS = ["sdp", "candidate", "sdpMid", "sdpMLineIndex", "up", "person", "what", "on", "text",
        "image", "op", "type", "id", "tool", "color", "width", "points", "audio", "video"]
keyed = st.dictionaries(st.sampled_from(KEYS), json_values, max_size=6)
payloads = (
    json_values
    | keyed
    | st.builds(lambda op: {"op": op}, keyed)
    # Huge strings, still inside the 256 KiB message limit (JSON writes é as \\u00e9).
    | st.integers(min_value=70_000, max_value=200_000).map(lambda n: "x" * n)
    | st.integers(min_value=10_000, max_value=40_000).map(lambda n: "é" * n)
    | st.just("\ud800")  # a lone surrogate: not encodable as UTF-8
    | st.just({"text": "a\ud800b"})
)
# Every event the namespace handles, the reserved ones, and made-up names.
EVENT_NAMES = sorted(PARSERS) + sorted(RESERVED_EVENTS) + ["", "error", "message", "*"]
# "end" and "leave" take any object (they have no fields): sent only non-objects here, so
# the session under test does not really end.
HARMLESS = {"end", "leave"}


class Harness:
    """A real server on its own loop, for property tests that run many examples."""

    def __init__(self, tmp_path: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.tmp_path = tmp_path
        self.server: ServerHandle
        self.session_id = ""
        self.tokens: dict[str, str] = {}
        self.peers: list[Peer] = []

    def run(self, coro: Any, within: float = 20) -> Any:
        return self.loop.run_until_complete(asyncio.wait_for(coro, within))

    async def start(self, learners: int) -> None:
        self.server = await start_app(self.tmp_path / "data", port=free_port())
        self.session_id, self.tokens = await self.server.create(lecture(learners))
        for person in sorted(self.tokens):
            peer = await self.server.connect(self.tokens[person])
            await peer.wait_for("welcome")
            self.peers.append(peer)

    def close(self) -> None:
        try:
            self.run(self.server.stop())
        finally:
            pending = asyncio.all_tasks(self.loop)
            for task in pending:
                task.cancel()
            self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.close()


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    h = Harness(tmp_path)
    try:
        yield h
    finally:
        h.close()


def test_garbage_on_every_socket_event(harness: Harness, server_log: ServerLog) -> None:
    harness.run(harness.start(learners=8))
    peers = harness.peers  # one teacher and 8 learners: each has its own rate budget

    @settings(max_examples=80, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(
        # Mostly the names the server knows (two thirds), the rest made up.
        event=st.sampled_from(EVENT_NAMES) | st.sampled_from(EVENT_NAMES) | st.text(max_size=20),
        payload=payloads,
        who=st.integers(min_value=0, max_value=len(peers) - 1),
    )
    def check(event: str, payload: Any, who: int) -> None:
        if event in HARMLESS and (payload is None or isinstance(payload, dict)):
            payload = [payload]
        peer = peers[who]

        async def probe() -> None:
            before = await state(harness.server, harness.session_id)
            ack = await asyncio.wait_for(peer.sio.call(event, payload, timeout=5), 6)
            assert isinstance(ack, dict) and isinstance(ack.get("ok"), bool), ack
            assert all(p.sio.connected for p in peers), "a socket was dropped"
            if ack["ok"] is False:
                assert ack["error"]["code"] != "internal"
                assert await state(harness.server, harness.session_id) == before
            assert server_log.bad == []

        harness.run(probe())

    check()


REST_BODIES = (
    st.binary(max_size=2000)
    | json_values.map(lambda v: json.dumps(v).encode())
    | keyed.map(lambda v: json.dumps(v).encode())
    | st.text(max_size=500).map(lambda t: t.encode("utf-8", "surrogatepass"))
    | st.integers(min_value=60, max_value=100_000).map(lambda n: b"[" * n + b"]" * n)
    | st.integers(min_value=900, max_value=100_000).map(lambda n: b'{"a":' * n + b"1" + b"}" * n)
)
# "right" is the credential the endpoint expects, so that garbage reaches the body.
AUTH = ["right", "right", "api", "teacher", "learner", "none", "garbage"]
header_text = st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=60)


def test_garbage_on_every_rest_body(harness: Harness, server_log: ServerLog) -> None:
    harness.run(harness.start(learners=1))
    server, session_id, tokens = harness.server, harness.session_id, harness.tokens
    # Every endpoint that reads a body. (POST /sessions/{id}/end reads none: any body ends
    # the session, by design, so it is left out.)
    paths = [
        "/api/v1/sessions",
        "/api/v1/me/uploads",
        "/api/v1/me/feedback",
        "/api/v1/me/report",
        f"/api/v1/sessions/{session_id}/exports",
    ]

    @settings(max_examples=150, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(
        path=st.sampled_from(paths),
        body=REST_BODIES,
        content_type=st.sampled_from(
            ["application/json", "image/png", "image/jpeg", "image/webp", "text/plain", "x/é"]
        ),
        auth=st.sampled_from(AUTH),
        # Any text an HTTP client can put in a header (non-ASCII included, controls not),
        # often shaped like a token (three dot-separated parts).
        garbage_token=header_text | st.lists(header_text, min_size=3, max_size=3).map(".".join),
    )
    def check(path: str, body: bytes, content_type: str, auth: str, garbage_token: str) -> None:
        if auth == "right":
            auth = "api" if path.startswith("/api/v1/sessions") else "learner"
        bearer = {
            "api": API_KEY,
            "teacher": tokens["t1"],
            "learner": tokens["s1"],
            "none": "",
            "garbage": garbage_token,
        }[auth]
        headers = {"Content-Type": content_type}
        if bearer:
            headers["Authorization"] = "Bearer " + bearer.encode("utf-8", "replace").decode(
                "latin-1"
            ).replace("\r", "").replace("\n", "")

        async def probe() -> None:
            before = await state(server, session_id)
            async with server.http.post(server.base + path, data=body, headers=headers) as r:
                status = r.status
                answer = await r.read()
            assert status < 500, (status, answer[:300])
            if status >= 400:
                assert await state(server, session_id) == before
            assert server_log.bad == []

        harness.run(probe())

    check()
