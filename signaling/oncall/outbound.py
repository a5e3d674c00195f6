"""Every event the ``/oncall`` namespace sends to the duty and find-a-teacher pages,
named once (as :mod:`signaling.session.outbound` names the classroom's): a misspelt
event is a mypy error, and ``tests/signaling/test_outbound.py`` fails when the
namespace emits a name that is not here. The payloads are described in
``docs/protocol.md`` ("On-demand tutoring")."""

from __future__ import annotations

from enum import StrEnum


class OncallOut(StrEnum):
    HELLO = "hello"  # to one page on connecting: who it is, duty state, hours
    DUTY = "duty"  # to a teacher's pages: on duty, in a session, away
    TEACHERS_CHANGED = "teachers_changed"  # to students: ask for the list again
    CALL = "call"  # to both sides of a call: ringing, accepted, declined, timed out…
    LIMIT_WARNING = "limit_warning"  # to both: the continuous-time limit is near
    LIMIT_REACHED = "limit_reached"  # to both: the session was ended for a rest
    QA_QUESTION = "qa_question"  # to teachers on duty here: a new question of their subject
