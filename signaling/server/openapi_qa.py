"""The OpenAPI description of the Q&A centre's REST calls (问答中心, issue 14;
:mod:`signaling.qa.api`), merged into ``/api/v1/openapi.json`` by
:mod:`signaling.server.openapi`. The people's calls take their on-demand pass (the one
``POST /oncall/passes`` mints) as the bearer; the points read takes the API key. The
signed media links (``/qa/media/{id}?exp&sig``) and the page ``/qa?token=…`` are
outside ``/api/v1``: docs/protocol.md."""

from __future__ import annotations

from typing import Any

from signaling.session.declarations import openapi_bodies

_ERROR = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_PASS: list[dict[str, list[str]]] = [{"oncallPass": []}]


def _errors(*codes: int) -> dict[str, Any]:
    words = {400: "Malformed body (the field named): invalid, empty",
             401: "No pass, a bad or expired one (no_token, bad_token, expired)",
             403: "Not for this pass (students_only, teachers_only, not_your_subject, "
                  "not_yours)",
             404: "No such question (or not one this pass may see), answer or term",
             409: "The question's state refuses it (solved, closed, already_answered, "
                  "enough_answers)",
             413: "Over a bound: the body, too_long, too_many_photos, too_large "
                  "(a photo or voice note)",
             415: "not_a_picture, not_a_voice_note (told from the file's first bytes)",
             429: "too_many_open: the student has the policy's number of questions waiting"}
    return {str(c): {"description": words[c], **_ERROR} for c in codes}


def _json(schema: Any, what: str) -> dict[str, Any]:
    return {"description": what, "content": {"application/json": {"schema": schema}}}


SUMMARY = {
    "type": "object",
    "properties": {
        "id": {"type": "string"}, "subject": {"type": "string"}, "grade": {"type": "string"},
        "text": {"type": "string", "description": "the first 140 characters"},
        "student": {"type": "string", "description": "the student's name"},
        "posted_at": {"type": "string", "format": "date-time"},
        "state": {"type": "string", "enum": ["open", "answered", "solved", "closed"]},
        "answers": {"type": "integer"},
    },
}
THREAD = {
    "type": "object",
    "properties": {
        "id": {"type": "string"}, "subject": {"type": "string"}, "grade": {"type": "string"},
        "text": {"type": "string"},
        "student": {"type": "object", "properties": {"name": {"type": "string"},
                                                      "school": {"type": "string"}}},
        "posted_at": {"type": "string", "format": "date-time"},
        "closes_at": {"type": "string", "format": "date-time",
                      "description": "when an unsolved question closes by itself"},
        "state": {"type": "string", "enum": ["open", "answered", "solved", "closed"]},
        "accepted": {"type": ["string", "null"], "description": "the accepted answer's id"},
        "solved_at": {"type": ["string", "null"], "format": "date-time"},
        "mine": {"type": "boolean"}, "may_answer": {"type": "boolean"},
        "may_solve": {"type": "boolean"},
        "photos": {"type": "array", "items": {"type": "string"},
                   "description": "signed links, valid for a while"},
        "answers": {"type": "array", "items": {"type": "object", "properties": {
            "id": {"type": "string"},
            "teacher": {"type": "object", "properties": {"name": {"type": "string"},
                                                          "school": {"type": "string"}}},
            "text": {"type": "string"}, "answered_at": {"type": "string", "format": "date-time"},
            "accepted": {"type": "boolean"}, "mine": {"type": "boolean"},
            "photos": {"type": "array", "items": {"type": "string"}},
            "voice": {"type": ["string", "null"], "description": "signed link to the note"},
        }}},
    },
}
POINTS = {
    "type": "object",
    "properties": {
        "teacher": {"type": "string"},
        "term": {"type": "object", "properties": {"name": {"type": "string"},
                                                   "start": {"type": "string", "format": "date"},
                                                   "end": {"type": "string", "format": "date"}}},
        "rule": {"type": "object", "description": "the [qa] numbers the figure used"},
        "accepted": {"type": "integer", "description": "answers accepted in the term"},
        "counted": {"type": "integer", "description": "of which earn points"},
        "too_short": {"type": "integer", "description": "refused by the text rule"},
        "over_day_cap": {"type": "integer"},
        "points": {"type": "number"}, "points_exact": {"type": "string"},
        "capped": {"type": "boolean", "description": "the term's cap cut the points"},
    },
}
_TERM = {"name": "term", "in": "query", "required": False, "schema": {"type": "string"},
         "description": "a term of the calendar by name; default the term holding today"}


def document_qa(document: dict[str, Any]) -> None:
    components = document["components"]
    components["securitySchemes"]["oncallPass"] = {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
        "description": "a student's call pass or a teacher's duty pass (POST /oncall/passes)"}
    components["schemas"].update({"QaSummary": SUMMARY, "QaThread": THREAD, "QaPoints": POINTS})
    thread = _json({"$ref": "#/components/schemas/QaThread"}, "The question, its answers")
    paths = document["paths"]
    paths["/qa/me"] = {"get": {
        "summary": "Who the pass is, the subjects, and the [qa] policy numbers (bounds)",
        "security": _PASS, "responses": {"200": _json({"type": "object"}, "Me"),
                                         **_errors(401)}}}
    paths["/qa/questions"] = {
        "get": {
            "summary": "A student's own questions; a teacher's open questions of their "
            "subjects and grades (view=answered: those they answered), newest first, 50",
            "security": _PASS,
            "parameters": [{"name": "view", "in": "query", "required": False,
                            "schema": {"type": "string", "enum": ["answered"]}}],
            "responses": {"200": _json({"type": "object", "properties": {"questions": {
                "type": "array", "items": {"$ref": "#/components/schemas/QaSummary"}}}},
                "Questions"), **_errors(401)}},
        "post": {
            "summary": "A student asks: text and photos (base64, at most max_photos of "
            "max_photo_bytes each) to a subject; the grade is the pass's",
            "security": _PASS,
            "requestBody": openapi_bodies()[0]["/qa/questions"],
            "responses": {"201": thread, **_errors(400, 401, 403, 413, 415, 429)}},
    }
    paths["/qa/questions/{id}"] = {"get": {
        "summary": "One question with its answers (its student, or a teacher of its subject "
        "or who answered it)",
        "security": _PASS, "parameters": [_ID],
        "responses": {"200": thread, **_errors(401, 404)}}}
    paths["/qa/questions/{id}/answers"] = {"post": {
        "summary": "A teacher answers once: text, photos and a voice note (WebM, Ogg/Opus "
        "or MP4, at most max_voice_bytes)",
        "security": _PASS, "parameters": [_ID],
        "requestBody": openapi_bodies()[0]["/qa/questions/{id}/answers"],
        "responses": {"201": thread, **_errors(400, 401, 403, 404, 409, 413, 415)}}}
    paths["/qa/questions/{id}/solve"] = {"post": {
        "summary": "The student marks it solved, accepting one answer (or none)",
        "security": _PASS, "parameters": [_ID],
        "requestBody": openapi_bodies()[0]["/qa/questions/{id}/solve"],
        "responses": {"200": thread, **_errors(400, 401, 403, 404, 409)}}}
    points = _json({"$ref": "#/components/schemas/QaPoints"}, "The term's Q&A points")
    paths["/qa/me/points"] = {"get": {
        "summary": "A teacher's own Q&A points for a term (their duty pass)",
        "security": _PASS, "parameters": [_TERM],
        "responses": {"200": points, **_errors(401, 403, 404)}}}
    paths["/qa/points"] = {"get": {
        "summary": "A teacher's Q&A points for a term: points_per_accepted_answer for "
        "each accepted answer that counts, within the day and term caps ([qa] policy)",
        "parameters": [{"name": "teacher", "in": "query", "required": True,
                        "schema": {"type": "string"}}, _TERM],
        "responses": {"200": points, **_errors(400, 404),
                      "401": {"description": "Missing or wrong API key", **_ERROR}}}}


_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
