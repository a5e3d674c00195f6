"""Operator signals on the real app: /readyz says which check fails, /metrics is
Prometheus text with what this node runs (local and Redis routers both)."""

from __future__ import annotations

import asyncio
import shutil
import warnings
from pathlib import Path

import socketio
from prometheus_client.parser import text_string_to_metric_families

from signaling.server.web_assets import WEB_DIR
from tests.support import Peer, ServerHandle


async def readiness(server: ServerHandle) -> tuple[int, dict[str, object]]:
    async with server.http.get(server.base + "/readyz") as r:
        return r.status, await r.json()


def samples(text: str) -> dict[str, float]:
    return {s.name: s.value for f in text_string_to_metric_families(text) for s in f.samples}


async def test_ready_with_every_check_named(server: ServerHandle) -> None:
    for _ in range(50):  # the journal's first durable beat comes within a second
        status, body = await readiness(server)
        if status == 200:
            break
        await asyncio.sleep(0.1)
    assert status == 200 and body["ready"] is True, body
    checks = body["checks"]
    assert isinstance(checks, dict)
    assert set(checks) == {"database", "journal", "redis", "disk", "web"}
    assert all(c["ok"] for c in checks.values())


async def test_not_ready_names_what_is_missing(server: ServerHandle, tmp_path: Path) -> None:
    web = tmp_path / "web-incomplete"
    shutil.copytree(server.app[WEB_DIR], web, ignore=shutil.ignore_patterns("node_modules"))
    with warnings.catch_warnings():  # a started app's state, changed on purpose here
        warnings.simplefilter("ignore", DeprecationWarning)
        server.app[WEB_DIR] = web
    status, body = await readiness(server)
    assert status == 503 and body["ready"] is False
    checks = body["checks"]
    assert isinstance(checks, dict)
    assert checks["web"]["ok"] is False and "socket.io" in checks["web"]["error"]
    assert checks["database"]["ok"] is True


async def test_metrics_count_rooms_and_people(server: ServerHandle) -> None:
    _, tokens = await server.create()
    peer = Peer(socketio.AsyncClient(reconnection=False))
    await peer.connect(server.base, tokens["t1"])
    await peer.wait_for("welcome")
    try:
        async with server.http.get(server.base + "/metrics") as r:
            assert r.status == 200 and r.headers["Content-Type"].startswith("text/plain")
            found = samples(await r.text())
        assert found["opentutor_rooms"] == 1
        assert found["opentutor_people_present"] == 1
        assert "opentutor_event_loop_lag_seconds" in found
        assert "opentutor_journal_lag_seconds" in found
        assert "opentutor_recording_errors_total" in found
    finally:
        await peer.sio.disconnect()
