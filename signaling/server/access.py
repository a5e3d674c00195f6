"""Who is asking an API that staff use: :func:`viewer` answers with a
:class:`~signaling.admin.scope.Scope` or the response refusing them.

Today: the platform's API key (``Authorization: Bearer …``) is the city. Staff accounts
(signed-in staff, their scope from their account) plug in here, so every handler that
asks ``viewer`` gets them without change.
"""

from __future__ import annotations

from aiohttp import web

from signaling.admin.scope import Scope, platform
from signaling.server.http_util import check_api_key


async def viewer(request: web.Request) -> Scope | web.Response:
    """The asker's scope, or the 401 to return."""
    denied = check_api_key(request)
    if denied is not None:
        return denied
    return platform()
