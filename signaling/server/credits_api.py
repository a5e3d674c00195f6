"""Credits over REST: a session's points, pay and study minutes, and a person's
statement, computed by the credits engine (``recorder/credits/rules.py``) from the same
session records ``GET /sessions/{id}/record`` returns."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import web

from recorder.credits.calendar import SAMPLE_CALENDAR, Calendar, load_calendar
from recorder.credits.policy import load_policy
from recorder.credits.records import RecordError
from recorder.credits.rules import compute_session
from recorder.credits.statement import compute_statement
from signaling.server.access import scoped_session
from signaling.server.http_util import check_api_key, error, services
from signaling.server.session_record import session_record
from signaling.session.spec import ID_PATTERN

routes = web.RouteTableDef()
CALENDAR = web.AppKey("calendar", Calendar)


def load_configured_calendar(path: Path | None) -> Calendar:
    """The operator's calendar, or the shipped sample (loaded at start-up, so a bad
    calendar file stops the server instead of failing every credits request)."""
    return load_calendar(path or SAMPLE_CALENDAR)


def calendar_of(request: web.Request) -> Calendar:
    return request.app[CALENDAR]


@routes.get("/api/v1/sessions/{id}/credits")
async def session_credits(request: web.Request) -> web.Response:
    session = await scoped_session(request)  # the API key, or staff in scope
    if isinstance(session, web.Response):
        return session
    svc = services(request)
    record = await session_record(svc, session)
    try:
        result = compute_session(record, load_policy(session.spec.programme), calendar_of(request))
    except RecordError as exc:
        return error(422, "uncomputable", str(exc))
    result["final"] = session.state == "ended"  # a live session's figures still move
    return web.json_response(result)


@routes.get("/api/v1/people/{id}/statement")
async def person_statement(request: web.Request) -> web.Response:
    """Totals of one person over their ended sessions, per programme: points and pay
    per term, 学时 and 学分 per year. ``?term=NAME`` keeps one term's points."""
    if (denied := check_api_key(request)) is not None:
        return denied
    person = request.match_info["id"]
    if not ID_PATTERN.fullmatch(person):
        return error(400, "invalid", "not a person id", "id")
    term = request.query.get("term")
    svc = services(request)
    by_programme: dict[str, list[dict[str, Any]]] = {}
    for session_id in await svc.store.sessions_of(person):
        session = await svc.store.session(session_id)
        if session is not None and session.state == "ended":
            record = await session_record(svc, session)
            by_programme.setdefault(session.spec.programme, []).append(record)
    programmes: dict[str, Any] = {}
    for programme, records in sorted(by_programme.items()):
        try:
            statement = compute_statement(records, load_policy(programme), calendar_of(request))
        except RecordError as exc:
            return error(422, "uncomputable", str(exc))
        mine = statement["people"].get(person, {"terms": {}, "years": {}})
        if term is not None:
            mine = {**mine, "terms": {k: v for k, v in mine["terms"].items() if k == term}}
        programmes[programme] = mine
    return web.json_response({"person": person, "term": term, "programmes": programmes})
