"""The tutoring analysis report (学科辅导分析报告, issue 16), for the programme office's
console and for the districts and schools it feeds back to.

``GET /api/v1/reports/analysis``: the report as JSON; ``GET /api/v1/reports/analysis.csv``:
every knowledge point of every subject with its weekly marks (UTF-8 with a byte-order
mark, Chinese and English headers, cells safe from spreadsheet formulas).

Parameters (all optional): ``term`` (a term name of the calendar; default: the term of
today, else the one just ended), ``district`` (a learner district_code), ``school`` (a
learner school_id), ``subject`` (one subject, however typed), ``top`` (knowledge points per
subject in the JSON, 1..100, default 10). Anything else wrong is a 400 naming it.

Whose place counts is the **learner's** (the report is for a district's or school's own
students' homework design): a district office reads its district's students' marks,
whoever taught them; a school office its school's. A filter outside the viewer's scope
gives an empty report, as the session list does (a district cannot learn another's
figures). The figures: :mod:`recorder.credits.analysis`; the rows:
:meth:`signaling.store.base.SessionStore.analysis_rows`.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from aiohttp import web

from recorder.certificates.sheets import safe_cell
from recorder.credits.analysis import (
    DEFAULT_TOP,
    Analysis,
    LearnerFact,
    analyse,
    csv_rows,
    term_at,
    term_named,
)
from recorder.credits.calendar import Calendar, Term
from signaling.admin.scope import Scope
from signaling.server.access import viewer
from signaling.server.current_settings import calendar_of
from signaling.server.http_util import error, services
from signaling.session.declarations import MAX_MARK_SUBJECT
from signaling.session.timefmt import parse
from signaling.store.base import AnalysisRow

routes = web.RouteTableDef()

BOM = "\ufeff"
MAX_TOP = 100
MAX_CODE = 64
# A place code is an identifier: letters, digits and a few separators (no spaces, so a
# typo is a 400, not a silently empty report).
_CODE = re.compile(r"[0-9A-Za-z._:-]{1,64}")
# A cell Excel would read as a formula (CSV injection): knowledge points are typed by
# teachers, so a leading quote keeps them text (as in session_list_api).
KNOWN = frozenset({"term", "district", "school", "subject", "top"})


class ParamError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class Request:
    term: Term
    district: str  # '' : any (within the scope)
    school: str
    subject: str | None
    top: int
    empty: bool  # a filter outside the viewer's scope: nothing to read


def parse_params(query: dict[str, str], calendar: Calendar, scope: Scope,
                 today: date) -> Request:
    """The report asked for, within ``scope``; :class:`ParamError` names a bad one."""
    for name in query:
        if name not in KNOWN:
            raise ParamError(name, f"unknown parameter {name!r}: the report takes "
                             f"{', '.join(sorted(KNOWN))}")
    name = query.get("term", "").strip()
    term = term_named(calendar.terms, name) if name else term_at(calendar.terms, today)
    if term is None:
        names = ", ".join(t.name for t in calendar.terms) or "none"
        raise ParamError("term", f"no term {name!r} in the calendar (terms: {names})"
                         if name else "the calendar has no term")
    district = _code(query, "district")
    school = _code(query, "school")
    subject = query.get("subject", "").strip() or None
    if subject is not None and len(subject) > MAX_MARK_SUBJECT:
        raise ParamError("subject", f"subject is at most {MAX_MARK_SUBJECT} characters")
    top_text = query.get("top", "").strip()
    if not top_text:
        top = DEFAULT_TOP
    elif top_text.isascii() and top_text.isdigit() and 1 <= int(top_text) <= MAX_TOP:
        top = int(top_text)
    else:
        raise ParamError("top", f"top must be a whole number from 1 to {MAX_TOP}, "
                         f"got {top_text!r}")
    empty = False
    # The scope narrows; a filter that contradicts it leaves nothing.
    if scope.level == "district":
        empty = bool(district) and district != scope.district_code
        district = scope.district_code
    elif scope.level == "school":
        empty = bool(school) and school != scope.school_id
        school = scope.school_id
    return Request(term, district, school, subject, top, empty)


def _code(query: dict[str, str], name: str) -> str:
    text = query.get(name, "").strip()
    if text and not _CODE.fullmatch(text):
        raise ParamError(name, f"{name} must be a code (letters, digits, '.', '_', ':', '-'; "
                         f"at most {MAX_CODE}), got {text[:80]!r}")
    return text


def bounds(term: Term, calendar: Calendar) -> tuple[str, str]:
    """``[lo, hi)`` as store text: the term's first local midnight to the one after its
    last day (``.000Z``: the same text the session list compares with)."""
    def at(day: date) -> str:
        moment = datetime.combine(day, time(), tzinfo=calendar.timezone).astimezone(UTC)
        return moment.replace(tzinfo=None).isoformat(timespec="seconds") + ".000Z"

    return at(term.start), at(term.end + timedelta(days=1))


def facts(rows: list[AnalysisRow], calendar: Calendar) -> list[LearnerFact]:
    tz = calendar.timezone
    return [
        LearnerFact(
            r.session_id, parse(r.start).astimezone(tz).date(), "tutoring", r.form, r.teacher,
            r.teacher_district_code, r.teacher_school_id, r.learner, r.learner_district_code,
            r.learner_district, r.learner_school_id, r.learner_school, r.subject,
            r.knowledge_point, r.problem,
        )
        for r in rows
    ]


async def _report(request: web.Request) -> tuple[Analysis, Request] | web.Response:
    scope = await viewer(request)
    if isinstance(scope, web.Response):
        return scope
    calendar = calendar_of(request)
    today = datetime.now(calendar.timezone).date()
    try:
        asked = parse_params(dict(request.query), calendar, scope, today)
    except ParamError as exc:
        return error(400, "invalid", str(exc), exc.field)
    rows: list[AnalysisRow] = []
    if not asked.empty:
        lo, hi = bounds(asked.term, calendar)
        rows = await services(request).store.analysis_rows(
            lo, hi, district_code=asked.district, school_id=asked.school)
    return analyse(facts(rows, calendar), asked.term, calendar, subject=asked.subject), asked


@routes.get("/api/v1/reports/analysis")
async def analysis(request: web.Request) -> web.Response:
    done = await _report(request)
    if isinstance(done, web.Response):
        return done
    report, asked = done
    body = report.wire(top=asked.top)
    body["filters"] = {"district": asked.district or None, "school": asked.school or None}
    # The calendar's terms, so the console can offer them without a second request.
    body["terms"] = [{"name": t.name, "start": t.start.isoformat(), "end": t.end.isoformat()}
                     for t in calendar_of(request).terms]
    response = web.json_response(body)
    response.headers["Cache-Control"] = "no-store"  # names of schools and districts
    return response


@routes.get("/api/v1/reports/analysis.csv")
async def analysis_csv(request: web.Request) -> web.Response:
    done = await _report(request)
    if isinstance(done, web.Response):
        return done
    report, _ = done
    header, rows = csv_rows(report)
    out = io.StringIO()
    writer = csv.writer(out)  # RFC 4180: CRLF line ends, quotes where needed
    writer.writerow(header)
    writer.writerows(tuple(safe_cell(c) for c in row) for row in rows)
    filename = f"analysis-{report.term.name}.csv"
    if not re.fullmatch(r"[0-9A-Za-z._-]+", filename):  # a term name in Chinese, say
        filename = "analysis.csv"
    return web.Response(
        body=(BOM + out.getvalue()).encode("utf-8"),
        content_type="text/csv", charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"',
                 "Cache-Control": "no-store"},
    )


# -- OpenAPI: merged into /api/v1/openapi.json by signaling.server.openapi

def _param(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}


_CODE_SCHEMA = {"type": "string", "pattern": _CODE.pattern, "maxLength": MAX_CODE}
PARAMS: list[dict[str, Any]] = [
    _param("term", "a term name of the server's calendar (e.g. 2026-autumn); default: the "
           "term of today, else the one just ended", {"type": "string"}),
    _param("district", "a learner district_code (e.g. 110112); a district office is held "
           "to its own", _CODE_SCHEMA),
    _param("school", "a learner school_id; a school office is held to its own", _CODE_SCHEMA),
    _param("subject", "one subject (学科), however typed: width, case and spaces do not "
           "matter", {"type": "string", "maxLength": MAX_MARK_SUBJECT}),
]
_COUNTED = {"type": "integer", "minimum": 0}
_WEEKLY = {"type": "array", "items": _COUNTED,
           "description": "marks per week of the term, in the order of `weeks`"}
_SUBJECT_MARKS = {"type": "array", "items": {"type": "object", "properties": {
    "subject": {"type": "string"}, "marks": _COUNTED}}}
_PLACE_FIGURES = {"sessions": _COUNTED, "marked_sessions": _COUNTED, "students": _COUNTED,
                  "marks": _COUNTED, "subjects": _SUBJECT_MARKS}
ANALYSIS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["term", "weeks", "totals", "subjects", "districts", "schools"],
    "properties": {
        "term": {"type": "object", "properties": {
            "name": {"type": "string"}, "start": {"type": "string", "format": "date"},
            "end": {"type": "string", "format": "date"}}},
        "subject": {"type": ["string", "null"], "description": "the subject filter"},
        "filters": {"type": "object", "description": "the district and school the report "
                    "was read for (the viewer's scope applied)"},
        "terms": {"type": "array", "description": "every term of the calendar",
                  "items": {"type": "object", "properties": {
                      "name": {"type": "string"}, "start": {"type": "string", "format": "date"},
                      "end": {"type": "string", "format": "date"}}}},
        "grade_recorded": {"const": False, "description": "a session does not say a "
                           "learner's grade (年级), so the report has no per-grade figures"},
        "weeks": {"type": "array", "items": {"type": "object", "properties": {
            "week": {"type": "integer", "minimum": 1},
            "start": {"type": "string", "format": "date", "description": "its Monday"},
            "working_days": {"type": "integer", "minimum": 0, "maximum": 7}}}},
        "totals": {"type": "object", "properties": {
            "sessions": _COUNTED, "marked_sessions": _COUNTED, "students": _COUNTED,
            "teachers": _COUNTED, "marks": _COUNTED,
            "forms": {"type": "object", "additionalProperties": _COUNTED}}},
        "subjects": {"type": "array", "description": "most marks first", "items": {
            "type": "object", "properties": {
                "subject": {"type": "string"}, "marks": _COUNTED,
                "share": {"type": "number", "description": "of all marks, 0..1"},
                "students": _COUNTED, "sessions": _COUNTED, "weekly": _WEEKLY,
                "knowledge_point_count": _COUNTED,
                "knowledge_points": {"type": "array", "description": "the top ones, most "
                                     "marks first", "items": {"type": "object", "properties": {
                                         "knowledge_point": {"type": "string"},
                                         "marks": _COUNTED,
                                         "share": {"type": "number",
                                                   "description": "of the subject's marks"},
                                         "students": _COUNTED, "weekly": _WEEKLY}}}}}},
        "districts": {"type": "array", "description": "per learner district", "items": {
            "type": "object", "properties": {"district_code": {"type": "string"},
                                             "district": {"type": "string"},
                                             **_PLACE_FIGURES}}},
        "schools": {"type": "array", "description": "per learner school", "items": {
            "type": "object", "properties": {"school_id": {"type": "string"},
                                             "school": {"type": "string"},
                                             "district_code": {"type": "string"},
                                             **_PLACE_FIGURES}}},
    },
}
_ERROR = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_SECURITY: list[dict[str, list[str]]] = [{"apiKey": []}, {"staffCookie": []}]
_READ_BY = (" The API key reads the city; signed-in staff their scope, counted by the "
            "learner's district or school (a filter outside it: an empty report).")
ANALYSIS_PATHS: dict[str, Any] = {
    "/reports/analysis": {"get": {
        "summary": "学科辅导分析报告: what tutoring students asked about, per subject, "
                   "knowledge point, week and place",
        "description": "From the tutoring teachers' marks of one term." + _READ_BY,
        "security": _SECURITY,
        "parameters": [*PARAMS, _param("top", "knowledge points per subject",
                                       {"type": "integer", "minimum": 1, "maximum": MAX_TOP,
                                        "default": DEFAULT_TOP})],
        "responses": {
            "200": {"description": "OK", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Analysis"}}}},
            "400": {"description": "A parameter the report cannot take (field names it)",
                    **_ERROR},
            "401": {"description": "Missing or wrong key (or no staff sign-in)", **_ERROR},
        },
    }},
    "/reports/analysis.csv": {"get": {
        "summary": "The analysis report as CSV: every knowledge point of every subject",
        "description": "UTF-8 with a byte-order mark; headers in Chinese and English; one "
                       "row per (subject, knowledge point) with its marks, share of the "
                       "subject, students and one column per week. Cells that a spreadsheet "
                       "would read as a formula start with '." + _READ_BY,
        "security": _SECURITY,
        "parameters": PARAMS,
        "responses": {
            "200": {"description": "OK", "content": {"text/csv": {
                "schema": {"type": "string"}}}},
            "400": {"description": "A parameter the report cannot take (field names it)",
                    **_ERROR},
            "401": {"description": "Missing or wrong key (or no staff sign-in)", **_ERROR},
        },
    }},
}


def document_analysis(document: dict[str, Any]) -> None:
    """Add the two report paths and their schema to the OpenAPI ``document``."""
    document["components"]["schemas"]["Analysis"] = ANALYSIS_SCHEMA
    document["paths"].update(ANALYSIS_PATHS)
