"""The OpenAPI description of booking's REST calls (issue 14, item 4;
:mod:`signaling.booking.api`), merged into ``/api/v1/openapi.json`` by
:mod:`signaling.server.openapi`. The webhook events are in docs/webhooks.md, the
pages' flow in docs/protocol.md ("Booking")."""

from __future__ import annotations

from typing import Any

from signaling.session.declarations import openapi_bodies

_ERROR = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_UNAUTHORIZED = {"401": {"description": "Missing or wrong API key", **_ERROR}}
_NO_PASS = {"401": {"description": "No booking pass, or a bad or expired one "
                    "(Authorization: Bearer <pass>)", **_ERROR}}
_PERSON = {"type": "object", "properties": {
    "id": {"type": "string"}, "name": {"type": "string"}, "school": {"type": "string"},
    "district": {"type": "string"}}}
OFFER = {
    "type": "object",
    "description": "A one-to-one slot, lecture or review. Local date and times are the "
    "calendar's (its timezone).",
    "properties": {
        "id": {"type": "string", "pattern": "^o_"},
        "form": {"type": "string", "enum": ["one_to_one", "lecture", "review"]},
        "title": {"type": "string"},
        "state": {"type": "string", "enum": ["open", "cancelled"]},
        "start": {"type": "string", "format": "date-time"},
        "end": {"type": "string", "format": "date-time"},
        "start_s": {"type": "integer", "description": "epoch seconds"},
        "minutes": {"type": "integer"},
        "capacity": {"type": "integer", "description": "1 for a slot or a review"},
        "booked": {"type": "integer"},
        "date": {"type": "string", "format": "date"},
        "weekday": {"type": "integer", "minimum": 0, "maximum": 6, "description": "0 Monday"},
        "time": {"type": "string", "description": "HH:MM"},
        "end_time": {"type": "string", "description": "HH:MM"},
        "teacher": _PERSON,
        "session_id": {"type": ["string", "null"], "description": "set once the room was "
                       "opened (the first join): enrolment is closed then"},
        "join_opens_s": {"type": "integer", "description": "from when the join link opens "
                         "the room (join_early_minutes before the start)"},
        "cancel_until_s": {"type": "integer", "description": "cancelling closes then "
                           "(cancel_cutoff_minutes before the start when someone booked)"},
        "seats": {"type": "array", "description": "for its teacher and the platform only",
                  "items": {"type": "object", "properties": {
                      "id": {"type": "string"}, "learner": _PERSON,
                      "booked_at": {"type": "string", "format": "date-time"}}}},
        "mine": {"type": "boolean", "description": "the pass's holder teaches or booked it"},
    },
}
_REFUSED = {"description": "A rule said no, nothing changed: code in_past, too_far, length "
            "(min, max), closed (outside the open hours), capacity, overlap (offer), too_many "
            "(max), started, opened, already, full (capacity), same_person, cutoff (minutes, "
            "closed_at)", **_ERROR}
_OFFER_ID = {"name": "id", "in": "path", "required": True,
             "schema": {"type": "string", "pattern": "^o_[A-Za-z0-9_-]{1,40}$"}}


def _ok(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ONE = {"type": "object", "properties": {
    "offer": {"$ref": "#/components/schemas/BookingOffer"},
    "booking": {"type": "string", "description": "the seat's id (booking only)"}}}
_MANY = {"type": "object", "properties": {
    "offers": {"type": "array", "items": {"$ref": "#/components/schemas/BookingOffer"}}}}


def document_booking(document: dict[str, Any]) -> None:
    paths = document["paths"]
    bodies = openapi_bodies()[0]
    document["components"]["schemas"]["BookingOffer"] = OFFER
    paths["/bookings/passes"] = {"post": {
        "summary": "Mint a teacher's or a learner's booking pass and its link "
        "(/booking?token=…)",
        "requestBody": bodies["/bookings/passes"],
        "responses": {
            "201": _ok("The pass", {"type": "object", "properties": {
                "token": {"type": "string"}, "url": {"type": "string"},
                "expires_at": {"type": "integer", "description": "epoch seconds"}}}),
            "400": {"description": "Malformed body (the field named)", **_ERROR},
            **_UNAUTHORIZED,
        },
    }}
    paths["/bookings"] = {"get": {
        "summary": "Offers, latest start first, with their seats (the platform's view)",
        "parameters": [
            {"name": "limit", "in": "query", "required": False,
             "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 100}},
            {"name": "teacher", "in": "query", "required": False, "schema": {"type": "string"}}],
        "responses": {"200": _ok("Offers", _MANY),
                      "400": {"description": "A bad limit or teacher", **_ERROR},
                      **_UNAUTHORIZED},
    }}
    paths["/bookings/me"] = {"get": {
        "summary": "The pass holder: who, the policy's numbers, the open-hours windows of "
        "the coming days (teachers), and their own offers or bookings (pass)",
        "responses": {"200": _ok("Me", {"type": "object", "properties": {
            "me": {"type": "object"}, "now": {"type": "number"},
            "timezone": {"type": "string"}, "policy": {"type": "object"},
            "days": {"type": "array", "items": {"type": "object"}},
            "mine": {"type": "array",
                     "items": {"$ref": "#/components/schemas/BookingOffer"}}}}), **_NO_PASS},
    }}
    paths["/bookings/open"] = {"get": {
        "summary": "Offers a learner may still book (a place free, not started), soonest "
        "first; one teacher's with ?teacher= (pass)",
        "parameters": [{"name": "teacher", "in": "query", "required": False,
                        "schema": {"type": "string"}}],
        "responses": {"200": _ok("Bookable offers", _MANY),
                      "400": {"description": "A bad teacher id", **_ERROR}, **_NO_PASS},
    }}
    paths["/bookings/offers"] = {"post": {
        "summary": "A teacher publishes a one-to-one slot or schedules a lecture or a "
        "review (teacher's pass)",
        "requestBody": bodies["/bookings/offers"],
        "responses": {"201": _ok("Published", _ONE),
                      "400": {"description": "Malformed body (the field named)", **_ERROR},
                      "403": {"description": "Not a teacher's pass", **_ERROR},
                      "409": _REFUSED, **_NO_PASS},
    }}
    paths["/bookings/offers/{id}/book"] = {"post": {
        "summary": "A learner books the slot or enrols (learner's pass); exactly one of "
        "several at once gets the last place",
        "parameters": [_OFFER_ID],
        "responses": {"201": _ok("Booked", _ONE),
                      "400": {"description": "Not an offer id", **_ERROR},
                      "403": {"description": "Not a learner's pass", **_ERROR},
                      "404": {"description": "No such offer, or cancelled", **_ERROR},
                      "409": _REFUSED, **_NO_PASS},
    }}
    paths["/bookings/offers/{id}/cancel"] = {"post": {
        "summary": "Cancel: its teacher withdraws the offer (every booking with it), a "
        "learner their booking; until the cut-off",
        "parameters": [_OFFER_ID],
        "responses": {"200": _ok("Cancelled", _ONE),
                      "400": {"description": "Not an offer id", **_ERROR},
                      "403": {"description": "Not theirs", **_ERROR},
                      "404": {"description": "No such offer, or cancelled", **_ERROR},
                      "409": _REFUSED, **_NO_PASS},
    }}
