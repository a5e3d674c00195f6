"""Declared once (issue 10.6): what the handlers decode with is what the documents say.

The drift test sends a body to every ``POST /api/v1/...`` route of the real app, in a
state where its handler reads the body, records which declaration it decodes with,
and checks the OpenAPI document's request body is the generated schema of exactly that
declaration (and that routes decoding nothing document no JSON body).
"""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from signaling.session import declarations, messages, schema
from signaling.session.declarations import REST_BODIES, openapi_bodies, socket_schema_text
from signaling.session.schema import Invalid
from tests.conftest import free_port
from tests.support import ONE_TO_ONE, ServerHandle, start_app

REVIEW: dict[str, Any] = {
    **copy.deepcopy(ONE_TO_ONE),
    "form": "review",
    "people": [
        {"id": "r1", "name": "评课老师", "role": "instructor"},
        {"id": "p1", "name": "上课老师", "role": "learner"},
    ],
}


@pytest.fixture
async def app_server(tmp_path: Path) -> AsyncIterator[ServerHandle]:
    handle = await start_app(tmp_path / "data", port=free_port())
    try:
        yield handle
    finally:
        await handle.stop()


async def test_every_post_handler_decodes_the_body_its_document_shows(
    app_server: ServerHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = app_server
    session_id, tokens = await server.create(REVIEW)
    assert (await server.api("POST", f"/api/v1/sessions/{session_id}/end"))[0] == 200
    decoded: list[type[Any]] = []
    real = schema.decode

    def spy(kind: type[Any], value: Any) -> Any:
        decoded.append(kind)
        return real(kind, value)

    monkeypatch.setattr(schema, "decode", spy)
    _, document = await server.api("GET", "/api/v1/openapi.json", key=None)
    posts = sorted(
        {
            r.resource.canonical
            for r in server.app.router.routes()
            if r.method == "POST" and r.resource is not None
            if r.resource.canonical.startswith("/api/v1/")
        }
    )
    assert "/api/v1/sessions" in posts and "/api/v1/me/feedback" in posts
    bodies, _ = openapi_bodies()
    # The on-demand passes too: the Q&A centre's calls are a student's or a teacher's.
    passes = []
    for kind, extra in (("student_call", {"grade": "8"}),
                        ("teacher_duty", {"subjects": ["math"], "grades": ["8"]})):
        made = await server.api("POST", "/api/v1/oncall/passes", {
            "kind": kind, "person": {"id": f"p-{kind}", "name": "某某", "school": "一中"},
            **extra})
        assert made[0] == 201, made
        passes.append({"token": made[1]["token"]})
    for path in posts:
        route = path.removeprefix("/api/v1")
        decoded.clear()
        url = path.replace("{id}", session_id)
        # The API key, and both participants (feedback is a learner's, the report a reviewer's).
        for who in ({}, {"token": tokens["p1"]}, {"token": tokens["r1"]}, *passes):
            await server.api("POST", url, {}, **who)  # type: ignore[arg-type]
        documented = document["paths"][route]["post"].get("requestBody", {})
        if not decoded:
            assert "application/json" not in documented.get("content", {}), route
            assert route not in REST_BODIES, route
            continue
        assert set(decoded) == {REST_BODIES[route]}, (route, decoded)
        assert documented == bodies[route], route
        name = REST_BODIES[route].__name__
        assert documented["content"]["application/json"]["schema"] == {
            "$ref": f"#/components/schemas/{name}"
        }
    assert set(REST_BODIES) <= {p.removeprefix("/api/v1") for p in posts}


async def test_the_document_holds_the_generated_components(app_server: ServerHandle) -> None:
    _, document = await app_server.api("GET", "/api/v1/openapi.json", key=None)
    _, components = openapi_bodies()
    for name, generated in components.items():
        assert document["components"]["schemas"][name] == generated, name
    # Bounds the handlers enforce are in the document, from the declarations.
    session = components["NewSession"]["properties"]
    assert session["people"]["maxItems"] == declarations.MAX_PEOPLE
    assert session["title"]["maxLength"] == 120
    assert components["Feedback"]["properties"]["rating"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 5,
    }


def test_the_socket_messages_schema_file_is_generated() -> None:
    on_disk = declarations.SOCKET_SCHEMA_FILE.read_text(encoding="utf-8")
    assert on_disk == socket_schema_text(), "run: python -m signaling.session.declarations"
    events = json.loads(on_disk)["properties"]
    assert set(events) == set(declarations.MESSAGES) == set(messages.PARSERS)


@pytest.mark.parametrize(
    ("event", "payload", "field", "message"),
    [
        ("chat", {"image": "u_abcdefgh12\n"}, "image", "must be an upload id"),
        ("chat", {"text": "\ud800"}, "text", "is not valid Unicode text (lone surrogate)"),
        ("grant", {"person": "s1", "what": "\ud800", "on": True}, "what", "is not valid"),
        ("record", "\ud800", "", "is not valid"),
        ("grant", {"person": " ", "what": "pen", "on": True}, "person", "must not be empty"),
        ("board", {"op": {"type": "clear"}, "evil": 1}, None, None),
    ],
)
def test_refusals_name_the_field_in_words(
    event: str, payload: Any, field: str | None, message: str | None
) -> None:
    if field is None:
        messages.parse(event, payload)
        return
    with pytest.raises(Invalid) as err:
        messages.parse(event, payload)
    assert err.value.field == field and message is not None
    assert err.value.message.startswith(message)


def test_a_stroke_over_the_limit_keeps_its_code() -> None:
    points = [[0.5, 0.5]] * (declarations.MAX_POINTS + 1)
    stroke = {"type": "stroke", "id": "k", "tool": "pen", "color": "#000000", "width": 2}
    with pytest.raises(messages.StrokeTooLong) as err:
        messages.parse("board", {"op": {**stroke, "points": points}})
    assert (err.value.code, err.value.field) == ("stroke_too_long", "op.points")
