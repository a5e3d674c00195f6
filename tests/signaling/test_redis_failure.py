"""Redis goes away and comes back, with a real redis-server of this test's own:
running rooms go on; a join that needs placement is refused at once and retryably
(``unavailable``); /readyz turns not-ready and back; and when Redis returns empty the
node claims its running room again, so no second node could start another copy."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import socketio

from signaling.router.redis import room_key
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


async def readiness(server: ServerHandle) -> tuple[int, dict[str, object]]:
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
        second = Peer(socketio.AsyncClient(reconnection=False))
        await second.connect(server.base, tokens_b["s1"])
        await second.wait_for("welcome")
        await second.sio.disconnect()
        await teacher.sio.disconnect()
    finally:
        client.close()
        await server.stop()
