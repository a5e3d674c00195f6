"""Offers, seats and the reminders sent, stored (component ``booking``): SQLite in the
data directory (``booking.sqlite``) or the PostgreSQL database of ``--database-url``,
behind one interface, with versioned migrations run at start.

The logic is written once, synchronously, against one connection in one transaction
(:class:`_Tx`): SQLite runs it on its own thread (one writer: ``BEGIN IMMEDIATE``
serialises every booking), PostgreSQL on a worker thread with a connection of a small
pool, the offer's row locked first (``SELECT … FOR UPDATE``), so two learners booking
the last seat at once are served one after the other and exactly one wins, on one node
or several. The rules themselves are :mod:`signaling.booking.rules`, called inside
the transaction with the rows it read: a refusal changes nothing.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, Protocol, TypeVar

from recorder.database import Step, is_postgres_url
from recorder.sqlite_thread import SqliteThread
from signaling.booking.rules import Booked, Offer, Refused, Seat, Who

COMPONENT = "booking"
SQLITE_FILE = "booking.sqlite"
T = TypeVar("T")

_SCHEMA = """
CREATE TABLE booking_offers (
    id TEXT PRIMARY KEY, form TEXT NOT NULL, teacher_id TEXT NOT NULL, teacher TEXT NOT NULL,
    title TEXT NOT NULL, start_s BIGINT NOT NULL, minutes INTEGER NOT NULL,
    capacity INTEGER NOT NULL, created_at BIGINT NOT NULL, state TEXT NOT NULL,
    session_id TEXT, base_url TEXT NOT NULL, cancelled_at BIGINT
);
CREATE INDEX booking_offers_by_teacher ON booking_offers(teacher_id, start_s);
CREATE INDEX booking_offers_by_start ON booking_offers(start_s);
CREATE TABLE booking_seats (
    id TEXT PRIMARY KEY, offer_id TEXT NOT NULL REFERENCES booking_offers(id),
    learner_id TEXT NOT NULL, learner TEXT NOT NULL, booked_at BIGINT NOT NULL,
    state TEXT NOT NULL, cancelled_at BIGINT, cancelled_by TEXT NOT NULL
);
CREATE INDEX booking_seats_by_offer ON booking_seats(offer_id);
CREATE INDEX booking_seats_by_learner ON booking_seats(learner_id);
CREATE UNIQUE INDEX booking_seats_one_each ON booking_seats(offer_id, learner_id)
    WHERE state = 'booked';
CREATE TABLE booking_reminders (
    offer_id TEXT NOT NULL, person_id TEXT NOT NULL, sent_at BIGINT NOT NULL,
    PRIMARY KEY (offer_id, person_id)
)
"""
SQLITE: tuple[Step, ...] = (Step(1, "bookings", _SCHEMA),)
POSTGRES: tuple[Step, ...] = (Step(1, "bookings", _SCHEMA),)

_OFFER = ("id, form, teacher, title, start_s, minutes, capacity, created_at, state, "
          "session_id, base_url, cancelled_at")
_SEAT = "id, offer_id, learner, booked_at, state, cancelled_at, cancelled_by"


def _who(text: str) -> Who:
    return Who(**json.loads(text))


def _offer(row: Sequence[Any]) -> Offer:
    (oid, form, teacher, title, start, minutes, capacity, created, state, session, base,
     cancelled) = row
    return Offer(oid, form, _who(teacher), title, int(start), int(minutes), int(capacity),
                 int(created), state, session, base, None if cancelled is None else int(cancelled))


def _seat(row: Sequence[Any]) -> Seat:
    sid, offer_id, learner, booked, state, cancelled, by = row
    return Seat(sid, offer_id, _who(learner), int(booked), state,
                None if cancelled is None else int(cancelled), by)


class _Tx:
    """One connection inside one transaction; SQL written with ``?`` placeholders."""

    def __init__(self, raw: Any, postgres: bool) -> None:
        self.raw, self.postgres = raw, postgres
        self.lock = " FOR UPDATE" if postgres else ""
        self.rowcount = 0

    def q(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cursor = self.raw.execute(sql.replace("?", "%s") if self.postgres else sql,
                                  tuple(params))
        self.rowcount = cursor.rowcount
        return list(cursor.fetchall()) if cursor.description else []

    # -- reading

    def offer(self, offer_id: str, *, lock: bool = False) -> Offer | None:
        rows = self.q(f"SELECT {_OFFER} FROM booking_offers WHERE id = ?"
                      + (self.lock if lock else ""), (offer_id,))
        return _offer(rows[0]) if rows else None

    def seats(self, offer_id: str) -> list[Seat]:
        return [_seat(r) for r in self.q(
            f"SELECT {_SEAT} FROM booking_seats WHERE offer_id = ? AND state = 'booked' "
            "ORDER BY booked_at, id", (offer_id,))]

    def with_seats(self, offers: list[Offer]) -> list[tuple[Offer, list[Seat]]]:
        return [(o, self.seats(o.id)) for o in offers]

    def offers(self, where: str, params: Sequence[Any], limit: int,
               order: str = "start_s, id") -> list[Offer]:
        return [_offer(r) for r in self.q(
            f"SELECT {_OFFER} FROM booking_offers WHERE {where} ORDER BY {order} LIMIT ?",
            (*params, limit))]

    # -- writing

    def insert_offer(self, o: Offer) -> None:
        self.q(f"INSERT INTO booking_offers ({_OFFER}, teacher_id) VALUES "
               "(?,?,?,?,?,?,?,?,?,?,?,?,?)",
               (o.id, o.form, json.dumps(asdict(o.teacher), ensure_ascii=False), o.title,
                o.start, o.minutes, o.capacity, o.created_at, o.state, o.session_id,
                o.base_url, o.cancelled_at, o.teacher.id))

    def insert_seat(self, s: Seat) -> None:
        self.q(f"INSERT INTO booking_seats ({_SEAT}, learner_id) VALUES (?,?,?,?,?,?,?,?)",
               (s.id, s.offer_id, json.dumps(asdict(s.learner), ensure_ascii=False),
                s.booked_at, s.state, s.cancelled_at, s.cancelled_by, s.learner.id))


class BookingStore(Protocol):
    schema_version: int

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def publish(self, teacher: str, since: int,
                      make: Callable[[list[Offer]], Offer]) -> Offer: ...
    async def book(self, offer_id: str, learner: str, since: int,
                   make: Callable[[Booked], Seat]) -> tuple[Offer, Seat]: ...
    async def cancel_seat(self, offer_id: str, learner: str, at: int,
                          check: Callable[[Offer | None, int], Offer]) -> tuple[Offer, Seat]: ...
    async def cancel_offer(self, offer_id: str, teacher: str, at: int,
                           check: Callable[[Offer | None, int], Offer]
                           ) -> tuple[Offer, list[Seat]]: ...
    async def claim_session(self, offer_id: str, session_id: str) -> Offer | None: ...
    async def offer(self, offer_id: str) -> tuple[Offer, list[Seat]] | None: ...
    async def of_teacher(self, teacher: str, since: int,
                         limit: int) -> list[tuple[Offer, list[Seat]]]: ...
    async def of_learner(self, learner: str, since: int,
                         limit: int) -> list[tuple[Offer, list[Seat]]]: ...
    async def bookable(self, now: int, teacher: str | None,
                       limit: int) -> list[tuple[Offer, list[Seat]]]: ...
    async def recent(self, limit: int,
                     teacher: str | None) -> list[tuple[Offer, list[Seat]]]: ...
    async def starting(self, after: int, until: int,
                       limit: int) -> list[tuple[Offer, list[Seat]]]: ...
    async def sent(self, offer_ids: list[str]) -> set[tuple[str, str]]: ...
    async def mark_sent(self, offer_id: str, person: str, at: int) -> bool: ...


class _Logic:
    """The operations, once, on a :class:`_Tx` (each subclass runs them its way)."""

    async def _do(self, fn: Callable[[_Tx], T]) -> T:
        raise NotImplementedError

    async def publish(self, teacher: str, since: int,
                      make: Callable[[list[Offer]], Offer]) -> Offer:
        """Insert what ``make`` builds from the teacher's open offers not ended by
        ``since`` (it refuses by raising: nothing is written then)."""
        def run(tx: _Tx) -> Offer:
            if tx.postgres:  # one publisher per teacher at a time (the overlap check)
                tx.q("SELECT pg_advisory_xact_lock(hashtext(?))", ("booking:" + teacher,))
            theirs = tx.offers("teacher_id = ? AND state = 'open' AND start_s + minutes * 60 > ?",
                               (teacher, since), 10_000)
            offer = make(theirs)
            tx.insert_offer(offer)
            return offer

        return await self._do(run)

    async def book(self, offer_id: str, learner: str, since: int,
                   make: Callable[[Booked], Seat]) -> tuple[Offer, Seat]:
        """Insert the seat ``make`` builds from the offer (locked), its seats and the
        learner's bookings of offers not ended by ``since``."""
        def run(tx: _Tx) -> tuple[Offer, Seat]:
            if tx.postgres:  # one booking per learner at a time (their overlap check)
                tx.q("SELECT pg_advisory_xact_lock(hashtext(?))", ("booking:" + learner,))
            offer = tx.offer(offer_id, lock=True)
            mine = []
            for row in tx.q(f"SELECT {_SEAT} FROM booking_seats WHERE learner_id = ? "
                            "AND state = 'booked' AND offer_id IN (SELECT id FROM "
                            "booking_offers WHERE start_s + minutes * 60 > ?)",
                            (learner, since)):
                seat = _seat(row)
                other = tx.offer(seat.offer_id)
                if other is not None:
                    mine.append((seat, other))
            seat = make(Booked(offer, tx.seats(offer_id) if offer else [], tuple(mine)))
            assert offer is not None  # make refused otherwise
            tx.insert_seat(seat)
            return offer, seat

        return await self._do(run)

    async def cancel_seat(self, offer_id: str, learner: str, at: int,
                          check: Callable[[Offer | None, int], Offer]) -> tuple[Offer, Seat]:
        def run(tx: _Tx) -> tuple[Offer, Seat]:
            offer = tx.offer(offer_id, lock=True)
            seats = tx.seats(offer_id) if offer else []
            mine = next((s for s in seats if s.learner.id == learner), None)
            if offer is not None and mine is None:
                raise Refused("not_booked", "you have not booked this")
            check(offer, len(seats))
            assert offer is not None and mine is not None
            tx.q("UPDATE booking_seats SET state = 'cancelled', cancelled_at = ?, "
                 "cancelled_by = 'learner' WHERE id = ?", (at, mine.id))
            return offer, replace(mine, state="cancelled", cancelled_at=at, cancelled_by="learner")

        return await self._do(run)

    async def cancel_offer(self, offer_id: str, teacher: str, at: int,
                           check: Callable[[Offer | None, int], Offer]
                           ) -> tuple[Offer, list[Seat]]:
        def run(tx: _Tx) -> tuple[Offer, list[Seat]]:
            offer = tx.offer(offer_id, lock=True)
            if offer is not None and offer.teacher.id != teacher:
                raise Refused("not_yours", "this is another teacher's offer")
            seats = tx.seats(offer_id) if offer else []
            check(offer, len(seats))
            tx.q("UPDATE booking_offers SET state = 'cancelled', cancelled_at = ? WHERE id = ?",
                 (at, offer_id))
            tx.q("UPDATE booking_seats SET state = 'cancelled', cancelled_at = ?, "
                 "cancelled_by = 'teacher' WHERE offer_id = ? AND state = 'booked'",
                 (at, offer_id))
            assert offer is not None
            return (replace(offer, state="cancelled", cancelled_at=at),
                    [replace(s, state="cancelled", cancelled_at=at, cancelled_by="teacher")
                     for s in seats])

        return await self._do(run)

    async def claim_session(self, offer_id: str, session_id: str) -> Offer | None:
        """Close enrolment by naming the offer's session: the first claim wins; the
        offer as it is after (its ``session_id`` the winner's)."""
        def run(tx: _Tx) -> Offer | None:
            tx.q("UPDATE booking_offers SET session_id = ? WHERE id = ? AND state = 'open' "
                 "AND session_id IS NULL", (session_id, offer_id))
            return tx.offer(offer_id)

        return await self._do(run)

    async def offer(self, offer_id: str) -> tuple[Offer, list[Seat]] | None:
        def run(tx: _Tx) -> tuple[Offer, list[Seat]] | None:
            offer = tx.offer(offer_id)
            return None if offer is None else (offer, tx.seats(offer_id))

        return await self._do(run)

    async def of_teacher(self, teacher: str, since: int,
                         limit: int) -> list[tuple[Offer, list[Seat]]]:
        return await self._do(lambda tx: tx.with_seats(tx.offers(
            "teacher_id = ? AND start_s + minutes * 60 > ?", (teacher, since), limit)))

    async def of_learner(self, learner: str, since: int,
                         limit: int) -> list[tuple[Offer, list[Seat]]]:
        return await self._do(lambda tx: tx.with_seats(tx.offers(
            "start_s + minutes * 60 > ? AND id IN (SELECT offer_id FROM booking_seats "
            "WHERE learner_id = ?)", (since, learner), limit)))

    async def bookable(self, now: int, teacher: str | None,
                       limit: int) -> list[tuple[Offer, list[Seat]]]:
        where = ("state = 'open' AND session_id IS NULL AND start_s > ? AND capacity > "
                 "(SELECT COUNT(*) FROM booking_seats s WHERE s.offer_id = booking_offers.id "
                 "AND s.state = 'booked')")
        params: tuple[Any, ...] = (now,)
        if teacher is not None:
            where, params = where + " AND teacher_id = ?", (now, teacher)
        return await self._do(lambda tx: tx.with_seats(tx.offers(where, params, limit)))

    async def recent(self, limit: int,
                     teacher: str | None) -> list[tuple[Offer, list[Seat]]]:
        where, params = ("teacher_id = ?", (teacher,)) if teacher else ("1 = 1", ())
        return await self._do(lambda tx: tx.with_seats(
            tx.offers(where, params, limit, order="start_s DESC, id")))

    async def starting(self, after: int, until: int,
                       limit: int) -> list[tuple[Offer, list[Seat]]]:
        # Offers someone booked whose reminders are not all recorded yet: a batch never
        # fills up with finished ones, so a long list is worked through tick by tick.
        where = ("state = 'open' AND start_s > ? AND start_s <= ? AND EXISTS (SELECT 1 FROM "
                 "booking_seats s WHERE s.offer_id = booking_offers.id AND s.state = 'booked') "
                 "AND (SELECT COUNT(*) FROM booking_reminders r WHERE r.offer_id = "
                 "booking_offers.id) < 1 + (SELECT COUNT(*) FROM booking_seats s WHERE "
                 "s.offer_id = booking_offers.id AND s.state = 'booked')")
        return await self._do(lambda tx: tx.with_seats(tx.offers(where, (after, until), limit)))

    async def sent(self, offer_ids: list[str]) -> set[tuple[str, str]]:
        if not offer_ids:
            return set()
        marks = ",".join("?" * len(offer_ids))
        rows = await self._do(lambda tx: tx.q(
            f"SELECT offer_id, person_id FROM booking_reminders WHERE offer_id IN ({marks})",
            offer_ids))
        return {(str(a), str(b)) for a, b in rows}

    async def mark_sent(self, offer_id: str, person: str, at: int) -> bool:
        """Record a reminder as sent; false if it already was (by this node or another):
        the caller sends only when this says true, so nothing goes out twice."""
        def run(tx: _Tx) -> bool:
            tx.q("INSERT INTO booking_reminders (offer_id, person_id, sent_at) VALUES (?,?,?) "
                 "ON CONFLICT DO NOTHING", (offer_id, person, at))
            return tx.rowcount == 1

        return await self._do(run)


class SqliteBookings(SqliteThread, _Logic):
    NAME = "booking"
    COMPONENT = COMPONENT
    MIGRATIONS = SQLITE

    async def _do(self, fn: Callable[[_Tx], T]) -> T:
        def run() -> T:
            db = self.db
            db.execute("BEGIN IMMEDIATE")
            try:
                out = fn(_Tx(db, postgres=False))
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
            return out

        return await self._run(run)


class PostgresBookings(_Logic):
    """The same tables in PostgreSQL: a small thread-safe pool, each operation one
    transaction on a worker thread (psycopg loaded only on opening)."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._pool: Any = None
        self.schema_version = 0

    async def open(self) -> None:
        from recorder.postgres import open_sync_pool, upgrade_url

        self.schema_version = await asyncio.to_thread(upgrade_url, self._url, COMPONENT,
                                                      POSTGRES)
        self._pool = await asyncio.to_thread(open_sync_pool, self._url, name="booking",
                                             max_size=4)

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.close)

    @contextmanager
    def _conn(self) -> Iterator[Any]:
        from recorder.postgres import pooled_sync

        with pooled_sync(self._pool, self._url) as conn, conn.transaction():
            yield conn

    async def _do(self, fn: Callable[[_Tx], T]) -> T:
        def run() -> T:
            with self._conn() as conn:
                return fn(_Tx(conn, postgres=True))

        return await asyncio.to_thread(run)


def open_bookings(database_url: str, data_dir: Path) -> BookingStore:
    """PostgreSQL for a ``postgresql://`` URL (its driver loaded only then), else SQLite."""
    if database_url and is_postgres_url(database_url):
        return PostgresBookings(database_url)
    return SqliteBookings(data_dir / SQLITE_FILE)
