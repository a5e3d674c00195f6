"""Where the browser client's files are, and whether they are all there.

The client is plain ES modules in ``web/`` plus one npm package (socket.io-client) that
``npm ci`` puts in ``web/node_modules``. A server started without it would serve a join
page that spins on "Connecting…" forever, so ``opentutor serve`` refuses to start
instead and names the one command that fixes it. (``npm ci`` also installs
swagger-ui-dist, for the API docs page only: without it that page answers 503 and
everything else works, so it is not required here; :mod:`signaling.server.api_docs`.)
"""

from __future__ import annotations

import os
from pathlib import Path

from aiohttp import web

# The checkout's web/ beside the packages (a source tree or `pip install -e .`).
_BESIDE_PACKAGES = Path(__file__).resolve().parents[2] / "web"

# Files the pages cannot work without; relative to the web directory.
REQUIRED = (
    "index.html",
    "replay.html",
    "src/main.js",
    "node_modules/socket.io-client/dist/socket.io.esm.min.js",
)
SOCKET_IO_CLIENT = "node_modules/socket.io-client/dist/socket.io.esm.min.js"

WEB_DIR = web.AppKey("web_dir", Path)  # the located directory, for the page handlers

routes = web.RouteTableDef()


def page(request: web.Request, name: str) -> web.StreamResponse:
    """One of the client's HTML pages, never cached (join tokens and signed links
    live in their URLs), or a 503 that says the client is missing."""
    path = request.app[WEB_DIR] / name
    if not path.exists():
        return web.Response(status=503, text="web client missing: run ./scripts/serve once")
    response = web.FileResponse(path)
    response.headers["Cache-Control"] = "no-store"
    return response


@routes.get("/console")
async def console_page(request: web.Request) -> web.StreamResponse:
    """The programme office's console (issue 16): one page, its modules under
    ``/static/src/console/``, its strings in ``/static/i18n/console.<lang>.json``. Never
    cached, like the client's pages; the same security headers (the app's middleware),
    and it may not be framed (it holds a signed-in staff session)."""
    response = page(request, "console.html")
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = "frame-ancestors 'none'"
    return response


def locate(configured: str | os.PathLike[str] | None = None) -> Path:
    """The web directory: the one configured (``--web-dir``/``OPENTUTOR_WEB_DIR``), else
    the checkout's ``web/`` beside the packages, else ``./web`` (a non-editable install
    run from its checkout)."""
    if configured:
        return Path(configured).resolve()
    if (_BESIDE_PACKAGES / "index.html").exists():
        return _BESIDE_PACKAGES
    return (Path.cwd() / "web").resolve()


def missing(web_dir: Path) -> list[str]:
    """The required files that are not there (empty when the client is complete)."""
    return [name for name in REQUIRED if not (web_dir / name).is_file()]


def refusal(web_dir: Path) -> str | None:
    """The message to stop on when the client is incomplete, or ``None``."""
    absent = missing(web_dir)
    if not absent:
        return None
    if any(name.startswith("node_modules/") for name in absent) and len(absent) == 1:
        return (
            f"opentutor: the web client's packages are not installed ({web_dir}/node_modules).\n"
            f"Run:  npm ci --prefix {web_dir}\n"
            "(or start the server with ./scripts/serve, which does it for you)"
        )
    return (
        f"opentutor: the web client is not complete in {web_dir}: missing "
        + ", ".join(absent)
        + ".\nRun the server from its checkout with ./scripts/serve, "
        "or point --web-dir (OPENTUTOR_WEB_DIR) at the checkout's web/ folder."
    )
