"""Small shared pieces of the HTTP handlers: JSON errors, body reading, auth."""

from __future__ import annotations

import hmac
import json
from typing import Any

from aiohttp import web

from signaling import tokens
from signaling.schema import Invalid
from signaling.services import Services
from signaling.store import StoredSession

MAX_JSON_BODY = 1024 * 1024
SERVICES = web.AppKey("services", Services)


def error(status: int, code: str, message: str, field: str | None = None) -> web.Response:
    body: dict[str, Any] = {"code": code, "message": message}
    if field:
        body["field"] = field
    return web.json_response({"error": body}, status=status)


def invalid(exc: Invalid) -> web.Response:
    return error(400, "invalid", str(exc), exc.field or None)


def services(request: web.Request) -> Services:
    return request.app[SERVICES]


async def json_body(request: web.Request) -> Any:
    """The request's JSON body, at most 1 MiB; raises :class:`Invalid` otherwise."""
    if request.content_length is not None and request.content_length > MAX_JSON_BODY:
        raise Invalid("", "the body is larger than 1 MiB")
    raw = await request.content.read(MAX_JSON_BODY + 1)
    if len(raw) > MAX_JSON_BODY:
        raise Invalid("", "the body is larger than 1 MiB")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Invalid("", "the body is not valid JSON") from exc


def bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    return header[7:].strip() if header.startswith("Bearer ") else None


def check_api_key(request: web.Request) -> web.Response | None:
    """``None`` if the platform API key is right, else the 401 to return."""
    given = bearer(request) or ""
    expected = services(request).config.api_key
    if not given or not hmac.compare_digest(given.encode(), expected.encode()):
        return error(401, "unauthorized", "a valid API key is required (Authorization: Bearer …)")
    return None


async def platform_session(request: web.Request) -> StoredSession | web.Response:
    """The session named in the path, for the platform (API key): or the 401/404."""
    if (denied := check_api_key(request)) is not None:
        return denied
    session = await services(request).store.session(request.match_info["id"])
    return session if session is not None else error(404, "not_found", "no such session")


async def participant_session(
    request: web.Request,
) -> tuple[tokens.Grant, StoredSession] | web.Response:
    """The join token's grant and its session: or the 401/404."""
    grant = participant(request)
    if isinstance(grant, web.Response):
        return grant
    session = await services(request).store.session(grant.session)
    if session is None:
        return error(404, "unknown_session", "this session does not exist")
    return grant, session


def participant(request: web.Request) -> tokens.Grant | web.Response:
    """The join token's grant, or the 401 to return."""
    svc = services(request)
    try:
        return tokens.verify(svc.config.secret, bearer(request), now=svc.clock.time())
    except tokens.TokenError as exc:
        return error(401, exc.code, exc.message)
