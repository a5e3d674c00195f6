"""The OpenAPI description of micro-lessons' REST calls and their video (issue 14 item 6;
:mod:`signaling.microlessons.api`), merged into ``/api/v1/openapi.json`` by
:mod:`signaling.server.openapi`. The watching rule is in docs/protocol.md."""

from __future__ import annotations

from typing import Any

from signaling.session.declarations import openapi_bodies

_ERROR = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_WHO = {"401": {"description": "No pass or API key, or a bad or expired pass", **_ERROR}}
_SUBJECTS = ["chinese", "math", "english", "morality_law", "physics", "chemistry", "biology",
             "history", "geography"]
_GRADES = ["7", "8", "9"]
LESSON = {
    "type": "object",
    "properties": {
        "lesson_id": {"type": "string", "pattern": "^ml_[A-Za-z0-9_-]{12,24}$"},
        "teacher_id": {"type": "string"}, "teacher_name": {"type": "string"},
        "school": {"type": "string"},
        "session_id": {"type": "string", "description": "its teacher and the platform only"},
        "recording_id": {"type": "string", "description": "its teacher and the platform only"},
        "start_s": {"type": "number", "description": "the part's start in the recording"},
        "end_s": {"type": "number"},
        "title": {"type": "string", "maxLength": 80},
        "subject": {"type": "string", "enum": _SUBJECTS},
        "grade": {"type": "string", "enum": _GRADES},
        "knowledge_point": {"type": "string", "maxLength": 60, "description": "知识点"},
        "state": {"type": "string", "enum": ["preparing", "ready", "failed", "unpublished"]},
        "error": {"type": "string", "description": "why it failed (its teacher and the "
                  "platform only)"},
        "created_at": {"type": "string", "format": "date-time"},
        "lead_s": {"type": "number", "description": "the file starts at the keyframe this "
                   "long before start_s; players begin at lead_s"},
        "duration_s": {"type": "number", "description": "the file's length"},
        "bytes": {"type": "integer"},
        "views": {"type": "integer", "description": "distinct viewers the server sent bytes to"},
    },
}
def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    words = {400: "Malformed or over a bound (the field named)", 403: "Not allowed",
             404: "No such lesson or recording", 409: "Over the teacher's count",
             416: "Range not satisfiable", 429: "Sent too often to this viewer",
             503: "Too many lessons being prepared (Retry-After)"}
    return {str(c): {"description": words[c], **_ERROR} for c in codes}


def document_microlessons(document: dict[str, Any]) -> None:
    paths = document["paths"]
    document["components"]["schemas"]["MicroLesson"] = LESSON
    ref = {"$ref": "#/components/schemas/MicroLesson"}
    lesson_id = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
    paths["/microlessons"] = {
        "get": {
            "summary": "Ready micro-lessons (a pass or the API key), newest or most watched "
                       "first, filtered by subject, grade and a part of the knowledge point",
            "parameters": [
                {"name": "subject", "in": "query", "schema": {"type": "string",
                                                              "enum": _SUBJECTS}},
                {"name": "grade", "in": "query", "schema": {"type": "string", "enum": _GRADES}},
                {"name": "knowledge_point", "in": "query", "schema": {"type": "string",
                                                                      "maxLength": 60}},
                {"name": "order", "in": "query", "schema": {
                    "type": "string", "enum": ["newest", "most_watched"]}},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                            "maximum": 200, "default": 50}}],
            "responses": {"200": _json({"type": "object", "properties": {
                "lessons": {"type": "array", "items": ref}}}), **_errors(400), **_WHO},
        },
        "post": {
            "summary": "Publish part of a recording as a micro-lesson (a teacher's pass, or "
                       "the API key naming the teacher); its file is made in the background "
                       "(the recording's export cut at keyframes, no re-encoding of the cut)",
            "requestBody": openapi_bodies()[0]["/microlessons"],  # the declaration's
            "responses": {"202": _json({"type": "object", "properties": {"lesson": ref}},
                                       "Accepted: state preparing"),
                          **_errors(400, 403, 404, 409, 503), **_WHO},
        },
    }
    paths["/microlessons/mine"] = {"get": {
        "summary": "A teacher's own lessons (every state) and the recordings they may "
                   "publish from, with the policy's bounds",
        "responses": {"200": _json({"type": "object", "properties": {
            "lessons": {"type": "array", "items": ref},
            "recordings": {"type": "array", "items": {"type": "object"}},
            "policy": {"type": "object"}, "me": {"type": "object"}}}),
            **_errors(403), **_WHO}}}
    paths["/microlessons/report"] = {"get": {
        "summary": "Views (API key): per lesson and viewer, who (name, school, grade from "
                   "the pass) and the watched seconds the server derived",
        "parameters": [{"name": "lesson_id", "in": "query", "schema": {"type": "string"}},
                       {"name": "limit", "in": "query", "schema": {
                           "type": "integer", "minimum": 1, "maximum": 500, "default": 100}}],
        "responses": {"200": _json({"type": "object", "properties": {"views": {
            "type": "array", "items": {"type": "object", "properties": {
                "lesson_id": {"type": "string"}, "title": {"type": "string"},
                "teacher_id": {"type": "string"}, "viewer": {"type": "string"},
                "name": {"type": "string"}, "school": {"type": "string"},
                "grade": {"type": "string"}, "first_at": {"type": "string"},
                "duration_s": {"type": "number"}, "watched_s": {"type": "number"}}}}}}),
            **_errors(400, 403), **_WHO}}}
    paths["/microlessons/{id}"] = {
        "get": {
            "summary": "One lesson; when ready, its signed video link for this viewer and "
                       "their watched seconds",
            "parameters": [lesson_id],
            "responses": {"200": _json({"type": "object", "properties": {
                "lesson": ref, "video_url": {"type": "string"},
                "watched_s": {"type": "number"}}}), **_errors(404), **_WHO},
        },
        "delete": {
            "summary": "Unpublish (its teacher or the API key): the file is deleted, the "
                       "views stay for the report",
            "parameters": [lesson_id],
            "responses": {"200": _json({"type": "object"}), **_errors(403, 404), **_WHO},
        },
    }
    paths["/microlessons/{id}/watched"] = {"get": {
        "summary": "The viewer's watched seconds (their pass), derived by the server from "
                   "the byte ranges it sent and when (docs/protocol.md); client claims never "
                   "count",
        "parameters": [lesson_id],
        "responses": {"200": _json({"type": "object", "properties": {
            "lesson_id": {"type": "string"}, "duration_s": {"type": "number"},
            "watched_s": {"type": "number"},
            "spans": {"type": "array", "items": {"type": "array", "items": {
                "type": "number"}}}}}), **_errors(400, 404), **_WHO}}}
    # The video is outside /api/v1 (a signed link, as recordings' files are): its own server.
    paths["/microlessons/{id}/{viewer}/lesson.mp4"] = {
        "servers": [{"url": "/"}],
        "get": {
            "summary": "The lesson's MP4 (signed link from GET /microlessons/{id}; HTTP Range, "
                       "206), paced: serve_lead_s of media at once, then serve_pace_percent % "
                       "of real time; every few seconds of a response are written down as "
                       "bytes served to the viewer the link names",
            "security": [],
            "parameters": [lesson_id,
                           {"name": "viewer", "in": "path", "required": True,
                            "schema": {"type": "string"}},
                           {"name": "exp", "in": "query", "required": True,
                            "schema": {"type": "string"}},
                           {"name": "sig", "in": "query", "required": True,
                            "schema": {"type": "string"}},
                           {"name": "Range", "in": "header", "schema": {"type": "string"},
                            "example": "bytes=0-"}],
            "responses": {
                "200": {"description": "The whole file", "content": {"video/mp4": {}}},
                "206": {"description": "The range asked for", "content": {"video/mp4": {}}},
                **_errors(403, 404, 416, 429)},
        },
    }
