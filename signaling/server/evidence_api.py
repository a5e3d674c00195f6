"""Evidence you can look at (issue 9, item 8).

``GET /api/v1/sessions/{id}/evidence``: the per-minute evidence rows of a session, one
per person per minute, as ``docs/record.md`` defines them: ``{"session_id", "rows"}``.

``GET /api/v1/sessions/{id}/timeline``: the session's timeline picture (SVG) with those
rows: per minute who was present, voiced, sending video, and which minutes counted and
why not (:func:`recorder.credits.timeline.render_timeline`).

Both for the programme office (the platform API key, or signed-in staff whose scope
holds the session), like ``/sessions/{id}/record``; a join token is refused with 403.
"""

from __future__ import annotations

from aiohttp import web

from recorder.credits.records import RecordError
from recorder.credits.timeline import render_timeline
from signaling.server.access import scoped_session
from signaling.server.current_settings import calendar_of, policy_of
from signaling.server.http_util import error, services
from signaling.server.session_record import evidence_json, session_record
from signaling.server.supervision_api import operator_only
from signaling.store.sqlite import StoredSession

routes = web.RouteTableDef()


async def _session(request: web.Request) -> StoredSession | web.Response:
    denied = operator_only(request)
    if denied is not None and denied.status == 403:  # a participant's join token
        return denied
    return await scoped_session(request)  # the API key, or staff in scope


@routes.get("/api/v1/sessions/{id}/evidence")
async def session_evidence(request: web.Request) -> web.Response:
    session = await _session(request)
    if isinstance(session, web.Response):
        return session
    rows = evidence_json(services(request), session)
    return web.json_response({"session_id": session.id, "rows": rows})


@routes.get("/api/v1/sessions/{id}/timeline")
async def session_timeline(request: web.Request) -> web.Response:
    session = await _session(request)
    if isinstance(session, web.Response):
        return session
    svc = services(request)
    record = await session_record(svc, session)
    rows = evidence_json(svc, session)
    try:
        svg = render_timeline(
            record, policy_of(request, session.spec.programme), calendar_of(request),
            evidence=rows
        )
    except RecordError as exc:
        return error(422, "uncomputable", str(exc))
    return web.Response(text=svg, content_type="image/svg+xml", charset="utf-8",
                        headers={"Cache-Control": "no-store"})
