"""The API docs page (issue 16): ``GET /api/v1/docs`` shows ``/api/v1/openapi.json`` with
Swagger UI, the npm package ``swagger-ui-dist`` that ``npm ci`` puts in
``web/node_modules`` (nothing vendored into the repository).

Only the two files the page loads are served from the package, each by name under
``/vendor/swagger-ui/``; the page itself (``web/api-docs.html``), its stylesheet and its
starting script (``web/src/api-docs.js``) are the client's own files. The page's
Content-Security-Policy allows this server only: scripts and styles from files (no
inline script or style, no eval: Swagger UI 5 draws without them, checked in Chromium
with "Try it out" included), images from here and ``data:`` (its icons), requests to
this server (the document and "Try it out"). The docs are public, as the OpenAPI
document is: no key, no data.
"""

from __future__ import annotations

from aiohttp import web

from signaling.server import web_assets
from signaling.server.web_assets import WEB_DIR

routes = web.RouteTableDef()

SWAGGER_UI_DIR = "node_modules/swagger-ui-dist"
# URL name → content type: the whole of what is served from the package.
SWAGGER_UI_FILES = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
}
CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
))


@routes.get("/api/v1/docs")
async def docs_page(request: web.Request) -> web.StreamResponse:
    response = web_assets.page(request, "api-docs.html")
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return response


@routes.get("/vendor/swagger-ui/{name}")
async def swagger_ui_file(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    content_type = SWAGGER_UI_FILES.get(name)
    if content_type is None:  # a fixed list: no path from the URL reaches the disk
        raise web.HTTPNotFound()
    path = request.app[WEB_DIR] / SWAGGER_UI_DIR / name
    if not path.is_file():
        return web.Response(status=503, text="run `npm ci` in web/ (swagger-ui-dist missing)")
    response = web.FileResponse(path)
    response.content_type = content_type
    return response
