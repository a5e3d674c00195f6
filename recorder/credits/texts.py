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

import re
import unicodedata

US_PER_HOUR = 3_600_000_000

# Speed: a statement reads millions of feedbacks and reports, and NFKC of a Chinese text
# with full-width punctuation costs ~100 ns a character. Most texts are *everyday*: CJK
# ideographs (U+4E00–9FFF, letters that NFKC keeps), ASCII letters, digits and
# punctuation, the everyday Chinese punctuation listed (not "…": NFKC makes it "..."),
# full-width forms (U+FF01–FF5E, which NFKC maps one for one to ASCII) and whitespace.
# None of these is a Z, C or M character or composes with its neighbours, so such a
# text's visible characters are the text without its whitespace, the full-width forms
# mapped to ASCII, and both their count and (after that mapping) their distinct count
# follow without NFKC or a category look-up per character. Anything else takes the full
# way. tests/recorder/test_texts_places.py checks every character of the class and random
# texts against the full way.
_EVERYDAY = (
    "\u4e00-\u9fffA-Za-z0-9!-/:-@\\[-`{-~\u00b7\u2014\u2018\u2019\u201c\u201d"
    "\u3001\u3002\u300a-\u300f\u3010\u3011\uff01-\uff5e"
)
# One match over the whole text is about twice as fast as a search for an odd character.
_ALL_EVERYDAY = re.compile(f"[{_EVERYDAY}]*")
_ALL_EVERYDAY_OR_SPACE = re.compile(f"[{_EVERYDAY}\\s]*")
_WIDE = re.compile("[\uff01-\uff5e]")
_WIDE_CHARS = frozenset(chr(code) for code in range(0xFF01, 0xFF5F))
_WIDE_TO_ASCII = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}


def _everyday(text: str) -> str | None:
    """The visible characters of an everyday text, full-width forms not yet mapped to
    ASCII; None for any other text."""
    if _ALL_EVERYDAY.fullmatch(text) is not None:
        return text  # not even whitespace: the usual Chinese feedback
    if _ALL_EVERYDAY_OR_SPACE.fullmatch(text) is not None:
        return "".join(text.split())
    return None


def visible(text: str) -> str:
    """The characters of ``text`` that count, after NFKC, in order."""
    shown = _everyday(text)
    if shown is not None:
        return shown.translate(_WIDE_TO_ASCII) if _WIDE.search(shown) else shown
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
    if text_counts(text, min_chars, min_distinct):
        return None
    return _problem(visible(text), min_chars, min_distinct)


def text_counts(text: str, min_chars: int, min_distinct: int) -> bool:
    """Whether ``text`` counts: :func:`text_problem` is None (the statement's question,
    asked of every feedback and report, so without the words)."""
    # _everyday, inlined; ``wide`` is where the first full-width form (U+FF0C, the
    # Chinese comma, is one) may be.
    if _ALL_EVERYDAY.fullmatch(text) is not None:
        shown = text  # not even whitespace: the usual Chinese feedback
        # Where the first full-width form is: a search for one character class is
        # cheaper than matching the everyday class without the full-width forms.
        found = _WIDE.search(text)
        wide = found.start() if found is not None else len(text)
    elif _ALL_EVERYDAY_OR_SPACE.fullmatch(text) is not None:
        shown = "".join(text.split())
        wide = 0  # somewhere, maybe
    else:
        return _problem(visible(text), min_chars, min_distinct) is None
    if len(shown) < min_chars:  # a full-width form is one character before NFKC and after
        return False
    # Distinct characters: a text's first few dozen usually settle it, cheaper than all of
    # it (each character of a Chinese text becomes a new str object in the set). The
    # distinct characters of a prefix are a lower bound of the whole's, so the shortest
    # prefix that can show enough is tried first (prose repeats 的 or 了 once or twice in
    # its first 22), then a longer one. Counting each full-width form as possibly the
    # same as its ASCII twin keeps it a lower bound after NFKC.
    for size in (min_distinct + 2, min_distinct + 10):
        head = set(shown[:size])
        if len(head) >= min_distinct and (
            wide >= size
            or head.isdisjoint(_WIDE_CHARS)
            or len(head) - len(head & _WIDE_CHARS) >= min_distinct
        ):
            return True
    return _problem(visible(text), min_chars, min_distinct) is None


def _problem(shown: str, min_chars: int, min_distinct: int) -> str | None:
    """:func:`text_problem` of the visible characters ``shown``, counted in full."""
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


__all__ = ["in_window", "text_counts", "text_problem", "visible", "visible_chars", "window_end_us"]
