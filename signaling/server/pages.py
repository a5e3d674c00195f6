"""What a person who opens this server in a browser sees when they did not come with a
join link, or when something goes wrong (issue 12, item 7).

- ``/``: a landing page that says what this server is, how to get in (a link from
  the programme's platform), and where the console and API docs are (``web/landing.html``,
  Chinese first with the English switch, like every page).
- Error pages: a browser that asks for a page (``GET``, ``Accept: text/html``) and gets
  a 4xx or 5xx answer sees a styled page in Chinese and English with what to do and a
  **support code**, not aiohttp's ``404: Not Found`` or a developer's sentence. The
  texts come from the client's i18n files (``errorpage.*``), so a translator edits
  them in one place; the page is rendered here, without scripts, so that it works when
  the client itself is what is missing.
- Support codes: every error answer, page or API, carries ``X-Support-Code`` and the
  same code is in the server's log line for it, so a teacher who reads it out to the
  help desk points the operator at one line. An unexpected exception is logged with its
  traceback once, under its code; the person sees the code and no internals.

APIs (``/api/``, ``/socket.io/``, health, metrics) keep their JSON or plain answers: a
program, not a person, reads those.
"""

from __future__ import annotations

import html
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from functools import cache
from pathlib import Path

from aiohttp import web

from signaling.server import web_assets
from signaling.server.http_util import error

log = logging.getLogger("opentutor.pages")
routes = web.RouteTableDef()

SUPPORT_HEADER = "X-Support-Code"
# Crockford's base32 without the letters read as digits (I, L, O) or rude (U): a code
# read out over the phone survives it.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# Paths whose answers programs read; their errors stay as the handlers made them.
_PROGRAM_PREFIXES = ("/api/", "/socket.io", "/healthz", "/readyz", "/metrics", "/vendor/",
                     "/static/")
_LANGS = ("zh-CN", "en")  # the page shows both, Chinese first


def support_code() -> str:
    """Eight random characters in two groups (``7F3K-Q2MD``): 40 bits, enough that two
    errors of one evening never share a code."""
    chars = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    return f"{chars[:4]}-{chars[4:]}"


@routes.get("/")
async def landing(request: web.Request) -> web.StreamResponse:
    return web_assets.page(request, "landing.html")


def _wants_page(request: web.Request) -> bool:
    """A browser navigating to a page, not a program or a sub-resource."""
    if request.method not in ("GET", "HEAD"):
        return False
    if request.path.startswith(_PROGRAM_PREFIXES):
        return False
    return "text/html" in request.headers.get("Accept", "")


@cache
def _texts(web_dir: Path) -> dict[str, dict[str, str]]:
    """The ``errorpage.*`` strings of each language, read once per web directory."""
    out: dict[str, dict[str, str]] = {}
    for lang in _LANGS:
        try:
            data = json.loads((web_dir / "i18n" / f"{lang}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        out[lang] = {k: v for k, v in data.items()
                     if isinstance(k, str) and k.startswith("errorpage.") and isinstance(v, str)}
    return out


# The built-in words for when the i18n files cannot be read (the web directory is what
# is broken): the page still says something true in both languages.
_FALLBACK = {
    "zh-CN": {"errorpage.title.other": "出错了", "errorpage.body.other": "请稍后再试。",
              "errorpage.support": "支持代码：{code}", "errorpage.home": "返回首页"},
    "en": {"errorpage.title.other": "Something went wrong",
           "errorpage.body.other": "Please try again later.",
           "errorpage.support": "Support code: {code}", "errorpage.home": "Home"},
}


def _kind(status: int) -> str:
    if status in (401, 403):
        return "forbidden"
    if status in (404, 405, 410):
        return "not_found"
    if status == 413:
        return "too_large"
    if status in (502, 503, 504):
        return "unavailable"
    return "server" if status >= 500 else "other"


def render_error_page(web_dir: Path, status: int, code: str, kind: str = "") -> str:
    """The error page's HTML: title and advice in Chinese, then English, and the code.
    ``kind``: the words to use (``errorpage.title.<kind>``), else the status's."""
    kind = kind or _kind(status)
    texts = _texts(web_dir)
    sections = []
    for lang in _LANGS:
        words = {**_FALLBACK[lang], **texts.get(lang, {})}

        def say(key: str, words: dict[str, str] = words) -> str:
            return html.escape(words.get(f"errorpage.{key}.{kind}")
                               or words.get(f"errorpage.{key}.other", ""))

        support = html.escape(words["errorpage.support"].replace("{code}", code))
        sections.append(
            f'<section lang="{lang}" class="errorpage-lang">'
            f'<h1 data-testid="errorpage-title">{say("title")}</h1>'
            f'<p class="muted">{say("body")}</p>'
            f'<p class="support" data-testid="support-code">{support}</p>'
            f'<p><a class="btn" href="/">{html.escape(words["errorpage.home"])}</a></p>'
            "</section>"
        )
    return (
        '<!doctype html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">'
        '<meta name="referrer" content="no-referrer"><link rel="icon" href="data:,">'
        f"<title>{status}</title>"
        '<link rel="stylesheet" href="/static/app.css"></head>'
        f'<body class="errorpage" data-status="{status}"><main class="card errorpage-card">'
        + "".join(sections) + "</main></body></html>\n"
    )


def _page(request: web.Request, status: int, code: str, kind: str = "") -> web.Response:
    web_dir = request.app[web_assets.WEB_DIR]
    response = web.Response(status=status, text=render_error_page(web_dir, status, code, kind),
                            content_type="text/html")
    response.headers["Cache-Control"] = "no-store"
    response.headers[SUPPORT_HEADER] = code
    return response


def error_page(request: web.Request, status: int, kind: str) -> web.Response:
    """A page's own refusal with its own words (``errorpage.*.<kind>`` in the i18n
    files), styled and bilingual like every error page, with its support code."""
    code = support_code()
    log.info("support %s: %s %s answered %d (%s)", code, request.method, request.path,
             status, kind)
    return _page(request, status, code, kind)


@web.middleware
async def support_codes(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Every error answer gets a support code (header and log line); a browser asking
    for a page gets the error page; an unexpected exception is logged once with its
    traceback and answered without it."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise  # redirects and the like pass through
        code = support_code()
        log.info("support %s: %s %s answered %d", code, request.method, request.path,
                 exc.status)
        if _wants_page(request):
            return _page(request, exc.status, code)
        exc.headers[SUPPORT_HEADER] = code
        raise
    except Exception:
        code = support_code()
        log.exception("support %s: %s %s failed", code, request.method, request.path)
        if _wants_page(request):
            return _page(request, 500, code)
        response = error(500, "internal", f"the server failed; support code {code}")
        response.headers[SUPPORT_HEADER] = code
        return response
    if response.status >= 400 and not response.prepared and SUPPORT_HEADER not in response.headers:
        code = support_code()
        log.info("support %s: %s %s answered %d", code, request.method, request.path,
                 response.status)
        if _wants_page(request) and not _made_for_its_reader(response):
            return _page(request, response.status, code)
        response.headers[SUPPORT_HEADER] = code
    return response


def _made_for_its_reader(response: web.StreamResponse) -> bool:
    # A handler that answered with a page of its own (the certificate check's "not
    # valid") or with JSON (a fetch with a broad Accept header) said what it meant:
    # only bare text answers (aiohttp's, "web client missing") are replaced.
    return response.content_type in ("text/html", "application/json")
