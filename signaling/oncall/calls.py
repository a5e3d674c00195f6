"""The switchboard: calls from students to teachers on duty, as a pure state machine.

A call is ``queued`` (the teacher is busy and the student chose to wait) or
``ringing``, and ends ``accepted``, ``declined``, ``timed_out`` or ``cancelled``.
A teacher's line rings for one call at a time, so when several students call one
free teacher at once exactly one call rings (the first to reach the switchboard) and
the others wait in that teacher's queue or are told "busy" at once: there is a single
winner by construction, not by a race between handlers.

No I/O and no clock: every method takes ``now`` (seconds) and returns what changed;
the caller (``signaling.oncall.service``) tells the people, stores finished calls and
arms a timer for :meth:`Switchboard.expire` at each ringing call's deadline.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal

CallState = Literal["queued", "ringing", "accepted", "declined", "timed_out", "cancelled"]
FINAL: frozenset[str] = frozenset({"accepted", "declined", "timed_out", "cancelled"})
TeacherState = Literal["on_duty", "in_session", "away"]
# "No answer in 30 s → declined" (issue 14): long enough to walk back to the desk. The
# default; the service rings for the tutoring policy's [on_demand] ring_seconds.
RING_S = 30.0
# A short queue: a 13-year-old should not wait an evening behind five others.
QUEUE_MAX = 3


class Refused(Exception):
    """A command that cannot be carried out; ``code`` is stable (the page's words)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Call:
    id: str
    student: str
    teacher: str
    subject: str
    placed_at: float
    state: CallState
    rang_at: float | None = None
    ring_s: float = RING_S  # how long it rings, as the policy said when it began
    ended_at: float | None = None
    # why it ended when not by the teacher's answer: "teacher_away", "no_answer", "student"
    reason: str = ""

    @property
    def final(self) -> bool:
        return self.state in FINAL

    @property
    def deadline(self) -> float | None:
        return None if self.rang_at is None or self.final else self.rang_at + self.ring_s

    def waited_s(self) -> float:
        """From placing the call to its end (or until now, if unknown)."""
        return (self.ended_at or self.placed_at) - self.placed_at


@dataclass
class _Line:
    state: TeacherState = "on_duty"
    ringing: str | None = None
    queue: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Changes:
    """What a command changed: calls (new state) and teachers whose line changed."""

    calls: tuple[Call, ...] = ()
    teachers: frozenset[str] = frozenset()

    def __add__(self, other: Changes) -> Changes:
        return Changes(self.calls + other.calls, self.teachers | other.teachers)


class Switchboard:
    def __init__(self, *, queue_max: int = QUEUE_MAX,
                 ring_s: Callable[[], float] = lambda: RING_S) -> None:
        self.queue_max = queue_max
        self._ring_s = ring_s  # read when a call starts ringing (the policy may change)
        self._lines: dict[str, _Line] = {}
        self._calls: dict[str, Call] = {}  # calls not yet final
        self._by_student: dict[str, str] = {}  # one call at a time per student

    # -- reading

    def teacher_state(self, teacher: str) -> TeacherState | None:
        line = self._lines.get(teacher)
        return None if line is None else line.state

    def busy(self, teacher: str) -> bool:
        line = self._lines.get(teacher)
        return line is not None and (line.state != "on_duty" or line.ringing is not None)

    def waiting(self, teacher: str) -> int:
        """Calls ringing or queued for the teacher: the "waiting load" of the match order."""
        line = self._lines.get(teacher)
        return 0 if line is None else len(line.queue) + (line.ringing is not None)

    def call(self, call_id: str) -> Call | None:
        return self._calls.get(call_id)

    def call_of_student(self, student: str) -> Call | None:
        found = self._by_student.get(student)
        return None if found is None else self._calls.get(found)

    def ringing_for(self, teacher: str) -> Call | None:
        line = self._lines.get(teacher)
        return None if line is None or line.ringing is None else self._calls[line.ringing]

    def position(self, call_id: str) -> int:
        """1 for the first queued call of its teacher; 0 when not queued."""
        call = self._calls.get(call_id)
        if call is None or call.state != "queued":
            return 0
        return self._lines[call.teacher].queue.index(call_id) + 1

    # -- teachers

    def on_duty(self, teacher: str, now: float) -> Changes:
        line = self._lines.setdefault(teacher, _Line("away"))
        if line.state == "in_session":
            raise Refused("in_session")
        line.state = "on_duty"
        return Changes(teachers=frozenset({teacher})) + self._next(teacher, now)

    def away(self, teacher: str, now: float, reason: str = "teacher_away") -> Changes:
        """The teacher leaves duty (or their page closed): every call for them ends."""
        line = self._lines.get(teacher)
        if line is None:
            return Changes()
        ended = [self._finish(c, "cancelled", now, reason)
                 for c in [line.ringing, *line.queue] if c is not None]
        line.ringing, line.queue = None, []
        if line.state != "in_session":
            line.state = "away"
        return Changes(tuple(ended), frozenset({teacher}))

    def session_ended(self, teacher: str, now: float) -> Changes:
        """The teacher's tutoring session ended: back on duty, the next caller rings."""
        line = self._lines.get(teacher)
        if line is None or line.state != "in_session":
            return Changes()
        line.state = "on_duty"
        return Changes(teachers=frozenset({teacher})) + self._next(teacher, now)

    def leave(self, teacher: str, now: float) -> Changes:
        """The teacher is gone for good (page closed while not in a session)."""
        changes = self.away(teacher, now)
        line = self._lines.get(teacher)
        if line is not None and line.state == "away":
            del self._lines[teacher]
        return changes

    # -- students

    def place(self, call_id: str, student: str, teacher: str, subject: str, now: float,
              *, wait: bool) -> Changes:
        """A student calls. Refused: ``already_calling``, ``not_on_duty``, ``busy`` (and
        ``wait`` false), ``queue_full``."""
        if student in self._by_student:
            raise Refused("already_calling")
        line = self._lines.get(teacher)
        if line is None or line.state == "away":
            raise Refused("not_on_duty")
        free = line.state == "on_duty" and line.ringing is None
        if not free and not wait:
            raise Refused("busy")
        if not free and len(line.queue) >= self.queue_max:
            raise Refused("queue_full")
        call = Call(call_id, student, teacher, subject, now, "queued")
        self._calls[call_id] = call
        self._by_student[student] = call_id
        line.queue.append(call_id)
        return Changes((call,), frozenset({teacher})) + self._next(teacher, now)

    def cancel(self, call_id: str, student: str, now: float) -> Changes:
        call = self._calls.get(call_id)
        if call is None or call.student != student:
            raise Refused("no_call")
        line = self._lines[call.teacher]
        if line.ringing == call_id:
            line.ringing = None
        else:
            line.queue.remove(call_id)
        ended = self._finish(call_id, "cancelled", now, "student")
        return Changes((ended,), frozenset({call.teacher})) + self._next(call.teacher, now)

    # -- the teacher's answer, and the clock

    def answer(self, call_id: str, teacher: str, accept: bool, now: float) -> Changes:
        """Accepting puts the teacher ``in_session`` (one session at a time) until
        :meth:`session_ended`; declining rings the next caller."""
        line = self._lines.get(teacher)
        if line is None or line.ringing != call_id:
            raise Refused("not_ringing")  # answered late, twice, or someone else's call
        line.ringing = None
        if accept:
            line.state = "in_session"
            done = self._finish(call_id, "accepted", now, "")
            return Changes((done,), frozenset({teacher}))
        done = self._finish(call_id, "declined", now, "teacher")
        return Changes((done,), frozenset({teacher})) + self._next(teacher, now)

    def expire(self, now: float) -> Changes:
        """Calls ringing past their deadline time out. A teacher who let a call ring out
        is taken off duty (and their queue told so): they are likely away from the desk,
        and every further student would wait 30 s for nothing."""
        changes = Changes()
        for teacher, line in list(self._lines.items()):
            if line.ringing is None:
                continue
            deadline = self._calls[line.ringing].deadline
            if deadline is not None and now >= deadline:
                timed_out = self._finish(line.ringing, "timed_out", now, "no_answer")
                line.ringing = None
                changes += Changes((timed_out,), frozenset({teacher}))
                changes += self.away(teacher, now, "teacher_away")
        return changes

    def next_deadline(self) -> float | None:
        deadlines = [d for c in self._calls.values() if (d := c.deadline) is not None]
        return min(deadlines, default=None)

    # -- inside

    def _next(self, teacher: str, now: float) -> Changes:
        """Ring the first queued call if the teacher is free."""
        line = self._lines[teacher]
        if line.state != "on_duty" or line.ringing is not None or not line.queue:
            return Changes()
        call_id = line.queue.pop(0)
        rung = replace(self._calls[call_id], state="ringing", rang_at=now,
                       ring_s=self._ring_s())
        self._calls[call_id] = rung
        line.ringing = call_id
        return Changes((rung,), frozenset({teacher}))

    def _finish(self, call_id: str, state: CallState, now: float, reason: str) -> Call:
        call = replace(self._calls.pop(call_id), state=state, ended_at=now, reason=reason)
        if self._by_student.get(call.student) == call_id:
            del self._by_student[call.student]
        return call
