"""The supervisor report over REST (issue 9, item 7): ``GET /api/v1/supervision``.

``?from=YYYY-MM-DD&to=YYYY-MM-DD[&format=json|csv]``: the sessions that started (or,
never started, were scheduled) on those local dates of the calendar's zone, each
session's record (``GET /sessions/{id}/record``) and per-minute evidence rows, run
through :func:`recorder.credits.supervision.supervise` with the built-in policies.
For the programme office only (the platform API key); a join token is refused with 403.

The range is at most :data:`MAX_DAYS` days and :data:`MAX_SESSIONS` sessions, so one
request cannot make the server read a year of journals; ``opentutor supervise`` on the
server has no such bound. Dates are checked before anything is read: 400, never 500.

:func:`gather` (the records and rows of a date range) is shared with the CLI.

Issue 16: signed-in staff read the flags of their scope; each flag carries its ``key``
and latest ``review``, and ``POST /api/v1/supervision/reviews`` marks one 已核查 with an
outcome and a note (:mod:`signaling.admin.reviews`), audit-logged.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any

from aiohttp import web

from recorder.credits.calendar import Calendar
from recorder.credits.policy import BUILT_IN, Policy, load_policy
from recorder.credits.records import RecordError
from recorder.credits.supervision import (
    KINDS,
    SupervisionError,
    flags_csv,
    report_json,
    rules_of,
    supervise,
)
from recorder.credits.texts import visible
from signaling.admin.base import iso_ms
from signaling.admin.reviews import (
    Review,
    ReviewStore,
    flag_key,
    key_kind,
    key_sessions,
    open_reviews,
)
from signaling.admin.scope import Scope
from signaling.server import tokens
from signaling.server.access import audit, instructors, viewer
from signaling.server.current_settings import calendar_of, policies_of
from signaling.server.http_util import (
    SERVICES,
    bearer,
    check_api_key,
    error,
    invalid,
    json_body,
    services,
)
from signaling.server.services import Services
from signaling.server.session_record import evidence_json, session_record
from signaling.session import declarations as d
from signaling.session import schema
from signaling.session.schema import Invalid

routes = web.RouteTableDef()
REVIEWS = web.AppKey("supervision_reviews", ReviewStore)
MAX_NOTE_VISIBLE = 2000  # "备注": a paragraph or two, as a supervisor writes one
MAX_NOTE_CODE_POINTS = d.MAX_REVIEW_NOTE  # invisible padding cannot make a note unbounded
MAX_DAYS = 93  # a school term is about 20 weeks; a quarter is the longest one request reads
MAX_SESSIONS = 20_000
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def operator_only(request: web.Request) -> web.Response | None:
    """``None`` for the platform API key; 403 for a valid join token (a participant is
    known, and not allowed); 401 for anything else."""
    denied = check_api_key(request)
    if denied is None:
        return None
    given = bearer(request)
    if given:
        svc = services(request)
        try:
            tokens.verify(svc.config.secret, given, now=svc.clock.time())
        except tokens.TokenError:
            return denied
        return error(403, "forbidden", "this is for the programme office (the platform API "
                     "key), not for participants")
    return denied


def parse_date(text: str | None, name: str) -> date:
    """A ``YYYY-MM-DD`` calendar date, or :class:`ValueError` with words for a 400."""
    if text is None or not text:
        raise ValueError(f"{name} is required (YYYY-MM-DD)")
    if not _DATE.fullmatch(text):
        raise ValueError(f"{name} must be a date like 2022-03-07, got {text!r}")
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"{name} is not a date: {text!r} ({exc})") from exc


def parse_window(query: Mapping[str, str], *, max_days: int | None) -> tuple[date, date]:
    """``from`` and ``to`` (inclusive), checked: ``from`` ≤ ``to``, at most ``max_days``."""
    first = parse_date(query.get("from"), "from")
    last = parse_date(query.get("to"), "to")
    if last < first:
        raise ValueError(f"to ({last}) is before from ({first})")
    days = (last - first).days + 1
    if max_days is not None and days > max_days:
        raise ValueError(f"the range is {days} days; at most {max_days} in one request")
    return first, last


def utc_bounds(calendar: Calendar, first: date, last: date) -> tuple[str, str]:
    """The window's local midnights as the store's UTC text (``…T16:00:00.000Z``): the
    ``.000`` makes both of its spellings (with and without milliseconds) compare right."""
    def iso(day: date) -> str:
        local = datetime.combine(day, time(), tzinfo=calendar.timezone)
        return local.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")

    return iso(first), iso(last + timedelta(days=1))


async def gather(
    svc: Services, calendar: Calendar, first: date, last: date, *, limit: int | None = None,
    scope: Scope | None = None,
) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, object]]]]:
    """The records and per-minute evidence rows of the sessions of ``[first, last]``
    (those ``scope`` holds: a district office sees its district's sessions flagged).
    More than ``limit`` sessions raises :class:`OverflowError` (nothing is read)."""
    ids = await svc.store.session_ids_between(*utc_bounds(calendar, first, last))
    if limit is not None and len(ids) > limit:
        raise OverflowError(len(ids))
    records: list[dict[str, Any]] = []
    evidence: dict[str, list[dict[str, object]]] = {}
    for session_id in ids:
        session = await svc.store.session(session_id)
        if session is None or (scope is not None and not scope.sees_session(instructors(session))):
            continue
        records.append(await session_record(svc, session))
        rows = evidence_json(svc, session)
        if rows:
            evidence[session_id] = rows
    return records, evidence


@cache
def built_in_policy(programme: str) -> Policy:
    """A built-in policy file, read once: what ``opentutor supervise`` computes with
    offline (the server computes with the versions in effect: current_settings)."""
    return load_policy(programme)


def built_in_policies() -> dict[str, Policy]:
    return {name: built_in_policy(name) for name in BUILT_IN}



async def staff_or_operator(request: web.Request) -> Scope | web.Response:
    """The platform or signed-in staff (their scope); a participant's join token is
    refused 403 as by :func:`operator_only`, anything else 401."""
    scope = await viewer(request)
    if isinstance(scope, web.Response) and scope.status == 401:
        return operator_only(request) or scope
    return scope  # a scope, or a signed-in POST's 403 for a missing CSRF token


@routes.get("/api/v1/supervision")
async def supervision(request: web.Request) -> web.Response:
    scope = await staff_or_operator(request)
    if isinstance(scope, web.Response):
        return scope
    try:
        first, last = parse_window(request.query, max_days=MAX_DAYS)
    except ValueError as exc:
        field = "to" if str(exc).startswith(("to", "the range")) else "from"
        return error(400, "invalid", str(exc), field)
    fmt = request.query.get("format", "json")
    if fmt not in ("json", "csv"):
        return error(400, "invalid", f"format must be json or csv, got {fmt!r}", "format")
    svc = services(request)
    calendar = calendar_of(request)
    try:
        records, evidence = await gather(svc, calendar, first, last, limit=MAX_SESSIONS,
                                         scope=scope)
    except OverflowError as exc:
        return error(400, "too_many", f"{exc.args[0]} sessions in the range, at most "
                     f"{MAX_SESSIONS}: ask for a shorter range, or run `opentutor supervise` "
                     "on the server", "to")
    policies = policies_of(request)
    try:
        rules = {name: rules_of(policy) for name, policy in policies.items()}
        flags = await asyncio.to_thread(
            supervise, records, evidence, policies=policies, calendar=calendar,
            rules=rules, window=(first, last),
        )
    except (RecordError, SupervisionError) as exc:
        return error(422, "uncomputable", str(exc))
    if fmt == "csv":
        return web.Response(
            text=flags_csv(flags), content_type="text/csv", charset="utf-8",
            headers={"Content-Disposition":
                     f'attachment; filename="supervision-{first}-{last}.csv"'},
        )
    report = report_json(flags, sessions=len(records), rules=rules, window=(first, last))
    await _with_reviews(request, report["flags"])
    return web.json_response(report)


def install(app: web.Application) -> None:
    """The routes, and the reviews' store opened after the app's resources (its cleanup
    context runs after theirs, so the config is there) and closed before them."""
    app.add_routes(routes)
    app.cleanup_ctx.append(_reviews)


async def _reviews(app: web.Application) -> AsyncIterator[None]:
    config = app[SERVICES].config
    store = open_reviews(config.database_url, config.data_dir)
    await store.open()
    app[REVIEWS] = store
    yield
    await store.close()


async def _with_reviews(request: web.Request, flags: list[dict[str, Any]]) -> None:
    """Each flag gains its ``key`` and its latest ``review`` (``null``: not reviewed)."""
    store = request.app.get(REVIEWS)
    keys = [flag_key(f) for f in flags]
    latest = await store.latest(keys) if store is not None else {}
    for flag, key in zip(flags, keys, strict=True):
        review = latest.get(key)
        flag["key"] = key
        flag["review"] = review.wire() if review is not None else None


@routes.post("/api/v1/supervision/reviews")
async def add_review(request: web.Request) -> web.Response:
    """已核查: ``{"key", "outcome": "ok"|"irregular", "note"}`` for a flag of a session in
    the viewer's scope (404 otherwise, as for one that does not exist); audit-logged."""
    scope = await staff_or_operator(request)
    if isinstance(scope, web.Response):
        return scope
    try:
        body = schema.decode(d.ReviewBody, await json_body(request))
    except Invalid as exc:
        return invalid(exc)
    key, outcome, note = body.key, body.outcome, body.note
    if not key_sessions(key) or key_kind(key) not in KINDS:
        return error(400, "invalid", "key must be the key of a flag, as GET "
                     "/api/v1/supervision gives it", "key")
    shown = len(visible(note))
    if shown > MAX_NOTE_VISIBLE or len(note) > MAX_NOTE_CODE_POINTS:
        return error(400, "invalid", f"note has {shown} visible characters ({len(note)} in "
                     f"all); at most {MAX_NOTE_VISIBLE} ({MAX_NOTE_CODE_POINTS})", "note")
    if outcome == "irregular" and shown == 0:
        # An irregularity confirmed is followed up with the teacher (三.3 "及时提醒并要求
        # 改正"): the note says what was found.
        return error(400, "invalid", "an irregular outcome needs a note saying what was found",
                     "note")
    svc = services(request)
    sessions = key_sessions(key)
    for session_id in sessions:
        session = await svc.store.session(session_id)
        if session is None or not scope.sees_session(instructors(session)):
            return error(404, "not_found", "no such flag")
    review = Review(key, sessions[0], scope.who, iso_ms(svc.clock.time()), outcome, note)
    await request.app[REVIEWS].add(review)
    await audit(request, scope, "supervision_review", key,
                {"outcome": outcome, "session_id": sessions[0], "note_chars": shown})
    return web.json_response({"key": key, "review": review.wire()}, status=201)
