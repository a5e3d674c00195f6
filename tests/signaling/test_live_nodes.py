"""The Now page's answer with several nodes (issue 16): whichever node the console asks
lists the live sessions of every node, narrowed to the viewer's scope, and names a node
that does not answer instead of waiting for it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import free_port
from tests.support import ONE_TO_ONE, ServerHandle, start_app, token_of


async def live(node: ServerHandle, query: str = "") -> dict[str, Any]:
    status, body = await node.api("GET", "/api/v1/live" + query)
    assert status == 200, body
    assert isinstance(body, dict)
    return body


async def test_every_node_answers_for_all(tmp_path: Path, redis_url: str) -> None:
    data = tmp_path / "data"
    a = await start_app(data, port=free_port(), redis_url=redis_url, node_id="lnode-a")
    b = await start_app(data, port=free_port(), redis_url=redis_url, node_id="lnode-b")
    try:
        status, created = await b.api("POST", "/api/v1/sessions", ONE_TO_ONE)
        assert status == 201
        session_id = created["session_id"]
        teacher = await a.connect(token_of(created["join_urls"]["t1"]))  # its room on a
        await teacher.wait_for("welcome")

        merged = await live(b)
        assert [(s["id"], s["node"]) for s in merged["sessions"]] == [(session_id, "lnode-a")]
        assert [s["id"] for s in (await live(a))["sessions"]] == [session_id]  # not twice
        status, body = await b.api("GET", "/api/v1/live?as_level=district")
        assert status == 400 and body["error"]["field"] == "as_level"

        # A node that stops answering is named, and the rest still answer.
        await a.runner.cleanup()  # gone without giving its rooms up: its beat lingers
        merged = await live(b)
        assert merged["sessions"] == []
        # Named while its beat has not lapsed; once it has, it is simply not a node.
        assert merged["unreachable"] in (["lnode-a"], [])
    finally:
        await b.stop()
        await a.stop()
