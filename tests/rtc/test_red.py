"""RED payloads (RFC 2198, ``rtc/red.py``) from bytes: the blocks, the primary a
subscriber without RED gets, payload types rewritten for another subscriber, and
malformed input answered with ``None`` (it runs on the forward path)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rtc import red

# Chromium's shape: one redundant block (the previous 20 ms frame, 960 ticks earlier)
# under Opus PT 111, then the primary. Header: F=1|111, offset 960, length 5; F=0|111.
ONE_REDUNDANT = bytes.fromhex("ef0f0005" "6f" "aaaaaaaaaa" "bbbbbb")
# Two redundant blocks (1920 and 960 ticks back, 2 and 3 bytes), then a 1-byte primary.
TWO_REDUNDANT = bytes.fromhex("ef1e0002" "ef0f0003" "6f" "1111" "222222" "33")
PRIMARY_ONLY = bytes.fromhex("6f" "fcfffe")  # what Chromium sends before it has history
EMPTY_PRIMARY = bytes.fromhex("ef0f0002" "6f" "1111")  # a redundant copy and no new frame
# Offset 1000 (its low 6 bits share a byte with the length's top 2) and length 300.
WIDE = bytes.fromhex("ef0fa12c" "6f") + b"\x01" * 300 + b"\x02"

GOOD = [
    (ONE_REDUNDANT, [(111, 960, b"\xaa" * 5), (111, 0, b"\xbb" * 3)]),
    (TWO_REDUNDANT, [(111, 1920, b"\x11" * 2), (111, 960, b"\x22" * 3), (111, 0, b"\x33")]),
    (PRIMARY_ONLY, [(111, 0, b"\xfc\xff\xfe")]),
    (EMPTY_PRIMARY, [(111, 960, b"\x11\x11"), (111, 0, b"")]),
    (WIDE, [(111, 1000, b"\x01" * 300), (111, 0, b"\x02")]),
]

MALFORMED = [
    pytest.param(b"", id="empty"),
    pytest.param(bytes.fromhex("ef0f00"), id="header-cut-short"),
    pytest.param(bytes.fromhex("ef0f0005"), id="no-primary-header"),
    pytest.param(bytes.fromhex("ef0f0005" "6f" "aaaa"), id="block-longer-than-payload"),
    pytest.param(bytes.fromhex("ef0f03ff" "6f") + b"\x00" * 100, id="length-1023-of-100"),
    pytest.param(bytes.fromhex("ef0f0000") * 17 + b"\x6f", id="too-many-blocks"),
    pytest.param(bytes.fromhex("ff") * 64, id="all-ones"),
]


@pytest.mark.parametrize(("payload", "expected"), GOOD)
def test_blocks_and_primary(payload: bytes, expected: list[red.Block]) -> None:
    assert red.blocks(payload) == expected
    pt, _, data = expected[-1]
    assert red.primary(payload) == (pt, data)


@pytest.mark.parametrize("payload", MALFORMED)
def test_malformed_payloads_are_none_not_exceptions(payload: bytes) -> None:
    assert red.blocks(payload) is None
    assert red.primary(payload) is None
    assert red.retag(payload, 111, 109) is None


@pytest.mark.parametrize(("payload", "expected"), GOOD)
def test_encode_is_the_inverse_of_blocks(payload: bytes, expected: list[red.Block]) -> None:
    pt, _, data = expected[-1]
    assert red.encode(expected[:-1], (pt, data)) == payload


def test_retag_rewrites_every_header_naming_the_old_type_and_nothing_else() -> None:
    assert red.retag(TWO_REDUNDANT, 111, 109) == bytes.fromhex(
        "ed1e0002" "ed0f0003" "6d" "1111" "222222" "33"
    )
    assert red.retag(PRIMARY_ONLY, 111, 109) == bytes.fromhex("6d" "fcfffe")
    assert red.retag(ONE_REDUNDANT, 96, 109) == ONE_REDUNDANT  # names no 96


@pytest.mark.parametrize(
    ("parameters", "expected"),
    [
        ({"111/111": None}, [111, 111]),
        ({"111/111/111": None}, [111, 111, 111]),
        ({"111/9": None}, [111, 9]),
        ({"111/x": None}, None),
        ({"111/200": None}, None),
        ({"apt": 111}, None),
        ({}, None),
        ({"111/111": None, "x": None}, None),
    ],
)
def test_fmtp_blocks(parameters: dict[str, object], expected: list[int] | None) -> None:
    assert red.fmtp_blocks(parameters) == expected


blocks_strategy = st.lists(
    st.tuples(st.integers(0, 127), st.integers(0, (1 << 14) - 1), st.binary(max_size=40)),
    max_size=4,
)


@given(blocks_strategy, st.integers(0, 127), st.binary(max_size=200))
def test_round_trip(redundant: list[red.Block], pt: int, data: bytes) -> None:
    payload = red.encode(redundant, (pt, data))
    assert red.blocks(payload) == [*redundant, (pt, 0, data)]
    assert red.primary(payload) == (pt, data)


@given(st.binary(max_size=64))
def test_any_bytes_give_an_answer_or_none(payload: bytes) -> None:
    parsed = red.blocks(payload)
    first = red.primary(payload)
    assert (parsed is None) == (first is None)
    if parsed is not None:
        assert first == (parsed[-1][0], parsed[-1][2])
