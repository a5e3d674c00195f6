"""Helpers for the recording tests that need a real ``opentutor serve`` process
(SIGKILL, replay in Chromium): start/stop it, and publish real aiortc media to it
over socket.io exactly as the browser does."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp
import socketio

from tests.rtc.clients import Client
from tests.signaling.test_media_session import OverSocket, follow_renegotiations
from tests.support import API_KEY, SECRET, Peer


def spawn(data_dir: Path, port: int, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    """``opentutor serve`` on 127.0.0.1 (ICE too), waited for until healthy."""
    args = [
        sys.executable, "-m", "signaling.server.cli", "serve", "--host", "127.0.0.1",
        "--port", str(port), "--data-dir", str(data_dir), "--api-key", API_KEY,
        "--token-secret", SECRET, "--no-demo", "--ice-host", "127.0.0.1", *extra,
    ]
    with log.open("ab") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return process
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("server did not start:\n" + log.read_text()) from None
            time.sleep(0.1)


@contextmanager
def running(data_dir: Path, port: int, log: Path, *extra: str) -> Iterator[subprocess.Popen[bytes]]:
    process = spawn(data_dir, port, log, *extra)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


async def api(base: str, method: str, path: str, body: Any = None,
              token: str | None = None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token or API_KEY}"}
    async with aiohttp.ClientSession() as http, http.request(
        method, base + path, json=body, headers=headers
    ) as r:
        return r.status, await r.json(content_type=None)


class Publisher:
    """A participant connected over socket.io, publishing aiortc audio and video."""

    def __init__(self, peer: Peer, client: Client | None, loop: asyncio.Task[None] | None) -> None:
        self.peer, self.client, self._loop = peer, client, loop

    @classmethod
    async def join(cls, base: str, token: str, name: str, *, media: bool = True) -> Publisher:
        """Connect; with ``media``, publish a camera and a microphone (else signal only)."""
        peer = Peer(socketio.AsyncClient(reconnection=False))
        await peer.connect(base, token)
        await peer.wait_for("welcome")
        if not media:
            return cls(peer, None, None)
        client = Client(name, OverSocket(peer), audio=True, video=True)  # type: ignore[arg-type]
        await client.negotiate()
        return cls(peer, client, asyncio.create_task(follow_renegotiations(peer, client)))

    async def close(self) -> None:
        if self._loop is not None:
            self._loop.cancel()
        if self.client is not None:
            await self.client.close()
        if self.peer.sio.connected:
            await self.peer.sio.disconnect()
