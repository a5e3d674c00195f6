"""The session list the programme office's console searches (issue 16).

``GET /api/v1/sessions``: one page, newest first, ``{"sessions": [...], "next_cursor"}``;
``GET /api/v1/sessions.csv``: every page of the same filter as one CSV download (UTF-8
with a byte-order mark, so Excel opens Chinese right; headers in Chinese and English).

Filters (all optional, combined with AND): ``from``/``to`` (a local date of the
calendar's zone or an ISO-8601 date-time, on the session's start: when it started, or
when it is scheduled to), ``programme``, ``form``, ``status`` (scheduled, live, ended),
``teacher`` (an instructor's person id or part of their name), ``school`` (an
instructor's school id or part of its name), ``district`` (an instructor's district code
or part of its name). Who asks decides what they may see: :func:`access.viewer`'s scope
narrows every query (a district office: sessions with an instructor of its district).
A parameter the list cannot take is a 400 naming it, never a 500. The parsing and the
SQL: :mod:`signaling.store.session_query`.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterable
from dataclasses import replace

from aiohttp import web

from recorder.certificates.sheets import safe_cell
from recorder.database import DatabaseUnavailable
from signaling.admin.scope import Scope
from signaling.server.access import viewer
from signaling.server.current_settings import calendar_of
from signaling.server.http_util import error, services
from signaling.session.spec import FORMS, PROGRAMMES
from signaling.store.session_query import (
    MAX_LIMIT,
    QueryError,
    SessionQuery,
    SessionRow,
    decode_cursor,
    parse_query,
    within,
)

log = logging.getLogger(__name__)
routes = web.RouteTableDef()

# One download holds at most this many rows (a city's term is some tens of thousands
# of sessions): more is refused before anything is sent, with words that say to narrow
# the filter, rather than a file cut short that looks whole.
MAX_CSV_ROWS = 100_000
BOM = "\ufeff"
CSV_HEADER = (
    "会话 session_id", "项目 programme", "形式 form", "标题 title", "状态 status",
    "计划开始 scheduled_start (UTC)", "计划结束 scheduled_end (UTC)",
    "开始 started_at (UTC)", "结束 ended_at (UTC)", "教师 instructors",
    "教师编号 instructor_ids", "学校 schools", "区 districts", "学员人数 learners",
)
ALL_FORMS = tuple(sorted({form for forms in FORMS.values() for form in forms}))
# A cell Excel would read as a formula (CSV injection): titles and names come from the
# platform, so a leading quote keeps them text.


def _query(request: web.Request, scope: Scope, *, paged: bool) -> SessionQuery:
    """The request's query within the viewer's scope, or :class:`QueryError`."""
    query = parse_query(request.query, calendar_of(request).timezone, paged=paged)
    if query.programme is not None and query.programme not in PROGRAMMES:
        raise QueryError("programme", f"programme must be one of {', '.join(PROGRAMMES)}, "
                         f"got {query.programme!r}")
    if query.form is not None and query.form not in ALL_FORMS:
        raise QueryError("form", f"form must be one of {', '.join(ALL_FORMS)}, "
                         f"got {query.form!r}")
    return within(query, scope)


@routes.get("/api/v1/sessions")
async def list_sessions(request: web.Request) -> web.Response:
    scope = await viewer(request)
    if isinstance(scope, web.Response):
        return scope
    try:
        query = _query(request, scope, paged=True)
    except QueryError as exc:
        return error(400, "invalid", str(exc), exc.field)
    page = await services(request).store.list_sessions(query)
    response = web.json_response(page.wire())
    response.headers["Cache-Control"] = "no-store"  # names of teachers and schools
    return response


@routes.get("/api/v1/sessions.csv")
async def sessions_csv(request: web.Request) -> web.StreamResponse:
    scope = await viewer(request)
    if isinstance(scope, web.Response):
        return scope
    try:
        query = replace(_query(request, scope, paged=False), limit=MAX_LIMIT)
    except QueryError as exc:
        return error(400, "invalid", str(exc), exc.field)
    store = services(request).store
    total = await store.count_sessions(query)
    if total > MAX_CSV_ROWS:
        return error(400, "too_many", f"{total} sessions match, one download holds at most "
                     f"{MAX_CSV_ROWS}: narrow the filter (from/to, programme, district …)")
    response = web.StreamResponse(headers={
        "Content-Disposition": 'attachment; filename="sessions.csv"',
        "Cache-Control": "no-store",
    })
    response.content_type = "text/csv"
    response.charset = "utf-8"
    await response.prepare(request)
    await response.write((BOM + _csv([CSV_HEADER])).encode("utf-8"))
    written = 0
    try:
        while True:
            page = await store.list_sessions(query)
            # Sessions created since the count may add rows: the bound holds regardless.
            rows = page.sessions[: MAX_CSV_ROWS - written]
            await response.write(_csv(_cells(row) for row in rows).encode("utf-8"))
            written += len(rows)
            if page.next_cursor is None or written >= MAX_CSV_ROWS:
                break
            query = replace(query, after=decode_cursor(page.next_cursor))
    except DatabaseUnavailable as exc:
        # The 200 and part of the file are sent: the 503 cannot follow. Breaking the
        # connection (an error outside the 503 middleware) makes the download fail
        # visibly instead of ending as a shorter file that looks complete.
        log.warning("sessions.csv cut after %d rows: %s", written, exc)
        raise ConnectionError("the database went away during sessions.csv") from exc
    await response.write_eof()
    return response


def _cells(row: SessionRow) -> tuple[str | int, ...]:
    people = row.instructors
    return (
        row.id, row.programme, row.form, safe_cell(row.title), row.status, row.scheduled_start,
        row.scheduled_end, row.started_at or "", row.ended_at or "",
        safe_cell("; ".join(p.name for p in people)),
        safe_cell("; ".join(p.id for p in people)),
        safe_cell("; ".join(p.school for p in people)),
        safe_cell("; ".join(p.district for p in people)),
        row.learners,
    )


def _csv(rows: Iterable[Iterable[str | int]]) -> str:
    out = io.StringIO()
    csv.writer(out).writerows(rows)  # RFC 4180: CRLF line ends, quotes where needed
    return out.getvalue()
