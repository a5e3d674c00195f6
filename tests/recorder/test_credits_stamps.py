"""The statement's timestamp memo (recorder/credits/stamps.py) gives exactly what the general
parser gives (records._us, datetime.fromisoformat underneath): the same µs for every
valid spelling, the same exception for everything else, whether its parts are
remembered or not."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta

import pytest

from recorder.credits.records import _us
from recorder.credits.stamps import Stamps

_GIVEUP = (TypeError, ValueError)

VALID = [
    "2022-03-14T09:31:27.123Z",  # the session server's spelling (timefmt.iso_at)
    "2022-03-14T09:31:27Z",  # without the fraction (timefmt.iso)
    "2022-03-14T09:31:27.000Z",
    "2022-03-14T09:31:27.123+00:00",  # the same instant, other spellings: the general way
    "2022-03-14T09:31:27.123-00:00",
    "2022-03-14T17:31:27.123+08:00",
    "2022-03-14T04:01:27.123-05:30",
    "2022-03-14T09:31:27.123456Z",
    "2022-03-14T09:31:27.1Z",
    "2022-03-14T09:31Z",
    "2022-03-14T09:31:27.123+0000",
    "20220314T093127Z",
    "2024-02-29T23:59:59.999Z",  # leap day
    "2000-02-29T00:00:00.000Z",
    "2022-12-31T23:59:59.999Z",  # the year turns
    "2023-01-01T00:00:00.000Z",
    "1970-01-01T00:00:00.000Z",
    "1969-12-31T23:59:59.999Z",  # before the epoch
    "0001-01-01T00:00:00.000Z",
    "9999-12-31T23:59:59.999Z",
    "2022-03-14T00:00:00Z",
    "2022-03-14T23:59:59Z",
]
INVALID: list[object] = [
    "2023-02-29T10:00:00.000Z",  # no leap day that year
    "2022-02-30T10:00:00Z",
    "2022-13-01T00:00:00.000Z",
    "2022-00-10T00:00:00.000Z",
    "2022-03-14T24:00:00.000Z",
    "2022-03-14T09:60:00.000Z",
    "2022-03-14T09:31:60.000Z",  # no leap seconds
    "2022-03-14T09:31:27.123",  # no offset
    "2022-03-14T09:31:27",
    "2022-03-14",
    "2022-03-14T09:31:27.123Zjunk",
    "2022-03-14T09:31:27.123 Z",
    "2022-03-14T09:31:27.12345678Z",
    "2022-03-14T09:31:27.123+24:00",
    "２０２２-03-14T09:31:27.123Z",  # full-width digits
    "2022-03-14T09:31:2٧.123Z",  # an Arabic-Indic digit
    "2022-03-14T09:31:+7.123Z",
    "2022-03-14T09:3_:27.123Z",
    "",
    "garbage",
    "Z",
    None,
    123,
    1.5,
    ["2022-03-14T09:31:27.123Z"],
    b"2022-03-14T09:31:27.123Z",
    {"at": "2022-03-14T09:31:27.123Z"},
]


def _outcome(parse: object, text: object) -> object:
    try:
        return parse(text)  # type: ignore[operator]
    except _GIVEUP as exc:
        return type(exc)


def _check(stamps: Stamps, texts: list[object]) -> None:
    for text in texts:
        assert _outcome(stamps.us, text) == _outcome(_us, text), text


def test_the_table_cold_and_remembered() -> None:
    stamps = Stamps()
    _check(stamps, [*VALID, *INVALID])
    assert stamps.heads and stamps.tails  # the usual spellings were remembered
    _check(stamps, [*INVALID, *VALID])  # again, with the memo warm


def test_every_remembered_minute_with_every_remembered_second() -> None:
    """A timestamp is the sum of its minute and its seconds only if that holds for every
    pair: each head learnt from one timestamp, each tail from another."""
    stamps = Stamps()
    heads = ["2022-03-14T09:31", "2024-02-29T23:59", "1969-12-31T23:59", "0001-01-01T00:00",
             "9999-12-31T23:59", "2022-12-31T23:59", "2022-03-27T01:30"]
    tails = [":00.000Z", ":59.999Z", ":27.123Z", ":00Z", ":59Z", ":07Z"]
    for head, tail in zip(itertools.cycle(heads), tails, strict=False):
        stamps.us(head + tail)
    for head in heads:
        stamps.us(head + ":01.500Z")
    assert set(stamps.heads) == set(heads)
    for head, tail in itertools.product(heads, [*tails, ":01.500Z"]):
        text = head + tail
        assert stamps.us(text) == _us(text), text
    # Remembered parts around a part that is not: the general way decides.
    for head, bad in itertools.product(heads, [":60.000Z", ":27.123", ":27.123+08:00", ":7Z"]):
        text = head + bad
        assert _outcome(stamps.us, text) == _outcome(_us, text), text
    for good, tail in itertools.product(["2023-02-29T10:00", "2022-03-14T25:00",
                                         "2022-03-14 09:31", "2022-3-14T09:31:"], tails):
        text = good + tail
        assert _outcome(stamps.us, text) == _outcome(_us, text), text


def test_random_instants_in_several_spellings() -> None:
    rng = random.Random(15)
    stamps = Stamps()
    base = datetime(2021, 1, 1, tzinfo=UTC)
    texts: list[object] = []
    for _ in range(20_000):
        moment = base + timedelta(microseconds=rng.randrange(3 * 365 * 86_400_000_000))
        kind = rng.random()
        if kind < 0.6:
            ms = f"{moment.microsecond // 1000:03d}"
            texts.append(moment.strftime("%Y-%m-%dT%H:%M:%S.") + ms + "Z")
        elif kind < 0.8:
            texts.append(moment.strftime("%Y-%m-%dT%H:%M:%SZ"))
        elif kind < 0.9:
            texts.append(moment.astimezone(
                UTC if rng.random() < 0.5 else None).isoformat())  # +00:00 or the local offset
        else:
            text = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            at = rng.randrange(len(text))
            texts.append(text[:at] + rng.choice("0:9.Z+-T x") + text[at + 1:])  # one typo
    _check(stamps, texts)
    _check(stamps, texts)


@pytest.mark.parametrize("size", [1, 3])
def test_the_memo_starts_afresh_when_full(monkeypatch: pytest.MonkeyPatch, size: int) -> None:
    monkeypatch.setattr("recorder.credits.stamps._HEADS_LIMIT", size)
    stamps = Stamps()
    texts: list[object] = [f"2022-03-14T09:{m:02d}:27.123Z" for m in range(10)]
    _check(stamps, texts + texts)
    assert len(stamps.heads) <= size
