"""Platform REST v1 against the real app: the contract, and bad input changing nothing."""

from __future__ import annotations

from tests.support import API_KEY, ONE_TO_ONE, ServerHandle


async def test_create_returns_join_urls_for_everyone(server: ServerHandle) -> None:
    status, created = await server.api("POST", "/api/v1/sessions", ONE_TO_ONE)
    assert status == 201
    assert created["session_id"].startswith("s_")
    assert set(created["join_urls"]) == {"t1", "s1"}
    assert all(u.startswith(server.base + "/join?token=") for u in created["join_urls"].values())
    status, session = await server.api("GET", f"/api/v1/sessions/{created['session_id']}")
    assert status == 200
    assert (session["state"], session["present"], session["form"]) == (
        "scheduled",
        [],
        "one_to_one",
    )


async def test_missing_or_wrong_key_is_401(server: ServerHandle) -> None:
    assert (await server.api("POST", "/api/v1/sessions", ONE_TO_ONE, key=None))[0] == 401
    assert (await server.api("POST", "/api/v1/sessions", ONE_TO_ONE, key="nope"))[0] == 401
    assert (await server.api("GET", "/api/v1/sessions/s_x", key="nope"))[0] == 401


async def test_bad_body_is_400_naming_the_field_and_stores_nothing(server: ServerHandle) -> None:
    bad = {
        **ONE_TO_ONE,
        "people": [ONE_TO_ONE["people"][0], {"id": "s1", "name": "x", "role": "kid"}],
    }
    status, body = await server.api("POST", "/api/v1/sessions", bad)
    assert status == 400 and body["error"]["field"] == "people[1].role"
    async with server.http.post(
        server.base + "/api/v1/sessions",
        data=b"{not json",
        headers={"Authorization": f"Bearer {API_KEY}"},
    ) as r:
        assert r.status == 400
    assert server.query("SELECT count(*) FROM sessions") == [(0,)]
    assert server.query("SELECT count(*) FROM people") == [(0,)]


async def test_unknown_ids_are_404(server: ServerHandle) -> None:
    for method, path in [
        ("GET", "/api/v1/sessions/s_nope"),
        ("POST", "/api/v1/sessions/s_nope/end"),
        ("GET", "/api/v1/sessions/s_nope/record"),
    ]:
        assert (await server.api(method, path))[0] == 404


async def test_end_and_record_of_a_session_nobody_joined(server: ServerHandle) -> None:
    session_id, _ = await server.create()
    status, _ = await server.api("POST", f"/api/v1/sessions/{session_id}/end")
    assert status == 200
    status, record = await server.api("GET", f"/api/v1/sessions/{session_id}/record")
    assert status == 200
    assert record["session_id"] == session_id and record["active"] == {}
    assert [p["id"] for p in record["people"]] == ["t1", "s1"]
    assert record["people"][0]["district"] == "通州"
    assert (record["feedback"], record["reports"]) == ({}, {})


async def test_openapi_document_is_served(server: ServerHandle) -> None:
    status, doc = await server.api("GET", "/api/v1/openapi.json", key=None)
    assert status == 200 and doc["openapi"].startswith("3.")
    assert {"/sessions", "/sessions/{id}", "/sessions/{id}/end", "/sessions/{id}/record"} <= set(
        doc["paths"]
    )
