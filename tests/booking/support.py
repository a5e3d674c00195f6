"""Booking's test fixtures: a fake clock that starts on Monday 21 September 2026 at
10:00 in Beijing, a calendar whose term holds the following weeks (the training
policy's open hours: 18:00–22:00 on working days, 08:00–22:00 on rest days), the real
app on it (SQLite or PostgreSQL) and a real webhook receiver."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp import web

from rtc.clock import FakeClock
from signaling.server.app import create_app
from signaling.server.config import Config
from tests.conftest import free_port
from tests.support import API_KEY, SECRET

BEIJING = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 9, 21, 10, 0, tzinfo=BEIJING).timestamp()  # a Monday, 10:00
CALENDAR = ('timezone = "Asia/Shanghai"\nholidays = ["2026-10-01"]\nworkdays = []\n\n'
            '[[terms]]\nname = "2026 秋"\nstart = "2026-09-01"\nend = "2027-01-15"\n')


def at(days: int, hhmm: str) -> int:
    """Epoch seconds of a Beijing wall-clock time ``days`` after the fake clock's start."""
    h, m = (int(x) for x in hhmm.split(":"))
    day = datetime.fromtimestamp(START, BEIJING) + timedelta(days=days)
    return int(day.replace(hour=h, minute=m, second=0, microsecond=0).timestamp())


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, BEIJING).isoformat()


@dataclass
class Receiver:
    """A platform's webhook endpoint: keeps every delivery's JSON body."""

    url: str
    runner: web.AppRunner
    got: list[dict[str, Any]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def events(self, name: str) -> list[dict[str, Any]]:
        return [g for g in self.got if g["event"] == name]

    async def wait_for(self, name: str, count: int) -> list[dict[str, Any]]:
        async def wait() -> None:
            while len(self.events(name)) < count:
                self.arrived.clear()
                await self.arrived.wait()

        await asyncio.wait_for(wait(), 10)
        return self.events(name)


@asynccontextmanager
async def receiver() -> AsyncIterator[Receiver]:
    app = web.Application()
    port = free_port()
    rec = Receiver(f"http://127.0.0.1:{port}/hook", web.AppRunner(app))

    async def hook(request: web.Request) -> web.Response:
        rec.got.append(await request.json())
        rec.arrived.set()
        return web.Response(text="ok")

    app.router.add_post("/hook", hook)
    await rec.runner.setup()
    await web.TCPSite(rec.runner, "127.0.0.1", port).start()
    try:
        yield rec
    finally:
        await rec.runner.cleanup()


@dataclass
class Server:
    base: str
    clock: FakeClock
    runner: web.AppRunner
    http: aiohttp.ClientSession

    @property
    def app(self) -> web.Application:
        return self.runner.app

    async def api(self, method: str, path: str, body: Any = None, *, token: str | None = None,
                  key: bool = False, raw: bytes | None = None) -> tuple[int, Any]:
        headers = {}
        if key:
            headers["Authorization"] = f"Bearer {API_KEY}"
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        kwargs: dict[str, Any] = {"data": raw} if raw is not None else {"json": body}
        async with self.http.request(method, self.base + path, headers=headers,
                                     allow_redirects=False, **kwargs) as r:
            text = await r.text()
            try:
                import json

                return r.status, json.loads(text)
            except ValueError:
                return r.status, {"text": text, "location": r.headers.get("Location")}

    async def pass_for(self, kind: str, pid: str, name: str, **person: str) -> str:
        body = {"kind": kind, "person": {"id": pid, "name": name, **person}}
        status, made = await self.api("POST", "/api/v1/bookings/passes", body, key=True)
        assert status == 201, made
        return str(made["token"])

    async def teacher(self, pid: str = "t1", name: str = "王老师") -> str:
        return await self.pass_for("booking_teacher", pid, name, school="北京市第二中学",
                                   school_id="1111000001", district_code="110102")

    async def learner(self, pid: str, name: str = "") -> str:
        return await self.pass_for("booking_learner", pid, name or f"{pid}老师",
                                   school="密云区第三中学", school_id="1111000222",
                                   district_code="110118")

    async def publish(self, token: str, form: str = "one_to_one", start: int | None = None,
                      minutes: int = 30, **extra: Any) -> tuple[int, Any]:
        body = {"form": form, "start": iso(start or at(0, "19:00")), "minutes": minutes,
                **extra}
        return await self.api("POST", "/api/v1/bookings/offers", body, token=token)


@asynccontextmanager
async def serving(tmp_path: Path, *, database_url: str = "", webhook_url: str = "",
                  clock: FakeClock | None = None) -> AsyncIterator[Server]:
    clock = clock or FakeClock(start=START)
    cal = tmp_path / "calendar.toml"
    cal.write_text(CALENDAR, encoding="utf-8")
    port = free_port()
    config = Config(host="127.0.0.1", port=port, data_dir=tmp_path / "data", api_key=API_KEY,
                    token_secret=SECRET, ice_hosts=("127.0.0.1",), calendar=cal,
                    database_url=database_url, node_id="local", webhook_url=webhook_url,
                    webhook_backoff_s=0.01)
    runner = web.AppRunner(create_app(config, clock), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    http = aiohttp.ClientSession()
    try:
        yield Server(f"http://127.0.0.1:{port}", clock, runner, http)
    finally:
        await http.close()
        await runner.cleanup()
