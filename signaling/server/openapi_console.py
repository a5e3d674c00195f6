"""The OpenAPI description of the console's third round (issue 16): supervision reviews
(``POST /supervision/reviews``, and each flag's ``key`` and ``review`` in the report),
the webhook delivery state for the city office (``GET /webhooks``), and the read-only
calendar and policy (``GET /calendar``, ``GET /policy``). Merged into
``/api/v1/openapi.json`` by :func:`document_console`, after the staff part (it uses
the ``staffCookie`` scheme). Bounds come from the code that enforces them."""

from __future__ import annotations

from typing import Any

from signaling.admin.reviews import OUTCOMES
from signaling.server.access import CSRF_HEADER
from signaling.session.declarations import openapi_bodies

_ERROR = {"$ref": "#/components/schemas/Error"}
_STAFF: list[dict[str, list[str]]] = [{"apiKey": []}, {"staffCookie": []}]


def _answer(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": schema or _ERROR}}}


REVIEW: dict[str, Any] = {
    "type": "object",
    "required": ["reviewed_by", "at", "outcome", "note"],
    "properties": {
        "reviewed_by": {"type": "string", "description": "the staff username, or 'api-key'"},
        "at": {"type": "string", "format": "date-time"},
        "outcome": {"enum": list(OUTCOMES), "description": "ok: checked, nothing irregular; "
                    "irregular: confirmed, to be followed up with the teacher"},
        "note": {"type": "string"},
    },
}
_NUMBERS = {"type": "object", "additionalProperties": True}
CONSOLE_SCHEMAS: dict[str, Any] = {
    "SupervisionReview": REVIEW,
    "Calendar": {
        "type": "object",
        "required": ["timezone", "sample", "terms", "holidays", "workdays"],
        "properties": {
            "timezone": {"type": "string", "examples": ["Asia/Shanghai"]},
            "sample": {"type": "boolean", "description": "true: the shipped sample calendar "
                       "(no --calendar given), not an official one"},
            "terms": {"type": "array", "items": {"type": "object", "properties": {
                "name": {"type": "string"}, "start": {"type": "string", "format": "date"},
                "end": {"type": "string", "format": "date"}, "days": {"type": "integer"},
                "working_days": {"type": "integer"}}}},
            "holidays": {"type": "array", "items": {"type": "object", "properties": {
                "date": {"type": "string", "format": "date"},
                "name": {"type": "string", "description": "from the calendar file's comment "
                         "on that line; '' when none"}}}},
            "workdays": {"type": "array", "description": "make-up working days (调休上班)",
                         "items": {"type": "object", "properties": {
                             "date": {"type": "string", "format": "date"}}}},
            "editing": {"type": "string"},
        },
    },
    "Policies": {
        "type": "object",
        "required": ["programmes"],
        "properties": {
            "programmes": {"type": "object", "additionalProperties": {
                "type": "object",
                "description": "The numbers of one programme's policy file: point_value_cny, "
                "open_hours, feedback, reports, evidence, study (null: no 学时), caps, "
                "school_rule, forms (per form only the numbers that apply), supervision (the "
                "report's thresholds in effect) and seed: the seed's words the file's "
                "comments quote, by table or key ({ref, words})",
                "properties": {"forms": _NUMBERS, "seed": _NUMBERS}}},
            "editing": {"type": "string"},
        },
    },
}
CONSOLE_PATHS: dict[str, Any] = {
    "/supervision/reviews": {"post": {
        "summary": "已核查: mark a flag of the supervisor report reviewed, with an outcome "
        "and a note; kept with who and when (the latest is the flag's review) and "
        "audit-logged (action supervision_review)",
        "description": f"Made with the staff cookie it needs {CSRF_HEADER}. The flag's "
        "session(s) must be in the viewer's scope (else 404, as an unknown one).",
        "security": _STAFF,
        "requestBody": openapi_bodies()[0]["/supervision/reviews"],
        "responses": {
            "201": _answer("Stored", {"type": "object", "properties": {
                "key": {"type": "string"},
                "review": {"$ref": "#/components/schemas/SupervisionReview"}}}),
            "400": _answer("Not a flag key, an unknown outcome, a note too long, or an "
                           "irregular outcome without a note (field named)"),
            "401": _answer("Missing or wrong key, or not signed in"),
            "403": _answer(f"Signed in, but no or a wrong {CSRF_HEADER}"),
            "404": _answer("No such flag in the viewer's scope"),
        },
    }},
    "/webhooks": {"get": {
        "summary": "Webhook delivery: queued, delivered, and the dead letters (the last "
        "1,000, each with its event, session_id, attempts, error, created_at, failed_at). "
        "The platform and the city office's staff; a district or school is 403",
        "security": _STAFF,
        "responses": {
            "200": _answer("The state ({\"configured\": false} without --webhook-url)",
                           {"type": "object", "properties": {
                               "configured": {"type": "boolean"},
                               "queued": {"type": "integer"},
                               "delivered": {"type": "integer"},
                               "dead": {"type": "array", "items": {"type": "object"}}}}),
            "401": _answer("Missing or wrong key, or not signed in"),
            "403": _answer("Not the city"),
        },
    }},
    "/calendar": {"get": {
        "summary": "The school calendar the server computes with: terms, holidays, make-up "
        "working days. Read-only (the city office changes the --calendar file)",
        "security": _STAFF,
        "responses": {"200": _answer("The calendar", {"$ref": "#/components/schemas/Calendar"}),
                      "401": _answer("Missing or wrong key, or not signed in")},
    }},
    "/policy": {"get": {
        "summary": "Each programme's credit rules: points per hour per form, limits, caps, "
        "feedback and report text rules, evidence thresholds, with the seed's words. "
        "Read-only (the city office changes the policy files)",
        "security": _STAFF,
        "responses": {"200": _answer("The policies", {"$ref": "#/components/schemas/Policies"}),
                      "401": _answer("Missing or wrong key, or not signed in")},
    }},
}


def document_console(document: dict[str, Any]) -> None:
    """Add the paths and schemas above, and say in the report's entry that staff read it
    too and that each flag carries its key and latest review."""
    document["components"]["schemas"].update(CONSOLE_SCHEMAS)
    document["paths"].update(CONSOLE_PATHS)
    get = document["paths"]["/supervision"]["get"]
    get["security"] = _STAFF
    get["description"] = (get.get("description", "") + " Signed-in staff too: the flags of "
                          "the sessions in their scope. Each JSON flag has its key (for POST "
                          "/supervision/reviews) and review (the latest, or null).").strip()
