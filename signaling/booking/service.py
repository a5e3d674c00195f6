"""Booking's I/O around the pure rules: publishing, booking, cancelling, opening the
booked room, and what the pages and the platform are told.

The session of an offer is made *lazily*, when the first person opens its join link
from ``join_early_minutes`` before the start: the offer's row is claimed with a new
session id first (the claim closes enrolment atomically, :meth:`BookingStore.
claim_session`), then the session is stored under that id through the session store
``POST /api/v1/sessions`` uses, with the teacher and everyone booked, so it is
journaled, recorded and paid like any other. Two people opening it at once, on one
node or two, get the same session: the claim has one winner and storing the session
is repeated harmlessly.
"""

from __future__ import annotations

import logging
import secrets
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from recorder.credits.calendar import Calendar
from recorder.credits.policy import Policy
from signaling.booking import passes, rules
from signaling.booking.rules import BookingPolicy, Offer, Refused, Seat, Who
from signaling.booking.store import BookingStore
from signaling.server.services import Services
from signaling.session.declarations import NewOffer
from signaling.session.spec import parse_new_session
from signaling.session.timefmt import iso_at

log = logging.getLogger(__name__)
LIST_LIMIT = 200  # offers on one page or answer; the policy bounds what exists
DAYS_SHOWN = 14  # days of open hours the teacher's page offers to choose from
TITLES = {"one_to_one": "一对一实时研修", "lecture": "名师直播讲堂", "review": "开放式检课"}
PASS_AFTER_END_S = 86400  # a reminder's pass stays valid a day after the end


@lru_cache(maxsize=8)
def booking_policy(document: str) -> BookingPolicy:
    """The ``[booking]`` table of a training policy document; its defaults (and the
    log says why) if the table is malformed: an edit in the console can reach it
    without the credits parser knowing the table."""
    try:
        return rules.parse_policy(tomllib.loads(document).get("booking"))
    except (rules.PolicyProblem, tomllib.TOMLDecodeError, TypeError) as exc:
        log.error("booking policy: %s; using the defaults", exc)
        return BookingPolicy()


@dataclass(frozen=True)
class Rules:
    calendar: Calendar
    training: Policy
    booking: BookingPolicy

    def lengths(self) -> dict[str, tuple[int, int]]:
        def limits(form: str, lo: int, hi: int) -> tuple[int, int]:
            found = self.training.forms.get(form)
            if found is None:
                return lo, hi
            return (found.limits.min_minutes or lo, found.limits.max_minutes or hi)

        # A review's minimum is its discussion's (forms.review.discussion_min_minutes).
        review_min = limits("review", 45, 45)[0]
        return {"one_to_one": limits("one_to_one", 10, 60),
                "lecture": limits("lecture", 60, 90),
                "review": (review_min, max(review_min, self.booking.review_max_minutes))}

    def windows(self, start_us: int, end_us: int) -> tuple[tuple[int, int], ...]:
        return tuple(self.calendar.open_intervals(self.training.open_hours, start_us, end_us))


class Booking:
    def __init__(self, svc: Services, store: BookingStore, rules_now: Callable[[], Rules]) -> None:
        self.svc, self.store, self.rules = svc, store, rules_now

    def now(self) -> float:
        return self.svc.clock.time()

    def verify(self, token: object) -> passes.Pass:
        return passes.verify(self.svc.config.secret, token, now=self.now())

    def mint(self, kind: str, who: Who, hours: int) -> tuple[str, passes.Pass]:
        now = int(self.now())
        p = passes.Pass(kind, who, now, now + hours * 3600)
        return passes.issue(self.svc.config.secret, p), p

    # -- teachers

    async def publish(self, p: passes.Pass, new: NewOffer, base: str) -> Offer:
        if not p.teacher:
            raise Refused("not_teacher", "only a teacher's pass publishes")
        r, now = self.rules(), self.now()
        wanted = rules.NewOffer(new.form, int(new.start.timestamp()), new.minutes,
                                new.title or "", new.capacity)

        def make(theirs: list[Offer]) -> Offer:
            capacity = rules.check_publish(wanted, now=now, policy=r.booking,
                                           lengths=r.lengths(), windows=r.windows,
                                           theirs=theirs)
            title = wanted.title or f"{TITLES[wanted.form]} · {p.who.name}"
            return Offer("o_" + secrets.token_urlsafe(9), wanted.form, p.who, title,
                         wanted.start, wanted.minutes, capacity, int(now), base_url=base)

        return await self.store.publish(p.who.id, int(now), make)

    # -- learners

    async def book(self, p: passes.Pass, offer_id: str) -> tuple[Offer, Seat]:
        if p.teacher:
            raise Refused("not_learner", "a teacher's pass does not book")
        r, now = self.rules(), self.now()

        def make(got: rules.Booked) -> Seat:
            offer = rules.check_book(p.who.id, got, now=now, policy=r.booking)
            return Seat("b_" + secrets.token_urlsafe(9), offer.id, p.who, int(now))

        offer, seat = await self.store.book(offer_id, p.who.id, int(now), make)
        self._hook("booking.created", offer, {"booking": seat.id,
                                              "learner": _person(seat.learner)})
        return offer, seat

    # -- either

    async def cancel(self, p: passes.Pass, offer_id: str) -> Offer:
        r, now = self.rules(), self.now()

        def check(offer: Offer | None, booked: int) -> Offer:
            return rules.check_cancel(offer, now=now, policy=r.booking, booked=booked)

        if p.teacher:
            offer, seats = await self.store.cancel_offer(offer_id, p.who.id, int(now), check)
            for seat in seats:
                self._hook("booking.cancelled", offer, {
                    "booking": seat.id, "learner": _person(seat.learner), "by": "teacher"})
            return offer
        offer, seat = await self.store.cancel_seat(offer_id, p.who.id, int(now), check)
        self._hook("booking.cancelled", offer, {
            "booking": seat.id, "learner": _person(seat.learner), "by": "learner"})
        return offer

    async def join(self, p: passes.Pass, offer_id: str, base: str) -> str:
        """The person's join link of the offer's session, made now if it is the first."""
        r, now = self.rules(), self.now()
        found = await self.store.offer(offer_id)
        offer, seats = found if found is not None else (None, [])
        rules.check_join(offer, p.who.id, seats, now=now, policy=r.booking)
        assert offer is not None
        if offer.session_id is None:
            claimed = await self.store.claim_session(offer.id, "s_" + secrets.token_urlsafe(12))
            if claimed is None or claimed.session_id is None:
                raise Refused("gone", "no such offer (or it was cancelled)")
            offer = claimed
            seats = (await self.store.offer(offer.id) or (offer, []))[1]
        session_id = offer.session_id
        assert session_id is not None
        stored = await self.svc.store.session(session_id)
        if stored is None:
            spec = parse_new_session(self._session_body(offer, seats))
            try:
                await self.svc.store.create_session(session_id, spec, iso_at(now))
            except Exception:  # another node or request stored it first
                if await self.svc.store.session(session_id) is None:
                    raise
            stored = await self.svc.store.session(session_id)
        assert stored is not None
        if stored.spec.person(p.who.id) is None:
            raise Refused("not_booked", "you are not in this session")
        token = self.svc.join_token(session_id, stored.spec, p.who.id)
        return f"{base}/join?token={token}"

    def _session_body(self, offer: Offer, seats: list[Seat]) -> dict[str, Any]:
        teacher = _session_person(offer.teacher, "instructor")
        learners = [_session_person(s.learner, "learner") for s in seats]
        return {"programme": "training", "form": offer.form, "title": offer.title,
                "scheduled_start": _iso(offer.start), "scheduled_end": _iso(offer.end),
                "people": [teacher, *learners]}

    # -- what the pages see

    async def me(self, p: passes.Pass) -> dict[str, Any]:
        r, now = self.rules(), self.now()
        since = int(now) - 6 * 3600  # what ended in the last hours stays listed
        if p.teacher:
            rows = await self.store.of_teacher(p.who.id, since, LIST_LIMIT)
        else:
            rows = await self.store.of_learner(p.who.id, since, LIST_LIMIT)
        return {
            "me": {"id": p.who.id, "name": p.who.name, "school": p.who.school,
                   "district": p.who.district, "kind": p.kind},
            "now": now, "timezone": str(r.calendar.timezone),
            "policy": {**r.booking.__dict__,
                       "lengths": {k: list(v) for k, v in r.lengths().items()}},
            "days": self.days(r, now) if p.teacher else [],
            "mine": [self.wire(o, s, r, viewer=p) for o, s in rows],
        }

    async def bookable(self, p: passes.Pass, teacher: str | None) -> list[dict[str, Any]]:
        r = self.rules()
        rows = await self.store.bookable(int(self.now()), teacher, LIST_LIMIT)
        return [self.wire(o, s, r, viewer=p) for o, s in rows]

    async def recent(self, limit: int, teacher: str | None) -> list[dict[str, Any]]:
        r = self.rules()
        return [self.wire(o, s, r, viewer=None) for o, s in
                await self.store.recent(limit, teacher)]

    def days(self, r: Rules, now: float) -> list[dict[str, Any]]:
        """The open-hours windows of the coming days, for the teacher's choices."""
        out = []
        today = r.calendar.local_date(int(now * 1_000_000))
        for i in range(min(DAYS_SHOWN, r.booking.book_ahead_days)):
            day = today + timedelta(days=i)
            windows = []
            for a, b in r.calendar.windows_on(r.training.open_hours, day):
                if b // 1_000_000 <= now:
                    continue
                windows.append({"start": a // 1_000_000, "end": b // 1_000_000,
                                "from": self._hhmm(r, a), "to": self._hhmm(r, b)})
            if windows:
                out.append({"date": day.isoformat(), "weekday": day.weekday(),
                            "windows": windows})
        return out

    @staticmethod
    def _hhmm(r: Rules, us: int) -> str:
        return r.calendar.local_datetime(us).strftime("%H:%M")

    def wire(self, o: Offer, seats: list[Seat], r: Rules,
             viewer: passes.Pass | None) -> dict[str, Any]:
        local = r.calendar.local_datetime(o.start * 1_000_000)
        local_end = r.calendar.local_datetime(o.end * 1_000_000)
        out: dict[str, Any] = {
            "id": o.id, "form": o.form, "title": o.title, "state": o.state,
            "start": _iso(o.start), "end": _iso(o.end), "start_s": o.start,
            "minutes": o.minutes, "capacity": o.capacity, "booked": len(seats),
            "date": local.date().isoformat(), "weekday": local.weekday(),
            "time": local.strftime("%H:%M"), "end_time": local_end.strftime("%H:%M"),
            "teacher": _person(o.teacher), "session_id": o.session_id,
            "join_opens_s": rules.join_opens_at(o, r.booking),
            "cancel_until_s": o.start - (r.booking.cancel_cutoff_minutes * 60 if seats else 0),
        }
        if viewer is None or (viewer.teacher and viewer.who.id == o.teacher.id):
            out["seats"] = [{"id": s.id, "learner": _person(s.learner),
                             "booked_at": iso_at(s.booked_at)} for s in seats]
        if viewer is not None:
            mine = viewer.who.id == o.teacher.id or any(
                s.learner.id == viewer.who.id for s in seats)
            out["mine"] = mine
        return out

    def join_link(self, offer: Offer, who: Who, kind: str, base: str) -> str:
        """A person's lasting link to the offer's room (the reminders carry it): their
        pass, valid until a day after the end."""
        now = int(self.now())
        hours = max(1, (offer.end + PASS_AFTER_END_S - now) // 3600 + 1)
        token, _ = self.mint(kind, who, hours)
        return f"{base}/booking/join/{offer.id}?token={token}"

    def _hook(self, event: str, offer: Offer, data: dict[str, Any]) -> None:
        hooks = self.svc.webhooks
        if hooks is not None:
            hooks.send(event, offer.session_id or "", {**offer_brief(offer), **data})


def offer_brief(offer: Offer) -> dict[str, Any]:
    """What every booking webhook says of its offer."""
    return {"offer": offer.id, "form": offer.form, "title": offer.title,
            "starts_at": _iso(offer.start), "minutes": offer.minutes,
            "teacher": _person(offer.teacher)}


def _person(w: Who) -> dict[str, str]:
    return {"id": w.id, "name": w.name, "school": w.school, "district": w.district}


def _session_person(w: Who, role: str) -> dict[str, str]:
    out = {"id": w.id, "name": w.name, "role": role}
    for key in ("school", "district", "school_id", "district_code"):
        if value := getattr(w, key):
            out[key] = value
    return out


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


