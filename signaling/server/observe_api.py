"""``POST /api/v1/live/{id}/observe``: a supervisor opens a live session read-only
(issue 16; 巡课, the way a programme office looks into a class without taking part).

A signed-in staff member whose scope holds the session (the rules of
:func:`~signaling.server.access.scoped_session`: its instructors work in their district
or school; the city sees all) gets a join link of role ``observer`` bound to their
username, valid :data:`OBSERVE_LINK_S`. The link is for opening now: it is checked when
the tab connects (and reconnects), so a supervisor who stays past it asks again from the
console. Every link minted is written to the audit log (``observe``); every visit made
with it is kept in the session store and shown in the session's record (``observers``).

Refused: nobody signed in (401), a staff request without its CSRF header (403), the
platform's API key (403, see below), a session outside the scope or unknown (404, as
everywhere in the console: nothing leaks that it exists), a session not live (409
``not_live``) or ended (409 ``ended``).

**The API key mints no observer links.** An observer seat is a person watching minors
on behalf of an office, and the record must say who: the key names no one (its audit
name is "api-key"), and a link minted with it could be handed to anyone. The platform
that wants supervision gives the supervisor a staff account.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from signaling.server import tokens
from signaling.server.access import CSRF_HEADER, audit, instructors, viewer
from signaling.server.http_util import check_api_key, error, services
from signaling.server.sessions_api import base_url
from signaling.session.roles import OBSERVER
from signaling.session.timefmt import iso_at

routes = web.RouteTableDef()

# Long enough to click, open and reconnect through a network blip in a lesson's first
# hour; short enough that a link copied out of the address bar soon stops working.
OBSERVE_LINK_S = 3600
_NO_STORE = {"Cache-Control": "no-store"}  # the answer holds a join token


@routes.post("/api/v1/live/{id}/observe")
async def observe(request: web.Request) -> web.Response:
    if check_api_key(request) is None:
        return error(403, "staff_only", "observing needs a staff sign-in: an observer seat is "
                     "bound to the person watching, and the API key names no one")
    scope = await viewer(request)  # the staff cookie (+ CSRF header), or the 401/403
    if isinstance(scope, web.Response):
        return scope
    svc = services(request)
    session = await svc.store.session(request.match_info["id"])
    if session is None or not scope.sees_session(instructors(session)):
        return error(404, "not_found", "no such session")
    if session.ended_at is not None:
        return error(409, "ended", "this session has ended: there is nothing to watch")
    if session.started_at is None:
        return error(409, "not_live", "this session has not started: nobody is there yet")
    now = int(svc.clock.time())
    grant = tokens.Grant(person=scope.who, session=session.id, role=OBSERVER,
                         name=scope.who, issued_at=now, expires_at=now + OBSERVE_LINK_S)
    token = tokens.issue(svc.config.secret, grant)
    expires_at = iso_at(grant.expires_at)
    await audit(request, scope, "observe", session.id, {"expires_at": expires_at})
    return web.json_response({
        "session_id": session.id,
        "role": OBSERVER,
        "staff": scope.who,
        "join_url": f"{base_url(request)}/join?token={token}",
        "expires_at": expires_at,
    }, headers=_NO_STORE)


_OBSERVE = {
    "type": "object",
    "required": ["session_id", "role", "staff", "join_url", "expires_at"],
    "properties": {
        "session_id": {"type": "string"},
        "role": {"const": OBSERVER},
        "staff": {"type": "string", "description": "the username the seat is bound to"},
        "join_url": {"type": "string", "description": "open it now (a new tab): the web "
                     "client opens read-only for this role"},
        "expires_at": {"type": "string", "format": "date-time", "description": "the link "
                       f"is refused when a tab (re)connects after this ({OBSERVE_LINK_S} s)"},
    },
}


def _answer(text: str) -> dict[str, Any]:
    return {"description": text, "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/Error"}}}}


OBSERVE_PATHS: dict[str, Any] = {"/live/{id}/observe": {"post": {
    "summary": "Watch a live session read-only (a supervisor's observer link)",
    "description": "For a signed-in staff member whose scope holds the session, with the "
    f"{CSRF_HEADER} header: a join link of role `observer`, bound to their username. The "
    "observer receives everyone's media, the board, the chat and the roster, and can do "
    "nothing else (the server refuses every other command); they are not shown to the "
    "participants and count for no presence, evidence or pay. Each link minted is in the "
    "audit log (`observe`); each visit is in the session's record (`observers`). The "
    "platform API key may not mint observer links (403): a seat must name its person.",
    "security": [{"staffCookie": []}],
    "parameters": [{"name": "id", "in": "path", "required": True,
                    "schema": {"type": "string"}}],
    "responses": {
        "200": {"description": "OK", "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/ObserveLink"}}}},
        "401": _answer("Nobody signed in"),
        "403": _answer(f"No or a wrong {CSRF_HEADER}, or the API key (staff only)"),
        "404": _answer("No such session, or not in the viewer's scope"),
        "409": _answer("The session is not live (`not_live`) or has ended (`ended`)"),
    },
}}}


def document_observe(document: dict[str, Any]) -> None:
    """Add ``POST /api/v1/live/{id}/observe`` and its schema to the OpenAPI ``document``."""
    document["components"]["schemas"]["ObserveLink"] = _OBSERVE
    document["paths"].update(OBSERVE_PATHS)
