"""The room owner alone: commands in, outbox calls and journal observations out, with
fakes for the store, the media layer and the outbox, and a fake clock (hypercorn's way
of testing ``protocol/h11.py``). No sockets, no sleeping: grace periods and idle ends
of 30 s and 30 min take milliseconds."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest

from rtc.clock import FakeClock
from signaling.session import messages as m
from signaling.session.declarations import Roster
from signaling.session.events import Observed, RoomEvent
from signaling.session.room import (
    LISTED_LEARNERS_MAX,
    ROSTER_WINDOW_S,
    Disconnected,
    FromClient,
    IdleCheck,
    Join,
    Room,
    RoomDeps,
    RoomError,
    Welcome,
)
from signaling.session.spec import parse_new_session
from signaling.store.sqlite import RecordingChoice, StoredSession
from tests.support import ONE_TO_ONE, lecture

NOW = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)
TEACHER = ONE_TO_ONE["people"][0]["name"]


class FakeStore:
    def __init__(self) -> None:
        self.started: str | None = None
        self.ended: str | None = None
        self.chats: list[dict[str, Any]] = []
        self.board: list[Any] = []
        self.choice: RecordingChoice | None = None
        self.visits: list[list[str | None]] = []

    async def mark_started(self, session_id: str, at: str) -> None:
        self.started = at

    async def mark_ended(self, session_id: str, at: str) -> None:
        self.ended = at

    async def add_chat(self, session_id: str, message: dict[str, Any]) -> None:
        self.chats.append(message)

    async def chat(self, session_id: str, limit: int = 100) -> list[dict[str, Any]]:
        return self.chats[-limit:]

    async def add_board_op(self, session_id: str, entry: Any) -> None:
        self.board.append(entry)

    async def upload(self, upload_id: str) -> dict[str, Any] | None:
        return None

    async def recording_choice(self, session_id: str) -> RecordingChoice | None:
        return self.choice

    async def set_recording_choice(self, session_id: str, choice: RecordingChoice) -> None:
        self.choice = choice

    # Observer visits (issue 16): [staff, joined, left], as the real stores keep them.
    async def observer_joined(self, session_id: str, staff: str, at: str) -> None:
        self.visits.append([staff, at, None])

    async def observer_left(self, session_id: str, staff: str, joined: str, at: str) -> None:
        for visit in self.visits:
            if visit[:2] == [staff, joined] and visit[2] is None:
                visit[2] = at

    async def observers_left(self, session_id: str, at: str) -> None:
        for visit in self.visits:
            if visit[2] is None:
                visit[2] = at


class FakeOutbox:
    """Delivers like socket.io rooms would: ``inbox[sid]`` is what one tab received, in
    order (the rooms it entered, emits to it; nothing after it was dropped)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, Any]] = []  # (to: sid or "*" + room, event, data)
        self.dropped: list[str] = []
        self.rooms: dict[str, list[str]] = {}
        self.inbox: dict[str, list[tuple[str, Any]]] = {}

    async def emit(self, event: str, data: Any, *, to: str) -> None:
        self.sent.append((to, event, data))
        self.inbox.setdefault(to, []).append((event, data))

    async def broadcast(self, room: str, event: str, data: Any, *, skip: str | None = None) -> None:
        self.sent.append((f"*{room}", event, data))
        for sid in self.rooms.get(room, []):
            if sid != skip:
                self.inbox.setdefault(sid, []).append((event, data))

    async def enter(self, sid: str, room: str) -> None:
        self.rooms.setdefault(room, []).append(sid)

    async def disconnect(self, sid: str, *, after: float = 0.0) -> None:
        self.dropped.append(sid)
        self.gone(sid)

    def gone(self, sid: str) -> None:
        for members in self.rooms.values():
            if sid in members:
                members.remove(sid)

    def events(self, name: str) -> list[Any]:
        return [data for _, event, data in self.sent if event == name]

    def received(self, sid: str, name: str) -> list[Any]:
        return [data for event, data in self.inbox.get(sid, []) if event == name]

    def people_seen(self, sid: str) -> dict[str, dict[str, Any]]:
        """The list as this tab's reducer would hold it: its welcome, then its rosters."""
        people: dict[str, dict[str, Any]] = {}
        me = None
        for event, data in self.inbox.get(sid, []):
            if event == "welcome":
                people = {p["id"]: p for p in data["people"]}
                me = data["you"]["id"]
            elif event == "roster":
                msgspec.convert(data, Roster)  # the declared shape, no more
                for p in data["added"] + data["changed"]:
                    people[p["id"]] = p
                for pid in data["removed"]:
                    if pid != me:
                        people.pop(pid, None)
        return people


class FakeMedia:
    """The calls a room makes on its MediaRoom, kept in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def set_publish(self, person: str, kinds: frozenset[str]) -> None:
        self.calls.append(("publish", person, tuple(sorted(kinds))))

    async def reset(self, person: str) -> None:
        self.calls.append(("reset", person))

    async def remove(self, person: str) -> None:
        self.calls.append(("remove", person))

    async def close(self) -> None:
        self.calls.append(("close",))


class FakeJournal:
    """A room listener that keeps (person, kind, detail) of what it is told."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str]] = []

    def room_event(self, session_id: str, event: RoomEvent) -> None:
        if isinstance(event, Observed):
            self.seen.append((event.person, event.kind, event.detail))
        else:
            self.seen.append(("", "session_end", ""))


class Harness:
    def __init__(self, body: dict[str, Any], *, started: bool = False) -> None:
        spec = parse_new_session(body)
        session = StoredSession("s_unit", spec, NOW.isoformat(), None, None)
        self.clock = FakeClock(start=NOW.timestamp())
        self.store, self.outbox = FakeStore(), FakeOutbox()
        self.media, self.journal = FakeMedia(), FakeJournal()
        self.closed: list[str] = []

        async def on_closed(session_id: str) -> None:
            self.closed.append(session_id)

        deps = RoomDeps(
            store=self.store,  # type: ignore[arg-type]
            outbox=self.outbox,
            media=lambda events, owner: self.media,  # type: ignore[arg-type,return-value]
            clock=self.clock,
            sign_url=lambda path: f"https://signed{path}",
            grace_s=30.0,
            idle_end_s=1800.0,
            on_closed=on_closed,
            listeners=(self.journal,),
        )
        self.room = Room(session, [], deps)

    async def join(self, person: str, sid: str) -> None:
        await self.room.submit(Join(person, sid))
        await self.room.submit(Welcome(person, sid))

    async def say(self, person: str, sid: str, command: Any) -> Any:
        return await self.room.submit(FromClient(person, sid, command))

    async def drain(self) -> None:
        """Wait until the room ran what was posted (timers post synchronously inside
        ``advance``; a handler may post once more): a no-op command, twice."""
        for _ in range(2):
            await self.room.submit(IdleCheck(token=-1))

    async def advance(self, seconds: float) -> None:
        """Move the clock; the room runs whatever its timers posted."""
        self.clock.advance(seconds)
        await self.drain()

    async def settle(self) -> None:
        """One roster window: whatever changed has been told."""
        await self.advance(ROSTER_WINDOW_S)

    async def drop(self, sid: str) -> None:
        """The tab's socket is gone (as socket.io would: out of its rooms first)."""
        self.outbox.gone(sid)
        await self.room.submit(Disconnected(sid))


async def started(body: dict[str, Any]) -> AsyncIterator[Harness]:
    """A running room for ``body``, scheduled around NOW."""
    body["scheduled_start"] = (NOW - timedelta(minutes=5)).isoformat()
    body["scheduled_end"] = (NOW + timedelta(hours=1)).isoformat()
    h = Harness(body)
    h.room.start()
    yield h
    await h.room.stop()


@pytest.fixture
async def one_to_one() -> AsyncIterator[Harness]:
    async for h in started(copy.deepcopy(ONE_TO_ONE)):
        yield h


@pytest.fixture
async def a_lecture() -> AsyncIterator[Harness]:
    async for h in started(lecture(2)):
        yield h


async def test_first_join_starts_the_session_and_welcomes(one_to_one: Harness) -> None:
    h = one_to_one
    await h.join("t1", "sid-t")
    assert h.room.state == "live" and h.store.started == "2026-03-02T10:30:00.000Z"
    (welcome,) = h.outbox.events("welcome")
    assert welcome["you"]["id"] == "t1" and welcome["resumed"] is False
    assert ("t1", "signal_up", "sid-t") in h.journal.seen
    assert h.media.calls[0] == ("publish", "t1", ("audio", "video"))


async def test_grace_period_keeps_a_dropped_person_then_removes_them(
    one_to_one: Harness,
) -> None:
    h = one_to_one
    await h.join("t1", "sid-t")
    await h.join("s1", "sid-s")
    await h.room.submit(Disconnected("sid-s"))
    await h.advance(29.0)
    assert ("remove", "s1") not in h.media.calls  # within grace: the slot waits
    await h.join("s1", "sid-s2")  # back in time: resumed, a new peer connection
    assert ("reset", "s1") in h.media.calls
    assert h.outbox.events("welcome")[-1]["resumed"] is True
    await h.advance(5.0)  # the old grace timer lapses: its generation is stale
    assert ("remove", "s1") not in h.media.calls

    await h.room.submit(Disconnected("sid-s2"))
    await h.advance(30.0)
    assert ("remove", "s1") in h.media.calls


async def test_an_empty_room_ends_after_the_idle_time(one_to_one: Harness) -> None:
    h = one_to_one
    await h.join("t1", "sid-t")
    await h.room.submit(Disconnected("sid-t"))
    await h.advance(30.0)  # grace over: removed, the room is empty
    assert h.room.state == "live"
    await h.advance(1799.0)
    assert h.room.state == "live"
    await h.advance(2.0)
    assert h.room.state == "ended" and h.store.ended is not None
    assert ("", "session_end", "") in h.journal.seen


async def test_a_return_calls_off_the_idle_end(one_to_one: Harness) -> None:
    h = one_to_one
    await h.join("t1", "sid-t")
    await h.room.submit(Disconnected("sid-t"))
    await h.advance(31.0)
    await h.join("t1", "sid-t2")  # back before the idle end
    await h.advance(3000.0)  # before the scheduled end, with someone present
    assert h.room.state == "live"


async def test_permissions(one_to_one: Harness) -> None:
    h = one_to_one
    await h.join("t1", "sid-t")
    await h.join("s1", "sid-s")
    with pytest.raises(RoomError) as refused:
        await h.say("t1", "sid-t", m.Hand(up=True))
    assert refused.value.code == "forbidden"  # instructors do not raise hands
    with pytest.raises(RoomError) as refused:
        await h.say("s1", "sid-s", m.End())
    assert refused.value.code == "forbidden"  # a learner cannot end the session
    with pytest.raises(RoomError) as refused:
        await h.say("s1", "sid-s", m.Record(on=True))
    assert refused.value.code == "forbidden"
    assert h.room.state == "live"


async def test_hand_stage_and_pen_in_a_lecture(a_lecture: Harness) -> None:
    h = a_lecture
    await h.join("t1", "sid-t")
    await h.join("s1", "sid-1")
    await h.join("s2", "sid-2")
    assert ("publish", "s1", ()) in h.media.calls  # a lecture's learner only watches
    await h.say("s1", "sid-1", m.Hand(up=True))
    await h.settle()
    assert h.outbox.people_seen("sid-t")["s1"]["hand"] is True
    assert h.outbox.people_seen("sid-2")["s1"]["hand"] is True  # learners see hands

    with pytest.raises(RoomError):
        await h.say("s2", "sid-2", m.GrantCmd(person="s1", what="stage", on=True))
    await h.say("t1", "sid-t", m.GrantCmd(person="s1", what="stage", on=True))
    assert h.outbox.received("sid-1", "invited")[-1]["open"] is True  # asked, not put
    await h.say("s1", "sid-1", m.StageAnswer(accept=True))
    assert h.media.calls[-1] == ("publish", "s1", ("audio", "video"))
    caps = [data for to, event, data in h.outbox.sent if event == "caps" and to == "sid-1"]
    assert caps and caps[-1]["publish"]
    await h.say("t1", "sid-t", m.GrantCmd(person="s1", what="pen", on=True))
    await h.settle()
    last = h.outbox.people_seen("sid-2")["s1"]
    assert last["stage"] is True and last["pen"] is True and last["hand"] is False
    await h.say("t1", "sid-t", m.GrantCmd(person="s1", what="stage", on=False))
    assert h.media.calls[-1] == ("publish", "s1", ())
    with pytest.raises(RoomError) as refused:
        await h.say("t1", "sid-t", m.GrantCmd(person="t1", what="pen", on=True))
    assert refused.value.code == "bad_target"


# -- consent and control (issue 12, item 5) --------------------------------------------------


async def test_the_stage_is_an_invitation_the_learner_accepts_or_declines(
    a_lecture: Harness,
) -> None:
    h = a_lecture
    await h.join("t1", "sid-t")
    await h.join("s1", "sid-1")
    await h.join("s2", "sid-2")
    await h.say("s1", "sid-1", m.Hand(up=True))
    ack = await h.say("t1", "sid-t", m.GrantCmd(person="s1", what="stage", on=True))
    assert ack == {"invited": True}
    assert ("publish", "s1", ("audio", "video")) not in h.media.calls  # nothing yet
    assert not h.outbox.received("sid-1", "caps")
    invited = h.outbox.received("sid-1", "invited")
    assert invited == [{"what": "stage", "open": True, "by": TEACHER}]
    await h.settle()
    assert h.outbox.people_seen("sid-t")["s1"]["invited"] is True
    await h.say("s1", "sid-1", m.StageAnswer(accept=False))
    await h.settle()
    seen = h.outbox.people_seen("sid-t")["s1"]
    assert seen["invited"] is False and seen["stage"] is False and seen["hand"] is True
    with pytest.raises(RoomError) as refused:  # a no is final: nothing left to accept
        await h.say("s1", "sid-1", m.StageAnswer(accept=True))
    assert refused.value.code == "no_invitation"

    await h.say("t1", "sid-t", m.GrantCmd(person="s1", what="stage", on=True))
    await h.say("s1", "sid-1", m.StageAnswer(accept=True))
    await h.settle()
    seen = h.outbox.people_seen("sid-2")["s1"]
    assert seen["stage"] is True and seen["invited"] is False and seen["hand"] is False
    assert h.media.calls[-1] == ("publish", "s1", ("audio", "video"))
    assert h.outbox.received("sid-1", "caps")[-1]["publish"] == ["audio", "video"]


async def test_an_invitation_withdrawn_or_to_someone_away(a_lecture: Harness) -> None:
    h = a_lecture
    await h.join("t1", "sid-t")
    await h.join("s1", "sid-1")
    await h.say("t1", "sid-t", m.GrantCmd(person="s1", what="stage", on=True))
    await h.say("t1", "sid-t", m.GrantCmd(person="s1", what="stage", on=False))
    assert h.outbox.received("sid-1", "invited")[-1]["open"] is False
    with pytest.raises(RoomError) as refused:
        await h.say("s1", "sid-1", m.StageAnswer(accept=True))
    assert refused.value.code == "no_invitation"
    with pytest.raises(RoomError) as refused:  # s2 never came: nobody to ask
        await h.say("t1", "sid-t", m.GrantCmd(person="s2", what="stage", on=True))
    assert refused.value.code == "not_here"
    with pytest.raises(RoomError) as refused:  # learners invite nobody
        await h.say("s1", "sid-1", m.GrantCmd(person="s1", what="stage", on=True))
    assert refused.value.code == "forbidden"


async def test_granting_the_pen_lowers_the_hand(a_lecture: Harness) -> None:
    h = a_lecture
    await h.join("t1", "sid-t")
    await h.join("s1", "sid-1")
    await h.say("s1", "sid-1", m.Hand(up=True))
    await h.say("t1", "sid-t", m.GrantCmd(person="s1", what="pen", on=True))
    await h.settle()
    seen = h.outbox.people_seen("sid-t")["s1"]
    assert seen["pen"] is True and seen["hand"] is False


async def test_the_instructor_lowers_every_hand(a_lecture: Harness) -> None:
    h = a_lecture
    await h.join("t1", "sid-t")
    await h.join("s1", "sid-1")
    await h.join("s2", "sid-2")
    for person, sid in (("s1", "sid-1"), ("s2", "sid-2")):
        await h.say(person, sid, m.Hand(up=True))
    with pytest.raises(RoomError) as refused:
        await h.say("s1", "sid-1", m.HandsDown())
    assert refused.value.code == "forbidden"
    assert await h.say("t1", "sid-t", m.HandsDown()) == {"lowered": 2}
    await h.settle()
    people = h.outbox.people_seen("sid-2")
    assert people["s1"]["hand"] is False and people["s2"]["hand"] is False
    assert await h.say("t1", "sid-t", m.HandsDown()) == {"lowered": 0}


async def test_mute_stops_forwarding_until_the_learner_unmutes(a_lecture: Harness) -> None:
    h = a_lecture
    await h.join("t1", "sid-t")
    await h.join("s1", "sid-1")
    await h.say("t1", "sid-t", m.GrantCmd(person="s1", what="stage", on=True))
    await h.say("s1", "sid-1", m.StageAnswer(accept=True))
    await h.say("t1", "sid-t", m.Mute(person="s1"))
    assert h.media.calls[-1] == ("publish", "s1", ("video",))  # sound no longer passed on
    assert h.outbox.received("sid-1", "muted") == [{"by": TEACHER}]
    await h.settle()
    assert h.outbox.people_seen("sid-t")["s1"]["muted"] is True
    with pytest.raises(RoomError) as refused:  # a learner mutes nobody, not even the teacher
        await h.say("s1", "sid-1", m.Mute(person="t1"))
    assert refused.value.code == "forbidden"
    with pytest.raises(RoomError) as refused:
        await h.say("t1", "sid-t", m.Mute(person="t1"))
    assert refused.value.code == "forbidden"
    # A reconnect keeps the mute: the server still does not forward their sound.
    await h.join("s1", "sid-1b")
    assert h.media.calls[-1] == ("publish", "s1", ("video",))
    await h.say("s1", "sid-1b", m.Unmute())
    assert h.media.calls[-1] == ("publish", "s1", ("audio", "video"))
    await h.settle()
    assert h.outbox.people_seen("sid-t")["s1"]["muted"] is False


async def test_the_new_commands_are_parsed_strictly() -> None:
    assert m.parse("stage_answer", {"accept": True}) == m.StageAnswer(accept=True)
    assert m.parse("hands_down", None) == m.HandsDown()
    for event, payload in (("stage_answer", {}), ("stage_answer", {"accept": "yes"}),
                           ("mute", {}), ("mute", {"person": ""}), ("mute", [1])):
        with pytest.raises(m.Invalid):
            m.parse(event, payload)


# -- who is here, coalesced (issue 11) ------------------------------------------------------


def rosters(h: Harness, sid: str) -> list[dict[str, Any]]:
    return list(h.outbox.received(sid, "roster"))


def first_mention(h: Harness, person: str) -> int:
    """Where in everything sent the first ``roster`` that mentions ``person`` is."""
    for i, (_, event, data) in enumerate(h.outbox.sent):
        if event == "roster" and person in (
            [p["id"] for p in data["added"] + data["changed"]] + data["removed"]
        ):
            return i
    raise AssertionError(f"no roster mentions {person}")


@pytest.fixture
async def big_lecture() -> AsyncIterator[Harness]:
    async for h in started(lecture(LISTED_LEARNERS_MAX + 1)):
        yield h


async def test_a_burst_of_joins_reaches_those_present_as_one_roster_event() -> None:
    async for h in started(lecture(20)):
        await h.join("t1", "sid-t")
        await h.settle()
        told = len(rosters(h, "sid-t"))
        for i in range(1, 21):
            await h.join(f"s{i}", f"sid-{i}")
        await h.advance(ROSTER_WINDOW_S / 2)
        assert len(rosters(h, "sid-t")) == told  # still collecting
        await h.advance(ROSTER_WINDOW_S / 2)
        (burst,) = rosters(h, "sid-t")[told:]
        assert [(p["id"], p["present"]) for p in burst["changed"]] == [
            (f"s{i}", True) for i in range(1, 21)
        ]
        assert burst["audience"] == {"learners": 20, "listed": True}
        for i in range(1, 21):  # each newcomer: its welcome, then the one roster of the burst
            assert [event for event, _ in h.outbox.inbox[f"sid-{i}"]] == ["welcome", "roster"]
        assert len(h.outbox.events("roster")) == told + 1


async def test_leave_and_rejoin_within_a_window_shows_only_the_return(a_lecture: Harness) -> None:
    h = a_lecture
    await h.join("t1", "sid-t")
    await h.join("s1", "sid-1")
    await h.settle()
    told = len(rosters(h, "sid-t"))
    await h.say("s1", "sid-1", m.Leave())
    await h.join("s1", "sid-1b")  # back within the window, from another tab
    await h.settle()
    (after,) = rosters(h, "sid-t")[told:]
    assert [(p["id"], p["present"]) for p in after["changed"]] == [("s1", True)]
    assert h.outbox.people_seen("sid-t")["s1"]["present"] is True
    assert h.outbox.received("sid-1b", "welcome")[0]["resumed"] is True


async def test_a_roster_never_mentions_a_person_before_their_welcome(a_lecture: Harness) -> None:
    h = a_lecture
    await h.join("t1", "sid-t")
    await h.settle()
    await h.room.submit(Join("s1", "sid-1"))  # connected; its welcome is not sent yet
    await h.join("s2", "sid-2")
    await h.say("s2", "sid-2", m.Hand(up=True))
    await h.settle()  # a window closes while s1 waits for its welcome
    assert h.outbox.people_seen("sid-t")["s1"]["present"] is False
    assert rosters(h, "sid-t")[-1]["audience"]["learners"] == 1  # s2 only
    assert h.outbox.people_seen("sid-t")["s2"]["hand"] is True
    await h.room.submit(Welcome("s1", "sid-1"))
    await h.settle()
    assert h.outbox.people_seen("sid-t")["s1"]["present"] is True
    welcome_at = h.outbox.sent.index(("sid-1", "welcome", h.outbox.received("sid-1", "welcome")[0]))
    assert welcome_at < first_mention(h, "s1")
    assert h.outbox.inbox["sid-1"][0][0] == "welcome"  # and s1 hears nothing before it


async def test_a_session_is_listed_up_to_the_threshold() -> None:
    async for h in started(lecture(LISTED_LEARNERS_MAX)):
        await h.join("s1", "sid-1")
        (welcome,) = h.outbox.received("sid-1", "welcome")
        assert welcome["audience"] == {"learners": 1, "listed": True}
        assert len(welcome["people"]) == LISTED_LEARNERS_MAX + 1


async def test_a_big_audience_counts_learners_and_tells_instructors_everything(
    big_lecture: Harness,
) -> None:
    h = big_lecture
    await h.join("t1", "sid-t")
    for i in range(1, 31):
        await h.join(f"s{i}", f"sid-{i}")
    await h.settle()
    (full,) = rosters(h, "sid-t")  # instructors: every change, in one event per window
    assert [p["id"] for p in full["changed"]] == ["t1"] + [f"s{i}" for i in range(1, 31)]
    assert full["audience"] == {"learners": 30, "listed": True}
    (welcome,) = h.outbox.received("sid-30", "welcome")
    assert [p["id"] for p in welcome["people"]] == ["t1", "s30"]  # not 201 people
    assert welcome["audience"] == {"learners": 30, "listed": False}  # with themselves
    (counted,) = rosters(h, "sid-30")
    assert counted["audience"] == {"learners": 30, "listed": False}
    assert counted["added"] == [] and counted["removed"] == []
    assert [p["id"] for p in counted["changed"]] == ["t1"]  # the teacher is here now
    assert len(h.outbox.events("roster")) == 2  # one per audience for the whole burst

    await h.say("s5", "sid-5", m.Hand(up=True))  # a raised hand: every learner sees it
    await h.settle()
    assert h.outbox.people_seen("sid-6")["s5"]["hand"] is True
    assert sorted(h.outbox.people_seen("sid-6")) == ["s5", "s6", "t1"]
    assert h.outbox.people_seen("sid-t")["s5"]["hand"] is True
    await h.say("t1", "sid-t", m.GrantCmd(person="s5", what="stage", on=True))
    await h.say("s5", "sid-5", m.StageAnswer(accept=True))
    await h.say("s5", "sid-5", m.Hand(up=False))  # already down: the stage lowered it
    await h.settle()
    assert h.outbox.people_seen("sid-6")["s5"]["stage"] is True
    await h.say("t1", "sid-t", m.GrantCmd(person="s5", what="stage", on=False))
    await h.settle()
    assert "s5" not in h.outbox.people_seen("sid-6")  # off stage: only counted again
    mine = h.outbox.people_seen("sid-5")["s5"]  # s5 is told its own state, alone
    assert mine["stage"] is False and mine["present"] is True
    assert h.outbox.people_seen("sid-t")["s5"]["stage"] is False

    told = len(rosters(h, "sid-7"))
    await h.drop("sid-6")
    await h.settle()
    (gone,) = rosters(h, "sid-7")[told:]
    assert gone["audience"]["learners"] == 29 and gone["changed"] == gone["removed"] == []
    assert h.outbox.people_seen("sid-t")["s6"]["present"] is False


async def test_nothing_is_told_after_the_end(a_lecture: Harness) -> None:
    h = a_lecture
    await h.join("t1", "sid-t")
    await h.join("s1", "sid-1")
    await h.settle()
    told = len(h.outbox.events("roster"))
    await h.say("s1", "sid-1", m.Hand(up=True))
    await h.say("t1", "sid-t", m.End())
    await h.settle()
    assert len(h.outbox.events("roster")) == told
