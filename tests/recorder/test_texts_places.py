"""recorder.credits.texts and recorder.credits.places (issue 9, items 4 and 5).

The texts module has a fast way for everyday texts; every test here compares it with
the definition written out plainly (NFKC, then the characters that are not Z, C or M
and not whitespace)."""

from __future__ import annotations

import random
import re
import unicodedata

import pytest

from recorder.credits import texts
from recorder.credits.places import Place, district_code_of, normalise_name, same_key, same_place
from recorder.credits.texts import in_window, text_problem, visible, visible_chars, window_end_us


def reference_visible(text: str) -> str:
    return "".join(
        ch for ch in unicodedata.normalize("NFKC", text)
        if unicodedata.category(ch)[0] not in "ZCM" and not ch.isspace()
    )


def reference_problem(text: str, min_chars: int, min_distinct: int) -> str | None:
    shown = reference_visible(text)
    if len(shown) < min_chars:
        return f"needs at least {min_chars} visible characters (has {len(shown)})"
    if len(set(shown)) < min_distinct:
        return (f"needs at least {min_distinct} different characters (has {len(set(shown))}): "
                "a repeated character is not a text")
    return None


def _everyday_chars() -> list[str]:
    pattern = re.compile(f"[{texts._EVERYDAY}]")
    return [chr(c) for c in range(0x10000) if pattern.fullmatch(chr(c))]


SPACES = [chr(c) for c in range(0x110000) if chr(c).isspace()]


def test_every_everyday_character_is_what_nfkc_says() -> None:
    chars = _everyday_chars()
    assert len(chars) > 20_000  # the CJK block is in
    for ch in chars + SPACES:
        assert visible(ch) == reference_visible(ch), hex(ord(ch))
        assert visible("好" + ch + "a") == reference_visible("好" + ch + "a"), hex(ord(ch))


# Everyday characters, their look-alikes and everything the fast way must leave alone.
ALPHABET = [
    *"本次研修收获很大，。、；：？！“”‘’（）《》【】…—·abcXYZ019,.;:?!()<>_~",
    "\uff0c", "\uff1f", "\uff21", "\uff41", "\uff10", "\u3000", " ", "\n", "\t", "\xa0",
    *["\u200b", "\u200d", "\ufeff", "\u202e", "\u0301", "\u0338", "e\u0301", "é", "ﬁ", "²",
       "①", "ｶ", "ﾞ", "ǆ", "\u1100", "\u1161", "가", "👍", "👍🏽", "\U0001f1e8\U0001f1f3",
       "\uf900", "㈱", "\x1c", "\ue000", "™", "℃", "\u2028"],
]


@pytest.mark.parametrize("seed", range(6))
def test_random_texts_agree_with_the_definition(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(3000):
        size = rng.choice((1, 3, 10, 40, 250))
        # Mostly everyday texts with a few odd characters, sometimes anything at all.
        pool = ALPHABET[:60] if rng.random() < 0.6 else ALPHABET
        text = "".join(rng.choice(pool) for _ in range(size))
        assert visible(text) == reference_visible(text), repr(text)
        for min_chars, min_distinct in ((1, 1), (10, 5), (200, 20), (0, 0), (5, 40)):
            assert text_problem(text, min_chars=min_chars, min_distinct=min_distinct) == (
                reference_problem(text, min_chars, min_distinct)), repr(text)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("\u200b" * 200, "needs at least 200 visible characters (has 0)"),
        ("a" * 200, "needs at least 20 different characters (has 1): "
                    "a repeated character is not a text"),
        ("👍" * 200, "needs at least 20 different characters (has 1): "
                     "a repeated character is not a text"),
        ("好 " * 200 + "a", "needs at least 20 different characters (has 2): "
                           "a repeated character is not a text"),
        # A full-width comma is a comma after NFKC: 19 letters + ",", not 21 characters.
        ("abcdefghijklmnopqrs,\uff0c" * 10, "needs at least 20 different characters (has 20)"
         ": a repeated character is not a text"),
        ("e\u0301" * 200, "needs at least 20 different characters (has 1): "
                          "a repeated character is not a text"),
        ("a\u0301\u0301\u0301" * 10, "needs at least 200 visible characters (has 10)"),
    ],
)
def test_texts_that_do_not_count(text: str, problem: str) -> None:
    if "(has 20)" in problem:
        problem = None  # type: ignore[assignment]  # 20 distinct: it counts
    assert text_problem(text, min_chars=200, min_distinct=20) == problem


def test_visible_characters() -> None:
    assert visible_chars("收获 很大\u3000\n\t真的\x1c\u200b") == 6
    assert visible("ＡＢＣ，１２３") == "ABC,123"
    assert visible("ﬁ") == "fi"


def test_the_one_window() -> None:
    hour = 3_600_000_000
    assert window_end_us(10 * hour, 168) == 178 * hour
    assert in_window(178 * hour, 5 * hour, 10 * hour, 168)
    assert not in_window(178 * hour + 1, 5 * hour, 10 * hour, 168)
    assert not in_window(5 * hour - 1, 5 * hour, 10 * hour, 168)


# --- places ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "district", "expect"),
    [
        (Place("", "北京四中"), Place("", "北京四中 "), False, (True, True)),
        (Place("", "西城区"), Place("", "西城"), True, (True, True)),
        (Place("", "Xicheng District"), Place("", "西城区"), True, (True, True)),
        (Place("110102", "西城区"), Place("", "西城"), True, (True, True)),
        (Place("110102", "西城区"), Place("110108", "西城区"), True, (False, False)),
        (Place("s4", "四中"), Place("s4", "北京市第四中学"), False, (True, False)),
        (Place("s4", "四中"), Place("", "四中"), False, (False, True)),  # an id is not a name
        (Place("", ""), Place("", ""), False, (False, False)),  # unknown is never "same"
        (Place("", "北京四中"), Place("", ""), False, (False, False)),
    ],
)
def test_same_place(a: Place, b: Place, district: bool, expect: tuple[bool, bool]) -> None:
    assert same_place(a, b, district=district) == expect
    assert same_key(a.key(district=district), b.key(district=district)) == expect


def test_names_are_normalised() -> None:
    assert normalise_name(" 北京四中\u200b ") == "北京四中"
    assert normalise_name("No. 4") == "no.4"
    assert district_code_of("西城") == district_code_of("Xicheng") == "110102"
    assert district_code_of("浦东新区") is None
