"""On-demand tutoring over socket.io (namespace ``/oncall``): the I/O around the pure
switchboard.

Every change of the switchboard is one synchronous method call, made only from this
object's handlers on the event loop, with no ``await`` inside: each command sees and
leaves a consistent board, so concurrent calls to one teacher have exactly one
winner (the switchboard's rule) whatever order the handlers run in. Everything
asynchronous (telling people, storing finished calls, creating the session) happens
after, from the returned :class:`~signaling.oncall.calls.Changes`.

An accepted call creates a one-to-one tutoring session through
:meth:`Services.create_session`, the code ``POST /api/v1/sessions`` uses, so it is
stored, journaled, recorded and paid like any other. Its scheduled length is the
student's continuous-time allowance (the tutoring policy's ``[on_demand]``); this
service warns both ``warn_minutes`` before it and then ends the session.

Across nodes: the list of teachers on duty is shared (Redis); a call is handled by
the switchboard of the node both pages are connected to. A student on another node
than the teacher is told ``elsewhere`` with that node's URL; the page goes there with
the same pass and places the call again (as a room's ``moved`` does).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import socketio
from msgspec import Struct

from recorder.credits.calendar import Calendar
from recorder.credits.policy import Policy
from rtc.clock import Timer
from signaling.oncall import passes
from signaling.oncall.calls import Call, Changes, Refused, Switchboard
from signaling.oncall.hours import Openness, openness
from signaling.oncall.journal import CallJournal, CallRow
from signaling.oncall.matching import Candidate, rank
from signaling.oncall.outbound import OncallOut
from signaling.oncall.presence import OnDuty, Presence
from signaling.router.base import PlacementUnavailable
from signaling.server import tokens
from signaling.server.services import Services
from signaling.session.commands import EndSession
from signaling.session.declarations import PersonId
from signaling.session.schema import Invalid, decode
from signaling.session.spec import parse_new_session
from signaling.session.timefmt import iso_at

log = logging.getLogger(__name__)
NAMESPACE = "/oncall"
STUDENTS = "students"  # the socket.io room of every student page (list updates)
SESSION_CHECK_S = 10.0  # how often a teacher in a session is checked for its end
SUBJECT_ZH = {"chinese": "语文", "math": "数学", "english": "英语", "morality_law": "道德与法治",
              "physics": "物理", "chemistry": "化学", "biology": "生物", "history": "历史",
              "geography": "地理"}


class DutyCmd(Struct, frozen=True, forbid_unknown_fields=True):
    on: bool


class ListCmd(Struct, frozen=True, forbid_unknown_fields=True):
    subject: passes.Subject | None = None


class CallCmd(Struct, frozen=True, forbid_unknown_fields=True):
    teacher: PersonId
    subject: passes.Subject
    wait: bool = False


class CallIdCmd(Struct, frozen=True, forbid_unknown_fields=True):
    call: str


class AnswerCmd(Struct, frozen=True, forbid_unknown_fields=True):
    call: str
    accept: bool


@dataclass
class _Streak:
    """A student's continuous tutoring this evening: minutes used, and when the last
    session ended (a rest of ``rest_minutes`` starts a new streak)."""

    used_s: float = 0.0
    last_end: float = 0.0


@dataclass
class _Live:
    """A session started by a call, while it runs."""

    session_id: str
    teacher: str
    student: str
    started: float
    timers: tuple[Timer, ...]
    urls: dict[str, str]  # person → their join link, for a page reloaded mid-session


class RefusedWith(Exception):
    def __init__(self, code: str, **detail: Any) -> None:
        super().__init__(code)
        self.code, self.detail = code, detail


class Oncall:
    def __init__(self, svc: Services, sio: socketio.AsyncServer, presence: Presence,
                 journal: CallJournal, rules: Callable[[], tuple[Calendar, Policy]]) -> None:
        self.svc, self.sio, self.presence, self.journal = svc, sio, presence, journal
        self.rules = rules
        self.board = Switchboard(
            ring_s=lambda: float(self.rules()[1].on_demand.ring_seconds))
        self.who: dict[str, passes.Pass] = {}  # sid → pass
        self.base: dict[str, str] = {}  # sid → base URL for join links
        self.teachers: dict[str, passes.Pass] = {}  # teachers connected here
        self.since: dict[str, float] = {}
        self.students: dict[str, passes.Pass] = {}
        self.streaks: dict[str, _Streak] = {}
        self.live: dict[str, _Live] = {}  # by teacher
        self.placed_by: dict[str, str] = {}  # call id → the student's base URL
        self._timer: Timer | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._checker: asyncio.Task[None] | None = None

    # -- lifecycle

    def start(self) -> None:
        self._checker = asyncio.get_running_loop().create_task(self._check_sessions())

    async def stop(self) -> None:
        if self._checker is not None:
            self._checker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checker
        for task in list(self._tasks):
            task.cancel()

    def open_now(self) -> Openness:
        calendar, policy = self.rules()
        return openness(calendar, policy.open_hours, self.svc.clock.time())

    # -- connections

    async def connect(self, sid: str, token: object, base: str) -> dict[str, Any]:
        p = passes.verify(self.svc.config.secret, token, now=self.svc.clock.time())
        self.who[sid], self.base[sid] = p, base
        room = f"t:{p.person}" if p.teacher else f"s:{p.person}"
        await self.sio.enter_room(sid, room, namespace=NAMESPACE)
        if not p.teacher:
            await self.sio.enter_room(sid, STUDENTS, namespace=NAMESPACE)
        return self.hello(p)

    def hello_open(self) -> dict[str, Any]:
        return _open_wire(self.open_now())

    def hello(self, p: passes.Pass) -> dict[str, Any]:
        o = self.open_now()
        me = {"id": p.person, "name": p.name, "school": p.school, "district": p.district,
              "kind": p.kind, "subjects": list(p.subjects), "grades": list(p.grades),
              "grade": p.grade}
        state = self.board.teacher_state(p.person) if p.teacher else None
        mine = self.board.call_of_student(p.person)
        live = next((x for x in self.live.values() if p.person in (x.teacher, x.student)),
                    None)
        return {"me": me, "open": _open_wire(o), "state": state or "away",
                "call": None if mine is None else self._call_wire(mine),
                "session_url": None if live is None else live.urls.get(p.person),
                "limits": self._limits()}

    async def disconnect(self, sid: str) -> None:
        p = self.who.pop(sid, None)
        self.base.pop(sid, None)
        if p is None:
            return
        room = f"t:{p.person}" if p.teacher else f"s:{p.person}"
        # The leaving connection is still in its rooms while this runs: count the others.
        still = any(other != sid
                    for other, _ in self.sio.manager.get_participants(NAMESPACE, room))
        if still:  # another tab of the same person is still here
            return
        now = self.svc.clock.time()
        if p.teacher and p.person not in self.live:
            self.teachers.pop(p.person, None)
            await self._apply(self.board.leave(p.person, now))
            await self.presence.remove(p.person)
            await self._list_changed()
        elif not p.teacher:
            call = self.board.call_of_student(p.person)
            if call is not None:
                await self._apply(self.board.cancel(call.id, p.person, now))

    # -- teachers

    async def duty(self, sid: str, payload: Any) -> dict[str, Any]:
        p = self._teacher(sid)
        cmd = decode(DutyCmd, payload)
        now = self.svc.clock.time()
        if cmd.on:
            o = self.open_now()
            if not o.open:
                raise RefusedWith("closed", open=_open_wire(o))
            try:
                changes = self.board.on_duty(p.person, now)
            except Refused as exc:
                raise RefusedWith(exc.code) from None
            self.teachers[p.person] = p
            self.since.setdefault(p.person, now)
        else:
            changes = self.board.away(p.person, now)
        await self._apply(changes)
        return {"state": self.board.teacher_state(p.person) or "away"}

    async def answer(self, sid: str, payload: Any) -> dict[str, Any]:
        p = self._teacher(sid)
        cmd = decode(AnswerCmd, payload)
        call = self.board.call(cmd.call)
        try:
            changes = self.board.answer(cmd.call, p.person, cmd.accept, self.svc.clock.time())
        except Refused as exc:
            raise RefusedWith(exc.code) from None
        if not cmd.accept or call is None:
            await self._apply(changes)
            return {}
        (accepted,) = [c for c in changes.calls if c.id == cmd.call]
        try:
            join = await self._start_session(accepted, sid)
        except (Invalid, RefusedWith) as exc:
            # The session could not be made: the teacher is free again, the student told.
            log.warning("call %s: no session (%s)", accepted.id, exc)
            code = exc.code if isinstance(exc, RefusedWith) else "no_session"
            failed = Call(**{**accepted.__dict__, "state": "cancelled", "reason": code})
            await self._apply(Changes((failed,), changes.teachers)
                              + self.board.session_ended(p.person, self.svc.clock.time()))
            raise RefusedWith(code) from None
        await self._apply(changes, join=join)
        return {"join_url": join[p.person]}

    # -- students

    async def teachers_list(self, sid: str, payload: Any) -> dict[str, Any]:
        p = self._student(sid)
        cmd = decode(ListCmd, payload if payload is not None else {})
        entries = {e.teacher: e for e in await self.presence.all()}
        ranked = rank([Candidate(e.teacher, e.name, e.subjects, e.grades, e.rating, e.waiting)
                       for e in entries.values()], cmd.subject or "", p.grade)
        return {"teachers": [{**entries[x.teacher].wire(), "reasons": list(x.reasons),
                              "fit": x.fit} for x in ranked],
                "open": _open_wire(self.open_now())}

    async def call(self, sid: str, payload: Any) -> dict[str, Any]:
        p = self._student(sid)
        cmd = decode(CallCmd, payload)
        now = self.svc.clock.time()
        o = self.open_now()
        if not o.open:
            raise RefusedWith("closed", open=_open_wire(o))
        resting = self._rest_until(p.person, now)
        if resting is not None:
            raise RefusedWith("resting", until=resting)
        if cmd.teacher not in self.teachers:
            entry = next((e for e in await self.presence.all() if e.teacher == cmd.teacher),
                         None)
            if entry is not None and entry.node != self.svc.config.node_id:
                # The switchboard of the teacher's node rings them: the student's page
                # goes there (the pass is good on every node) and places the call again.
                raise RefusedWith("elsewhere", node=entry.node,
                                  url=await self._node_url(entry.node))
        here = self.teachers.get(cmd.teacher)
        if here is not None and cmd.subject not in here.subjects:
            raise RefusedWith("not_their_subject")
        call_id = "c_" + secrets.token_urlsafe(9)
        try:
            changes = self.board.place(call_id, p.person, cmd.teacher, cmd.subject, now,
                                       wait=cmd.wait)
        except Refused as exc:
            raise RefusedWith(exc.code) from None
        self.students[p.person] = p
        self.placed_by[call_id] = self.base[sid]
        await self._apply(changes)
        placed = self.board.call(call_id)
        return {"call": None if placed is None else self._call_wire(placed)}

    async def cancel(self, sid: str, payload: Any) -> dict[str, Any]:
        p = self._student(sid)
        cmd = decode(CallIdCmd, payload)
        try:
            await self._apply(self.board.cancel(cmd.call, p.person, self.svc.clock.time()))
        except Refused as exc:
            raise RefusedWith(exc.code) from None
        return {}

    # -- inside

    async def _node_url(self, node: str) -> str:
        """Another node's base URL from the router ("" when it cannot be known now)."""
        try:
            return (await self.svc.router.peers()).get(node, "")
        except PlacementUnavailable:
            return ""

    def _teacher(self, sid: str) -> passes.Pass:
        p = self.who.get(sid)
        if p is None or not p.teacher:
            raise RefusedWith("not_teacher")
        return p

    def _student(self, sid: str) -> passes.Pass:
        p = self.who.get(sid)
        if p is None or p.teacher:
            raise RefusedWith("not_student")
        return p

    def _limits(self) -> dict[str, int]:
        od = self.rules()[1].on_demand
        return {"continuous_minutes": od.continuous_minutes, "warn_minutes": od.warn_minutes,
                "rest_minutes": od.rest_minutes, "ring_s": od.ring_seconds}

    def _streak(self, student: str, now: float) -> _Streak:
        od = self.rules()[1].on_demand
        streak = self.streaks.setdefault(student, _Streak())
        if streak.last_end and now - streak.last_end >= od.rest_minutes * 60:
            streak.used_s, streak.last_end = 0.0, 0.0  # rested: a new streak
        return streak

    def _rest_until(self, student: str, now: float) -> float | None:
        od = self.rules()[1].on_demand
        streak = self._streak(student, now)
        if streak.used_s >= od.continuous_minutes * 60 - 60:  # less than a minute left
            return streak.last_end + od.rest_minutes * 60
        return None

    async def _start_session(self, call: Call, teacher_sid: str) -> dict[str, str]:
        teacher, student = self.teachers[call.teacher], self.students[call.student]
        now = self.svc.clock.time()
        od = self.rules()[1].on_demand
        allowance = od.continuous_minutes * 60 - self._streak(student.person, now).used_s
        closes = self.open_now().closes_at
        end = min(now + allowance, closes) if closes is not None else now + allowance
        body = {
            "programme": "tutoring", "form": "one_to_one",
            "title": f"一对一实时辅导 · {SUBJECT_ZH.get(call.subject, call.subject)}",
            "scheduled_start": _iso(now), "scheduled_end": _iso(max(end, now + 60)),
            "people": [_person(teacher, "instructor"), _person(student, "learner")],
        }
        spec = parse_new_session(body)  # the same validation as POST /api/v1/sessions
        if teacher.person == student.person:
            raise RefusedWith("same_person")
        created = await self.svc.create_session(spec, self.base[teacher_sid])
        session_id = str(created["session_id"])
        urls = created["join_urls"]
        assert isinstance(urls, dict)
        warn_at = end - od.warn_minutes * 60
        clock = self.svc.clock
        timers = (
            clock.call_later(max(0.0, warn_at - now), lambda: self._spawn(
                self._warn(call.teacher, call.student, od.warn_minutes))),
            clock.call_later(end - now, lambda: self._spawn(self._limit(call.teacher))),
        )
        self.live[call.teacher] = _Live(session_id, call.teacher, call.student, now, timers,
                                        {k: str(v) for k, v in urls.items()})
        self._spawn(self._store(call, session_id))
        return {k: str(v) for k, v in urls.items()}

    async def _warn(self, teacher: str, student: str, minutes: int) -> None:
        data = {"minutes_left": minutes}
        await self.sio.emit(OncallOut.LIMIT_WARNING, data, room=f"t:{teacher}", namespace=NAMESPACE)
        await self.sio.emit(OncallOut.LIMIT_WARNING, data, room=f"s:{student}", namespace=NAMESPACE)

    async def _limit(self, teacher: str) -> None:
        """The continuous-time limit: end the session, then tell both (the student to rest)."""
        live = self.live.get(teacher)
        if live is None:
            return
        room = self.svc.router.running(live.session_id)
        if room is not None:
            await room.submit(EndSession(None))
        else:  # nobody joined (or the room closed): end it as POST …/end does without a room
            stored = await self.svc.store.session(live.session_id)
            if stored is not None and stored.state != "ended":
                self.svc.journal.end_session(live.session_id)
                await self.svc.store.mark_ended(live.session_id, iso_at(self.svc.clock.time()))
                if self.svc.webhooks is not None:
                    self.svc.webhooks.send("session.ended", live.session_id, {})
        od = self.rules()[1].on_demand
        data = {"session_id": live.session_id, "rest_minutes": od.rest_minutes}
        await self.sio.emit(OncallOut.LIMIT_REACHED, data, room=f"s:{live.student}",
                            namespace=NAMESPACE)
        await self.sio.emit(OncallOut.LIMIT_REACHED, data, room=f"t:{teacher}", namespace=NAMESPACE)
        await self._session_over(teacher)

    async def _session_over(self, teacher: str) -> None:
        live = self.live.pop(teacher, None)
        if live is None:
            return
        for timer in live.timers:
            timer.cancel()
        now = self.svc.clock.time()
        streak = self._streak(live.student, now)
        streak.used_s += now - live.started
        streak.last_end = now
        await self._apply(self.board.session_ended(teacher, now))
        if teacher not in {p.person for p in self.who.values() if p.teacher}:
            self.teachers.pop(teacher, None)  # the duty page closed during the session
            await self._apply(self.board.leave(teacher, now))
            await self.presence.remove(teacher)

    async def _check_sessions(self) -> None:
        while True:
            await self.svc.clock.sleep(SESSION_CHECK_S)
            for teacher, live in list(self.live.items()):
                with contextlib.suppress(Exception):  # a store hiccup: look again next time
                    stored = await self.svc.store.session(live.session_id)
                    if stored is None or stored.state == "ended":
                        await self._session_over(teacher)

    async def session_check(self) -> None:
        """One pass of the session check (tests call it instead of waiting)."""
        for teacher, live in list(self.live.items()):
            stored = await self.svc.store.session(live.session_id)
            if stored is None or stored.state == "ended":
                await self._session_over(teacher)

    async def _apply(self, changes: Changes, join: dict[str, str] | None = None) -> None:
        for call in changes.calls:
            wire = self._call_wire(call)
            if join is not None and call.state == "accepted":
                wire["join_url"] = join.get(call.student)
            await self.sio.emit(OncallOut.CALL, wire, room=f"s:{call.student}", namespace=NAMESPACE)
            teacher_wire = {**wire, "student": self._student_wire(call.student)}
            if join is not None and call.state == "accepted":
                teacher_wire["join_url"] = join.get(call.teacher)
            if call.state != "queued":
                await self.sio.emit(OncallOut.CALL, teacher_wire, room=f"t:{call.teacher}",
                                    namespace=NAMESPACE)
            if call.final and call.state != "accepted":
                self._spawn(self._store(call, None))
                self.placed_by.pop(call.id, None)
        for teacher in changes.teachers:
            await self._publish(teacher)
        if changes.teachers:
            await self._list_changed()
        self._arm()

    def _arm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        deadline = self.board.next_deadline()
        if deadline is not None:
            delay = max(0.0, deadline - self.svc.clock.time())
            self._timer = self.svc.clock.call_later(delay, self._expire)

    def _expire(self) -> None:
        self._timer = None
        self._spawn(self._apply(self.board.expire(self.svc.clock.time())))

    async def _publish(self, teacher: str) -> None:
        p = self.teachers.get(teacher)
        state = self.board.teacher_state(teacher)
        await self.sio.emit(OncallOut.DUTY, {"state": state or "away"}, room=f"t:{teacher}",
                            namespace=NAMESPACE)
        if p is None or state in (None, "away"):
            await self.presence.remove(teacher)
            return
        await self.presence.put(OnDuty(
            p.person, p.name, p.school, p.district, p.subjects, p.grades, p.rating,
            "busy" if self.board.busy(teacher) else "on_duty", self.board.waiting(teacher),
            self.svc.config.node_id, self.since.get(teacher, 0.0)))

    async def _list_changed(self) -> None:
        await self.sio.emit(OncallOut.TEACHERS_CHANGED, {}, room=STUDENTS, namespace=NAMESPACE)

    async def _store(self, call: Call, session_id: str | None) -> None:
        try:
            await self.journal.add(CallRow.of(call, session_id))
        except Exception:  # a lost row must not break the call; the log says so
            log.exception("call %s: not stored", call.id)

    def _call_wire(self, call: Call) -> dict[str, Any]:
        t = self.teachers.get(call.teacher)
        return {"call": call.id, "state": call.state, "reason": call.reason,
                "teacher": call.teacher, "teacher_name": t.name if t else "",
                "subject": call.subject, "position": self.board.position(call.id),
                "ring_left_s": None if call.deadline is None
                else max(0, round(call.deadline - self.svc.clock.time()))}

    def _student_wire(self, student: str) -> dict[str, str]:
        p = self.students.get(student)
        return {} if p is None else {"name": p.name, "school": p.school, "grade": p.grade}

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _open_wire(o: Openness) -> dict[str, Any]:
    return {"open": o.open, "reason": o.reason, "today": list(o.today),
            "closes_at": o.closes_at}


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _person(p: passes.Pass, role: str) -> dict[str, str]:
    out = {"id": p.person, "name": p.name, "role": role}
    if p.school:
        out["school"] = p.school
    if p.district:
        out["district"] = p.district
    return out


__all__ = ["NAMESPACE", "Oncall", "RefusedWith", "tokens"]
