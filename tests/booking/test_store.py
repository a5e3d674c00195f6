"""The booking store on SQLite and PostgreSQL (the ``database_url`` fixture runs each
test on both): migrations, the transactions' refusals changing nothing, two store
objects on one database (two nodes) booking the last place at once, the session
claim's single winner, a reminder recorded once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from signaling.booking import rules
from signaling.booking.rules import Booked, BookingPolicy, Offer, Refused, Seat, Who
from signaling.booking.store import POSTGRES, SQLITE, BookingStore, open_bookings

H = 3600
NOW = 1_790_000_000
POLICY = BookingPolicy()
T = Who("t1", "王老师", "二中", "西城区", "1111000001", "110102")


@pytest.fixture
async def stores(database_url: str, tmp_path: Path) -> AsyncIterator[list[BookingStore]]:
    """Two store objects on one database, as two nodes have."""
    opened = [open_bookings(database_url, tmp_path) for _ in range(2)]
    for store in opened:
        await store.open()
    yield opened
    for store in opened:
        await store.close()


def new_offer(oid: str, start: int = NOW + 10 * H, capacity: int = 1,
              form: str = "one_to_one") -> Offer:
    return Offer(oid, form, T, "一对一实时研修 · 王老师", start, 30, capacity, NOW,
                 base_url="http://x")


def keep(offer: Offer | None, booked: int) -> Offer:
    assert offer is not None
    return offer


def taker(learner: str) -> Callable[[Booked], Seat]:
    def make(got: Booked) -> Seat:
        offer = rules.check_book(learner, got, now=NOW, policy=POLICY)
        return Seat(f"b_{learner}_{offer.id}", offer.id, Who(learner, f"{learner}老师"), NOW)

    return make


async def test_migrations_and_round_trip(stores: list[BookingStore], database_url: str) -> None:
    store = stores[0]
    assert store.schema_version == len(POSTGRES if database_url else SQLITE)
    made = await store.publish("t1", NOW, lambda theirs: new_offer("o_a"))
    assert made.teacher == T
    found = await store.offer("o_a")
    assert found is not None and found[0] == made and found[1] == []
    _, seat = await store.book("o_a", "l1", NOW, taker("l1"))
    assert seat.learner.name == "l1老师"
    assert [o.id for o, _ in await store.of_teacher("t1", NOW, 10)] == ["o_a"]
    assert [o.id for o, s in await store.of_learner("l1", NOW, 10)] == ["o_a"]
    assert await store.bookable(NOW, None, 10) == []  # its one place is taken
    assert len(await store.recent(10, "t1")) == 1 and await store.recent(10, "t9") == []


async def test_a_refusal_inside_the_transaction_changes_nothing(
        stores: list[BookingStore]) -> None:
    store = stores[0]
    await store.publish("t1", NOW, lambda theirs: new_offer("o_a"))

    def clash(theirs: list[Offer]) -> Offer:
        assert [o.id for o in theirs] == ["o_a"]
        raise Refused("overlap", "overlaps")

    with pytest.raises(Refused):
        await store.publish("t1", NOW, clash)
    assert len(await store.of_teacher("t1", NOW, 10)) == 1
    await store.book("o_a", "l1", NOW, taker("l1"))
    with pytest.raises(Refused) as full:
        await store.book("o_a", "l2", NOW, taker("l2"))
    assert full.value.code == "full"
    with pytest.raises(Refused) as not_booked:
        await store.cancel_seat("o_a", "l2", NOW, keep)
    assert not_booked.value.code == "not_booked"
    with pytest.raises(Refused) as not_yours:
        await store.cancel_offer("o_a", "t2", NOW, keep)
    assert not_yours.value.code == "not_yours"
    found = await store.offer("o_a")
    assert found is not None and found[0].state == "open" and len(found[1]) == 1


async def test_two_nodes_book_the_last_place_at_once_one_wins(
        stores: list[BookingStore]) -> None:
    a, b = stores
    await a.publish("t1", NOW, lambda theirs: new_offer("o_a", capacity=3, form="lecture"))
    learners = [f"l{i}" for i in range(10)]
    results = await asyncio.gather(
        *((a if i % 2 else b).book("o_a", who, NOW, taker(who))
          for i, who in enumerate(learners)), return_exceptions=True)
    won = [r for r in results if not isinstance(r, BaseException)]
    lost = [r for r in results if isinstance(r, BaseException)]
    assert len(won) == 3 and len(lost) == 7
    assert all(isinstance(r, Refused) and r.code == "full" for r in lost), lost
    found = await b.offer("o_a")
    assert found is not None and len(found[1]) == 3


async def test_cancel_then_the_place_is_free_again(stores: list[BookingStore]) -> None:
    store = stores[0]
    await store.publish("t1", NOW, lambda theirs: new_offer("o_a"))
    await store.book("o_a", "l1", NOW, taker("l1"))
    offer, seat = await store.cancel_seat("o_a", "l1", NOW + 5,
                                          keep)
    assert (seat.state, seat.cancelled_by) == ("cancelled", "learner")
    assert [o.id for o, _ in await store.bookable(NOW, "t1", 10)] == ["o_a"]
    await store.book("o_a", "l2", NOW, taker("l2"))
    offer, gone = await store.cancel_offer("o_a", "t1", NOW + 6,
                                           keep)
    assert offer.state == "cancelled" and [s.learner.id for s in gone] == ["l2"]
    assert (await store.offer("o_a")) is not None
    assert await store.bookable(NOW, None, 10) == []


async def test_the_session_claim_has_one_winner(stores: list[BookingStore]) -> None:
    a, b = stores
    await a.publish("t1", NOW, lambda theirs: new_offer("o_a"))
    claimed = await asyncio.gather(a.claim_session("o_a", "s_one"),
                                   b.claim_session("o_a", "s_two"))
    ids = {c.session_id for c in claimed if c is not None}
    assert len(ids) == 1  # both see the same winner
    with pytest.raises(Refused) as closed:
        await a.book("o_a", "l1", NOW, taker("l1"))
    assert closed.value.code == "opened"


async def test_reminders_are_recorded_once(stores: list[BookingStore]) -> None:
    a, b = stores
    await a.publish("t1", NOW, lambda theirs: new_offer("o_a", start=NOW + 20 * 60))
    await a.book("o_a", "l1", NOW, taker("l1"))
    await a.publish("t1", NOW, lambda theirs: new_offer("o_b", start=NOW + 2 * H))
    rows = await a.starting(NOW, NOW + 30 * 60, 10)
    assert [o.id for o, _ in rows] == ["o_a"]
    marks = await asyncio.gather(a.mark_sent("o_a", "t1", NOW), b.mark_sent("o_a", "t1", NOW))
    assert sorted(marks) == [False, True]
    assert await a.sent(["o_a", "o_b"]) == {("o_a", "t1")}
    assert await b.mark_sent("o_a", "l1", NOW)
    assert await a.starting(NOW, NOW + 30 * 60, 10) == []  # all of its reminders sent
