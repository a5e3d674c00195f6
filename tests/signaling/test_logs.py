"""Structured logs from a real ``opentutor serve``: one JSON object per line, with the
node on every line and the session and person on lines about a session; refused input
is one INFO line, no traceback."""

from __future__ import annotations

import json
from pathlib import Path

import socketio

from tests.conftest import free_port
from tests.recording_support import api, running
from tests.support import ONE_TO_ONE, Peer, token_of


async def test_json_lines_name_the_node_session_and_person(tmp_path: Path) -> None:
    port, log = free_port(), tmp_path / "server.log"
    base = f"http://127.0.0.1:{port}"
    with running(tmp_path / "data", port, log, "--log-format", "json", "--node-id", "n1"):
        status, created = await api(base, "POST", "/api/v1/sessions", ONE_TO_ONE)
        assert status == 201
        peer = Peer(socketio.AsyncClient(reconnection=False))
        await peer.connect(base, token_of(created["join_urls"]["s1"]))
        await peer.wait_for("welcome")
        await peer.sio.emit("disconnect", {})  # a reserved name: refused, one INFO line
        await peer.wait_for("error")
        await peer.sio.disconnect()
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    assert lines and all(line["node"] == "n1" for line in lines)
    refused = [line for line in lines if "refused event" in line["msg"]]
    assert refused and refused[0]["level"] == "INFO"
    assert refused[0]["session"] == created["session_id"] and refused[0]["person"] == "s1"
    assert not any("exc" in line or line["level"] == "ERROR" for line in lines)
    assert "Traceback" not in log.read_text()
