"""Every event the server sends to browsers, named once, with its payload and audience.

Inbound messages are typed dataclasses (:mod:`signaling.session.messages`); outbound ones are
these :class:`Out` names, which the :class:`~signaling.session.room.Outbox` takes instead of bare
strings (so mypy catches a misspelt event), and this module's table is the single
source of the "Server → client" table in ``docs/protocol.md``:

    python -m signaling.session.outbound        # print the table
    python -m signaling.session.outbound --write  # rewrite it in docs/protocol.md

``tests/signaling/test_outbound.py`` fails when the document and this table differ, or
when the room emits a name that is not here.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path


class Out(StrEnum):
    WELCOME = "welcome"
    ROSTER = "roster"
    CAPS = "caps"
    RENEGOTIATE = "renegotiate"
    TRACKS = "tracks"
    CHAT = "chat"
    BOARD = "board"
    ENDED = "ended"
    REPLACED = "replaced"
    ERROR = "error"
    RECORDING = "recording"
    RECORDING_ERROR = "recording_error"
    QUALITY = "quality"
    INVITED = "invited"
    MUTED = "muted"
    STAGE_DECLINED = "stage_declined"


@dataclass(frozen=True)
class EventDoc:
    payload: str  # the payload's shape, in the document's notation
    to: str  # who receives it
    notes: str = ""


EVENTS: dict[Out, EventDoc] = {
    Out.WELCOME: EventDoc(
        '`{"you": person, "caps": caps, "session": session, "people": [person], '
        '"audience": audience, "board": board, "chat": [chat], "resumed": bool, '
        '"ice_servers": [ice], "recording": recording}`',
        "the joining tab",
        "the whole state at (re)join (a reconnect gets a fresh one); `recording` as in the "
        "`recording` event; `people` is everyone, or when `audience.listed` is false (a "
        "big audience, see [Who is here](#who-is-here-roster-and-audience)) the people who "
        "matter to you and yourself",
    ),
    Out.ROSTER: EventDoc(
        '`{"added": [person], "changed": [person], "removed": [id], "audience": audience}`',
        "everyone; in a big audience instructors, learners (and one learner alone for "
        "their own state)",
        "who is here, coalesced: every change of people within a window (0.2 s) in one "
        "event, never before the welcome of the person it concerns. `added` and `changed` "
        "are upserts (new to your list, or a new state), `removed` leave your list (never "
        "yourself); `present: false` means gone",
    ),
    Out.CAPS: EventDoc("`caps`", "the person concerned", "your own permissions changed"),
    Out.RENEGOTIATE: EventDoc(
        '`{"streams": [{"person", "kind"}]}`',
        "one tab",
        "please send a new `offer` with at least as many receiving transceivers per kind "
        "as listed",
    ),
    Out.TRACKS: EventDoc(
        '`{mid: {"person", "kind"}}`', "one tab", "the mapping changed without renegotiation"
    ),
    Out.QUALITY: EventDoc(
        '`{"person", "level", "reason"}`: level `full`, `reduced` or `audio_only`; reason '
        '`network`, `saver` or empty',
        "the person's tab; for a learner also the instructors",
        "what the server forwards to `person` changed with their link (receiver reports, "
        "REMB) or their data-saver choice (`media` with `saver`); at `audio_only` no video "
        "reaches them, and video resumes at a keyframe",
    ),
    Out.CHAT: EventDoc("`chat`", "everyone"),
    Out.BOARD: EventDoc('`{"seq", "ts", "by", "op"}`', "everyone"),
    Out.ENDED: EventDoc(
        '`{"by": id\\|null, "feedback": bool}`',
        "everyone",
        "session over; learners show the feedback form",
    ),
    Out.REPLACED: EventDoc("`{}`", "the old tab", "another tab took over this identity"),
    Out.ERROR: EventDoc(
        '`{"event", "code", "message", "field"?}`',
        "the sender",
        "a refused client event (codes above)",
    ),
    Out.RECORDING: EventDoc(
        '`{"on": bool, "since": iso\\|null, "reason"?: "resumed"\\|"failed"}`',
        "everyone",
        "as soon as recording starts or stops (the badge; `since` = when this recording's "
        "clock started). `reason` only when the server changed it by itself: `resumed` = "
        "recording again after a server restart (the span in between is lost); `failed` = "
        "the session is to be recorded but recording could not start (`on: false`). It "
        "stays in the state (and every `welcome`) until the next change",
    ),
    Out.RECORDING_ERROR: EventDoc(
        '`{"code", "message", "recording": id\\|null}`',
        "instructors",
        "the recording lost something (`writer_behind`, `write_failed`, `index_failed`, "
        "`start_failed`); the lost span is in the session record",
    ),
    Out.INVITED: EventDoc(
        '`{"what": "stage", "open": bool, "by": name}`',
        "the learner invited",
        "an instructor asks you onto the stage (`open: true`) or withdrew the question "
        "(`open: false`); answer with `stage_answer`. Nothing is published before you "
        "accept; your own `invited` in the roster says the same",
    ),
    Out.MUTED: EventDoc(
        '`{"by": name}`',
        "the learner muted",
        "an instructor muted you: the server no longer forwards your sound and your page "
        "switches the microphone off; send `unmute` to be heard again",
    ),
    Out.STAGE_DECLINED: EventDoc(
        '`{"person": id, "name": name}`',
        "the people who may invite (`caps.grant`)",
        "the learner said no to the stage invitation (`stage_answer` with `accept: false`). "
        "Told as an event, not only as the roster's `invited` going away: a decline in the "
        "same coalesced `roster` as the invitation would never show there",
    ),
}

BEGIN = "<!-- generated by `python -m signaling.session.outbound --write`: server events -->"
END = "<!-- end of generated server events -->"
DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"


def markdown() -> str:
    lines = ["| event | payload | to | notes |", "|---|---|---|---|"]
    for name, doc in EVENTS.items():
        lines.append(f"| `{name}` | {doc.payload} | {doc.to} | {doc.notes} |")
    return "\n".join(lines)


def with_table(document: str) -> str:
    """``document`` with the generated table between its markers."""
    head, sep, rest = document.partition(BEGIN)
    if not sep:
        raise ValueError(f"{DOC.name} has no {BEGIN!r} marker")
    _, sep, tail = rest.partition(END)
    if not sep:
        raise ValueError(f"{DOC.name} has no {END!r} marker")
    return f"{head}{BEGIN}\n{markdown()}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="the server → browser events table")
    parser.add_argument("--write", action="store_true", help=f"rewrite it in {DOC}")
    args = parser.parse_args(argv)
    if args.write:
        DOC.write_text(with_table(DOC.read_text(encoding="utf-8")), encoding="utf-8")
    else:
        print(markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())
