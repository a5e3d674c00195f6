"""The supervisor report (监督机制, issue 9 item 7): sessions with irregular behaviour,
each flag with the facts behind it.

Seed 001 (三.3): "市级协调小组办公室建立监督机制，对在线研修的各环节工作进行全程监督，重点监督
教师在线研修过程中的各种不规范研修行为。主要采取网络核查和现场调查相结合的方式，按照一定周期对
不规范研修行为进行核实". This module is the 网络核查 (the check from the network's
records): it reads session records (``docs/record.md``) and, when there are any, the
per-minute evidence rows, and lists what a supervisor should look at. A flag is not a
verdict and pays or withholds nothing; the credit rules do that. Every flag carries its
``evidence``: the minutes, intervals (ISO UTC, half-open) and counts it was decided on.

The kinds (:data:`KINDS` has one line each; ``docs/supervision.md`` the whole text):

``instructor_not_publishing``
    An instructor's ``publishing`` covers less than ``min_publishing_share`` of their
    active time (silent, or camera off, or both, for most of the time they were paid).
    Without ``publishing`` in the record the per-minute rows stand in for it (a second
    is publishing when its audio level is louder than ``voiced_dbov`` or it brought at
    least ``live_video_fps`` video frames).
``no_media_evidence``
    A presence-basis record (no ``publishing``, no rows): the instructors' teaching
    could not be checked, only their presence.
``alone``
    An instructor active while no learner was active, ``alone_min_minutes`` or more in
    total over the session.
``overlap``
    One person active in two sessions at the same time for ``overlap_min_minutes`` or
    more; flagged on the later session (sessions ordered by their first active instant,
    ties by ``session_id``), both sessions listed.
``same_place``
    Where the programme's policy withholds points for same school / same district
    (``[school_rule]``), an instructor and a learner of the session from the same
    school or district (codes compared; names only when a side has no code, then the
    flag says ``by_name``).
``same_pair_daily``
    The same instructor and learner (sessions with one learner: one_to_one, review)
    met on ``same_pair_days`` consecutive open days or more, or on every open day of a
    shorter report window (at least 2). "Consecutive" skips days on which the
    programme is closed (weekends in tutoring, holidays, vacations).
``text_rules``
    Feedback or a review report whose text fails the text rules
    (:func:`recorder.credits.texts.text_problem`: visible and distinct characters, the
    policy's numbers).
``text_window``
    Feedback or a report submitted before the session started, after the feedback
    window (from ``ended_at``, or the last active instant), for a session nobody was
    active in, or a report by a reviewer who was never present.
``black_video``
    ``black_minutes`` or more consecutive minutes in which a person's video frames
    arrived but no second reached ``live_video_fps`` (a disabled camera sends black
    frames at about 1 fps).
``frozen_video``
    ``frozen_minutes`` or more consecutive minutes of video at a live frame rate with no
    keyframe and fewer than ``frozen_max_bytes_per_frame`` bytes a frame on average (a
    picture that does not change encodes to tiny delta frames).
``publishing_unsupported``
    Minutes the record says a person was publishing (30 s or more of the minute) whose
    evidence row shows neither a voiced second nor a second of live video, or that have
    no row at all: the record and the evidence disagree.
``outside_open_hours``
    Anyone of the session active outside the programme's open hours
    (:meth:`recorder.credits.calendar.Calendar.open_intervals`),
    ``outside_min_minutes`` or more in total.

Every threshold is a field of :class:`SupervisionRules`, read from the optional
``[supervision]`` table of the policy file (:meth:`SupervisionRules.from_table`).

Pure: standard library only, no I/O (the CSV is built in memory).
"""

from recorder.credits.supervision.facts import MinuteRow, SessionFacts, parse_rows, parse_session
from recorder.credits.supervision.flags import CSV_COLUMNS, Flag, flags_csv, report_json
from recorder.credits.supervision.report import supervise
from recorder.credits.supervision.rules import KINDS, SupervisionError, SupervisionRules, rules_of

__all__ = [
    "CSV_COLUMNS", "KINDS", "Flag", "MinuteRow", "SessionFacts", "SupervisionError",
    "SupervisionRules", "flags_csv", "parse_rows", "parse_session", "report_json", "rules_of",
    "supervise",
]  # fmt: skip
