"""Staff sign-in (issue 16): the programme offices' accounts, apart from participants'
join tokens and the platform's API key.

- ``POST /api/v1/admin/login`` ``{"username", "password"}``: 200 with the account and
  the CSRF token, and the ``ot_staff`` cookie (HttpOnly, SameSite=Strict, Path=/,
  Secure over HTTPS; a browser-session cookie, so closing the browser on a shared
  school computer signs out); 401 with one message for a wrong username or password;
  429 with ``Retry-After`` after too many failures (:mod:`signaling.admin.accounts`).
  Only ``application/json`` (415 otherwise): a cross-site page cannot send that without
  a CORS preflight, which this server never grants, so nobody can sign a browser in
  to an account of theirs.
- ``POST /api/v1/admin/logout``: 204, the sign-in ended (needs ``X-CSRF-Token``).
- ``GET /api/v1/admin/me``: the account and CSRF token of the cookie's sign-in, or 401.
- ``GET /api/v1/admin/audit?cursor=&limit=``: the audit log, newest first (city only).

Every sign-in, failed sign-in and sign-out is written to the audit log
(``access.audit``); refused (throttled) attempts are only logged, so a flood cannot
fill an append-only table.
"""

from __future__ import annotations

import logging
import re

from aiohttp import web

from signaling.admin.accounts import Accounts, Throttled
from signaling.admin.passwords import MAX_LENGTH
from signaling.server import access
from signaling.server.http_util import error, invalid, json_body, services
from signaling.session.schema import Invalid

log = logging.getLogger(__name__)
routes = web.RouteTableDef()

WRONG = "wrong username or password"  # the one answer to an unknown name or a wrong password
AUDIT_LIMIT, AUDIT_MAX = 50, 500
_CURSOR = re.compile(r"[0-9]{1,18}")
_LIMIT = re.compile(r"[0-9]{1,4}")  # ASCII digits: str.isdigit() also takes "²", int() not
_NO_STORE = {"Cache-Control": "no-store"}  # answers that hold a CSRF token


def _accounts(request: web.Request) -> Accounts | web.Response:
    accounts = services(request).staff
    return accounts if accounts is not None else error(
        503, "unavailable", "staff accounts are not set up on this server")


def _text(value: object, name: str, limit: int) -> str | web.Response:
    if not isinstance(value, str) or not value:
        return error(400, "invalid", f"{name} is required (text)", name)
    if len(value) > limit:
        return error(400, "invalid", f"{name} may have at most {limit} characters", name)
    try:
        value.encode()
    except UnicodeEncodeError:  # a lone surrogate ("\ud800"): no database can keep it
        return error(400, "invalid", f"{name} is not valid Unicode text", name)
    return value


def _secure(request: web.Request) -> bool:
    """Whether the browser reached us over HTTPS (here, or at the proxy in front)."""
    return request.secure or services(request).config.public_url.startswith("https://")


@routes.post("/api/v1/admin/login")
async def login(request: web.Request) -> web.Response:
    accounts = _accounts(request)
    if isinstance(accounts, web.Response):
        return accounts
    if request.content_type != "application/json":
        return error(415, "unsupported_type", "send the sign-in as application/json")
    try:
        body = await json_body(request)
    except Invalid as exc:
        return invalid(exc)
    if not isinstance(body, dict):
        return error(400, "invalid", "the body must be an object {username, password}")
    username = _text(body.get("username"), "username", 256)
    if isinstance(username, web.Response):
        return username
    password = _text(body.get("password"), "password", MAX_LENGTH)
    if isinstance(password, web.Response):
        return password
    address = request.remote or ""
    result = await accounts.sign_in(username, password, address)
    if isinstance(result, Throttled):
        log.info("staff sign-in throttled: %r from %s", username[:64], address)
        refused = error(429, "throttled", "too many failed sign-ins: try again later")
        refused.headers["Retry-After"] = str(result.retry_after_s)
        return refused
    if result is None:
        await access.audit(request, None, "sign_in_failed", username[:64], {})
        return error(401, "unauthorized", WRONG)
    scope = result.user.scope
    await access.audit(request, scope, "sign_in", scope.who, {})
    response = web.json_response({"user": result.user.public(), "csrf_token": result.csrf_token},
                                 headers=_NO_STORE)
    response.set_cookie(access.STAFF_COOKIE, result.token, path="/", httponly=True,
                        samesite="Strict", secure=_secure(request))
    return response


@routes.post("/api/v1/admin/logout")
async def logout(request: web.Request) -> web.Response:
    accounts = _accounts(request)
    if isinstance(accounts, web.Response):
        return accounts
    signed = await access.signed_in(request)
    if signed is not None:
        refused = access.csrf_refusal(request, signed)
        if refused is not None:
            return refused
        await accounts.sign_out(signed.token)
        await access.audit(request, signed.user.scope, "sign_out", signed.user.username, {})
    response = web.Response(status=204)
    response.del_cookie(access.STAFF_COOKIE, path="/")
    return response


@routes.get("/api/v1/admin/me")
async def me(request: web.Request) -> web.Response:
    signed = await access.signed_in(request)
    if signed is None:
        return error(401, "unauthorized", "not signed in")
    return web.json_response({"user": signed.user.public(), "csrf_token": signed.csrf_token},
                             headers=_NO_STORE)


@routes.get("/api/v1/admin/audit")
async def audit_log(request: web.Request) -> web.Response:
    scope = await access.viewer(request)
    if isinstance(scope, web.Response):
        return scope
    if scope.level != "city":
        return error(403, "forbidden", "the audit log is for the city office")
    accounts = _accounts(request)
    if isinstance(accounts, web.Response):
        return accounts
    cursor = request.query.get("cursor", "")
    if cursor and not _CURSOR.fullmatch(cursor):
        return error(400, "invalid", "cursor: the next_cursor of the page before", "cursor")
    text = request.query.get("limit", str(AUDIT_LIMIT))
    if not _LIMIT.fullmatch(text) or not 1 <= int(text) <= AUDIT_MAX:
        return error(400, "invalid", f"limit: a whole number from 1 to {AUDIT_MAX}", "limit")
    limit = int(text)
    entries = await accounts.store.audit(int(cursor) if cursor else None, limit)
    return web.json_response({
        "entries": [e.wire() for e in entries],
        # More may follow only when the page is full; the cursor is the last one's seq.
        "next_cursor": str(entries[-1].seq) if len(entries) == limit else None,
    })
