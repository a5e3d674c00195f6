"""Booking's doors (issue 14, item 4): the platform's REST calls (API key), the people's
REST calls (their booking pass as ``Authorization: Bearer``), the page ``/booking`` and
the lasting join link ``/booking/join/{offer}?token=…``. ``install(app)`` registers
them and the store and reminders' lifetime (one call in app.py). Documented in
:mod:`signaling.server.openapi_booking` and docs/protocol.md ("Booking").

Refusals are ``{"error": {code, message, …}}``: 400 malformed (the field named), 401
no or bad pass, 403 not theirs, 404 no such offer, 409 a rule said no (full, overlap,
cut-off…) — and nothing changed.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from functools import cache
from typing import Any
from urllib.parse import quote

from aiohttp import web

from recorder.credits.editing import policy_kind
from recorder.credits.policy import POLICY_DIR
from signaling.booking import passes
from signaling.booking.reminders import Reminders
from signaling.booking.rules import Refused, Who
from signaling.booking.service import Booking, Rules, booking_policy
from signaling.booking.store import open_bookings
from signaling.server import tokens, web_assets
from signaling.server.current_settings import CONFIGURED_CALENDAR, built_in
from signaling.server.http_util import (
    SERVICES,
    bearer,
    check_api_key,
    error,
    invalid,
    json_body,
    services,
)
from signaling.session import schema
from signaling.session.declarations import PERSON_ID, BookingPass, NewOffer
from signaling.session.schema import Invalid

log = logging.getLogger(__name__)
BOOKING = web.AppKey("booking", Booking)
REMINDERS = web.AppKey("booking_reminders", Reminders)
OFFER_ID = re.compile(r"o_[A-Za-z0-9_-]{1,40}")
PERSON = re.compile(PERSON_ID)
# A refusal's HTTP status by its code (the rest: 409, a rule said no).
STATUS = {"gone": 404, "not_yours": 403, "not_teacher": 403, "not_learner": 403,
          "not_booked": 403}
routes = web.RouteTableDef()


def _base(request: web.Request) -> str:
    return services(request).config.public_url or f"{request.scheme}://{request.host}"


def refused(exc: Refused) -> web.Response:
    log.info("booking refused: %s", exc.code)
    return web.json_response({"error": {"code": exc.code, "message": exc.message,
                                        **exc.detail}}, status=STATUS.get(exc.code, 409))


def _pass(request: web.Request, token: object = None) -> passes.Pass | web.Response:
    try:
        return request.app[BOOKING].verify(token if token is not None else bearer(request))
    except tokens.TokenError as exc:
        log.info("refused %s %s: %s", request.method, request.path, exc.code)
        return error(401, exc.code, exc.message)


def _offer_id(request: web.Request) -> str | web.Response:
    value = request.match_info["id"]
    if not OFFER_ID.fullmatch(value):
        return error(400, "invalid", "not an offer id (o_…)", "offer")
    return value


def _teacher_param(request: web.Request) -> str | web.Response | None:
    value = request.query.get("teacher")
    if value is None or value == "":
        return None
    if not PERSON.fullmatch(value):
        return error(400, "invalid", "must be a person id", "teacher")
    return value


# -- the platform (API key)


@routes.post("/api/v1/bookings/passes")
async def create_pass(request: web.Request) -> web.Response:
    if (denied := check_api_key(request)) is not None:
        return denied
    try:
        new = schema.decode(BookingPass, await json_body(request))  # REST_BODIES
    except Invalid as exc:
        return invalid(exc)
    person = new.person
    who = Who(person.id, person.name, person.school or "", person.district or "",
              person.school_id or "", person.district_code or "")
    token, p = request.app[BOOKING].mint(new.kind, who, new.valid_hours)
    return web.json_response({"token": token, "url": f"{_base(request)}/booking?token={token}",
                              "expires_at": p.expires_at}, status=201)


@routes.get("/api/v1/bookings")
async def list_all(request: web.Request) -> web.Response:
    if (denied := check_api_key(request)) is not None:
        return denied
    raw = request.query.get("limit", "100")
    if not raw.isdigit() or not 0 < int(raw) <= 500:
        return error(400, "invalid", "must be a whole number from 1 to 500", "limit")
    teacher = _teacher_param(request)
    if isinstance(teacher, web.Response):
        return teacher
    offers = await request.app[BOOKING].recent(int(raw), teacher)
    return web.json_response({"offers": offers})


# -- people (their pass)


@routes.get("/api/v1/bookings/me")
async def me(request: web.Request) -> web.Response:
    p = _pass(request)
    if isinstance(p, web.Response):
        return p
    return web.json_response(await request.app[BOOKING].me(p))


@routes.get("/api/v1/bookings/open")
async def bookable(request: web.Request) -> web.Response:
    p = _pass(request)
    if isinstance(p, web.Response):
        return p
    teacher = _teacher_param(request)
    if isinstance(teacher, web.Response):
        return teacher
    return web.json_response({"offers": await request.app[BOOKING].bookable(p, teacher)})


@routes.post("/api/v1/bookings/offers")
async def publish(request: web.Request) -> web.Response:
    try:  # the body first: whoever sends it learns nothing from a 400
        new = schema.decode(NewOffer, await json_body(request))  # REST_BODIES
    except Invalid as exc:
        return invalid(exc)
    p = _pass(request)
    if isinstance(p, web.Response):
        return p
    booking = request.app[BOOKING]
    try:
        offer = await booking.publish(p, new, _base(request))
    except Refused as exc:
        return refused(exc)
    return web.json_response({"offer": booking.wire(offer, [], booking.rules(), viewer=p)},
                             status=201)


@routes.post("/api/v1/bookings/offers/{id}/book")
async def book(request: web.Request) -> web.Response:
    return await _act(request, "book")


@routes.post("/api/v1/bookings/offers/{id}/cancel")
async def cancel(request: web.Request) -> web.Response:
    return await _act(request, "cancel")


async def _act(request: web.Request, what: str) -> web.Response:
    offer_id = _offer_id(request)
    if isinstance(offer_id, web.Response):
        return offer_id
    p = _pass(request)
    if isinstance(p, web.Response):
        return p
    booking = request.app[BOOKING]
    extra: dict[str, Any] = {}
    try:
        if what == "book":
            extra["booking"] = (await booking.book(p, offer_id))[1].id
        else:
            await booking.cancel(p, offer_id)
    except Refused as exc:
        return refused(exc)
    found = await booking.store.offer(offer_id)
    assert found is not None
    offer, seats = found
    body = {"offer": booking.wire(offer, seats, booking.rules(), viewer=p), **extra}
    return web.json_response(body, status=201 if what == "book" else 200)


# -- pages


@routes.get("/booking")
async def booking_page(request: web.Request) -> web.StreamResponse:
    return web_assets.page(request, "booking.html")


@routes.get("/booking/join/{id}")
async def join(request: web.Request) -> web.StreamResponse:
    """The lasting join link: the booked session's own join link (made now if this is
    the first), or back to the booking page saying why not yet."""
    token = request.query.get("token", "")
    offer_id = _offer_id(request)
    if isinstance(offer_id, web.Response):
        return offer_id
    p = _pass(request, token)
    if isinstance(p, web.Response):
        return p
    try:
        url = await request.app[BOOKING].join(p, offer_id, _base(request))
    except Refused as exc:
        log.info("booking join %s refused: %s", offer_id, exc.code)
        url = (f"/booking?token={quote(token)}&offer={offer_id}&refused={exc.code}")
    raise web.HTTPSeeOther(url, headers={"Cache-Control": "no-store",
                                         "Referrer-Policy": "no-referrer"})


# -- wiring


@cache
def _shipped_training() -> str:
    return (POLICY_DIR / "training.toml").read_text(encoding="utf-8")


def _rules(app: web.Application) -> Rules:
    """The calendar and training policy in effect (the settings accessor's sources)."""
    current = app[SERVICES].settings
    if current is not None:
        document = current.in_effect(policy_kind("training")).document
        return Rules(current.calendar, current.policy("training"), booking_policy(document))
    return Rules(app[CONFIGURED_CALENDAR], built_in("training"),
                 booking_policy(_shipped_training()))


def install(app: web.Application) -> None:
    app.add_routes(routes)

    async def resources(app: web.Application) -> AsyncIterator[None]:
        svc = app[SERVICES]
        store = open_bookings(svc.config.database_url, svc.config.data_dir)
        await store.open()
        booking = Booking(svc, store, lambda: _rules(app))
        reminders = Reminders(booking)
        app[BOOKING], app[REMINDERS] = booking, reminders
        reminders.start()
        yield
        await reminders.stop()
        await store.close()

    app.cleanup_ctx.append(resources)
