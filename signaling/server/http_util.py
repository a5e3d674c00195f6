"""Small shared pieces of the HTTP handlers: JSON errors, body reading, auth."""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any

from aiohttp import web

from signaling.server import tokens
from signaling.server.services import Services
from signaling.session.schema import Invalid
from signaling.store.sqlite import StoredSession

MAX_JSON_BODY = 1024 * 1024
# Deeper JSON is refused (400) before anything looks at it; real bodies nest 3-4 levels.
MAX_JSON_DEPTH = 64
SERVICES = web.AppKey("services", Services)
log = logging.getLogger(__name__)
_CHUNK = 64 * 1024


def error(status: int, code: str, message: str, field: str | None = None) -> web.Response:
    body: dict[str, Any] = {"code": code, "message": message}
    if field:
        body["field"] = field
    return web.json_response({"error": body}, status=status)


def invalid(exc: Invalid) -> web.Response:
    return error(400, "invalid", str(exc), exc.field or None)


def services(request: web.Request) -> Services:
    return request.app[SERVICES]


def too_large(limit: int, what: str) -> web.HTTPRequestEntityTooLarge:
    """The 413 (with the usual JSON error body) for a body over ``limit`` bytes."""
    message = f"{what} may be at most {limit // (1024 * 1024)} MiB"
    return web.HTTPRequestEntityTooLarge(
        max_size=limit,
        actual_size=limit + 1,
        text=json.dumps({"error": {"code": "too_large", "message": message}}),
        content_type="application/json",
    )


async def read_body(request: web.Request, limit: int, what: str) -> bytes:
    """The whole request body, or raise the 413 of :func:`too_large` if it exceeds ``limit``.

    ``request.content.read(n)`` answers with what is buffered (often much less than
    ``n``), so the body is read chunk by chunk until the end of the stream: a slow
    client's body is never cut short, and an oversized one is never kept in part.
    """
    if request.content_length is not None and request.content_length > limit:
        log.info("refused %s %s: Content-Length %d over %d", request.method, request.path,
                 request.content_length, limit)
        raise too_large(limit, what)
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(_CHUNK):
        size += len(chunk)
        if size > limit:
            log.info("refused %s %s: body over %d bytes", request.method, request.path, limit)
            raise too_large(limit, what)
        chunks.append(chunk)
    return b"".join(chunks)


async def json_body(request: web.Request) -> Any:
    """The request's JSON body: at most 1 MiB (else 413, raised as an HTTP exception),
    valid JSON nested at most :data:`MAX_JSON_DEPTH` deep (else :class:`Invalid`)."""
    raw = await read_body(request, MAX_JSON_BODY, "a JSON body")
    try:
        value = json.loads(raw)
    except RecursionError:
        value = None
        too_deep = True
    except (ValueError, UnicodeDecodeError) as exc:
        log.info("refused %s %s: the body is not valid JSON", request.method, request.path)
        raise Invalid("", "the body is not valid JSON") from exc
    else:
        too_deep = _depth_over(value, MAX_JSON_DEPTH)
    if too_deep:
        log.info("refused %s %s: JSON nested too deep", request.method, request.path)
        raise Invalid("", f"the body is nested more than {MAX_JSON_DEPTH} levels deep")
    return value


def _depth_over(value: Any, limit: int) -> bool:
    """Whether containers in ``value`` nest more than ``limit`` deep (iterative: no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


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
    """The join token's grant, or the 401 to return (403 for an observer's token: a
    supervisor watching is no participant, and uploads, feedback, reports, marks and
    settlements are participants' alone)."""
    svc = services(request)
    try:
        grant = tokens.verify(svc.config.secret, bearer(request), now=svc.clock.time())
    except tokens.TokenError as exc:
        log.info("refused %s %s: %s (%s)", request.method, request.path, exc.code, exc.message)
        return error(401, exc.code, exc.message)
    if grant.role == "observer":
        return error(403, "observer", "an observer's link only watches the session "
                     "(read-only): this is for its participants")
    return grant
