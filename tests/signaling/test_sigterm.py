"""SIGTERM with people connected: the node tells every socket.io connection to close
first (an engine.io close, which clients answer by reconnecting, to another node where
there is one) and exits in seconds; a client that ignores the close is cut after the
grace, not waited for a minute (it was ~55 s before)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
import pytest
import socketio

from tests.conftest import free_port
from tests.recording_support import api, spawn
from tests.support import ONE_TO_ONE, Peer, token_of

pytestmark = pytest.mark.timeout(120)


async def test_sigterm_closes_connections_and_exits(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = spawn(tmp_path / "data", port, tmp_path / "server.log")
    try:
        status, created = await api(base, "POST", "/api/v1/sessions", ONE_TO_ONE)
        assert status == 201, created
        # A participant whose client would reconnect (as the web client does) …
        sio = socketio.AsyncClient(reconnection=True, reconnection_attempts=1)
        teacher = Peer(sio)
        reasons: list[str] = []

        async def gone(reason: str = "") -> None:
            reasons.append(reason)

        sio.on("disconnect", handler=gone)

        await teacher.connect(base, token_of(created["join_urls"]["t1"]))
        await teacher.wait_for("welcome")
        # … and a raw websocket that never answers engine.io's close.
        async with aiohttp.ClientSession() as http:
            stuck = await http.ws_connect(base + "/socket.io/?EIO=4&transport=websocket")
            await stuck.receive()
            started = time.monotonic()
            process.terminate()
            code = await asyncio.to_thread(process.wait, 30)  # not the minute of before
            took = time.monotonic() - started
            await stuck.close()
        print(f"exited {code} after {took:.1f} s")
        assert code == 0
        # The server closed the connection itself (an engine.io close: the browser's
        # socket.io client calls that "transport close" and reconnects, unlike a
        # namespace disconnect, "io server disconnect", which it never retries).
        assert reasons, "the participant's connection was not closed by the server"
        await sio.disconnect()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
