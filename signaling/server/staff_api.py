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
from typing import Any

from aiohttp import web

from signaling.admin.accounts import Accounts, Throttled
from signaling.admin.passwords import MAX_LENGTH
from signaling.server import access
from signaling.server.http_util import error, invalid, json_body, services
from signaling.session import declarations as d
from signaling.session import schema
from signaling.session.declarations import openapi_bodies
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
        # Declared once (signaling/session/declarations.py): the OpenAPI document's body
        # is generated from the same declaration.
        body = schema.decode(d.StaffLogin, await json_body(request))
    except Invalid as exc:
        return invalid(exc)
    username, password = body.username, body.password
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


# -- OpenAPI (merged into /api/v1/openapi.json by signaling.server.openapi)

_ERROR_REF = {"$ref": "#/components/schemas/Error"}


def _answer(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": schema or _ERROR_REF}}}


STAFF_SECURITY_SCHEME = {
    "type": "apiKey", "in": "cookie", "name": access.STAFF_COOKIE,
    "description": "a staff sign-in (POST /admin/login); unsafe methods also need the "
    f"{access.CSRF_HEADER} header with the sign-in's csrf_token (else 403 csrf)",
}
STAFF_SCHEMAS: dict[str, Any] = {
    "StaffSignIn": {
        "type": "object",
        "required": ["user", "csrf_token"],
        "properties": {
            "user": {
                "type": "object",
                "required": ["username", "level", "district_code", "school_id"],
                "properties": {
                    "username": {"type": "string"},
                    "level": {"enum": ["city", "district", "school"]},
                    "district_code": {"type": "string"},
                    "school_id": {"type": "string"},
                },
            },
            "csrf_token": {"type": "string", "description": f"send as {access.CSRF_HEADER} "
                           "on POST, PUT, PATCH and DELETE made with the cookie"},
        },
    },
    "AuditPage": {
        "type": "object",
        "required": ["entries", "next_cursor"],
        "properties": {
            "entries": {"type": "array", "items": {
                "type": "object",
                "required": ["seq", "at", "who", "action", "target", "detail"],
                "properties": {
                    "seq": {"type": "integer"},
                    "at": {"type": "string", "format": "date-time"},
                    "who": {"type": "string", "description": "username, 'api-key', 'cli', "
                            "or '' (nobody signed in: a failed sign-in)"},
                    "action": {"type": "string", "examples": [
                        "sign_in", "sign_in_failed", "sign_out", "user_created",
                        "user_disabled", "user_enabled", "password_set"]},
                    "target": {"type": "string"},
                    "detail": {"type": "object", "description": "with the client's address"},
                },
            }},
            "next_cursor": {"type": ["string", "null"],
                            "description": "the cursor of the next (older) page; null: none"},
        },
    },
}
_SIGN_IN = {"$ref": "#/components/schemas/StaffSignIn"}
STAFF_PATHS: dict[str, Any] = {
    "/admin/login": {"post": {
        "summary": "Staff sign-in: the account and its CSRF token, and the ot_staff cookie",
        "description": "Another content type than application/json: 415. The cookie "
        "is HttpOnly, SameSite=Strict, Path=/, Secure over https, and lasts while the "
        "browser is open; the sign-in ends after 12 h unused or 7 days. A wrong username "
        "and a wrong password get the same 401. After 5 failed sign-ins of one username "
        "(since its last success) or 20 from one address within 15 minutes: 429 with "
        "Retry-After (seconds), whatever the password.",
        "security": [],
        "requestBody": openapi_bodies()[0]["/admin/login"],
        "responses": {
            "200": _answer("Signed in", _SIGN_IN),
            "400": _answer("Not an object with username and password as text (each "
                           f"non-empty; the password at most {MAX_LENGTH} characters)"),
            "401": _answer("Wrong username or password"),
            "413": _answer("Too large"),
            "415": _answer("Not application/json"),
            "429": _answer("Too many failed sign-ins: try again after Retry-After seconds"),
        },
    }},
    "/admin/logout": {"post": {
        "summary": "End the cookie's sign-in (204 also when there is none)",
        "security": [{"staffCookie": []}],
        "responses": {"204": {"description": "Signed out; the cookie is removed"},
                      "403": _answer(f"Signed in, but no or a wrong {access.CSRF_HEADER}")},
    }},
    "/admin/me": {"get": {
        "summary": "The signed-in account and its CSRF token",
        "security": [{"staffCookie": []}],
        "responses": {"200": _answer("Signed in", _SIGN_IN),
                      "401": _answer("Not signed in, or the sign-in has ended")},
    }},
    "/admin/audit": {"get": {
        "summary": "The audit log, newest first: sign-ins (ok and failed), sign-outs, "
        "accounts created. City only (the city's staff or the API key)",
        "security": [{"apiKey": []}, {"staffCookie": []}],
        "parameters": [
            {"name": "cursor", "in": "query", "required": False,
             "schema": {"type": "string", "pattern": "^[0-9]{1,18}$"},
             "description": "next_cursor of the page before"},
            {"name": "limit", "in": "query", "required": False,
             "schema": {"type": "integer", "minimum": 1, "maximum": AUDIT_MAX,
                        "default": AUDIT_LIMIT}},
        ],
        "responses": {"200": _answer("A page", {"$ref": "#/components/schemas/AuditPage"}),
                      "400": _answer("Invalid cursor or limit"),
                      "401": _answer("Missing or wrong key, or not signed in"),
                      "403": _answer("Not the city")},
    }},
}
# The GET views of one session that signed-in staff may open too (access.scoped_session):
# a session out of their scope is 404, as an unknown one.
STAFF_SESSION_GETS = ("/sessions/{id}", "/sessions/{id}/record", "/sessions/{id}/credits",
                      "/sessions/{id}/evidence", "/sessions/{id}/timeline",
                      "/sessions/{id}/recordings")


def document_staff(document: dict[str, Any]) -> None:
    """Add the staff endpoints, the cookie's scheme, and the cookie as a second way into
    the session views, to the OpenAPI ``document``."""
    document["components"]["securitySchemes"]["staffCookie"] = STAFF_SECURITY_SCHEME
    document["components"]["schemas"].update(STAFF_SCHEMAS)
    document["paths"].update(STAFF_PATHS)
    for path in STAFF_SESSION_GETS:
        get = document["paths"][path]["get"]
        get["security"] = [{"apiKey": []}, {"staffCookie": []}]
        get["description"] = (get.get("description", "") + " Signed-in staff too, for a "
                              "session whose instructors are in their scope (else 404).").strip()
