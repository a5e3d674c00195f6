"""Platform REST API v1 (bearer API key): create, inspect and end sessions, and
read their records. Documented by ``/api/v1/openapi.json`` (signaling/server/openapi.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import aiohttp
from aiohttp import web

from signaling.server.access import scoped_session
from signaling.server.http_util import (
    check_api_key,
    invalid,
    json_body,
    platform_session,
    services,
)
from signaling.server.session_record import session_record
from signaling.session.room import EndSession
from signaling.session.schema import Invalid
from signaling.session.spec import parse_new_session
from signaling.session.timefmt import iso_at
from signaling.store.sqlite import StoredSession

routes = web.RouteTableDef()


def base_url(request: web.Request) -> str:
    configured = services(request).config.public_url
    return configured or f"{request.scheme}://{request.host}"


@routes.post("/api/v1/sessions")
async def create_session(request: web.Request) -> web.Response:
    if (denied := check_api_key(request)) is not None:
        return denied
    try:
        spec = parse_new_session(await json_body(request))
    except Invalid as exc:
        return invalid(exc)
    created = await services(request).create_session(spec, base_url(request))
    return web.json_response(created, status=201)


@routes.get("/api/v1/sessions/{id}")
async def get_session(request: web.Request) -> web.Response:
    session = await _session_here(request, scoped_session)  # staff in scope too
    if isinstance(session, web.Response):
        return session
    svc = services(request)
    room = svc.router.running(session.id)
    body = session.wire()
    body["state"] = room.state if room is not None else session.state
    body["present"] = room.present() if room is not None else []
    body["people"] = (
        room.people_wire()
        if room is not None
        else [{**p.public(), "present": False} for p in session.spec.people]
    )
    return web.json_response(body)


@routes.post("/api/v1/sessions/{id}/end")
async def end_session(request: web.Request) -> web.Response:
    session = await _session_here(request)
    if isinstance(session, web.Response):
        return session
    svc = services(request)
    room = svc.router.running(session.id)
    if room is not None:
        await room.submit(EndSession(None))
    elif session.state != "ended":
        svc.journal.end_session(session.id)
        await svc.store.mark_ended(session.id, _now(request))
        if svc.webhooks is not None:  # no room to tell its listeners: say it here
            svc.webhooks.send("session.ended", session.id, {})
    return web.json_response({"session_id": session.id, "state": "ended"})


@routes.get("/api/v1/sessions/{id}/record")
async def get_record(request: web.Request) -> web.Response:
    session = await scoped_session(request)  # the API key, or staff in scope
    if isinstance(session, web.Response):
        return session
    svc = services(request)
    return web.json_response(await session_record(svc, session))


async def _session_here(
    request: web.Request,
    find: Callable[[web.Request], Awaitable[StoredSession | web.Response]] = platform_session,
) -> StoredSession | web.Response:
    """The session in the path (``find``: API key by default); if another node runs
    its room, that node's answer instead."""
    session = await find(request)
    if isinstance(session, web.Response):
        return session
    elsewhere = await _elsewhere(request, session.id)
    return elsewhere if elsewhere is not None else session


async def _elsewhere(request: web.Request, session_id: str) -> web.Response | None:
    """If another node runs this session's room, ask that node and pass its answer on.

    Live state lives with the room. Proxying rather than redirecting keeps the
    platform's API key on our side: careful HTTP clients drop ``Authorization`` on a
    redirect to another origin.

    The asker was checked here (API key, or staff whose scope holds the session), so
    the other node is asked with the platform's key: a staff sign-in is this node's
    cookie, which the other node need not share (SQLite staff store)."""
    svc = services(request)
    url = await svc.router.owner_url(session_id)
    if url is None:
        return None
    headers = {"Authorization": f"Bearer {svc.config.api_key}"}
    timeout = aiohttp.ClientTimeout(total=10)
    async with (
        aiohttp.ClientSession(timeout=timeout) as http,
        http.request(
            request.method, url + request.path_qs, headers=headers, data=await request.read()
        ) as answer,
    ):
        return web.Response(
            status=answer.status, body=await answer.read(), content_type=answer.content_type
        )


def _now(request: web.Request) -> str:
    return iso_at(services(request).clock.time())
