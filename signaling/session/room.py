"""A live session room: the one owner of a session's state.

Every change (join, leave, offer, grant, chat, board op, media event, end) is a
command in one queue drained by one task, so no two changes interleave and no
handler sees half-applied state. Callers ``submit`` and await the result;
media callbacks ``post`` without waiting. Broadcasts go out through the
:class:`Outbox`; socket.io rooms deliver them but are never the record of who
is here: ``self._people`` is.

Who is here reaches the others coalesced (issue 11): a change of a person (a join, a
leave, a hand, a grant, media observed) only marks them in the :class:`RosterFeed`;
the first such mark starts a window of :data:`ROSTER_WINDOW_S` on the room's clock,
whose timer posts :class:`FlushRoster`, and the owner then sends one ``roster`` event
per audience with everything changed in it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from recorder.presence.tracker import Kind
from rtc.clock import Clock, Timer
from rtc.room import Answer, RoomSnapshot
from signaling.session import messages as m
from signaling.session.commands import (
    Disconnected,
    EndSession,
    FlushRoster,
    FromClient,
    GraceOver,
    IdleCheck,
    Join,
    JoinResult,
    MediaNote,
    MediaWork,
    RoomError,
    Welcome,
)
from signaling.session.events import Ended, Observed, RoomEvent, Started, tell
from signaling.session.log_context import SESSION
from signaling.session.media_events import MediaEventsToRoom, streams_wire, tracks_wire
from signaling.session.observers import Observer
from signaling.session.outbound import Out
from signaling.session.participants import Participant
from signaling.session.ratelimit import TokenBucket
from signaling.session.roles import (
    NOTHING,
    OBSERVING,
    is_observer,
    may_invite,
    may_mute,
    may_undo,
)
from signaling.session.room_deps import MediaFactory, Outbox, RoomDeps, SessionStore
from signaling.session.room_recording import RecordingNote, RoomRecording
from signaling.session.roster import RosterFeed
from signaling.session.spec import BROADCAST_FORMS, RecordingChoice, StoredSession
from signaling.session.timefmt import iso_at
from signaling.session.whiteboard import Board, BoardLimitError, BoardOp

log = logging.getLogger(__name__)

# How long the room collects changes of people before it tells the others, in one
# ``roster`` event. A join storm of a lecture (hundreds of people clicking the link
# when it starts) then costs each person present a few events a second, not one per
# newcomer (1,000 joins were 499,500 events), while a raised hand or a camera that
# went off still shows within a fifth of a second, below what people notice in a list.
ROSTER_WINDOW_S = 0.2
# A lecture or classroom whose roster has more learners than this is a big audience:
# its learners are told how many learners are here and who matters to them (the
# teacher, hands, the stage and the pen, themselves), not every learner. A list of a
# few hundred names is still something a learner reads (and a welcome that carries it
# stays small: docs/protocol.md); thousands are not, and each would cost every join.
# Decided from the roster, not from who is present, so it never changes mid-session.
LISTED_LEARNERS_MAX = 200

# The room's vocabulary, importable from here as before the split.
__all__ = [
    "Disconnected", "EndSession", "FlushRoster", "FromClient", "GraceOver", "IdleCheck", "Join",
    "JoinResult", "MediaFactory", "MediaNote", "MediaWork", "Outbox", "Room", "RoomDeps",
    "RoomError", "SessionStore", "Welcome", "now_iso",
]


@dataclass
class _Queued:
    command: Any
    future: asyncio.Future[Any] | None = field(default=None)


def now_iso(clock: Clock) -> str:
    return iso_at(clock.time())


class Room:
    def __init__(self, session: StoredSession, board_log: list[BoardOp], deps: RoomDeps) -> None:
        self.id = session.id
        self.session = session
        self.deps = deps
        self.board = Board.replay(board_log)
        # Board ops per person, across reconnects (the roster bounds the dict).
        self._board_buckets: dict[str, TokenBucket] = {}
        organiser = session.spec.organiser
        self._people = {
            p.id: Participant(p, session.spec.form, organiser=p.id == organiser)
            for p in session.spec.people
        }
        # Supervisors watching read-only (issue 16), by room id (roles.observer_id): never
        # in ``_people``, so never in the roster, presence, evidence or pay.
        self._observers: dict[str, Observer] = {}
        learners = sum(p.person.role == "learner" for p in self._people.values())
        big = session.spec.form in BROADCAST_FORMS and learners > LISTED_LEARNERS_MAX
        self._roster = RosterFeed((p.wire() for p in self._people.values()), listed=not big)
        self._roster_due = False  # a FlushRoster is on its way
        self._state = session.state
        self._started_at = session.started_at
        self._queue: asyncio.Queue[_Queued] = asyncio.Queue()
        media_events = MediaEventsToRoom(self.id, self.deps.listeners, self.post)
        self._media = deps.media(media_events, media_events)
        self._task: asyncio.Task[None] | None = None
        self._timers: set[Timer] = set()  # pending _after() posts, called off on stop
        self._idle_token = 0  # bumped by every join: a pending idle check then lapses
        self._recording = RoomRecording(self.id, deps.recordings, deps.clock)
        self._recording_checked = False  # the durable choice was applied in this process
        self._was_live = session.state == "live"  # live before this process: a restart
        self._handlers: dict[type, Callable[[Any], Awaitable[Any]]] = {
            Join: self._join,
            Welcome: self._welcome,
            Disconnected: self._disconnected,
            GraceOver: self._grace_over,
            IdleCheck: self._idle_check,
            FlushRoster: self._flush_roster,
            FromClient: self._from_client,
            EndSession: self._end,
            MediaNote: self._media_note,
            MediaWork: lambda cmd: cmd.work(),
            RecordingNote: self._recording_note,
        }
        self._client_handlers: dict[type, Callable[[Participant, Any], Awaitable[Any]]] = {
            m.Offer: self._offer,
            m.Ice: self._ice,
            m.Hand: self._hand,
            m.GrantCmd: self._grant,
            m.Chat: self._chat,
            m.BoardCmd: self._board,
            m.MediaIntent: self._intent,
            m.End: lambda p, c: self._end(EndSession(p.id)),
            m.Leave: self._leave,
            m.Record: self._record,
            m.StageAnswer: self._stage_answer,
            m.Mute: self._mute,
            m.Unmute: self._unmute,
            m.HandsDown: self._hands_down,
        }

    # -- running -------------------------------------------------------------------------
    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"room:{self.id}")

    async def stop(self) -> None:
        for timer in list(self._timers):
            timer.cancel()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        try:
            await self._recording.stop(self._media)  # server shutdown: close the segments
        except Exception:
            log.exception("room %s: stopping the recording failed", self.id)
        # The owner task is gone: watching ends here (an observer's tab reconnects to
        # wherever the session runs next, as a new visit).
        if any(o.joined_at is not None for o in self._observers.values()):
            await self._observers_gone()
        await self._media.close()

    async def submit(self, command: Any) -> Any:
        """Run ``command`` on the owner task and return its result (or raise its error)."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Queued(command, future))
        return await future

    def post(self, command: Any) -> None:
        """Queue ``command`` without waiting for it."""
        self._queue.put_nowait(_Queued(command))

    async def _run(self) -> None:
        SESSION.set(self.id)  # this task's log lines are about this session
        while True:
            item = await self._queue.get()
            try:
                result = await self._handlers[type(item.command)](item.command)
            except Exception as exc:  # a failing command must not kill the room
                if not isinstance(exc, RoomError):
                    log.exception("room %s: %r failed", self.id, item.command)
                if item.future is not None and not item.future.done():
                    item.future.set_exception(exc)
            else:
                if item.future is not None and not item.future.done():
                    item.future.set_result(result)

    # -- reading ---------------------------------------------------------------------------
    @property
    def state(self) -> str:
        return self._state

    def present(self) -> list[str]:
        return [p.id for p in self._people.values() if p.present]

    def observing(self) -> list[str]:
        """Staff usernames watching now (the console's Now page; never people present)."""
        return [o.staff for o in self._observers.values() if o.sid is not None]

    def media_snapshot(self) -> RoomSnapshot:
        """The media layer's counters (a read-only copy), for metrics."""
        return self._media.snapshot()

    def people_wire(self) -> list[dict[str, Any]]:
        return [p.wire() for p in self._people.values()]

    @property
    def started_at(self) -> str | None:
        """When the session went live (``self.session`` was read before the first join)."""
        return self._started_at

    def recording_wire(self) -> dict[str, Any]:
        """Whether the room records now, and since when (the console's Now page)."""
        return self._recording.wire()

    # -- helpers ---------------------------------------------------------------------------
    def _tell(self, event: RoomEvent) -> None:
        tell(self.deps.listeners, self.id, event)

    def _participant(self, person: str) -> Participant:
        participant = self._people.get(person)
        if participant is None:
            raise RoomError("unknown_person", f'"{person}" is not part of this session', "person")
        return participant

    def _announce(self, participant: Participant) -> None:
        """``participant`` changed: the others hear of it at the end of the window."""
        self._roster.update(participant.wire())
        self._roster_soon()

    def _roster_soon(self) -> None:
        if self._roster.pending and not self._roster_due and self._state != "ended":
            self._roster_due = True
            self._after(ROSTER_WINDOW_S, FlushRoster())

    def _audience_room(self, role: str) -> str:
        """The socket.io room of one audience of a big session."""
        return f"{self.id}:{role}s"

    async def _flush_roster(self, cmd: FlushRoster) -> None:
        self._roster_due = False
        if self._state == "ended":
            return
        flush = self._roster.take()
        outbox = self.deps.outbox
        if flush.everyone is not None:
            await outbox.broadcast(self.id, Out.ROSTER, flush.everyone.wire())
        if flush.instructors is not None:
            await outbox.broadcast(
                self._audience_room("instructor"), Out.ROSTER, flush.instructors.wire()
            )
        if flush.learners is not None:
            await outbox.broadcast(
                self._audience_room("learner"), Out.ROSTER, flush.learners.wire()
            )
        for delta in flush.selves:
            sid = self._people[delta.changed[0]["id"]].sid
            if sid is not None:
                await outbox.emit(Out.ROSTER, delta.wire(), to=sid)

    def _session_wire(self) -> dict[str, Any]:
        return {**self.session.wire(), "state": self._state, "started_at": self._started_at}

    def _board_wire(self) -> dict[str, Any]:
        return self.board.visible(lambda upload: self.deps.sign_url(f"/uploads/{upload}"))

    # -- lifecycle commands ---------------------------------------------------------------
    async def _join(self, cmd: Join) -> JoinResult:
        if self._state == "ended":
            raise RoomError("ended", "this session has ended")
        if is_observer(cmd.person):
            return await self._observer_join(cmd)
        participant = self._participant(cmd.person)
        old_sid = participant.sid
        resumed = participant.joined_once
        participant.sid = cmd.sid
        participant.generation += 1
        participant.joined_once = True
        self._idle_token += 1
        self._roster.hold(participant.id)  # nobody hears of this join before its welcome
        if old_sid is not None and old_sid != cmd.sid:
            await self.deps.outbox.emit(Out.REPLACED, {}, to=old_sid)
            await self.deps.outbox.disconnect(old_sid)
        if resumed:
            # A new peer connection replaces the old one: aiortc has no ICE restart.
            await self._media.reset(participant.id)
        self._media.set_publish(participant.id, participant.forwarded)
        self._tell(Observed(participant.id, Kind.SIGNAL_UP, cmd.sid))
        if self._state == "scheduled":
            self._state = "live"
            self._started_at = now_iso(self.deps.clock)
            await self.deps.store.mark_started(self.id, self._started_at)
            self._tell(Started())
        if not self._recording_checked:
            await self._resume_recording()
        return JoinResult(resumed)

    async def _welcome(self, cmd: Welcome) -> None:
        if is_observer(cmd.person):
            await self._observer_welcome(cmd)
            return
        participant = self._participant(cmd.person)
        if participant.sid != cmd.sid:
            return  # replaced before the welcome went out
        await self.deps.outbox.enter(cmd.sid, self.id)
        role = participant.person.role
        if not self._roster.listed:
            await self.deps.outbox.enter(cmd.sid, self._audience_room(role))
        you = participant.wire()
        # From here the others may hear of this person: the welcome goes out before
        # any delta about them (the flush is a later command of this same task).
        self._roster.welcomed(you)
        self._roster_soon()
        welcome = {
            "you": you,
            "caps": participant.caps.wire(),
            "session": self._session_wire(),
            "people": self._roster.snapshot(participant.id, role),
            "audience": self._roster.audience(role),
            "board": self._board_wire(),
            "chat": await self.deps.store.chat(self.id),
            "resumed": participant.generation > 1,
            "ice_servers": self.deps.ice_for(participant.id),
            "recording": self._recording.wire(),
        }
        await self.deps.outbox.emit(Out.WELCOME, welcome, to=cmd.sid)

    async def _disconnected(self, cmd: Disconnected) -> None:
        participant = next((p for p in self._people.values() if p.sid == cmd.sid), None)
        if participant is None:
            observer = next((o for o in self._observers.values() if o.sid == cmd.sid), None)
            if observer is not None:
                await self._observer_gone(observer)
            return  # else an old tab, already replaced
        participant.sid = None
        self._tell(Observed(participant.id, Kind.SIGNAL_DOWN, cmd.sid))
        self._announce(participant)
        self._after(self.deps.grace_s, GraceOver(participant.id, participant.generation))

    def _after(self, delay: float, command: Any) -> None:
        """Post ``command`` to this room after ``delay`` seconds of the room's clock
        (called off on stop): a timer only submits, like any other caller."""

        def due() -> None:
            self._timers.discard(timer)
            self.post(command)

        timer = self.deps.clock.call_later(delay, due)
        self._timers.add(timer)

    async def _grace_over(self, cmd: GraceOver) -> None:
        participant = self._people[cmd.person]
        if participant.generation == cmd.generation and participant.sid is None:
            await self._media.remove(participant.id)
            self._check_empty()

    def _check_empty(self) -> None:
        """Teachers close the tab rather than press "end": an empty room past its
        scheduled end ends now (and learners' feedback opens); before that, it ends
        after ``idle_end_s`` if nobody comes back."""
        if self._state == "ended" or any(p.present for p in self._people.values()):
            return
        if self.deps.clock.time() >= self.session.spec.scheduled_end.timestamp():
            self.post(EndSession(None))
        else:
            self._after(self.deps.idle_end_s, IdleCheck(self._idle_token))

    async def _idle_check(self, cmd: IdleCheck) -> None:
        if cmd.token == self._idle_token and not any(p.present for p in self._people.values()):
            await self._end(EndSession(None))

    async def _leave(self, participant: Participant, cmd: m.Leave) -> dict[str, Any]:
        sid = participant.sid
        participant.sid = None
        participant.generation += 1
        participant.hand = participant.invited = False
        self._tell(Observed(participant.id, Kind.SIGNAL_DOWN, "leave"))
        await self._media.remove(participant.id)
        self._announce(participant)
        if sid is not None:
            await self.deps.outbox.disconnect(sid, after=1.0)  # after the ack
        self._check_empty()
        return {}

    async def _end(self, cmd: EndSession) -> dict[str, Any]:
        if cmd.by is not None and not self._participant(cmd.by).caps.end:
            raise RoomError("forbidden", "you may not end this session (roles.caps_for: in a "
                            "review the presenter and the organiser end it)")
        if self._state == "ended":
            return {}
        self._state = "ended"
        await self._stop_recording()
        self._tell(Ended())
        await self.deps.store.mark_ended(self.id, now_iso(self.deps.clock))
        await self.deps.outbox.broadcast(self.id, Out.ENDED, {"by": cmd.by, "feedback": True})
        await self._media.close()
        sids = [p.sid for p in self._people.values() if p.sid is not None]
        sids += [o.sid for o in self._observers.values() if o.sid is not None]
        for participant in self._people.values():
            participant.sid = None
        await self._observers_gone()
        for sid in sids:
            # Later, so the acks and the "ended" event reach the browsers first.
            await self.deps.outbox.disconnect(sid, after=1.0)
        if self.deps.on_closed is not None:
            asyncio.get_running_loop().call_soon(
                lambda: asyncio.ensure_future(self._closed())  # after this command returns
            )
        return {}

    async def _closed(self) -> None:
        assert self.deps.on_closed is not None
        await self.deps.on_closed(self.id)

    # -- media -------------------------------------------------------------------------------
    async def _media_note(self, note: MediaNote) -> None:
        if self._state == "ended":
            return
        participant: Participant | Observer | None = self._people.get(note.person)
        if participant is None:
            # An observer publishes nothing (no media_up/down); they only receive, and
            # are asked to renegotiate or told their tracks like anyone.
            participant = self._observers.get(note.person)
            if participant is None or note.kind not in ("renegotiate", "tracks", "quality"):
                return
        if note.kind in ("media_up", "media_down") and isinstance(participant, Participant):
            participant.observed[note.data] = note.kind == "media_up"
            self._announce(participant)
        elif note.kind == "renegotiate" and participant.sid is not None:
            data = {"streams": streams_wire(note.data)}
            await self.deps.outbox.emit(Out.RENEGOTIATE, data, to=participant.sid)
        elif note.kind == "tracks" and participant.sid is not None:
            await self.deps.outbox.emit(Out.TRACKS, tracks_wire(note.data), to=participant.sid)
        elif note.kind == "quality":
            # The subscriber's tiles say why video stopped; instructors see each learner's link.
            link = {"person": note.person, **note.data}
            if participant.sid is not None:
                await self.deps.outbox.emit(Out.QUALITY, link, to=participant.sid)
            if isinstance(participant, Participant) and participant.person.role == "learner":
                for p in self._people.values():  # audience rooms exist only for big sessions
                    if p.person.role == "instructor" and p.sid is not None:
                        await self.deps.outbox.emit(Out.QUALITY, link, to=p.sid)

    # -- client commands ------------------------------------------------------------------------
    async def _from_client(self, cmd: FromClient) -> Any:
        if is_observer(cmd.person):
            return await self._observer_command(cmd)
        participant = self._participant(cmd.person)
        if participant.sid != cmd.sid:
            raise RoomError("stale", "this connection was replaced by a newer one")
        if self._state == "ended":
            raise RoomError("ended", "this session has ended")
        return await self._client_handlers[type(cmd.command)](participant, cmd.command)

    async def _offer(self, participant: Participant | Observer, cmd: m.Offer) -> dict[str, Any]:
        try:
            answer: Answer = await self._media.offer(participant.id, cmd.sdp)
        except ValueError as exc:
            raise RoomError("bad_sdp", f"the offer was refused: {exc}", "sdp") from exc
        return {"sdp": answer.sdp, "tracks": tracks_wire(answer.tracks)}

    async def _ice(self, participant: Participant | Observer, cmd: m.Ice) -> dict[str, Any]:
        try:
            await self._media.add_ice_candidate(
                participant.id, cmd.candidate, cmd.sdp_mid, cmd.sdp_mline_index
            )
        except ValueError as exc:
            raise RoomError("bad_candidate", str(exc), "candidate") from exc
        return {}

    async def _hand(self, participant: Participant, cmd: m.Hand) -> dict[str, Any]:
        if participant.person.role != "learner":
            raise RoomError("forbidden", "only learners raise a hand")
        if participant.hand != cmd.up:
            participant.hand = cmd.up
            self._announce(participant)
        return {}

    async def _grant(self, participant: Participant, cmd: m.GrantCmd) -> dict[str, Any]:
        if not participant.caps.grant:
            raise RoomError("forbidden", "you may not grant the stage or the pen here")
        target = self._participant(cmd.person)
        if not may_invite(participant.caps, target.person.role):
            raise RoomError(
                "bad_target", "only learners are granted the stage or the pen", "person"
            )
        if cmd.what == "stage" and cmd.on and not target.grants.stage:
            # The stage switches a camera and a microphone on (of a minor, often): the
            # learner is asked and says yes or no (stage_answer); nothing before that.
            if target.sid is None:
                raise RoomError("not_here", "that learner is not here now", "person")
            if not target.invited:
                target.invited = True
                await self._tell_invited(target, participant.person.name)
                self._announce(target)
            return {"invited": True}
        withdrawn = cmd.what == "stage" and not cmd.on and target.invited
        target.grant(cmd.what, cmd.on)
        if withdrawn:
            await self._tell_invited(target, participant.person.name)
        await self._caps_changed(target)
        return {}

    async def _tell_invited(self, target: Participant, by: str) -> None:
        if target.sid is not None:
            data = {"what": "stage", "open": target.invited, "by": by}
            await self.deps.outbox.emit(Out.INVITED, data, to=target.sid)

    async def _caps_changed(self, target: Participant) -> None:
        self._media.set_publish(target.id, target.forwarded)
        if target.sid is not None:
            await self.deps.outbox.emit(Out.CAPS, target.caps.wire(), to=target.sid)
        self._announce(target)

    async def _stage_answer(self, participant: Participant, cmd: m.StageAnswer) -> dict[str, Any]:
        if not participant.invited:
            raise RoomError("no_invitation", "nobody asked you onto the stage, or not now")
        if cmd.accept:
            participant.grant("stage", True)
            await self._caps_changed(participant)
        else:
            participant.invited = False
            self._announce(participant)  # the instructor's list: no longer asked
            await self._tell_declined(participant)
        return {}

    async def _tell_declined(self, learner: Participant) -> None:
        """Whoever may invite hears the no at once (Out.STAGE_DECLINED): the roster's
        ``invited`` going away is coalesced and may never be seen as a change."""
        data = {"person": learner.id, "name": learner.person.name}
        for p in self._people.values():
            if p.caps.grant and p.sid is not None:
                await self.deps.outbox.emit(Out.STAGE_DECLINED, data, to=p.sid)

    async def _mute(self, participant: Participant, cmd: m.Mute) -> dict[str, Any]:
        target = self._participant(cmd.person)
        if not may_mute(participant.person.role, target.person.role):
            raise RoomError("forbidden", "only an instructor mutes a learner", "person")
        if not target.muted:
            target.muted = True
            self._media.set_publish(target.id, target.forwarded)
            self._announce(target)
        if target.sid is not None:  # again if asked again: their page obeys it
            await self.deps.outbox.emit(Out.MUTED, {"by": participant.person.name}, to=target.sid)
        return {}

    async def _unmute(self, participant: Participant, cmd: m.Unmute) -> dict[str, Any]:
        if participant.muted:
            participant.muted = False
            self._media.set_publish(participant.id, participant.forwarded)
            self._announce(participant)
        return {}

    async def _hands_down(self, participant: Participant, cmd: m.HandsDown) -> dict[str, Any]:
        if not participant.caps.grant:
            raise RoomError("forbidden", "only the instructor of a class lowers the hands")
        lowered = 0
        for person in self._people.values():
            if person.hand:
                person.hand = False
                lowered += 1
                self._announce(person)
        return {"lowered": lowered}

    async def _chat(self, participant: Participant, cmd: m.Chat) -> dict[str, Any]:
        image = None
        if cmd.image is not None:
            upload = await self.deps.store.upload(cmd.image)
            if upload is None or upload["session_id"] != self.id:
                raise RoomError("unknown_upload", "that picture was not uploaded here", "image")
            image = self.deps.sign_url(f"/uploads/{cmd.image}")
        message = {
            "id": secrets.token_urlsafe(8),
            "from": participant.id,
            "name": participant.person.name,
            "text": cmd.text,
            "image": image,
            "ts": now_iso(self.deps.clock),
        }
        await self.deps.store.add_chat(self.id, message)
        await self.deps.outbox.broadcast(self.id, Out.CHAT, message)
        return {"id": message["id"]}

    async def _board(self, participant: Participant, cmd: m.BoardCmd) -> dict[str, Any]:
        if not participant.caps.draw:
            raise RoomError("forbidden", "you do not have the pen")
        limits = self.board.limits
        bucket = self._board_buckets.setdefault(
            participant.id, TokenBucket(limits.ops_per_s, limits.ops_burst)
        )
        if not bucket.allow(self.deps.clock.monotonic()):
            raise RoomError("rate_limited", "drawing too fast: slow down")
        op = cmd.op
        if op["type"] == "stroke" and self.board.has_stroke(op["id"]):
            raise RoomError("duplicate", "a stroke with that id exists", "op.id")
        if op["type"] == "undo":
            author = self.board.author_of(op["id"])
            if author is None:
                raise RoomError("unknown_stroke", "no such stroke on the board", "op.id")
            if not may_undo(participant.person.role, author, participant.id):
                raise RoomError("forbidden", "you may only undo your own strokes")
        # In a one_to_one both sides own the page; elsewhere the instructor does.
        page_op = op["type"] in ("clear", "background") and self.session.spec.form != "one_to_one"
        if page_op and participant.person.role != "instructor":
            raise RoomError("forbidden", "only the instructor clears or sets the page")
        if op["type"] == "background" and op["image"] is not None:
            upload = await self.deps.store.upload(op["image"])
            if upload is None or upload["session_id"] != self.id:
                raise RoomError("unknown_upload", "that picture was not uploaded here", "op.image")
        try:
            entry = self.board.append(participant.id, now_iso(self.deps.clock), op)
        except BoardLimitError as exc:  # nothing stored, nothing broadcast
            raise RoomError(exc.code, exc.message, "op") from None
        await self.deps.store.add_board_op(self.id, entry)
        wire = entry.wire()
        if op["type"] == "background" and op["image"] is not None:
            wire["op"] = {**op, "url": self.deps.sign_url(f"/uploads/{op['image']}")}
        await self.deps.outbox.broadcast(self.id, Out.BOARD, wire)
        return {"seq": entry.seq}

    async def _intent(self, participant: Participant, cmd: m.MediaIntent) -> dict[str, Any]:
        participant.intent = {"audio": cmd.audio, "video": cmd.video}
        self._media.set_data_saver(participant.id, cmd.saver)
        return {}

    # -- observers (issue 16) ---------------------------------------------------------------------
    async def _observer_join(self, cmd: Join) -> JoinResult:
        """A supervisor's observer seat. Watching never starts a session (it goes live
        when its people come) and is written down before anything is seen: a visit the
        store did not take is refused, so nobody watches unrecorded."""
        if self._state != "live":
            raise RoomError("not_live", "this session is not live: there is nothing to watch")
        observer = self._observers.get(cmd.person)
        if observer is None:
            observer = Observer(cmd.person)
            self._observers[cmd.person] = observer
        old_sid = observer.sid
        observer.sid = cmd.sid
        if old_sid is not None and old_sid != cmd.sid:
            # A second tab of the same supervisor: one seat, the same visit goes on.
            await self.deps.outbox.emit(Out.REPLACED, {}, to=old_sid)
            await self.deps.outbox.disconnect(old_sid)
            await self._media.reset(observer.id)
        elif old_sid is None:
            joined = now_iso(self.deps.clock)
            try:
                await self.deps.store.observer_joined(self.id, observer.staff, joined)
            except Exception as exc:
                observer.sid = None
                log.exception("room %s: the observer visit of %s was not stored",
                              self.id, observer.staff)
                raise RoomError("unavailable", "the visit could not be recorded: try again "
                                "in a few seconds") from exc
            observer.joined_at = joined
        self._media.set_publish(observer.id, NOTHING)
        return JoinResult(False)

    async def _observer_welcome(self, cmd: Welcome) -> None:
        observer = self._observers.get(cmd.person)
        if observer is None or observer.sid != cmd.sid:
            return  # replaced or gone before the welcome went out
        await self.deps.outbox.enter(cmd.sid, self.id)  # chat, board, the end: as they happen
        if not self._roster.listed:
            # A big audience: a supervisor follows every change as the teacher does.
            await self.deps.outbox.enter(cmd.sid, self._audience_room("instructor"))
        welcome = {
            "you": observer.wire(),
            "caps": OBSERVING.wire(),
            "session": self._session_wire(),
            "people": self._roster.snapshot(observer.id, "instructor"),
            "audience": self._roster.audience("instructor"),
            "board": self._board_wire(),
            "chat": await self.deps.store.chat(self.id),
            "resumed": False,
            "ice_servers": self.deps.ice_for(observer.id),
            "recording": self._recording.wire(),
        }
        await self.deps.outbox.emit(Out.WELCOME, welcome, to=cmd.sid)

    async def _observer_command(self, cmd: FromClient) -> dict[str, Any]:
        """What an observer's tab may ask: receive media (offer, ICE) and leave. Every
        other command is refused here, whatever the browser shows."""
        observer = self._observers.get(cmd.person)
        if observer is None or observer.sid != cmd.sid:
            raise RoomError("stale", "this connection was replaced by a newer one")
        if self._state == "ended":
            raise RoomError("ended", "this session has ended")
        command = cmd.command
        if isinstance(command, m.Offer):
            return await self._offer(observer, command)
        if isinstance(command, m.Ice):
            return await self._ice(observer, command)
        if isinstance(command, m.Leave):
            sid = observer.sid
            await self._observer_gone(observer)
            if sid is not None:
                await self.deps.outbox.disconnect(sid, after=1.0)  # after the ack
            return {}
        raise RoomError("forbidden", "you are observing: this session is read-only for you")

    async def _observer_gone(self, observer: Observer) -> None:
        """The observer's tab closed or left: their media goes, their visit ends."""
        observer.sid = None
        await self._media.remove(observer.id)
        joined, observer.joined_at = observer.joined_at, None
        if joined is None:
            return
        try:
            await self.deps.store.observer_left(
                self.id, observer.staff, joined, now_iso(self.deps.clock))
        except Exception:  # left open; the session's end closes it (observers_left)
            log.exception("room %s: the end of %s's visit was not stored", self.id,
                          observer.staff)

    async def _observers_gone(self) -> None:
        """Everyone watching stops (the end, or this node stops running the room)."""
        for observer in self._observers.values():
            observer.sid = None
            observer.joined_at = None
        try:
            # Closes every open visit of the session, also one a crash left open.
            await self.deps.store.observers_left(self.id, now_iso(self.deps.clock))
        except Exception:
            log.exception("room %s: closing the observer visits failed", self.id)

    # -- recording ------------------------------------------------------------------------------
    async def _record(self, participant: Participant, cmd: m.Record) -> dict[str, Any]:
        # Whoever runs the session: the instructor; in a review the organiser (the
        # presenter, though they may end it, is not an instructor and never records).
        if participant.person.role != "instructor" or not participant.caps.end:
            raise RoomError("forbidden", "only the session's instructor (in a review its "
                            "organiser) starts or stops the recording")
        if not self._recording.available:
            raise RoomError("unavailable", "this server does not record")
        # Durable before it is announced or acted on: a restart resumes exactly this
        # (and never turns back on what the instructor turned off).
        choice = RecordingChoice(cmd.on, participant.id, now_iso(self.deps.clock))
        await self.deps.store.set_recording_choice(self.id, choice)
        self._recording_checked = True
        if cmd.on:
            await self._start_recording()
        else:
            await self._stop_recording()
        return self._recording.wire()

    async def _resume_recording(self) -> None:
        """At the first join in this process: record if the session is to be recorded
        (the instructor's durable choice, else ``record: true``). A session that was
        already live had its recording cut by a server restart: everyone is told it
        resumed (``reason: "resumed"``, also in the welcome of whoever rejoins)."""
        self._recording_checked = True
        if not self._recording.available:
            return
        choice = await self.deps.store.recording_choice(self.id)
        if not (choice.on if choice is not None else self.session.spec.record):
            return
        with contextlib.suppress(RoomError):  # reported; the join goes on
            await self._start_recording("resumed" if self._was_live else None, auto=True)

    async def _start_recording(self, reason: str | None = None, *, auto: bool = False) -> None:
        def failed(code: str, message: str) -> None:  # on the loop, from the writer thread
            self.post(RecordingNote(code, message))

        try:
            changed = await self._recording.start(self._media, failed, reason)
        except Exception as exc:
            log.exception("room %s: the recording did not start", self.id)
            await self._recording_note(RecordingNote("start_failed", str(exc)))
            if auto:  # everyone, not only instructors: it should be recorded and is not
                self._recording.failed()
                await self.deps.outbox.broadcast(self.id, Out.RECORDING, self._recording.wire())
            raise RoomError("recording_failed", "the recording could not start") from exc
        if changed:  # everyone sees the indicator now (welcome carries it for later joins)
            await self.deps.outbox.broadcast(self.id, Out.RECORDING, self._recording.wire())

    async def _stop_recording(self) -> None:
        if await self._recording.stop(self._media):
            await self.deps.outbox.broadcast(self.id, Out.RECORDING, self._recording.wire())

    async def _recording_note(self, note: RecordingNote) -> None:
        """Loud failure: the instructors' consoles hear of it (the log line and the
        counter are the recorder's; the lost span is in the recording's index)."""
        data = {"code": note.code, "message": note.message,
                "recording": self._recording.recording_id}
        for p in self._people.values():
            if p.person.role == "instructor" and p.sid is not None:
                await self.deps.outbox.emit(Out.RECORDING_ERROR, data, to=p.sid)
