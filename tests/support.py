"""Helpers for tests that talk to a real server: REST calls and socket.io clients."""

from __future__ import annotations

import asyncio
import copy
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import aiohttp
import socketio
from aiohttp import web

from signaling.server.app import create_app
from signaling.server.config import Config

API_KEY = "test-api-key"
SECRET = "test-token-secret"

_NOW = datetime.now(UTC)
ONE_TO_ONE: dict[str, Any] = {
    "programme": "training",
    "form": "one_to_one",
    "title": "函数图像答疑",
    # Around now: join links expire 8 days after the scheduled end.
    "scheduled_start": (_NOW - timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    "scheduled_end": (_NOW + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    "record": False,
    "people": [
        {"id": "t1", "name": "王老师", "role": "instructor", "school": "S1", "district": "通州"},
        {"id": "s1", "name": "李同学", "role": "learner", "school": "S7", "district": "密云"},
    ],
}


def lecture(learners: int = 3) -> dict[str, Any]:
    body = copy.deepcopy(ONE_TO_ONE)
    body["form"] = "lecture"
    body["people"] = [ONE_TO_ONE["people"][0]] + [
        {"id": f"s{i}", "name": f"学员{i}", "role": "learner"} for i in range(1, learners + 1)
    ]
    return body


def token_of(join_url: str) -> str:
    return parse_qs(urlparse(join_url).query)["token"][0]


@dataclass
class ServerHandle:
    base: str
    runner: web.AppRunner
    http: aiohttp.ClientSession
    data_dir: Path
    clients: list[socketio.AsyncClient] = field(default_factory=list)
    database_url: str = ""  # the store's PostgreSQL; "": SQLite in data_dir

    @property
    def app(self) -> web.Application:
        return self.runner.app

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """Rows of ``sql`` read straight from the server's store, on either back end."""
        if self.database_url:
            import psycopg

            with psycopg.connect(self.database_url) as conn:
                return conn.execute(sql.encode()).fetchall()
        db = sqlite3.connect(self.data_dir / "opentutor.sqlite")
        try:
            return db.execute(sql).fetchall()
        finally:
            db.close()

    async def api(
        self,
        method: str,
        path: str,
        body: Any = None,
        key: str | None = API_KEY,
        token: str | None = None,
    ) -> tuple[int, Any]:
        headers = {}
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        async with self.http.request(method, self.base + path, json=body, headers=headers) as r:
            return r.status, await r.json(content_type=None)

    async def create(self, body: dict[str, Any] | None = None) -> tuple[str, dict[str, str]]:
        status, created = await self.api("POST", "/api/v1/sessions", body or ONE_TO_ONE)
        assert status == 201, created
        tokens = {pid: token_of(url) for pid, url in created["join_urls"].items()}
        return created["session_id"], tokens

    async def connect(self, token: str | None) -> Peer:
        peer = Peer(socketio.AsyncClient(reconnection=False))
        self.clients.append(peer.sio)
        await peer.connect(self.base, token)
        return peer

    async def stop(self) -> None:
        for client in self.clients:
            if client.connected:
                await client.disconnect()
        await self.http.close()
        await self.runner.cleanup()


class Peer:
    """A socket.io client that records every event it receives, in order."""

    def __init__(self, sio: socketio.AsyncClient) -> None:
        self.sio = sio
        self.events: list[tuple[str, Any]] = []
        self._changed = asyncio.Event()
        self.refused: Any = None

        @sio.on("*")  # type: ignore[misc]
        async def any_event(event: str, data: Any = None) -> None:
            self.events.append((event, data))
            self._changed.set()

        @sio.event  # type: ignore[misc]
        async def connect_error(data: Any) -> None:
            self.refused = data.get("data") if isinstance(data, dict) else data
            self._changed.set()

    async def connect(self, base: str, token: str | None) -> None:
        auth = {"token": token} if token is not None else {}
        try:
            await self.sio.connect(base, auth=auth, transports=["websocket"], wait_timeout=10)
        except socketio.exceptions.ConnectionError:
            return

    async def call(self, event: str, data: Any = None) -> Any:
        return await self.sio.call(event, data if data is not None else {}, timeout=15)

    def named(self, event: str) -> list[Any]:
        return [d for e, d in self.events if e == event]

    async def wait_for(self, event: str, count: int = 1, within: float = 10) -> list[Any]:
        async def _wait() -> list[Any]:
            while len(self.named(event)) < count:
                self._changed.clear()
                await self._changed.wait()
            return self.named(event)

        return await asyncio.wait_for(_wait(), within)


async def start_app(
    data_dir: Path,
    *,
    port: int,
    host: str = "127.0.0.1",
    ice_hosts: tuple[str, ...] = ("127.0.0.1",),
    grace_s: float = 2.0,
    redis_url: str = "",
    node_id: str = "local",
    idle_end_s: float = 1800.0,
    recordings_segment_s: float = 10.0,
    webhook_url: str = "",
    webhook_backoff_s: float = 1.0,
    database_url: str = "",
    recordings_dir: Path | None = None,
) -> ServerHandle:
    config = Config(
        host=host,
        port=port,
        data_dir=data_dir,
        api_key=API_KEY,
        token_secret=SECRET,
        ice_hosts=ice_hosts,
        grace_s=grace_s,
        redis_url=redis_url,
        node_id=node_id,
        idle_end_s=idle_end_s,
        recordings_segment_s=recordings_segment_s,
        webhook_url=webhook_url,
        webhook_backoff_s=webhook_backoff_s,
        database_url=database_url,
        recordings_dir=recordings_dir,
    )
    runner = web.AppRunner(create_app(config), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return ServerHandle(f"http://{host}:{port}", runner, aiohttp.ClientSession(), data_dir,
                        database_url=database_url)
