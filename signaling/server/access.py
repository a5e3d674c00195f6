"""Who is asking an API that staff use: :func:`viewer` answers with a
:class:`~signaling.admin.scope.Scope` or the response refusing them.

- The platform's API key (``Authorization: Bearer …``) is the city (``who``
  "api-key"); it needs no CSRF token (no browser holds it).
- Else a signed-in staff member's cookie (``ot_staff``, :mod:`signaling.server.staff_api`)
  gives their account's scope (``who``: their username). A request with an unsafe
  method (POST, PUT, PATCH, DELETE) made with the cookie must carry the sign-in's CSRF
  token in ``X-CSRF-Token``, else 403: the cookie is sent by the browser on its own,
  the header only by the console's script.
- Else 401.

:func:`scoped_session` is the session in the path for a viewer who may see it; one
out of their scope is 404, as if it did not exist (a district office cannot learn
which sessions another district has).
"""

from __future__ import annotations

import hmac
from typing import Any

from aiohttp import web

from signaling.admin.accounts import SignedIn
from signaling.admin.scope import Scope, platform
from signaling.server.http_util import check_api_key, error, services
from signaling.store.sqlite import StoredSession

STAFF_COOKIE = "ot_staff"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


async def signed_in(request: web.Request) -> SignedIn | None:
    """The valid staff sign-in of the request's cookie, if any."""
    token = request.cookies.get(STAFF_COOKIE, "")
    accounts = services(request).staff
    return await accounts.current(token) if token and accounts is not None else None


def csrf_refusal(request: web.Request, signed: SignedIn) -> web.Response | None:
    """The 403 for an unsafe method without the sign-in's CSRF token, else ``None``."""
    if request.method not in UNSAFE_METHODS:
        return None
    given = request.headers.get(CSRF_HEADER, "").encode("utf-8", "replace")
    if hmac.compare_digest(given, signed.csrf_token.encode()):
        return None
    return error(403, "csrf", f"this request needs the {CSRF_HEADER} header of your sign-in")


async def viewer(request: web.Request) -> Scope | web.Response:
    """The asker's scope, or the 401 (403: a missing CSRF token) to return."""
    denied = check_api_key(request)
    if denied is None:
        return platform()
    signed = await signed_in(request)
    if signed is None:
        if request.cookies.get(STAFF_COOKIE):
            return error(401, "unauthorized", "your sign-in has ended: sign in again")
        return denied
    refused = csrf_refusal(request, signed)
    return refused if refused is not None else signed.user.scope


async def audit(request: web.Request, scope: Scope | None, action: str, target: str,
                detail: dict[str, Any]) -> None:
    """Append to the audit log: ``scope.who`` (``None``: nobody signed in, as for a
    failed sign-in) did ``action`` to ``target``; the client's address is added."""
    accounts = services(request).staff
    if accounts is None:  # an app without staff accounts (unit tests' Services)
        return
    await accounts.audit(scope.who if scope is not None else "", action, target,
                         {**detail, "address": request.remote or ""})


def instructors(session: StoredSession) -> list[tuple[str, str]]:
    """Where a session's instructors work: what decides who may see it."""
    return [(p.district_code, p.school_id) for p in session.spec.instructors]


async def scoped_session(request: web.Request) -> StoredSession | web.Response:
    """The session in the path, for a viewer whose scope holds it: or the 401/403/404."""
    scope = await viewer(request)
    if isinstance(scope, web.Response):
        return scope
    session = await services(request).store.session(request.match_info["id"])
    if session is None or not scope.sees_session(instructors(session)):
        return error(404, "not_found", "no such session")
    return session
