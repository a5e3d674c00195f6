"""Redis goes away and comes back, with a real redis-server of this test's own:
running rooms go on; a join that needs placement is refused at once and retryably
(``unavailable``); /readyz turns not-ready and back; and when Redis returns, empty or
not, every node claims its running rooms again, and two nodes never run one session
(placement settles first: signaling/router/redis.py)."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import socketio

from signaling.router.redis import CLAIM_TTL_S, room_key
from signaling.server.http_util import SERVICES
from tests.conftest import free_port
from tests.support import Peer, ServerHandle, start_app


class RedisProcess:
    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.folder = folder
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed: run ./scripts/test"
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def pause(self) -> None:
        """SIGSTOP: Redis keeps its data but answers nothing (a network outage)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisProcess]:
    server = RedisProcess(tmp_path)
    server.start()
    yield server
    server.stop()


async def until(check: object, within: float) -> None:
    deadline = time.monotonic() + within
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.1)


async def readiness(server: ServerHandle) -> tuple[int, dict[str, Any]]:
    async with server.http.get(server.base + "/readyz") as r:
        return r.status, await r.json()


async def test_redis_away_and_back(own_redis: RedisProcess, tmp_path: Path) -> None:
    server = await start_app(tmp_path / "data", port=free_port(), redis_url=own_redis.url,
                             node_id="n1")
    client = redis.Redis.from_url(own_redis.url)
    try:
        session_a, tokens_a = await server.create()
        teacher = Peer(socketio.AsyncClient(reconnection=False))
        await teacher.connect(server.base, tokens_a["t1"])
        await teacher.wait_for("welcome")
        assert client.get(room_key(session_a)) == b"n1"

        # Redis restarts empty: the node claims its running room again within a beat.
        client.flushall()
        await until(lambda: client.get(room_key(session_a)) == b"n1", 8)

        # Redis goes away: the running room goes on, a new join is refused at once.
        _, tokens_b = await server.create()
        own_redis.stop()
        assert (await teacher.call("chat", {"text": "还在吗"}))["ok"]
        learner = Peer(socketio.AsyncClient(reconnection=False))
        started = time.monotonic()
        await learner.connect(server.base, tokens_b["s1"])
        waited = time.monotonic() - started
        assert learner.refused is not None and learner.refused["code"] == "unavailable"
        assert waited < 10, waited  # refused, not hung (Redis calls time out in 2 s)
        status, body = await readiness(server)
        assert status == 503
        checks = body["checks"]
        assert isinstance(checks, dict) and checks["redis"]["ok"] is False

        # Redis is back, empty: ready again, and the running room is ours again.
        own_redis.start()
        client = redis.Redis.from_url(own_redis.url)
        deadline = time.monotonic() + 15
        while (await readiness(server))[0] != 200:
            assert time.monotonic() < deadline, "ready again"
            await asyncio.sleep(0.2)
        await until(lambda: client.get(room_key(session_a)) == b"n1", 8)
        # Placement settled (/readyz waited for it): a new session is placed again.
        second = Peer(socketio.AsyncClient(reconnection=False))
        await second.connect(server.base, tokens_b["s1"])
        await second.wait_for("welcome")
        await second.sio.disconnect()
        await teacher.sio.disconnect()
    finally:
        client.close()
        await server.stop()


class Overlap:
    """Looks, every 20 ms, at which rooms each node runs, and keeps any session seen
    running on two nodes at once."""

    def __init__(self, *servers: ServerHandle) -> None:
        self.servers = servers
        self.seen: set[str] = set()
        self.task = asyncio.create_task(self._watch())

    async def _watch(self) -> None:
        while True:
            running = [set(s.app[SERVICES].router.running_ids()) for s in self.servers]
            for i, mine in enumerate(running):
                for theirs in running[i + 1:]:
                    self.seen |= mine & theirs
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


def redis_error(body: dict[str, Any]) -> str:
    return str(body["checks"]["redis"].get("error", ""))


async def ready(server: ServerHandle, within: float = 15) -> None:
    deadline = time.monotonic() + within
    while (await readiness(server))[0] != 200:
        assert time.monotonic() < deadline, "ready again"
        await asyncio.sleep(0.2)


async def test_two_nodes_never_run_one_session_twice(
    own_redis: RedisProcess, tmp_path: Path
) -> None:
    """Node a runs a session; node b is asked for it at the worst moments: the instant
    Redis lost its data, and the instant Redis answers again after an outage longer
    than a claim lives (a's claim lapsed, Redis kept the rest). b refuses (retry) or
    sends the person to a; it never starts a copy; a claims its room again within a
    beat or two; and once placement settled b sends people to a."""
    data = tmp_path / "data"
    a = await start_app(data, port=free_port(), redis_url=own_redis.url, node_id="a")
    b = await start_app(data, port=free_port(), redis_url=own_redis.url, node_id="b")
    client = redis.Redis.from_url(own_redis.url)
    overlap = Overlap(a, b)
    try:
        session, tokens = await a.create()
        teacher = await a.connect(tokens["t1"])
        await teacher.wait_for("welcome")
        assert client.get(room_key(session)) == b"a"

        async def b_refuses_the_student() -> str:
            student = await b.connect(tokens["s1"])
            assert not student.sio.connected and student.refused is not None
            assert b.app[SERVICES].router.running(session) is None
            code: str = student.refused["code"]
            return code

        # 1. Redis loses its data (a restart without persistence).
        client.flushall()
        started = time.monotonic()
        assert await b_refuses_the_student() in ("unavailable", "moved")
        status, body = await readiness(b)
        assert status == 503 and "settling" in redis_error(body)
        await until(lambda: client.get(room_key(session)) == b"a", 8)
        print(f"\nRedis emptied: node a owns its room again after "
              f"{time.monotonic() - started:.1f} s")
        await ready(b)
        assert await b_refuses_the_student() == "moved"

        # 2. Redis answers nothing for longer than a claim lives, then comes back with
        # its data: a's claim has lapsed, yet b is asked first.
        own_redis.pause()
        try:
            await asyncio.sleep(CLAIM_TTL_S + 1.0)  # the outage itself
        finally:
            own_redis.resume()
        started = time.monotonic()
        assert await b_refuses_the_student() in ("unavailable", "moved")
        status, body = await readiness(b)  # the first call after the silence raised the fence
        assert status == 503 and "settling" in redis_error(body)
        await until(lambda: client.get(room_key(session)) == b"a", 8)
        print(f"Redis back after an outage: node a owns its room again after "
              f"{time.monotonic() - started:.1f} s")
        await ready(b)
        assert await b_refuses_the_student() == "moved"
        assert (await teacher.call("chat", {"text": "一直在"}))["ok"]  # it never stopped

        # 3. Redis restarts empty (the process): the same, and new sessions are
        # placed again once placement settled.
        own_redis.stop()
        own_redis.start()
        client.close()
        client = redis.Redis.from_url(own_redis.url)
        assert await b_refuses_the_student() in ("unavailable", "moved")
        await until(lambda: client.get(room_key(session)) == b"a", 8)
        await ready(b)
        other, other_tokens = await b.create()
        newcomer = await b.connect(other_tokens["s1"])
        await newcomer.wait_for("welcome")
        assert client.get(room_key(other)) == b"b"
        assert await b_refuses_the_student() == "moved"
        assert overlap.seen == set(), f"sessions run on two nodes: {overlap.seen}"
    finally:
        await overlap.stop()
        client.close()
        await b.stop()
        await a.stop()
