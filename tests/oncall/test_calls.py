"""The switchboard alone, with a fake clock (``now`` passed by hand), table-driven."""

from __future__ import annotations

from typing import Any

import pytest

from signaling.oncall.calls import RING_S, Refused, Switchboard

# Each step: (command, args, expected) — expected is a dict of call id → state after the
# step, or the refusal code (a string).
Step = tuple[str, tuple[Any, ...], Any]
CASES: dict[str, list[Step]] = {
    "accept": [
        ("on_duty", ("t1", 0), {}),
        ("place", ("c1", "s1", "t1", "math", 1), {"c1": "ringing"}),
        ("answer", ("c1", "t1", True, 5), {"c1": "accepted"}),
    ],
    "decline rings the next in the queue": [
        ("on_duty", ("t1", 0), {}),
        ("place", ("c1", "s1", "t1", "math", 1), {"c1": "ringing"}),
        ("place", ("c2", "s2", "t1", "math", 2, True), {"c2": "queued"}),
        ("answer", ("c1", "t1", False, 3), {"c1": "declined", "c2": "ringing"}),
    ],
    "busy without waiting is refused": [
        ("on_duty", ("t1", 0), {}),
        ("place", ("c1", "s1", "t1", "math", 1), {"c1": "ringing"}),
        ("place", ("c2", "s2", "t1", "math", 1, False), "busy"),
    ],
    "one call at a time per student": [
        ("on_duty", ("t1", 0), {}),
        ("on_duty", ("t2", 0), {}),
        ("place", ("c1", "s1", "t1", "math", 1), {"c1": "ringing"}),
        ("place", ("c2", "s1", "t2", "math", 1), "already_calling"),
    ],
    "no answer in 30 s times out and takes the teacher off duty": [
        ("on_duty", ("t1", 0), {}),
        ("place", ("c1", "s1", "t1", "math", 1), {"c1": "ringing"}),
        ("place", ("c2", "s2", "t1", "math", 2, True), {"c2": "queued"}),
        ("expire", (1 + RING_S - 0.5,), {}),
        ("expire", (1 + RING_S,), {"c1": "timed_out", "c2": "cancelled"}),
        ("place", ("c3", "s3", "t1", "math", 40), "not_on_duty"),
    ],
    "the student cancels while ringing": [
        ("on_duty", ("t1", 0), {}),
        ("place", ("c1", "s1", "t1", "math", 1), {"c1": "ringing"}),
        ("cancel", ("c1", "s1", 2), {"c1": "cancelled"}),
        ("answer", ("c1", "t1", True, 3), "not_ringing"),
    ],
    "someone else's call cannot be cancelled": [
        ("on_duty", ("t1", 0), {}),
        ("place", ("c1", "s1", "t1", "math", 1), {"c1": "ringing"}),
        ("cancel", ("c1", "s2", 2), "no_call"),
    ],
    "in a session: one at a time, the queue rings after": [
        ("on_duty", ("t1", 0), {}),
        ("place", ("c1", "s1", "t1", "math", 1), {"c1": "ringing"}),
        ("answer", ("c1", "t1", True, 2), {"c1": "accepted"}),
        ("place", ("c2", "s2", "t1", "math", 3, False), "busy"),
        ("place", ("c3", "s3", "t1", "math", 3, True), {"c3": "queued"}),
        ("on_duty", ("t1", 4), "in_session"),
        ("session_ended", ("t1", 100), {"c3": "ringing"}),
    ],
    "the queue is short": [
        ("on_duty", ("t1", 0), {}),
        ("place", ("c0", "s0", "t1", "math", 1), {"c0": "ringing"}),
        ("place", ("c1", "s1", "t1", "math", 1, True), {"c1": "queued"}),
        ("place", ("c2", "s2", "t1", "math", 1, True), {"c2": "queued"}),
        ("place", ("c3", "s3", "t1", "math", 1, True), {"c3": "queued"}),
        ("place", ("c4", "s4", "t1", "math", 1, True), "queue_full"),
    ],
    "going away ends every call": [
        ("on_duty", ("t1", 0), {}),
        ("place", ("c1", "s1", "t1", "math", 1), {"c1": "ringing"}),
        ("place", ("c2", "s2", "t1", "math", 1, True), {"c2": "queued"}),
        ("away", ("t1", 2), {"c1": "cancelled", "c2": "cancelled"}),
        ("place", ("c3", "s1", "t1", "math", 3), "not_on_duty"),
    ],
    "a teacher never on duty": [
        ("place", ("c1", "s1", "t9", "math", 1), "not_on_duty"),
        ("answer", ("c1", "t9", True, 1), "not_ringing"),
    ],
    "a late answer after a time-out": [
        ("on_duty", ("t1", 0), {}),
        ("place", ("c1", "s1", "t1", "math", 0), {"c1": "ringing"}),
        ("expire", (RING_S,), {"c1": "timed_out"}),
        ("answer", ("c1", "t1", True, RING_S + 1), "not_ringing"),
    ],
}


def _run(board: Switchboard, command: str, args: tuple[Any, ...]) -> Any:
    if command == "place":
        call_id, student, teacher, subject, now, *wait = args
        return board.place(call_id, student, teacher, subject, now, wait=bool(wait and wait[0]))
    return getattr(board, command)(*args)


@pytest.mark.parametrize("name", list(CASES))
def test_switchboard(name: str) -> None:
    board = Switchboard()
    for command, args, expected in CASES[name]:
        try:
            changes = _run(board, command, args)
        except Refused as exc:
            assert exc.code == expected, (command, args)
            continue
        assert not isinstance(expected, str), f"{command}{args} should be refused"
        got = {call.id: call.state for call in changes.calls}
        assert got == expected, (command, args)


def test_many_callers_at_once_exactly_one_rings() -> None:
    board = Switchboard(queue_max=10)
    board.on_duty("t1", 0)
    states = []
    for i in range(8):
        try:
            changes = board.place(f"c{i}", f"s{i}", "t1", "math", 1, wait=i % 2 == 0)
            states += [c.state for c in changes.calls]
        except Refused as exc:
            states.append(exc.code)
    assert states.count("ringing") == 1
    assert states.count("busy") == 4  # the others, who did not choose to wait
    assert board.waiting("t1") == 4


def test_waited_and_deadline() -> None:
    board = Switchboard()
    board.on_duty("t1", 0)
    (rung,) = board.place("c1", "s1", "t1", "math", 10, wait=False).calls[-1:]
    assert rung.deadline == 10 + RING_S
    assert board.next_deadline() == 10 + RING_S
    (done,) = board.answer("c1", "t1", True, 22).calls
    assert done.waited_s() == 12
    assert board.next_deadline() is None
    assert board.teacher_state("t1") == "in_session" and board.busy("t1")


def test_a_call_rings_as_long_as_the_policy_said_when_it_began() -> None:
    ring = [8.0]
    board = Switchboard(ring_s=lambda: ring[0])
    board.on_duty("t1", 0)
    (rung,) = board.place("c1", "s1", "t1", "math", 10, wait=False).calls[-1:]
    ring[0] = 60.0  # an edit while it rings changes the next call, not this one
    assert rung.deadline == 18
    assert board.expire(17.9).calls == ()
    (out,) = board.expire(18).calls
    assert out.state == "timed_out" and out.reason == "no_answer"
