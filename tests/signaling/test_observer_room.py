"""A supervisor's observer seat in the room owner alone (issue 16), with the fakes of
test_room_unit: they receive (welcome, chat, board, roster, the end) and do nothing
else; the participants never see them; they are nobody's presence; their visits are
written down."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from typing import Any

import pytest

from recorder.presence.tracker import Kind
from rtc.contract import MediaSample
from signaling.session import messages as m
from signaling.session.events import Observed, RoomEvent, Sampled
from signaling.session.media_events import MediaEventsToRoom
from signaling.session.roles import OBSERVING, Grants, caps_for, is_observer, observer_id
from signaling.session.room import RoomError
from tests.signaling.test_room_unit import Harness, started
from tests.support import ONE_TO_ONE, lecture

SUPERVISOR = observer_id("tz-office")
LINE = {"type": "stroke", "id": "k1", "tool": "pen", "color": "#1f6feb", "width": 4,
        "points": [[0.1, 0.1], [0.2, 0.2]]}


@pytest.fixture
async def one_to_one() -> AsyncIterator[Harness]:
    async for h in started(copy.deepcopy(ONE_TO_ONE)):
        yield h


@pytest.fixture
async def a_lecture() -> AsyncIterator[Harness]:
    async for h in started(lecture(2)):
        yield h


def test_an_observer_may_do_nothing_in_any_form() -> None:
    for form in ("one_to_one", "lecture", "classroom", "review"):
        for grants in (Grants(), Grants(stage=True, pen=True)):
            assert caps_for(form, "observer", grants) == OBSERVING
    assert OBSERVING.wire() == {"publish": [], "draw": False, "grant": False, "end": False,
                                "report": False}
    # No roster id can be an observer seat (PERSON_ID has no "~"), whatever the username.
    assert is_observer(observer_id("t1")) and not is_observer("t1")


async def test_the_observer_receives_and_is_not_shown(a_lecture: Harness) -> None:
    h = a_lecture
    await h.join("t1", "sid-t")
    await h.join("s1", "sid-1")
    await h.say("t1", "sid-t", m.Chat(text="先看第一题"))
    await h.say("t1", "sid-t", m.BoardCmd(op=LINE))
    await h.join(SUPERVISOR, "sid-o")
    (welcome,) = h.outbox.received("sid-o", "welcome")
    assert welcome["you"]["role"] == "observer" and welcome["you"]["name"] == "tz-office"
    assert welcome["caps"] == OBSERVING.wire()
    assert {p["id"] for p in welcome["people"]} == {"t1", "s1", "s2"}  # the roster, whole
    assert [c["text"] for c in welcome["chat"]] == ["先看第一题"]  # the snapshot on join
    assert len(welcome["board"]["strokes"]) == 1
    assert ("publish", SUPERVISOR, ()) in h.media.calls  # a subscriber, never a publisher

    # As it happens: chat, board, roster changes reach the observer too.
    await h.say("t1", "sid-t", m.Chat(text="再看第二题"))
    await h.say("s1", "sid-1", m.Hand(up=True))
    await h.settle()
    assert [c["text"] for c in h.outbox.received("sid-o", "chat")] == ["再看第二题"]
    assert h.outbox.people_seen("sid-o")["s1"]["hand"] is True

    # The participants never hear of the observer: not in a roster, not in a count.
    for sid in ("sid-t", "sid-1"):
        assert SUPERVISOR not in h.outbox.people_seen(sid)
        for roster in h.outbox.received(sid, "roster"):
            assert roster["audience"]["learners"] == 1
    assert h.room.present() == ["t1", "s1"] and h.room.observing() == ["tz-office"]
    # Nobody's presence: the journal heard nothing of the observer.
    assert all(not is_observer(person) for person, _, _ in h.journal.seen)
    assert h.store.visits == [["tz-office", "2026-03-02T10:30:00.000Z", None]]


async def test_every_command_but_receiving_is_refused(a_lecture: Harness) -> None:
    h = a_lecture
    await h.join("t1", "sid-t")
    await h.join(SUPERVISOR, "sid-o")
    refused: list[Any] = [
        m.Chat(text="我是督导"),
        m.BoardCmd(op=LINE),
        m.Hand(up=True),
        m.GrantCmd(person="s1", what="stage", on=True),
        m.MediaIntent(audio=True, video=True),
        m.Record(on=True),
        m.End(),
    ]
    for command in refused:
        with pytest.raises(RoomError) as why:
            await h.say(SUPERVISOR, "sid-o", command)
        assert why.value.code == "forbidden", command
    assert h.store.chats == [] and h.store.board == [] and h.store.choice is None
    assert h.room.state == "live"
    assert [c for c in h.media.calls if c[0] == "publish" and c[1] == SUPERVISOR] == [
        ("publish", SUPERVISOR, ())]
    # Nor can a participant grant the observer anything.
    with pytest.raises(RoomError) as why:
        await h.say("t1", "sid-t", m.GrantCmd(person=SUPERVISOR, what="pen", on=True))
    assert why.value.code == "unknown_person"


async def test_watching_never_starts_a_session_and_ends_with_it(one_to_one: Harness) -> None:
    h = one_to_one
    with pytest.raises(RoomError) as why:
        await h.join(SUPERVISOR, "sid-o0")
    assert why.value.code == "not_live" and h.room.state == "scheduled"
    assert h.store.started is None and h.store.visits == []

    await h.join("t1", "sid-t")
    await h.join(SUPERVISOR, "sid-o")
    await h.advance(60)
    await h.say("t1", "sid-t", m.End())
    assert h.room.state == "ended"
    assert h.outbox.received("sid-o", "ended") and "sid-o" in h.outbox.dropped
    assert h.store.visits == [["tz-office", "2026-03-02T10:30:00.000Z",
                               "2026-03-02T10:31:00.000Z"]]
    with pytest.raises(RoomError) as why:
        await h.join(SUPERVISOR, "sid-o2")
    assert why.value.code == "ended"


async def test_an_observer_keeps_no_room_open(one_to_one: Harness) -> None:
    """The idle end counts people: a room with only a supervisor in it ends."""
    h = one_to_one
    await h.join("t1", "sid-t")
    await h.join(SUPERVISOR, "sid-o")
    await h.drop("sid-t")
    await h.advance(30.0)  # grace over
    await h.advance(1801.0)  # the idle end
    assert h.room.state == "ended"
    assert h.store.visits[0][2] is not None


async def test_visits_leave_and_second_tab(one_to_one: Harness) -> None:
    h = one_to_one
    await h.join("t1", "sid-t")
    await h.join(SUPERVISOR, "sid-o")
    await h.advance(10)
    await h.join(SUPERVISOR, "sid-o2")  # a second tab: one seat, the same visit
    assert h.outbox.received("sid-o", "replaced") and ("reset", SUPERVISOR) in h.media.calls
    assert len(h.store.visits) == 1
    with pytest.raises(RoomError) as why:  # the old tab speaks no more
        await h.say(SUPERVISOR, "sid-o", m.Leave())
    assert why.value.code == "stale"
    await h.advance(10)
    assert await h.say(SUPERVISOR, "sid-o2", m.Leave()) == {}
    assert ("remove", SUPERVISOR) in h.media.calls and h.room.observing() == []
    await h.advance(10)
    await h.join(SUPERVISOR, "sid-o3")  # back: a new visit
    await h.drop("sid-o3")  # the tab closed: no grace for an observer, the visit ends
    assert h.store.visits == [
        ["tz-office", "2026-03-02T10:30:00.000Z", "2026-03-02T10:30:20.000Z"],
        ["tz-office", "2026-03-02T10:30:30.000Z", "2026-03-02T10:30:30.000Z"],
    ]
    assert h.room.state == "live" and h.room.present() == ["t1"]


def test_media_seconds_of_an_observer_reach_no_listener() -> None:
    """The media layer samples every connected peer each second, the observer too; what
    was forwarded to them must never become anybody's ``receiving`` evidence."""
    heard: list[RoomEvent] = []

    class Listener:
        def room_event(self, session_id: str, event: RoomEvent) -> None:
            heard.append(event)

    posted: list[Any] = []
    events = MediaEventsToRoom("s_unit", (Listener(),), posted.append)
    sample = MediaSample(0, 0, None, 0, 0, 0, 0, 50, 40_000, True, 0.0, 3.0)
    for person in (SUPERVISOR, "s1"):
        events.sample(person, 1_770_000_000, sample)
        events.transport(person, True)
        events.traffic(person)
    assert [(type(e).__name__, getattr(e, "person", "")) for e in heard] == [
        ("Sampled", "s1"), ("Observed", "s1"), ("Observed", "s1")]
    assert isinstance(heard[0], Sampled) and isinstance(heard[1], Observed)
    assert heard[1].kind == Kind.TRANSPORT_UP
    # Renegotiation still reaches the observer's tab (through the room).
    events.renegotiate(SUPERVISOR, [])
    assert posted and posted[-1].person == SUPERVISOR
