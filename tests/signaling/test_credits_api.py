"""Credits over REST: wired to the same record the API returns. The figures
themselves are tested rule by rule in tests/recorder/."""

from __future__ import annotations

from tests.support import ServerHandle


async def test_session_credits_and_statement(server: ServerHandle) -> None:
    session_id, toks = await server.create()
    teacher = await server.connect(toks["t1"])
    await teacher.wait_for("welcome")
    status, live = await server.api("GET", f"/api/v1/sessions/{session_id}/credits")
    assert status == 200 and live["final"] is False
    assert live["session_id"] == session_id
    assert set(live["people"]) == {"t1", "s1"}
    # Nobody's media was up: nothing is effective, and the result says why in words.
    assert live["effective_minutes"] == 0 and live["counted"] is False
    assert live["people"]["t1"]["points"] == "0.00" and live["people"]["t1"]["notes"]
    await server.api("POST", f"/api/v1/sessions/{session_id}/end")
    status, final = await server.api("GET", f"/api/v1/sessions/{session_id}/credits")
    assert status == 200 and final["final"] is True
    status, statement = await server.api("GET", "/api/v1/people/t1/statement")
    assert status == 200 and statement["person"] == "t1"
    assert set(statement["programmes"]) == {"training"}
    assert set(statement["programmes"]["training"]) >= {"terms", "years"}


async def test_credits_errors(server: ServerHandle) -> None:
    assert (await server.api("GET", "/api/v1/sessions/s_nope/credits"))[0] == 404
    assert (await server.api("GET", "/api/v1/sessions/s_nope/credits", key="bad"))[0] == 401
    assert (await server.api("GET", "/api/v1/people/a%20b/statement"))[0] == 400
    status, empty = await server.api("GET", "/api/v1/people/nobody/statement?term=2026-autumn")
    assert status == 200 and empty == {"person": "nobody", "term": "2026-autumn", "programmes": {},
                                       "calendar_version": 0, "policy_versions": {}}
