"""``opentutor serve --workers 2`` on a fresh data directory, as an operator runs it: a
private redis-server, two worker processes sharing the port, rooms spread over them,
joins that reach the wrong worker moved to the right one, a killed worker restarted,
and everything gone after SIGTERM."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import psutil
import pytest
import socketio

from tests.conftest import free_port
from tests.support import API_KEY, ONE_TO_ONE, SECRET, Peer, token_of

pytestmark = pytest.mark.timeout(120)


def free_ports(count: int) -> int:
    """A port P with P … P+count free (the workers' own ports follow the shared one)."""
    for _ in range(50):
        base = free_port()
        try:
            for p in range(base, base + count + 1):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", p))
        except OSError:
            continue
        return base
    raise AssertionError("no run of free ports")


async def get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.get(url) as r:
        return r.status, await r.text()


async def healthy(url: str, within: float = 30) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if (await get(f"{url}/healthz"))[0] == 200:
                return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.2)
    raise AssertionError(f"{url} not healthy within {within} s")


async def rooms_on(url: str) -> int:
    _, text = await get(f"{url}/metrics")
    found = re.search(r"^opentutor_rooms\{[^}]*\} (\S+)$", text, re.M)
    assert found, text[:500]
    return int(float(found.group(1)))


async def join(base: str, token: str, clients: list[Any]) -> str:
    """Join through the shared port, following ``moved`` as the web client does; the
    URL the join landed on."""
    url = base
    for _ in range(3):
        peer = Peer(socketio.AsyncClient(reconnection=False))
        clients.append(peer.sio)
        await peer.connect(url, token)
        if peer.sio.connected:
            return url
        refused = peer.refused if isinstance(peer.refused, dict) else {}
        assert refused.get("code") == "moved", peer.refused
        if peer.sio.eio.http is not None:
            await peer.sio.eio.http.close()
        url = str(refused["url"])
    raise AssertionError("moved more than twice")


def start(port: int, data: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENTUTOR_")}
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "signaling.server.cli", "serve", "--workers", "2",
             "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data),
             "--api-key", API_KEY, "--token-secret", SECRET, "--no-demo",
             "--ice-host", "127.0.0.1", "--log-format", "text"],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )


async def test_two_workers_share_the_port_spread_rooms_and_come_back(tmp_path: Path) -> None:
    port = free_ports(2)
    base = f"http://127.0.0.1:{port}"
    own = [f"http://127.0.0.1:{port + 1}", f"http://127.0.0.1:{port + 2}"]
    log = tmp_path / "serve.log"
    supervisor = start(port, tmp_path / "data", log)
    clients: list[Any] = []
    try:
        for url in (base, *own):
            await healthy(url)
        sessions = []
        async with aiohttp.ClientSession() as http:
            for _ in range(4):
                async with http.post(f"{base}/api/v1/sessions", json=ONE_TO_ONE,
                                     headers={"Authorization": f"Bearer {API_KEY}"}) as r:
                    assert r.status == 201, await r.text()
                    sessions.append(await r.json())
        for created in sessions:
            await join(base, token_of(created["join_urls"]["t1"]), clients)
        # Four rooms on two workers: neither runs more than three (a worker with two
        # more than another sends a new room there), and each runs one at least.
        counts = [await rooms_on(url) for url in own]
        assert sum(counts) == 4 and min(counts) >= 1, counts
        # The student of a room lands where its teacher is, whichever worker they reach.
        landed = await join(base, token_of(sessions[0]["join_urls"]["s1"]), clients)
        assert await rooms_on(landed) >= 1

        # A worker that dies is started again on its own port.
        children = psutil.Process(supervisor.pid).children()
        assert len([c for c in children if "redis-server" not in c.name()]) == 2
        victim = next(c for c in children if f"--worker-port={port + 1}" in " ".join(
            c.cmdline()).replace("--worker-port ", "--worker-port="))
        victim.kill()
        victim.wait(10)
        await asyncio.sleep(0.5)
        await healthy(own[0])

        # So is the private redis-server: the rooms go on, placement settles, then a new
        # session is placed again.
        running = sum([await rooms_on(url) for url in own])
        redis_child = next(c for c in children if "redis-server" in c.name())
        redis_child.kill()
        redis_child.wait(10)
        deadline = time.monotonic() + 30
        while True:
            try:
                async with aiohttp.ClientSession() as http, http.post(
                    f"{base}/api/v1/sessions", json=ONE_TO_ONE,
                    headers={"Authorization": f"Bearer {API_KEY}"},
                ) as r:
                    created = await r.json() if r.status == 201 else None
                if created is not None:
                    await join(base, token_of(created["join_urls"]["t1"]), clients)
                    break
            except AssertionError:  # refused: placement still settling
                pass
            assert time.monotonic() < deadline, "no placement 30 s after Redis came back"
            await asyncio.sleep(0.5)
        assert sum([await rooms_on(url) for url in own]) == running + 1
    finally:
        for c in clients:
            if c.connected:
                await c.disconnect()
        everyone = psutil.Process(supervisor.pid).children(recursive=True)
        os.kill(supervisor.pid, signal.SIGTERM)
        assert supervisor.wait(30) == 0
        _, alive = psutil.wait_procs(everyone, timeout=10)
        assert not alive, alive
    out = log.read_text()
    assert "2 workers on port" in out and "restarting" in out, out[-2000:]
    # Its own new Redis held no placement the workers could have lost: nothing settled
    # until the restarted one, which did.
    before, _, after = out.partition("the private redis-server exited")
    assert after and "settling" not in before, out[-3000:]
