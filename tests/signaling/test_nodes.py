"""Two nodes sharing one Redis and one data directory (one process per core): a
session's room runs on exactly one node; the other sends browsers and API calls
there."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.support import ONE_TO_ONE, ServerHandle, start_app, token_of


async def test_a_session_lives_on_one_node(tmp_path: Path, redis_url: str) -> None:
    data = tmp_path / "data"
    a = await start_app(data, port=free_port(), redis_url=redis_url, node_id="a")
    b = await start_app(data, port=free_port(), redis_url=redis_url, node_id="b")
    try:
        status, created = await b.api("POST", "/api/v1/sessions", ONE_TO_ONE)
        assert status == 201
        session_id = created["session_id"]
        tokens = {p: token_of(u) for p, u in created["join_urls"].items()}
        teacher = await a.connect(tokens["t1"])  # the first join places the room on a
        await teacher.wait_for("welcome")
        student = await b.connect(tokens["s1"])
        assert not student.sio.connected
        assert student.refused == {
            "code": "moved",
            "message": "this session runs on another node",
            "url": a.base,
        }
        student = await a.connect(tokens["s1"])
        await student.wait_for("welcome")
        # REST on the other node answers with the room node's live state.
        status, session = await b.api("GET", f"/api/v1/sessions/{session_id}")
        assert status == 200 and sorted(session["present"]) == ["s1", "t1"]
        status, _ = await b.api("POST", f"/api/v1/sessions/{session_id}/end")
        assert status == 200
        await student.wait_for("ended")
        status, session = await b.api("GET", f"/api/v1/sessions/{session_id}")
        assert session["state"] == "ended"  # released: b answers itself now
    finally:
        await b.stop()
        await a.stop()


async def test_a_stopped_node_gives_its_sessions_up(tmp_path: Path, redis_url: str) -> None:
    data = tmp_path / "data"
    a = await start_app(data, port=free_port(), redis_url=redis_url, node_id="a2")
    b: ServerHandle | None = None
    try:
        _, created = await a.api("POST", "/api/v1/sessions", ONE_TO_ONE)
        teacher = await a.connect(token_of(created["join_urls"]["t1"]))
        await teacher.wait_for("welcome")
        await a.stop()
        b = await start_app(data, port=free_port(), redis_url=redis_url, node_id="b2")
        again = await b.connect(token_of(created["join_urls"]["t1"]))
        (welcome,) = await again.wait_for("welcome")
        assert welcome["you"]["id"] == "t1"
    finally:
        if b is not None:
            await b.stop()


@pytest.mark.parametrize("node", ["x"])
def test_node_url_defaults_to_host_and_port(node: str) -> None:
    from signaling.server.config import Config

    assert Config(host="127.0.0.1", port=8123).node_url == "http://127.0.0.1:8123"
    assert Config(public_url="https://tutor.example.org").node_url == "https://tutor.example.org"
