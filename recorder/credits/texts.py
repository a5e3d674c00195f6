"""What a written text counts for: feedback (反馈) and review reports (检课报告).

Issue 9, item 4: a feedback of 200 zero-width spaces, or a report of one character,
must not unlock points or study hours. So a text counts its *visible* characters:

* NFKC first, so that full-width and compatibility forms count as what they show
  ("ＡＢＣ" is three letters, a ligature "ﬁ" two);
* then only characters a reader sees as content: not whitespace, not separators
  (Z*), not control/format/unassigned/private/surrogate (C*: U+200B, U+200D, U+FEFF,
  bidi marks), not combining marks (M*: a letter with 50 stacked accents is one).

and needs a minimum of *distinct* visible characters, so that "a"×200 or 👍×200 is
refused with a clear message. An emoji built of several code points (👍🏽, flags)
counts per visible code point; the distinct rule is what stops repetition.

The one feedback window (:func:`window_end_us`) is here too, used by the REST form
and by the credits alike, anchored on the session's end as the record states it.

Pure: standard library only.
"""

from __future__ import annotations

import unicodedata

US_PER_HOUR = 3_600_000_000


def visible(text: str) -> str:
    """The characters of ``text`` that count, after NFKC, in order."""
    return "".join(
        ch
        for ch in unicodedata.normalize("NFKC", text)
        if unicodedata.category(ch)[0] not in "ZCM" and not ch.isspace()
    )


def visible_chars(text: str) -> int:
    """How many characters of ``text`` count toward a minimum length."""
    return len(visible(text))


def text_problem(text: str, *, min_chars: int, min_distinct: int) -> str | None:
    """Why ``text`` does not count (an English sentence for notes and REST errors),
    or None when it does."""
    shown = visible(text)
    if len(shown) < min_chars:
        return f"needs at least {min_chars} visible characters (has {len(shown)})"
    distinct = len(set(shown))
    if distinct < min_distinct:
        return (
            f"needs at least {min_distinct} different characters (has {distinct}): "
            "a repeated character is not a text"
        )
    return None


def window_end_us(ended_us: int, window_hours: int) -> int:
    """The last instant (inclusive) a feedback or report may be submitted: the
    session's end plus the window ("需在7天内……提供反馈和评价")."""
    return ended_us + window_hours * US_PER_HOUR


def in_window(submitted_us: int, started_us: int, ended_us: int, window_hours: int) -> bool:
    """Submitted no earlier than the session's start and within the window after its end."""
    return started_us <= submitted_us <= window_end_us(ended_us, window_hours)


__all__ = ["in_window", "text_problem", "visible", "visible_chars", "window_end_us"]
