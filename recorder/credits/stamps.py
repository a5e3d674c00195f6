"""Timestamps at speed (issue 15, item 4): the µs of the session server's own spelling,
``2022-03-14T09:31:27.123Z`` (``signaling.session.timefmt.iso_at``) or without the
fraction, from two memos instead of a datetime per timestamp. Pure.

A statement reads about 14 timestamps a session, and ``datetime.fromisoformat``, the
subtraction of the epoch and the division by a microsecond cost ~1.3 µs each. For a
timestamp of exactly the shape ``YYYY-MM-DDTHH:MM`` + ``:SS[.fff]Z`` (ASCII digits,
UTC) the instant is the sum of two parts that do not depend on each other: the minute
(``head``, up to ~170,000 of them in a term) and the seconds after it (``tail``, at most
60,060 spellings). Each part is worked out once by :func:`~recorder.credits.records._us`,
the general parser, from a whole timestamp it parsed, and remembered; a timestamp whose
two parts are both remembered is their sum. Anything else (another offset, more digits,
a space for the T, garbage) goes to ``_us``, which also raises for whatever is invalid,
so this never decides what is valid. tests/recorder/test_credits_stamps.py compares the
two on valid, edge and malformed spellings.
"""

from __future__ import annotations

import re

from recorder.credits.records import _us

_HEAD = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}")
_TAIL = re.compile(r":[0-9]{2}(?:\.[0-9]{3})?Z")
_HEADS_LIMIT = 400_000  # minutes remembered before the memo starts afresh (bounded memory)
_EPOCH_MINUTE = "1970-01-01T00:00"


class Stamps:
    """The two memos; one per :class:`~recorder.credits.engine.Engine` (nothing global)."""

    __slots__ = ("heads", "tails")

    def __init__(self) -> None:
        self.heads: dict[str, int] = {}  # "YYYY-MM-DDTHH:MM" → µs of that minute, UTC
        self.tails: dict[str, int] = {}  # ":SS.fffZ" or ":SSZ" → µs after the minute

    def us(self, text: object) -> int:
        """``_us(text)``: µs since the epoch of a plainly valid timestamp; raises
        (TypeError, ValueError) on anything else."""
        if type(text) is str:
            head = self.heads.get(text[:16])
            if head is not None:
                tail = self.tails.get(text[16:])
                if tail is not None:
                    return head + tail
        return self.learn(text)

    def learn(self, text: object) -> int:
        """``_us(text)``, remembering its two parts if it has the shape."""
        us = _us(text)  # raises for anything but a valid timestamp with an offset
        assert type(text) is str  # _us took it
        if (
            len(text) in (20, 24)
            and _HEAD.fullmatch(text, 0, 16) is not None
            and _TAIL.fullmatch(text, 16) is not None
        ):
            # The shape is UTC and ends the minute at 16, so the instant is the minute's
            # plus the seconds' (linear: no field of one part bounds the other).
            head = _us(text[:16] + ":00Z")
            tail = _us(_EPOCH_MINUTE + text[16:])
            assert head + tail == us
            heads = self.heads
            if len(heads) >= _HEADS_LIMIT:
                heads.clear()
            heads[text[:16]] = head
            self.tails[text[16:]] = tail
        return us
