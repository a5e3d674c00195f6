"""The OpenAPI description of on-demand tutoring's REST calls (issue 14;
:mod:`signaling.oncall.api`), merged into ``/api/v1/openapi.json`` by
:mod:`signaling.server.openapi`. The socket.io events are in docs/protocol.md."""

from __future__ import annotations

from typing import Any

from signaling.session.declarations import openapi_bodies

_ERROR = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_UNAUTHORIZED = {"401": {"description": "Missing or wrong API key", **_ERROR}}
_OPEN = {
    "type": "object",
    "description": "Whether on-demand tutoring is open now: the tutoring policy's "
    "open_hours on the term calendar in effect",
    "properties": {
        "open": {"type": "boolean"},
        "reason": {"type": "string", "enum": ["", "out_of_term", "closed_today",
                                              "outside_hours"]},
        "today": {"type": "array", "items": {"type": "string"},
                  "description": "today's windows, local time, e.g. 18:00–21:00"},
        "closes_at": {"type": ["number", "null"], "description": "epoch seconds"},
    },
}
ON_DUTY = {
    "type": "object",
    "properties": {
        "teacher": {"type": "string"}, "name": {"type": "string"},
        "school": {"type": "string"}, "district": {"type": "string"},
        "subjects": {"type": "array", "items": {"type": "string"}},
        "grades": {"type": "array", "items": {"type": "string"}},
        "rating": {"type": ["number", "null"]},
        "state": {"type": "string", "enum": ["on_duty", "busy"]},
        "waiting": {"type": "integer", "description": "calls ringing or queued"},
        "node": {"type": "string"}, "since": {"type": "number"},
    },
}
CALL_ROW = {
    "type": "object",
    "properties": {
        "call_id": {"type": "string"}, "student_id": {"type": "string"},
        "teacher_id": {"type": "string"}, "subject": {"type": "string"},
        "placed_at": {"type": "string", "format": "date-time"},
        "rang_at": {"type": ["string", "null"], "format": "date-time"},
        "ended_at": {"type": "string", "format": "date-time"},
        "outcome": {"type": "string",
                    "enum": ["accepted", "declined", "timed_out", "cancelled"]},
        "reason": {"type": "string", "description": "no_answer, teacher (declined), student "
                   "(cancelled), teacher_away, or why no session could be made"},
        "waited_ms": {"type": "integer", "description": "from placing the call to its end"},
        "session_id": {"type": ["string", "null"], "description": "the tutoring session an "
                       "accepted call created"},
    },
}


def document_oncall(document: dict[str, Any]) -> None:
    paths = document["paths"]
    document["components"]["schemas"].update(
        {"OnDutyTeacher": ON_DUTY, "OncallCall": CALL_ROW, "OncallOpen": _OPEN})
    paths["/oncall/passes"] = {"post": {
        "summary": "Mint a teacher's duty pass or a student's call pass, and its link "
        "(/duty?token=…): the page goes on duty, or finds and calls a teacher",
        "requestBody": openapi_bodies()[0]["/oncall/passes"],
        "responses": {
            "201": {"description": "The pass", "content": {"application/json": {"schema": {
                "type": "object", "properties": {
                    "token": {"type": "string"}, "url": {"type": "string"},
                    "expires_at": {"type": "integer", "description": "epoch seconds"}}}}}},
            "400": {"description": "Malformed body (the field named)", **_ERROR},
            **_UNAUTHORIZED,
        },
    }}
    paths["/oncall/teachers"] = {"get": {
        "summary": "Teachers on duty now, on every node (Redis), and whether tutoring is open",
        "responses": {"200": {"description": "On duty", "content": {"application/json": {
            "schema": {"type": "object", "properties": {
                "teachers": {"type": "array",
                             "items": {"$ref": "#/components/schemas/OnDutyTeacher"}},
                "open": {"$ref": "#/components/schemas/OncallOpen"}}}}}}, **_UNAUTHORIZED},
    }}
    paths["/oncall/calls"] = {"get": {
        "summary": "The latest calls, newest first: outcome, reason, wait and session",
        "parameters": [{"name": "limit", "in": "query", "required": False,
                        "schema": {"type": "integer", "minimum": 1, "maximum": 1000,
                                   "default": 100}}],
        "responses": {"200": {"description": "Calls", "content": {"application/json": {
            "schema": {"type": "object", "properties": {
                "calls": {"type": "array",
                          "items": {"$ref": "#/components/schemas/OncallCall"}}}}}}},
            **_UNAUTHORIZED},
    }}
