"""The OpenAPI description of the session list (issue 16): ``GET /sessions`` and
``GET /sessions.csv``, merged into ``/api/v1/openapi.json`` by
:mod:`signaling.server.openapi`. Bounds come from the code that enforces them."""

from __future__ import annotations

from typing import Any

from signaling.server.session_list_api import ALL_FORMS, CSV_HEADER, MAX_CSV_ROWS
from signaling.session.spec import PROGRAMMES
from signaling.store.session_query import DEFAULT_LIMIT, MAX_LIMIT, MAX_TEXT, STATUSES

_ERROR = {"$ref": "#/components/schemas/Error"}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ERROR}}}


def _param(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}


_TEXT = {"type": "string", "maxLength": MAX_TEXT}
_BOUND = {"type": "string", "examples": ["2026-03-07", "2026-03-07T08:00:00+08:00"]}
FILTERS: list[dict[str, Any]] = [
    _param("from", "sessions starting at or after: a local date (Asia/Shanghai, the "
           "calendar's zone) or an ISO-8601 date-time (no offset: the calendar's zone). "
           "A session's start is when it started, or when it is scheduled to", _BOUND),
    _param("to", "sessions starting before: a date includes its whole day; a date-time is "
           "exclusive", _BOUND),
    _param("programme", "培训 training / 辅导 tutoring", {"enum": list(PROGRAMMES)}),
    _param("form", "the session's form", {"enum": list(ALL_FORMS)}),
    _param("status", "scheduled: not started; live: started, not ended; ended",
           {"enum": list(STATUSES)}),
    _param("teacher", "an instructor's person id, or part of their name (教师; "
           "ASCII letters in either case)", _TEXT),
    _param("school", "an instructor's school_id, or part of their school's name", _TEXT),
    _param("district", "an instructor's district_code, or part of their district's name",
           _TEXT),
]
PAGING: list[dict[str, Any]] = [
    _param("limit", "sessions per page", {"type": "integer", "minimum": 1,
                                          "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}),
    _param("cursor", "the next_cursor of the previous page (opaque; 400 if altered)",
           {"type": "string"}),
]
INSTRUCTOR = {
    "type": "object",
    "required": ["id", "name", "school", "district", "school_id", "district_code"],
    "properties": {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "school": {"type": "string", "description": "name, for display ('' when not given)"},
        "district": {"type": "string"},
        "school_id": {"type": "string", "description": "'' when not given"},
        "district_code": {"type": "string", "description": "e.g. 110112 ('' when not given)"},
    },
}
LISTED_SESSION = {
    "type": "object",
    "required": ["id", "programme", "form", "title", "scheduled_start", "scheduled_end",
                 "started_at", "ended_at", "status", "instructors", "learners"],
    "properties": {
        "id": {"type": "string"},
        "programme": {"enum": list(PROGRAMMES)},
        "form": {"enum": list(ALL_FORMS)},
        "title": {"type": "string"},
        "scheduled_start": {"type": "string", "format": "date-time"},
        "scheduled_end": {"type": "string", "format": "date-time"},
        "started_at": {"type": ["string", "null"], "format": "date-time"},
        "ended_at": {"type": ["string", "null"], "format": "date-time"},
        "status": {"enum": list(STATUSES)},
        "instructors": {"type": "array",
                        "items": {"$ref": "#/components/schemas/ListedInstructor"}},
        "learners": {"type": "integer", "minimum": 0, "description": "how many learners"},
    },
}
SESSION_PAGE = {
    "type": "object",
    "required": ["sessions", "next_cursor"],
    "properties": {
        "sessions": {"type": "array", "maxItems": MAX_LIMIT,
                     "items": {"$ref": "#/components/schemas/ListedSession"}},
        "next_cursor": {"type": ["string", "null"],
                        "description": "pass as cursor for the next page; null: the last page"},
    },
}

SESSION_LIST_SCHEMAS: dict[str, Any] = {
    "ListedSession": LISTED_SESSION,
    "ListedInstructor": INSTRUCTOR,
    "SessionPage": SESSION_PAGE,
}

_WHO = ("A district office sees the sessions with an instructor of its district, a school "
        "those with an instructor of its school; the API key sees the city.")

SESSION_LIST_GET: dict[str, Any] = {
    "summary": "会话列表 The session list: one page, newest first (by start, then id)",
    "description": "Every filter is optional; together they narrow (AND). " + _WHO,
    "parameters": FILTERS + PAGING,
    "responses": {
        "200": {"description": "OK", "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/SessionPage"}}}},
        "400": _error("A parameter the list cannot take (field names it), or an altered "
                      "cursor"),
        "401": _error("Missing or wrong key"),
    },
}

SESSION_LIST_PATHS: dict[str, Any] = {
    "/sessions.csv": {
        "get": {
            "summary": "会话列表 CSV: every session the filter matches, one row each",
            "description": "UTF-8 with a byte-order mark (Excel opens the Chinese right); "
            "the header row names each column in Chinese and English; times are UTC. At "
            f"most {MAX_CSV_ROWS:,} rows: more is a 400 too_many before anything is sent. "
            + _WHO,
            "parameters": FILTERS,
            "responses": {
                "200": {
                    "description": "columns: " + ", ".join(CSV_HEADER),
                    "content": {"text/csv": {"schema": {"type": "string"}}},
                },
                "400": _error("A parameter the list cannot take, or too many rows"),
                "401": _error("Missing or wrong key"),
            },
        }
    },
}
