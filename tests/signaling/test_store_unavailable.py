"""PostgreSQL goes away under a running server (a TCP proxy of this test's own, between
the server and the test cluster, is cut): REST answers 503 with ``Retry-After`` within
seconds (not a hang, not a 500), a join is refused ``unavailable``, ``/readyz`` says
the database check failed, and once the database is reachable again the same server
works without a restart."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import recorder.postgres as postgres
from tests.conftest import create_database, free_port
from tests.support import API_KEY, start_app

pytestmark = pytest.mark.timeout(90)


class Proxy:
    """127.0.0.1:<port> → the database; :meth:`cut` closes it and every connection
    through it (new ones are refused), :meth:`restore` listens again."""

    def __init__(self, target_port: int) -> None:
        self.port = free_port()
        self._target = target_port
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def restore(self) -> None:
        self._server = await asyncio.start_server(self._pipe, "127.0.0.1", self.port)

    async def cut(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._target)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, up_writer}

        async def copy(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        await asyncio.gather(copy(reader, up_writer), copy(up_reader, writer))


@pytest.fixture
async def proxy(postgres_url: str) -> AsyncIterator[tuple[Proxy, str]]:
    url = create_database(postgres_url)
    target = int(url.rsplit(":", 1)[1].split("/", 1)[0])
    through = Proxy(target)
    await through.restore()
    yield through, url.replace(f":{target}/", f":{through.port}/")
    await through.cut()


async def test_database_away_is_503_and_unavailable_then_back(
    proxy: tuple[Proxy, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    through, url = proxy
    # The pools stop reconnecting on their own after this long (60 s in production):
    # the outage below outlasts it, and the next request still finds the database.
    monkeypatch.setattr(postgres, "RECONNECT_TIMEOUT_S", 2.0)
    server = await start_app(tmp_path / "data", port=free_port(), database_url=url)
    try:
        session_id, tokens = await server.create()
        await through.cut()

        started = time.monotonic()
        async with server.http.get(f"{server.base}/api/v1/sessions/{session_id}",
                                   headers={"Authorization": f"Bearer {API_KEY}"}) as r:
            body = await r.json()
            assert r.status == 503 and r.headers["Retry-After"] == "5", body
            assert body["error"]["code"] == "unavailable"
        assert time.monotonic() - started < 10  # the pool's timeout, not a hang

        async with server.http.get(f"{server.base}/readyz") as r:
            ready = await r.json()
            assert r.status == 503 and ready["checks"]["database"]["ok"] is False, ready

        started = time.monotonic()
        peer = await server.connect(tokens["s1"])
        assert peer.refused is not None and peer.refused["code"] == "unavailable"
        assert time.monotonic() - started < 10

        # Back: the pool reconnects by itself; no restart.
        await through.restore()
        deadline = time.monotonic() + 15
        while True:
            status, body = await server.api("GET", f"/api/v1/sessions/{session_id}")
            if status == 200 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
        assert status == 200, body
        async with server.http.get(f"{server.base}/readyz") as r:
            ready = await r.json()
            assert ready["checks"]["database"]["ok"] is True, ready
        teacher = await server.connect(tokens["t1"])
        await teacher.wait_for("welcome")
    finally:
        await server.stop()
