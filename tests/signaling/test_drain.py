"""Draining a node (``opentutor drain`` → ``POST /api/v1/node/drain``): it takes no new
session, finishes those it runs, then exits 0; /readyz and /metrics say so.

One node (in this process, local and Redis routers): a new session is refused
``unavailable`` (retryable), the running one goes on. Two ``opentutor serve``
processes on one Redis: a new session's join that reaches the draining node is sent
to the other, and the draining node exits 0 when its session ends.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis
import socketio
from prometheus_client.parser import text_string_to_metric_families

from signaling.router.redis import LOAD_KEY, room_key
from signaling.server.drain import DRAIN
from tests.conftest import free_port
from tests.recording_support import api, spawn
from tests.support import API_KEY, ONE_TO_ONE, Peer, ServerHandle, token_of

pytestmark = pytest.mark.timeout(120)


async def get(base: str, path: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http, http.get(base + path) as r:
        if path == "/metrics":
            text = await r.text()
            return r.status, {s.name: s.value for f in text_string_to_metric_families(text)
                              for s in f.samples}
        return r.status, await r.json()


def command(*args: str) -> subprocess.Popen[bytes]:
    """``opentutor …`` in the background, its output kept."""
    return subprocess.Popen([sys.executable, "-m", "signaling.server.cli", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


async def join(base: str, token: str) -> Peer:
    peer = Peer(socketio.AsyncClient(reconnection=False))
    await peer.connect(base, token)
    return peer


async def test_one_node_drains(server: ServerHandle) -> None:
    drained = asyncio.Event()
    server.app[DRAIN].then(drained.set)
    running, tokens = await server.create()
    _, new_tokens = await server.create()
    teacher = await server.connect(tokens["t1"])
    await teacher.wait_for("welcome")

    status, _ = await server.api("POST", "/api/v1/node/drain", key="wrong")
    assert status == 401
    status, state = await server.api("POST", "/api/v1/node/drain")
    assert status == 202
    assert state["state"] == "draining" and state["sessions"] == [running]
    status, again = await server.api("POST", "/api/v1/node/drain")  # idempotent
    assert status == 202 and again["since"] == state["since"]

    status, ready = await get(server.base, "/readyz")
    assert status == 503 and ready["ready"] is False and ready["state"] == "draining"
    assert ready["draining"]["rooms"] == 1
    _, metrics = await get(server.base, "/metrics")
    assert metrics["opentutor_draining"] == 1 and metrics["opentutor_rooms"] == 1

    # A new session is not started here: refused at once, retryable.
    newcomer = await server.connect(new_tokens["s1"])
    assert not newcomer.sio.connected
    assert newcomer.refused["code"] == "unavailable"
    assert "draining" in newcomer.refused["message"]
    # The running one goes on: its people join and talk.
    student = await server.connect(tokens["s1"])
    (welcome,) = await student.wait_for("welcome")
    assert welcome["you"]["id"] == "s1"
    assert (await student.call("chat", {"text": "还在上课"}))["ok"]
    assert not drained.is_set()

    assert (await teacher.call("end"))["ok"]
    await asyncio.wait_for(drained.wait(), 10)
    status, state = await server.api("GET", "/api/v1/node")
    assert status == 200 and state["state"] == "drained" and state["rooms"] == 0
    status, ready = await get(server.base, "/readyz")
    assert status == 503 and ready["state"] == "drained"


async def test_an_empty_room_is_handed_back(server: ServerHandle) -> None:
    """Everyone left without ending the session: after the reconnect grace the
    draining node closes the room, not the session, and stops."""
    drained = asyncio.Event()
    server.app[DRAIN].then(drained.set)
    session_id, tokens = await server.create()
    teacher = await server.connect(tokens["t1"])
    await teacher.wait_for("welcome")
    await server.api("POST", "/api/v1/node/drain")
    await teacher.sio.disconnect()  # the tab closed; back within the grace, it would stay
    started = time.monotonic()
    await asyncio.wait_for(drained.wait(), 15)
    print(f"\nempty room handed back {time.monotonic() - started:.1f} s after the last "
          "person left (grace 2 s)")
    status, session = await server.api("GET", f"/api/v1/sessions/{session_id}")
    assert status == 200 and session["state"] == "live"  # the session goes on elsewhere


async def test_a_draining_node_sends_new_sessions_to_another_and_exits(
    tmp_path: Path, redis_url: str
) -> None:
    data = tmp_path / "data"
    port_a, port_b = free_port(), free_port()
    a_base, b_base = f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"
    nodes = ("--redis-url", redis_url)
    a = spawn(data, port_a, tmp_path / "a.log", *nodes, "--node-id", "drain-a")
    b = spawn(data, port_b, tmp_path / "b.log", *nodes, "--node-id", "drain-b")
    client = redis.Redis.from_url(redis_url)
    drain_cmd: subprocess.Popen[bytes] | None = None
    people: list[Peer] = []
    try:
        status, created = await api(a_base, "POST", "/api/v1/sessions", ONE_TO_ONE)
        assert status == 201
        running = created["session_id"]
        tokens = {p: token_of(u) for p, u in created["join_urls"].items()}
        teacher = await join(a_base, tokens["t1"])
        people.append(teacher)
        await teacher.wait_for("welcome")
        assert client.get(room_key(running)) == b"drain-a"

        # The operator's command, as it is typed (the key from the command line).
        drain_cmd = command("drain", "--node-url", a_base, "--api-key", API_KEY, "--wait",
                            "--timeout", "60")
        deadline = time.monotonic() + 15
        while (await get(a_base, "/readyz"))[1].get("state") != "draining":
            assert time.monotonic() < deadline, "a says draining"
            await asyncio.sleep(0.1)
        _, metrics = await get(a_base, "/metrics")
        assert metrics["opentutor_draining"] == 1
        status, ready_b = await get(b_base, "/readyz")
        assert status == 200 and ready_b["state"] == "ready"

        # A new session: its join reaches a (the link's host), which sends it to b.
        _, other = await api(a_base, "POST", "/api/v1/sessions", ONE_TO_ONE)
        other_tokens = {p: token_of(u) for p, u in other["join_urls"].items()}
        moved = await join(a_base, other_tokens["t1"])
        assert moved.refused is not None and moved.refused["code"] == "moved"
        assert moved.refused["url"] == b_base
        landed = await join(moved.refused["url"], other_tokens["t1"])
        people.append(landed)
        await landed.wait_for("welcome")
        assert client.get(room_key(other["session_id"])) == b"drain-b"

        # The running session goes on at a, from either node's link.
        student = await join(b_base, tokens["s1"])
        assert student.refused is not None and student.refused["url"] == a_base
        student = await join(a_base, tokens["s1"])
        people.append(student)
        await student.wait_for("welcome")
        assert (await student.call("chat", {"text": "继续"}))["ok"]
        # The other nodes learn from a's heartbeat that it drains.
        deadline = time.monotonic() + 10
        while client.hget(LOAD_KEY, "drain-a") != b"1 1":
            assert time.monotonic() < deadline, client.hget(LOAD_KEY, "drain-a")
            await asyncio.sleep(0.1)
        assert a.poll() is None and drain_cmd.poll() is None

        # The session ends: a has nothing left, and exits 0; so does the command.
        ended_at = time.monotonic()
        assert (await teacher.call("end"))["ok"]
        assert await asyncio.to_thread(a.wait, 30) == 0
        print(f"\ndrained node exited {time.monotonic() - ended_at:.1f} s after its last "
              "session ended")
        out, err = await asyncio.to_thread(drain_cmd.communicate, timeout=30)
        assert drain_cmd.returncode == 0, err
        lines = out.decode().splitlines()
        assert '"state": "draining"' in lines[0] and '"stopped"' in lines[-1]
        assert client.get(room_key(running)) is None  # released, not left to lapse

        # b goes on: its session, and new ones.
        assert (await landed.call("chat", {"text": "b 还在"}))["ok"]
        status, third = await api(b_base, "POST", "/api/v1/sessions", ONE_TO_ONE)
        newcomer = await join(b_base, token_of(third["join_urls"]["s1"]))
        people.append(newcomer)
        await newcomer.wait_for("welcome")
    finally:
        for peer in people:
            if peer.sio.connected:
                await peer.sio.disconnect()
        client.close()
        for process in (drain_cmd, a, b):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(timeout=15)


def test_the_command_says_what_went_wrong(tmp_path: Path) -> None:
    nobody = f"http://127.0.0.1:{free_port()}"
    unreachable = command("drain", "--node-url", nobody, "--api-key", "k")
    _, err = unreachable.communicate(timeout=30)
    assert unreachable.returncode == 1 and b"cannot reach" in err
    keyless = command("drain", "--node-url", nobody, "--data-dir", str(tmp_path))
    _, err = keyless.communicate(timeout=30)
    assert keyless.returncode == 1 and b"no --api-key" in err
