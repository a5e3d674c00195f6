"""Every inbound socket.io message and REST JSON body, declared once.

Sizes, ranges, enums and formats live in these declarations and nowhere else: the
validators decode with them (:func:`signaling.session.schema.decode`), the OpenAPI document's
request bodies (:func:`openapi_bodies`) and the socket messages' JSON Schema
(``docs/socket-messages.json``, :func:`socket_schema`) are generated from them. Rules a
schema cannot say stay as small functions after decoding: the per-form role counts
(:mod:`signaling.session.spec`), a Beijing district code being a real district, the
visible characters of feedback, reports and marks, with the programme policy's numbers
(:mod:`signaling.server.participant_api`, :mod:`recorder.credits.texts`), a chat line
needing text or a picture (:mod:`signaling.session.messages`).

    python -m signaling.session.declarations    # rewrites docs/socket-messages.json
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct, field

from signaling.session.schema import NONBLANK, anchored
from signaling.session.whiteboard import DEFAULT_LIMITS

MAX_SDP = 64 * 1024
MAX_CANDIDATE = 1024
MAX_CHAT = 2000
MAX_POINTS = DEFAULT_LIMITS.points_per_stroke
MAX_PEOPLE = 2000
# Longest texts a participant may send: the minimums (visible characters, distinct
# characters) are the programme policy's, checked after decoding.
MAX_FEEDBACK = 10_000
MAX_REPORT = 20_000
MAX_MARK_PROBLEM = 500
MAX_MARK_SUBJECT = 40
MAX_MARK_KNOWLEDGE_POINT = 200

UPLOAD_ID = r"u_[A-Za-z0-9_-]{8,40}"
UploadId = Annotated[
    str, Meta(pattern=anchored(UPLOAD_ID), extra={"pattern_error": "must be an upload id"})
]
StrokeId = Annotated[str, Meta(pattern=anchored(r"[A-Za-z0-9_-]{1,40}"))]
PERSON_ID = r"[A-Za-z0-9_.:@-]{1,64}"
PersonId = Annotated[str, Meta(pattern=anchored(PERSON_ID))]
# A school's identifier as the platform knows it (e.g. the 10-digit 学校标识码).
SCHOOL_ID = r"[A-Za-z0-9_.:-]{1,64}"
# GB/T 2260 administrative division code, e.g. 110102 西城区.
DISTRICT_CODE = r"[0-9]{6}"
Coordinate = Annotated[float, Meta(ge=0, le=1)]
Point = Annotated[
    tuple[Coordinate, Coordinate],
    Meta(extra={"error": "must be [x, y], numbers between 0 and 1"}),
]
Programme = Literal["training", "tutoring"]
Form = Literal["lecture", "one_to_one", "review", "classroom"]
Role = Literal["instructor", "learner"]
Satisfaction = Literal[
    "very_satisfied", "satisfied", "neutral", "dissatisfied", "very_dissatisfied"
]
Time = Annotated[datetime, Meta(tz=True)]


# -- socket.io events (client → server); the structs are the commands the room runs -----


class Offer(Struct, frozen=True):
    sdp: Annotated[
        str,
        Meta(
            max_length=MAX_SDP,
            pattern="^v=0",
            extra={"pattern_error": "is not a session description"},
        ),
    ]


class Ice(Struct, frozen=True):
    """``candidate`` null (or empty): the end of candidates."""

    candidate: Annotated[str, Meta(max_length=MAX_CANDIDATE)] | None = None
    sdp_mid: Annotated[str, Meta(max_length=32)] | None = field(default=None, name="sdpMid")
    sdp_mline_index: Annotated[int, Meta(ge=0, le=64)] | None = field(
        default=None, name="sdpMLineIndex"
    )


class Hand(Struct, frozen=True):
    up: bool


class GrantCmd(Struct, frozen=True):
    person: Annotated[str, Meta(max_length=64, pattern=NONBLANK)]
    what: Literal["stage", "pen"]
    on: bool


class StageAnswer(Struct, frozen=True):
    """A learner's answer to the instructor's invitation to the stage (nobody is put
    on stage, camera and microphone on, without saying yes)."""

    accept: bool


class Mute(Struct, frozen=True):
    """An instructor asks a learner's client to stop sending sound; the server stops
    forwarding it until the learner unmutes themselves."""

    person: Annotated[str, Meta(max_length=64, pattern=NONBLANK)]


class Unmute(Struct, frozen=True):
    pass


class HandsDown(Struct, frozen=True):
    pass


class Chat(Struct, frozen=True):
    """Text, a picture (an upload id), or both: one of them is needed."""

    text: Annotated[str, Meta(max_length=MAX_CHAT)] = ""
    image: UploadId | None = None


class MediaIntent(Struct, frozen=True):
    audio: bool
    video: bool
    saver: bool = False  # data saver: receive audio (and the whiteboard) only


class End(Struct, frozen=True):
    pass


class Leave(Struct, frozen=True):
    pass


class Record(Struct, frozen=True):
    on: bool  # instructors: start (True) or stop (False) the session's recording


class Stroke(Struct, frozen=True, tag_field="type", tag="stroke"):
    id: StrokeId
    tool: Literal["pen", "eraser"]
    color: Annotated[str, Meta(pattern=anchored("#[0-9a-fA-F]{6}"))]
    width: Annotated[float, Meta(ge=1, le=40)]
    points: Annotated[list[Point], Meta(min_length=1, max_length=MAX_POINTS)]


class Undo(Struct, frozen=True, tag_field="type", tag="undo"):
    id: StrokeId


class Clear(Struct, frozen=True, tag_field="type", tag="clear"):
    pass


class Background(Struct, frozen=True, tag_field="type", tag="background"):
    image: UploadId | None = None


class Board(Struct, frozen=True):
    op: Stroke | Undo | Clear | Background


# The event name → what its payload must be (a missing payload is ``{}``).
MESSAGES: dict[str, type[Struct]] = {
    "offer": Offer,
    "ice": Ice,
    "hand": Hand,
    "grant": GrantCmd,
    "chat": Chat,
    "board": Board,
    "media": MediaIntent,
    "end": End,
    "leave": Leave,
    "record": Record,
    "stage_answer": StageAnswer,
    "mute": Mute,
    "unmute": Unmute,
    "hands_down": HandsDown,
}


# -- socket.io events (server → client) whose payload is declared here ----------------
# The server builds these as plain dicts (signaling/session/roster.py, participants.py);
# the tests decode what it sends with them, unknown fields refused, so the two agree.


class MediaSeen(Struct, frozen=True, forbid_unknown_fields=True):
    """What the server observes arriving from this person (never the client's word)."""

    audio: bool
    video: bool


class PersonState(Struct, frozen=True, forbid_unknown_fields=True):
    """A person as the others see it: no school or district."""

    id: str
    name: str
    role: Role
    present: bool
    hand: bool
    stage: bool
    pen: bool
    media: MediaSeen
    invited: bool = False  # asked onto the stage, no answer yet
    muted: bool = False  # muted by an instructor: not forwarded until they unmute


class Audience(Struct, frozen=True, forbid_unknown_fields=True):
    learners: Annotated[int, Meta(ge=0, description="learners here now")]
    listed: Annotated[
        bool,
        Meta(description="every learner is in your people; false in a big audience: "
             "only the people who matter to you and yourself, and this count"),
    ]


class Roster(Struct, frozen=True, forbid_unknown_fields=True):
    """Changes of people within one coalescing window. ``added`` and ``changed`` are
    upserts, ``removed`` ids leave your list (yourself never does)."""

    added: list[PersonState]
    changed: list[PersonState]
    removed: list[str]
    audience: Audience


SERVER_EVENTS: dict[str, type[Struct]] = {"roster": Roster}


# -- REST bodies ------------------------------------------------------------------------


class Person(Struct, frozen=True):
    """``school`` and ``district`` are names, for display; ``school_id`` and
    ``district_code`` are what the same-school / same-district rule compares."""

    id: PersonId
    name: Annotated[str, Meta(max_length=60, pattern=NONBLANK)]
    role: Role
    school: Annotated[str, Meta(max_length=120, pattern=NONBLANK)] | None = None
    district: Annotated[str, Meta(max_length=60, pattern=NONBLANK)] | None = None
    school_id: (
        Annotated[
            str,
            Meta(
                pattern=anchored(SCHOOL_ID),
                description="the school's identifier (e.g. its 10-digit 学校标识码)",
                extra={"pattern_error": "must be 1-64 letters, digits or _ . : -"},
            ),
        ]
        | None
    ) = None
    district_code: (
        Annotated[
            str,
            Meta(
                pattern=anchored(DISTRICT_CODE),
                description="GB/T 2260 code of the district, e.g. 110102 (西城区)",
                extra={"pattern_error": "must be a 6-digit district code (GB/T 2260), "
                       "e.g. 110102"},
            ),
        ]
        | None
    ) = None


class NewSession(Struct, frozen=True):
    """Per form: ``one_to_one`` one instructor and one learner; ``lecture`` and
    ``classroom`` one instructor; ``review`` one learner (the presenter) and one to
    three reviewing instructors, the first of them listed the organiser (who may end
    the review, as the presenter may). Person ids are unique; the end is after the
    start, at most 12 hours later."""

    programme: Programme
    form: Annotated[
        Form,
        Meta(description="training: lecture|one_to_one|review; tutoring: one_to_one|classroom"),
    ]
    title: Annotated[str, Meta(max_length=120, pattern=NONBLANK)]
    scheduled_start: Time
    scheduled_end: Time
    people: Annotated[list[Person], Meta(min_length=1, max_length=MAX_PEOPLE)]
    record: bool = False


class Feedback(Struct, frozen=True):
    """In tutoring the rating is the learning gain (学习的实际获得) that sets the
    points per hour beyond the time; the text counts only visible characters."""

    rating: Annotated[int, Meta(ge=1, le=5)]
    satisfaction: Annotated[
        Satisfaction | None,
        Meta(description="needed in training (服务满意度, seed 001); a tutoring student "
             "only rates what they learned"),
    ] = None
    text: Annotated[
        str,
        Meta(
            max_length=MAX_FEEDBACK,
            description="收获、反思、建议: at least the programme's feedback.min_chars "
            "visible characters (training 200; after NFKC, whitespace, format characters "
            "such as U+200B and combining marks not counted), of which "
            "feedback.min_distinct_chars (20) different. Tutoring: 0, an optional comment",
        ),
    ] = ""


class Report(Struct, frozen=True):
    text: Annotated[
        str,
        Meta(
            max_length=MAX_REPORT,
            description="at least the programme's reports.min_chars visible characters "
            "(200), of which reports.min_distinct_chars (20) different",
        ),
    ]
    attachments: Annotated[list[UploadId], Meta(max_length=10)] = []


class Mark(Struct, frozen=True):
    """The teacher's mark of one learner in a tutoring session (seed 000: 对被辅导学生、
    辅导问题等进行必要的在线标记: 学生、问题、学科、知识点). Each text needs at least one
    visible character. Marking a learner again replaces the earlier mark."""

    learner: PersonId
    problem: Annotated[str, Meta(max_length=MAX_MARK_PROBLEM, description="问题")]
    subject: Annotated[str, Meta(max_length=MAX_MARK_SUBJECT, description="学科")]
    knowledge_point: Annotated[
        str, Meta(max_length=MAX_MARK_KNOWLEDGE_POINT, description="知识点")
    ]


MAX_REVIEW_KEY = 1000  # the same as signaling.admin.reviews.MAX_KEY (a test holds them equal)
MAX_REVIEW_NOTE = 8000  # code points: invisible padding cannot make a note unbounded


class ReviewBody(Struct, frozen=True):
    """已核查: a supervisor's review of a flag of the supervisor report."""

    key: Annotated[
        str,
        Meta(min_length=1, max_length=MAX_REVIEW_KEY,
             description="the flag's key, as GET /api/v1/supervision gives it"),
    ]
    outcome: Literal["ok", "irregular"]
    note: Annotated[
        str,
        Meta(max_length=MAX_REVIEW_NOTE,
             description="备注: at most 2000 visible characters; required (not blank) "
             "for irregular"),
    ] = ""


MAX_STAFF_USERNAME = 256  # longer is refused unread (a username has at most 64)
MAX_STAFF_PASSWORD = 1024  # signaling.admin.passwords.MAX_LENGTH (a test holds them equal)


class StaffLogin(Struct, frozen=True):
    """A staff sign-in (POST /api/v1/admin/login): one answer (401) for a wrong
    username or a wrong password."""

    username: Annotated[str, Meta(min_length=1, max_length=MAX_STAFF_USERNAME)]
    password: Annotated[str, Meta(min_length=1, max_length=MAX_STAFF_PASSWORD)]


MAX_SETTING_NOTE = 2000  # the reason of a calendar or policy edit: a paragraph
MAX_SETTING_NAME = 100  # a term's or holiday's name (the rules allow 40 characters)
SettingDate = Annotated[str, Meta(max_length=20, description="YYYY-MM-DD (checked after "
                                  "decoding, naming the field)", examples=["2026-10-01"])]
SettingNote = Annotated[str, Meta(max_length=MAX_SETTING_NOTE, description="why (required, "
                                  "not blank, unless preview): kept in the history and the "
                                  "audit log")]
SettingBase = Annotated[int, Meta(ge=0, description="the version the edit was made from (the "
                                  "latest when the form was opened; 0: the configured file): "
                                  "another one saved since is a 409")]
Preview = Annotated[bool, Meta(description="true: check and answer the diff, save nothing")]


class TermEdit(Struct, frozen=True):
    name: Annotated[str, Meta(max_length=MAX_SETTING_NAME)]
    start: SettingDate
    end: SettingDate


class HolidayEdit(Struct, frozen=True):
    date: SettingDate
    name: Annotated[str, Meta(max_length=MAX_SETTING_NAME)] = ""


class CalendarEdit(Struct, frozen=True):
    """The whole term calendar as it should be (``PUT /calendar``); the time zone stays."""

    base: SettingBase
    terms: Annotated[list[TermEdit], Meta(max_length=100)]
    holidays: Annotated[list[HolidayEdit], Meta(max_length=3000)]
    workdays: Annotated[list[SettingDate], Meta(max_length=1000, description="make-up "
                                                "working days (调休上班): Saturdays, Sundays")]
    note: SettingNote = ""
    preview: Preview = False


PolicyValue = Annotated[
    int | float | Annotated[str, Meta(max_length=20)] | bool | None,
    Meta(description="a number (a decimal string such as \"6.5\" too), true/false, or null "
         "to remove an optional limit"),
]


class PolicyEdit(Struct, frozen=True):
    """Numbers of a programme's policy to change (``PUT /policy/{programme}``), by dotted
    path as GET /policy lists them under ``editable``."""

    base: SettingBase
    changes: Annotated[dict[Annotated[str, Meta(max_length=120)], PolicyValue],
                       Meta(max_length=200, examples=[{"forms.lecture.min_viewers": 2}])]
    note: SettingNote = ""
    preview: Preview = False


class SettingsRestore(Struct, frozen=True):
    """Make an earlier version (the one in the path) the latest again, as a new version."""

    base: SettingBase
    note: SettingNote = ""


# On-demand tutoring (issue 14; signaling/oncall/passes.py): the platform's pass for a
# teacher going on duty or a student calling one.
OncallSubject = Literal["chinese", "math", "english", "morality_law", "physics", "chemistry",
                        "biology", "history", "geography"]
OncallGrade = Literal["7", "8", "9"]  # 初一, 初二, 初三


class PassPerson(Struct, frozen=True, forbid_unknown_fields=True):
    id: PersonId
    name: Annotated[str, Meta(max_length=60, pattern=NONBLANK)]
    school: Annotated[str, Meta(max_length=120, pattern=NONBLANK)] | None = None
    district: Annotated[str, Meta(max_length=60, pattern=NONBLANK)] | None = None


class NewPass(Struct, frozen=True, forbid_unknown_fields=True):
    """``teacher_duty``: ``subjects`` (at least one), ``grades``, ``rating`` (1–5, if the
    platform has one: it orders the list students see); ``student_call``: ``grade``.
    The link is valid ``valid_hours`` (at most a week)."""

    kind: Literal["teacher_duty", "student_call"]
    person: PassPerson
    subjects: Annotated[list[OncallSubject], Meta(max_length=9)] = []
    grades: Annotated[list[OncallGrade], Meta(max_length=3)] = []
    grade: OncallGrade | None = None
    rating: Annotated[float, Meta(ge=1, le=5)] | None = None
    valid_hours: Annotated[int, Meta(ge=1, le=168)] = 12


class BookingPerson(Struct, frozen=True, forbid_unknown_fields=True):
    """A person of a booking pass: codes as in a session's ``people`` (the same-school
    and same-district rules compare them when the booked session is paid)."""

    id: PersonId
    name: Annotated[str, Meta(max_length=60, pattern=NONBLANK)]
    school: Annotated[str, Meta(max_length=120, pattern=NONBLANK)] | None = None
    district: Annotated[str, Meta(max_length=60, pattern=NONBLANK)] | None = None
    school_id: Annotated[str, Meta(pattern=anchored(SCHOOL_ID))] | None = None
    district_code: Annotated[str, Meta(pattern=anchored(DISTRICT_CODE))] | None = None


class BookingPass(Struct, frozen=True, forbid_unknown_fields=True):
    """Booking (issue 14, item 4): ``booking_teacher`` publishes one-to-one slots and
    schedules lectures and reviews; ``booking_learner`` books and enrols. The link is
    valid ``valid_hours`` (at most 30 days)."""

    kind: Literal["booking_teacher", "booking_learner"]
    person: BookingPerson
    valid_hours: Annotated[int, Meta(ge=1, le=720)] = 168


class NewOffer(Struct, frozen=True, forbid_unknown_fields=True):
    """A teacher's offer: a ``one_to_one`` slot (one learner), a ``lecture`` (up to
    ``capacity`` learners) or a ``review`` (one presenting learner). ``start`` and
    ``minutes`` must fit one open-hours window of the calendar and the form's length
    limits of the training policy; ``title`` defaults to the form's name."""

    form: Literal["one_to_one", "lecture", "review"]
    start: Time
    minutes: Annotated[int, Meta(ge=1, le=720)]
    title: Annotated[str, Meta(max_length=120, pattern=NONBLANK)] | None = None
    capacity: Annotated[int, Meta(ge=1, le=100_000)] | None = None


class LessonTeacher(Struct, frozen=True, forbid_unknown_fields=True):
    """Who publishes, when the platform's API key does it on a teacher's behalf."""

    id: PersonId
    name: Annotated[str, Meta(min_length=1, max_length=100, pattern=NONBLANK)]
    school: Annotated[str, Meta(max_length=100)] = ""


class MicroLessonPublish(Struct, frozen=True, forbid_unknown_fields=True):
    """A teacher publishes part of a recording of a session they led (role instructor)
    as a micro-lesson (微课, issue 14, item 6). ``end_s`` is after ``start_s`` and inside
    the recording; the length is between the tutoring policy's ``[micro_lessons]``
    ``min_length_s`` and ``max_length_s``. ``teacher`` with the API key only (a
    teacher's pass says who)."""

    recording_id: Annotated[str, Meta(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
    start_s: Annotated[float, Meta(ge=0, le=86_400)]
    end_s: Annotated[float, Meta(ge=0, le=86_400)]
    title: Annotated[str, Meta(min_length=1, max_length=80, pattern=NONBLANK)]
    subject: OncallSubject
    grade: OncallGrade
    knowledge_point: Annotated[str, Meta(min_length=1, max_length=60, pattern=NONBLANK,
                                         description="知识点, e.g. 一元二次方程的根与系数")]
    teacher: LessonTeacher | None = None


# The Q&A centre (issue 14, item 5): photos and voice notes travel base64 inside the
# body; their count and bytes are the tutoring policy's [qa] bounds, checked by the
# handler after decoding (over one: 413, nothing stored).
Base64 = Annotated[str, Meta(extra_json_schema={"contentEncoding": "base64"})]


class QaQuestion(Struct, frozen=True, forbid_unknown_fields=True):
    """A student's question (their on-demand pass) to a subject: text, photos or both."""

    subject: OncallSubject
    text: str = ""
    photos: list[Base64] = []


class QaAnswer(Struct, frozen=True, forbid_unknown_fields=True):
    """A teacher's answer (their duty pass): text, photos, a short voice note (WebM,
    Ogg/Opus or MP4 audio, recognised from its first bytes), or several."""

    text: str = ""
    photos: list[Base64] = []
    voice: Base64 | None = None


class QaSolve(Struct, frozen=True, forbid_unknown_fields=True):
    """The student marks their question solved, accepting one answer (its id) or none."""

    accept: str | None = None


# The REST route (as in the OpenAPI document, under /api/v1) → the body its handler
# decodes. The handlers decode with ``REST_BODIES[route]``; tests/signaling/
# test_declarations.py checks that the document says the same.
REST_BODIES: dict[str, type[Struct]] = {
    "/sessions": NewSession,
    "/me/feedback": Feedback,
    "/me/report": Report,
    "/me/marks": Mark,
    "/supervision/reviews": ReviewBody,
    "/admin/login": StaffLogin,
    "/calendar/versions/{seq}/restore": SettingsRestore,
    "/policy/{programme}/versions/{seq}/restore": SettingsRestore,
    "/oncall/passes": NewPass,
    "/bookings/passes": BookingPass,
    "/bookings/offers": NewOffer,
    "/microlessons": MicroLessonPublish,
    "/qa/questions": QaQuestion,
    "/qa/questions/{id}/answers": QaAnswer,
    "/qa/questions/{id}/solve": QaSolve,
}
# The PUT bodies (calendar and policy edits), generated into the document the same way.
REST_PUT_BODIES: dict[str, type[Struct]] = {
    "/calendar": CalendarEdit,
    "/policy/{programme}": PolicyEdit,
}


def openapi_bodies() -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """(route → its ``requestBody``, the components they refer to), for OpenAPI 3.1. A
    POST body is under its route, a PUT body under ``"PUT " + route``."""
    routes = list(REST_BODIES) + [f"PUT {r}" for r in REST_PUT_BODIES]
    kinds = list(REST_BODIES.values()) + list(REST_PUT_BODIES.values())
    schemas, components = msgspec.json.schema_components(
        kinds, ref_template="#/components/schemas/{name}"
    )
    bodies = {
        route: {"required": True, "content": {"application/json": {"schema": schema}}}
        for route, schema in zip(routes, schemas, strict=True)
    }
    return bodies, components


def socket_schema() -> dict[str, Any]:
    """A JSON Schema (2020-12) of every client → server event's payload (``properties``),
    and of the server → client events declared here (``x-server-events``)."""
    events, outbound = list(MESSAGES), list(SERVER_EVENTS)
    kinds = [MESSAGES[e] for e in events] + [SERVER_EVENTS[e] for e in outbound]
    schemas, components = msgspec.json.schema_components(kinds, ref_template="#/$defs/{name}")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "opentutor socket.io events, client to server; x-server-events: server to "
        "client (generated from signaling/session/declarations.py: python -m "
        "signaling.session.declarations)",
        "type": "object",
        "properties": dict(zip(events, schemas[: len(events)], strict=True)),
        "x-server-events": dict(zip(outbound, schemas[len(events):], strict=True)),
        "$defs": components,
    }


SOCKET_SCHEMA_FILE = Path(__file__).resolve().parents[2] / "docs" / "socket-messages.json"


def socket_schema_text() -> str:
    return json.dumps(socket_schema(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


if __name__ == "__main__":
    SOCKET_SCHEMA_FILE.write_text(socket_schema_text(), encoding="utf-8")
    sys.stdout.write(f"wrote {SOCKET_SCHEMA_FILE}\n")
