"""Credits over REST: a session's points, pay and study minutes, and a person's
statement, computed by the credits engine (``recorder/credits/rules.py``) from the same
session records ``GET /sessions/{id}/record`` returns."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from recorder.credits.calendar import SAMPLE_CALENDAR, Calendar, load_calendar
from recorder.credits.note_codes import with_note_codes
from recorder.credits.records import RecordError
from recorder.credits.rules import compute_session
from signaling.server.access import scoped_session
from signaling.server.current_settings import (
    CONFIGURED_CALENDAR,
    calendar_of,
    policy_of,
    versions_of,
)
from signaling.server.http_util import error, services
from signaling.server.session_record import session_record

routes = web.RouteTableDef()
CALENDAR = CONFIGURED_CALENDAR  # version 0 of the calendar (the settings store has the rest)
__all__ = ["CALENDAR", "calendar_of", "load_configured_calendar", "routes"]


def load_configured_calendar(path: Path | None) -> Calendar:
    """The operator's calendar, or the shipped sample (loaded at start-up, so a bad
    calendar file stops the server instead of failing every credits request)."""
    return load_calendar(path or SAMPLE_CALENDAR)


@routes.get("/api/v1/sessions/{id}/credits")
async def session_credits(request: web.Request) -> web.Response:
    session = await scoped_session(request)  # the API key, or staff in scope
    if isinstance(session, web.Response):
        return session
    svc = services(request)
    record = await session_record(svc, session)
    try:
        result = compute_session(record, policy_of(request, session.spec.programme),
                                 calendar_of(request))
    except RecordError as exc:
        return error(422, "uncomputable", str(exc))
    result["final"] = session.state == "ended"  # a live session's figures still move
    with_note_codes(result)  # each note's code and params: the console says it in zh-CN
    # The versions computed with: the figures can be recomputed from their exports.
    result.update(versions_of(request, session.spec.programme))
    return web.json_response(result)


