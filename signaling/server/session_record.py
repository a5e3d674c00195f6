"""The session record: what a session was, who was really there, and what they said.

Its shape is the input of the credits engine (issue 3): ``session_id``,
``programme``, ``form``, ``people``, ``active`` (person → ``[[start, end]]`` ISO
UTC from the presence journal), ``replay`` (learner → intervals of watching the
recording, measured from what the server delivered: :mod:`recorder.media.replay_time`),
``feedback``, ``reports``; and ``recordings`` (each with its ``unrecorded`` spans).
"""

from __future__ import annotations

from typing import Any

from recorder.presence.journal import iso_intervals
from signaling.server.services import Services
from signaling.store.sqlite import StoredSession


async def session_record(svc: Services, session: StoredSession) -> dict[str, Any]:
    active = iso_intervals(svc.journal.intervals(session.id, now=svc.clock.time()))
    learners = {p.id for p in session.spec.people if p.role == "learner"}
    recordings = svc.recordings
    return {
        "session_id": session.id,
        "programme": session.spec.programme,
        "form": session.spec.form,
        "title": session.spec.title,
        "scheduled_start": session.wire()["scheduled_start"],
        "scheduled_end": session.wire()["scheduled_end"],
        "started_at": session.started_at,
        "ended_at": session.ended_at,
        "people": [p.record() for p in session.spec.people],
        "active": active,
        "replay": await recordings.replay(session.id, learners) if recordings else {},
        "recordings": await recordings.summary(session.id) if recordings else [],
        "feedback": await svc.store.submissions("feedback", session.id),
        "reports": await svc.store.submissions("reports", session.id),
    }
