"""The OpenAPI 3.1 description of REST v1, served at ``/api/v1/openapi.json``."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from recorder.credits.clock import CODES as CLOCK_CODES
from signaling.server.analysis_api import document_analysis
from signaling.server.drain import NODE_PATHS
from signaling.server.live_api import document_live
from signaling.server.observe_api import document_observe
from signaling.server.openapi_booking import document_booking
from signaling.server.openapi_console import document_console
from signaling.server.openapi_microlessons import document_microlessons
from signaling.server.openapi_oncall import document_oncall
from signaling.server.openapi_people import PEOPLE_PATHS, PEOPLE_SCHEMAS
from signaling.server.openapi_qa import document_qa
from signaling.server.openapi_recordings import RECORD_FIELDS, RECORDING_PATHS, RECORDING_SCHEMAS
from signaling.server.openapi_session_list import (
    SESSION_LIST_GET,
    SESSION_LIST_PATHS,
    SESSION_LIST_SCHEMAS,
)
from signaling.server.openapi_settings import document_settings
from signaling.server.staff_api import document_staff
from signaling.session.declarations import openapi_bodies

_ERROR = {"$ref": "#/components/schemas/Error"}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    text = {
        400: "Invalid input (the message names the field)",
        401: "Missing or wrong key",
        403: "Forbidden",
        404: "Unknown id",
        409: "Conflict",
        413: "Too large",
        415: "Unsupported type",
        422: "The session record cannot be computed",
    }
    return {str(c): _json(_ERROR, text[c]) for c in codes}


# Every request body, and the components they refer to (NewSession, Person, ...), is
# generated from the declarations the handlers decode with: docs and validation cannot drift.
BODIES, BODY_SCHEMAS = openapi_bodies()
INTERVALS = {
    "type": "object",
    "additionalProperties": {
        "type": "array",
        "items": {"type": "array", "items": {"type": "string", "format": "date-time"}},
    },
}
RECORD = {
    "type": "object",
    "required": ["session_id", "programme", "form", "people", "active", "feedback", "reports"],
    "properties": {
        "session_id": {"type": "string"},
        "programme": {"type": "string"},
        "form": {"type": "string"},
        "people": {"type": "array", "items": {"$ref": "#/components/schemas/Person"}},
        "active": INTERVALS,
        "replay": INTERVALS,
        **RECORD_FIELDS,
        "feedback": {"type": "object"},
        "reports": {"type": "object"},
        "marks": {
            "type": "object",
            "description": "tutoring: learner → the teacher's latest mark of the session",
            "additionalProperties": {"$ref": "#/components/schemas/StoredMark"},
        },
    },
}
STORED_MARK = {
    "type": "object",
    "required": ["problem", "subject", "knowledge_point", "marked_at", "by"],
    "properties": {
        "problem": {"type": "string", "description": "问题"},
        "subject": {"type": "string", "description": "学科"},
        "knowledge_point": {"type": "string", "description": "知识点"},
        "marked_at": {"type": "string", "format": "date-time"},
        "by": {"type": "string", "description": "the teacher's person id"},
    },
}
TEXT_RULES = {
    "type": "object",
    "description": "the programme policy's numbers: visible characters (NFKC; whitespace, "
    "format characters and combining marks not counted), distinct ones, and the window "
    "after the session's end",
    "properties": {
        "min_chars": {"type": "integer"},
        "min_distinct": {"type": "integer"},
        "window_hours": {"type": "integer"},
        "window_end": {"type": ["string", "null"], "format": "date-time"},
    },
}
ME = {
    "type": "object",
    "required": ["person", "session", "feedback_open", "feedback", "feedback_rules"],
    "properties": {
        "person": {"type": "object"},
        "session": {"type": "object"},
        "feedback_open": {"type": "boolean"},
        "feedback": {"type": ["object", "null"]},
        "feedback_rules": TEXT_RULES,
        "report_rules": {
            "description": "reviewers of a review: the report's numbers, whether it may be "
            "sent now, and whether the journal saw them take part; null otherwise",
            "anyOf": [
                {
                    "allOf": [TEXT_RULES],
                    "properties": {"open": {"type": "boolean"}, "took_part": {"type": "boolean"}},
                },
                {"type": "null"},
            ],
        },
        "marks": {
            "description": "tutoring: the teacher's marks (a learner sees only their own); "
            "null otherwise",
            "type": ["object", "null"],
            "additionalProperties": {"$ref": "#/components/schemas/StoredMark"},
        },
    },
}
POINTS = {"type": "string", "description": "exact decimal, 2 places", "pattern": r"^\d+\.\d\d$"}
PER_STAR = {
    "type": "object",
    "properties": {str(r): POINTS for r in range(1, 6)},
    "required": [str(r) for r in range(1, 6)],
}
SETTLEMENT = {
    "type": "object",
    "required": [
        "effective_minutes",
        "time_points",
        "rating_points_per_hour",
        "point_value_cny",
        "basis",
    ],
    "properties": {
        "effective_minutes": {
            "type": "integer",
            "description": "the teacher's counted minutes of the session (credits engine)",
        },
        "time_points": {
            **POINTS,
            "description": "the duration part of the teacher's points: "
            "duration_points_per_hour × minutes / 60",
        },
        "duration_points_per_hour": POINTS,
        "rating_points_per_hour": {
            **PER_STAR,
            "description": "rating r → at_one_star + (r − 1) × per_star points per hour",
        },
        "rating_points": {**PER_STAR, "description": "the same for this session's minutes"},
        "point_value_cny": POINTS,
        "basis": {
            "type": "string",
            "description": "what the minutes were computed from: media evidence or presence",
        },
        "counted": {"type": "boolean"},
        "notes": {"type": "array", "items": {"type": "string"}},
        "feedback_window_end": {"type": "string", "format": "date-time"},
    },
}
_MINUTES_OR_NULL = {"type": ["integer", "null"]}
CLOCK = {
    "type": "object",
    "required": ["started_at", "elapsed_s", "counted_minutes", "min_minutes", "max_minutes",
                 "counting", "why_not", "final"],
    "properties": {
        "started_at": {"type": ["string", "null"], "format": "date-time"},
        "ended_at": {"type": ["string", "null"], "format": "date-time"},
        "elapsed_s": {"type": "integer", "description": "since started_at (to ended_at)"},
        "min_minutes": {**_MINUTES_OR_NULL, "description": "the form's minimum counted "
                        "minutes (policy forms.<form>.limits); null: none"},
        "max_minutes": {**_MINUTES_OR_NULL, "description": "the form's maximum; null: none"},
        "counted_minutes": {**_MINUTES_OR_NULL, "description": "instructor only (null for "
                            "learners): minutes the credits engine counts so far, within the "
                            "maximum; below the minimum they count once it is reached"},
        "meets_minimum": {"type": ["boolean", "null"],
                          "description": "instructor only: the session counts as it stands"},
        "counting": {"type": ["boolean", "null"], "description": "instructor only: the "
                     "most recent complete minute counts"},
        "why_not": {
            "type": ["string", "null"],
            "enum": [*CLOCK_CODES, None],
            "description": "instructor only: why the most recent complete minute does not "
            "count (the engine's per-minute reason, as the session timeline shows it)",
        },
        "took_part": {**_MINUTES_OR_NULL, "description": "instructor only: people with "
                      "active time in the session"},
        "final": {"type": "boolean", "description": "the session has ended"},
        "policy_version": {"type": "integer"},
        "calendar_version": {"type": "integer"},
    },
}
ID = [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]

DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "opentutor platform API", "version": "1"},
    "servers": [{"url": "/api/v1"}],
    "components": {
        "securitySchemes": {
            "apiKey": {"type": "http", "scheme": "bearer", "description": "platform API key"},
            "joinToken": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
        },
        "schemas": {
            "Error": {
                "type": "object",
                "properties": {
                    "error": {
                        "type": "object",
                        "required": ["code", "message"],
                        "properties": {
                            "code": {"type": "string"},
                            "message": {"type": "string"},
                            "field": {"type": "string"},
                        },
                    }
                },
            },
            **BODY_SCHEMAS,
            "Record": RECORD,
            "StoredMark": STORED_MARK,
            **RECORDING_SCHEMAS,
            **PEOPLE_SCHEMAS,
            **SESSION_LIST_SCHEMAS,
        },
    },
    "security": [{"apiKey": []}],
    "paths": {
        **RECORDING_PATHS,
        **PEOPLE_PATHS,
        **NODE_PATHS,
        **SESSION_LIST_PATHS,
        "/sessions": {
            "get": SESSION_LIST_GET,
            "post": {
                "summary": "Create a session; one join URL per person",
                "description": "The JSON body may be at most 1 MiB (413 too_large, nothing "
                "stored) and nest at most 64 levels deep (400).",
                "requestBody": BODIES["/sessions"],
                "responses": {
                    "201": _json(
                        {
                            "type": "object",
                            "required": ["session_id", "join_urls"],
                            "properties": {
                                "session_id": {"type": "string"},
                                "join_urls": {
                                    "type": "object",
                                    "additionalProperties": {"type": "string"},
                                },
                            },
                        },
                        "Created",
                    ),
                    **_errors(400, 401, 413),
                },
            }
        },
        "/sessions/{id}": {
            "get": {
                "summary": "State and who is present now",
                "parameters": ID,
                "responses": {"200": _json({"type": "object"}), **_errors(401, 404)},
            }
        },
        "/sessions/{id}/end": {
            "post": {
                "summary": "End the session for everyone",
                "parameters": ID,
                "responses": {"200": _json({"type": "object"}), **_errors(401, 404)},
            }
        },
        "/sessions/{id}/record": {
            "get": {
                "summary": "The session record: people, server-observed active intervals, "
                "feedback, reports",
                "parameters": ID,
                "responses": {
                    "200": _json({"$ref": "#/components/schemas/Record"}),
                    **_errors(401, 404),
                },
            }
        },
        "/sessions/{id}/credits": {
            "get": {
                "summary": "Effective minutes, points, pay and study minutes of a session, "
                "with the rules that reduced anything in words (final once ended)",
                "parameters": ID,
                "responses": {"200": _json({"type": "object"}), **_errors(401, 404)},
            }
        },
        "/sessions/{id}/evidence": {
            "get": {
                "summary": "The per-minute media evidence of a session: one row per person per "
                "minute, what the server counted before any threshold (docs/record.md). "
                "Programme office only (a join token: 403)",
                "parameters": ID,
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["session_id", "rows"],
                            "properties": {
                                "session_id": {"type": "string"},
                                "rows": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "required": ["person", "minute"],
                                        "properties": {
                                            "person": {"type": "string"},
                                            "minute": {"type": "string", "format": "date-time"},
                                            **{
                                                name: {"type": "integer", "minimum": 0}
                                                for name in (
                                                    "audio_packets", "audio_bytes",
                                                    "video_packets", "video_bytes",
                                                    "video_frames", "video_keyframes",
                                                    "voiced_s", "silent_s",
                                                    "forwarded_packets", "forwarded_bytes",
                                                )
                                            },
                                            "audio_level": {
                                                "type": "array", "maxItems": 60,
                                                "items": {"type": ["integer", "null"]},
                                                "description": "per second: loudest level "
                                                "in -dBov (0 loudest, 127 silence), null "
                                                "without audio",
                                            },
                                            "frames": {
                                                "type": "array", "maxItems": 60,
                                                "items": {"type": "integer"},
                                            },
                                            "forwarded": {
                                                "type": "array", "maxItems": 60,
                                                "items": {"type": "integer"},
                                            },
                                            "confirmed": {
                                                "type": "array", "maxItems": 60,
                                                "items": {"type": "boolean"},
                                            },
                                            "rr_loss_max": {"type": "number"},
                                            "rr_jitter_max_ms": {"type": "number"},
                                        },
                                    },
                                },
                            },
                        }
                    ),
                    **_errors(401, 403, 404),
                },
            }
        },
        "/sessions/{id}/timeline": {
            "get": {
                "summary": "The session's timeline picture (SVG): per minute who was present, "
                "voiced and sending video, and which minutes counted and why not",
                "parameters": ID,
                "responses": {
                    "200": {
                        "description": "OK",
                        "content": {"image/svg+xml": {"schema": {"type": "string"}}},
                    },
                    **_errors(401, 403, 404),
                },
            }
        },
        "/supervision": {
            "get": {
                "summary": "The supervisor report (监督机制): sessions of a date range with "
                "irregular behaviour, each flag with its evidence (docs/supervision.md). At "
                "most 93 days; programme office only (a join token: 403)",
                "parameters": [
                    {
                        "name": name,
                        "in": "query",
                        "required": True,
                        "schema": {"type": "string", "format": "date"},
                        "description": "inclusive local date (the calendar's zone) of the "
                        "sessions' start",
                    }
                    for name in ("from", "to")
                ] + [
                    {
                        "name": "format",
                        "in": "query",
                        "required": False,
                        "schema": {"enum": ["json", "csv"], "default": "json"},
                    }
                ],
                "responses": {
                    "200": {
                        "description": "JSON: the window, sessions read, the thresholds per "
                        "programme, counts per kind and the flags; CSV: one row per flag "
                        "(session_id, kind, people, summary, evidence as compact JSON)",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["from", "to", "sessions", "rules", "flags"],
                                    "properties": {
                                        "from": {"type": "string", "format": "date"},
                                        "to": {"type": "string", "format": "date"},
                                        "sessions": {"type": "integer"},
                                        "rules": {"type": "object"},
                                        "counts": {"type": "object"},
                                        "flags": {
                                            "type": "array",
                                            "items": {
                                                "type": "object",
                                                "required": ["session_id", "kind", "people",
                                                             "summary", "evidence"],
                                                "properties": {
                                                    "session_id": {"type": "string"},
                                                    "kind": {"type": "string"},
                                                    "people": {
                                                        "type": "array",
                                                        "items": {"type": "string"},
                                                    },
                                                    "summary": {"type": "string"},
                                                    "evidence": {"type": "object"},
                                                },
                                            },
                                        },
                                    },
                                }
                            },
                            "text/csv": {"schema": {"type": "string"}},
                        },
                    },
                    **_errors(400, 401, 403),
                    "422": _json(_ERROR, "A session record cannot be computed"),
                },
            }
        },
        "/people/{id}/statement": {
            "get": {
                "summary": "A person's totals over ended sessions, per programme: points and "
                "pay per term, study hours and credits per year",
                "parameters": [
                    *ID,
                    {
                        "name": "term",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string"},
                    },
                ],
                "responses": {"200": _json({"type": "object"}), **_errors(400, 401)},
            }
        },
        "/me": {
            "get": {
                "summary": "The joining person and session, the feedback window and the text "
                "rules' numbers (so the form can count like the server), a reviewer's report "
                "state, a tutoring session's marks",
                "security": [{"joinToken": []}],
                "responses": {"200": _json(ME), **_errors(401, 404)},
            }
        },
        "/me/uploads": {
            "post": {
                "summary": "Upload a picture (JPEG, PNG, WebP, GIF; ≤ 8 MiB) for chat or the board",
                "security": [{"joinToken": []}],
                "requestBody": {
                    "content": {
                        f"image/{t}": {"schema": {"type": "string", "format": "binary"}}
                        for t in ("jpeg", "png", "webp", "gif")
                    }
                },
                "responses": {"201": _json({"type": "object"}, "Stored"), **_errors(401, 413, 415)},
            }
        },
        "/me/feedback": {
            "post": {
                "summary": "The programme's feedback form (learners, after the end and within "
                "the policy's window from ended_at; the text needs the policy's visible and "
                "distinct characters: 400 invalid, field text, otherwise)",
                "security": [{"joinToken": []}],
                "requestBody": BODIES["/me/feedback"],
                "responses": {
                    "201": _json({"type": "object"}, "Stored"),
                    **_errors(400, 401, 403, 409),
                },
            }
        },
        "/me/report": {
            "post": {
                "summary": "A reviewer's review report (review sessions): after the review "
                "started (409 not_started), within the feedback window after its end (409 "
                "closed), from a reviewer the presence journal saw in it (403 not_present), "
                "with the policy's visible and distinct characters (400)",
                "security": [{"joinToken": []}],
                "requestBody": BODIES["/me/report"],
                "responses": {
                    "201": _json({"type": "object"}, "Stored"),
                    **_errors(400, 401, 403, 409),
                },
            }
        },
        "/me/marks": {
            "post": {
                "summary": "The tutoring teacher marks a learner: problem, subject, knowledge "
                "point (seed 000). During the session or within the feedback window after it "
                "(409 not_started / closed); instructors of tutoring sessions only (403). "
                "Marking a learner again replaces the earlier mark (one per learner)",
                "security": [{"joinToken": []}],
                "requestBody": BODIES["/me/marks"],
                "responses": {
                    "200": _json(
                        {
                            "allOf": [{"$ref": "#/components/schemas/StoredMark"}],
                            "properties": {"learner": {"type": "string"}},
                        },
                        "Stored (replacing any earlier mark of this learner)",
                    ),
                    **_errors(400, 401, 403, 409),
                },
            }
        },
        "/me/clock": {
            "get": {
                "summary": "The clock that pays: elapsed time and the form's limits for every "
                "participant; for the instructor (and a review's presenter, whose 45-minute "
                "discussion it is too) also the minutes counted so far by the credits engine "
                "and why the present is not counting. Computed at most every "
                "15 s per session; observers' links are refused (403)",
                "security": [{"joinToken": []}],
                "responses": {"200": _json(CLOCK), **_errors(401, 403, 404, 422)},
            }
        },
        "/me/settlement": {
            "get": {
                "summary": "The learner's payment step of an ended tutoring session: effective "
                "minutes, the teacher's points for that time, and the points per hour each "
                "rating (1-5) of the learning gain adds",
                "security": [{"joinToken": []}],
                "responses": {
                    "200": _json(SETTLEMENT),
                    **_errors(401, 403, 409, 422),
                },
            }
        },
    },
}

document_staff(DOCUMENT)  # the staff sign-in endpoints (signaling/server/staff_api.py)
document_analysis(DOCUMENT)  # GET /reports/analysis(.csv), issue 16
document_live(DOCUMENT)  # GET /api/v1/live, the console's Now page
document_observe(DOCUMENT)  # POST /api/v1/live/{id}/observe, a supervisor watches read-only
document_console(DOCUMENT)  # reviews, webhooks, calendar and policy (openapi_console.py)
document_settings(DOCUMENT)  # calendar and policy edits, history (openapi_settings.py)
document_oncall(DOCUMENT)  # on-demand tutoring's passes, teachers on duty, calls (issue 14)
document_microlessons(DOCUMENT)  # micro-lessons: publish, browse, watched time (issue 14)
document_qa(DOCUMENT)  # the Q&A centre: questions, answers, solving, points (issue 14)
document_booking(DOCUMENT)  # booking: passes, offers, book, cancel (issue 14, item 4)


async def handler(request: web.Request) -> web.Response:
    return web.json_response(DOCUMENT)
