"""Per-minute evidence (recorder.presence.evidence): seconds in, rows out, and rows
into the record's voiced / publishing / receiving intervals. Pure: whole seconds as
plain integers, no clock."""

from __future__ import annotations

import pytest

from recorder.presence.evidence import (
    EvidenceMeter,
    MinuteRow,
    Second,
    Thresholds,
    derive,
    merge_rows,
)

T0 = 1_780_000_020  # a whole minute (divisible by 60)
assert T0 % 60 == 0
T = Thresholds(voiced_dbov=-50, voice_hold_s=2, live_video_fps=5, report_within_s=3)

VOICE = Second(audio_packets=50, audio_bytes=4000, audio_level=20)
MUTED = Second(audio_packets=50, audio_bytes=400, audio_level=127)
LIVE = Second(video_packets=60, video_bytes=50_000, video_frames=15)
BLACK = Second(video_packets=2, video_bytes=300, video_frames=1)  # a disabled camera
FWD = Second(forwarded_packets=80, forwarded_bytes=60_000)
FWD_OK = Second(forwarded_packets=80, forwarded_bytes=60_000, confirmed=True)


def rows_of(person: str, seconds: dict[int, Second]) -> list[MinuteRow]:
    meter = EvidenceMeter()
    for at, s in seconds.items():
        meter.add(person, T0 + at, s)
    return meter.take_changed(T0)


def test_seconds_fold_into_one_row_per_person_and_minute() -> None:
    meter = EvidenceMeter()
    meter.add("t", T0 + 0, VOICE)
    meter.add("t", T0 + 1, MUTED)
    meter.add("t", T0 + 59, LIVE)
    meter.add("t", T0 + 60, VOICE)
    meter.add("s", T0 + 5, FWD_OK)
    rows = meter.take_changed(T0 + 61)
    assert [(r.person, r.minute - T0) for r in rows] == [("s", 0), ("t", 0), ("t", 60)]
    first = rows[1]
    assert first.audio_packets == 100 and first.video_frames == 15
    assert first.voiced_s(-50) == 1 and first.silent_s(-50) == 1
    assert first.audio_level()[:3] == [20, 127, None]
    assert first.frames[59] == 15
    assert rows[0].confirmed == 1 << 5 and rows[0].forwarded[5] == 80
    assert meter.take_changed(T0 + 62) == []  # nothing changed since


def test_a_second_given_twice_adds_up_and_keeps_the_loudest_level() -> None:
    meter = EvidenceMeter()
    meter.add("t", T0, Second(audio_packets=10, audio_level=127))
    meter.add("t", T0, Second(audio_packets=10, audio_level=30))
    (row,) = meter.take_changed(T0)
    assert row.audio_packets == 20 and row.audio_level()[0] == 30


def test_audio_without_the_level_extension_is_unknown_not_silent() -> None:
    (row,) = rows_of("t", {0: Second(audio_packets=50)})
    assert row.audio_level()[0] == 128
    assert row.voiced_s(-50) == 0 and row.silent_s(-50) == 0


def test_a_late_second_for_a_forgotten_minute_is_dropped_and_counted() -> None:
    meter = EvidenceMeter()
    meter.add("t", T0, VOICE)
    meter.take_changed(T0 + 60 + EvidenceMeter.KEEP_S)  # the first minute left memory
    assert not meter.add("t", T0 + 30, VOICE)
    assert meter.late == 1
    assert meter.add("t", T0 + 200, VOICE)


def test_rows_survive_the_storage_round_trip() -> None:
    (row,) = rows_of("t", {0: VOICE, 7: LIVE, 8: FWD_OK, 59: MUTED})
    back = MinuteRow.from_sql("t", row.minute, row.to_sql())
    assert back == row


def test_rows_of_two_nodes_merge() -> None:
    (a,) = rows_of("t", {0: MUTED, 1: FWD})
    (b,) = rows_of("t", {0: VOICE, 1: FWD_OK})
    (merged,) = merge_rows([a, b])
    assert merged.audio_level()[0] == 20
    assert merged.forwarded[1] == 160 and merged.confirmed == 1 << 1
    assert a.audio_level()[0] == 127  # the inputs are left alone


@pytest.mark.parametrize(
    ("seconds", "voiced", "publishing"),
    [
        ({}, [], []),
        # a voiced second is held for voice_hold_s (2 s): pauses in speech stay voiced
        ({0: VOICE}, [(0, 3)], [(0, 3)]),
        ({0: VOICE, 2: VOICE}, [(0, 5)], [(0, 5)]),
        # a muted microphone sends level 127: never voiced
        ({0: MUTED, 1: MUTED}, [], []),
        # live video publishes; black frames at 1 fps do not
        ({0: LIVE, 1: LIVE}, [], [(0, 2)]),
        ({0: BLACK, 1: BLACK}, [], []),
        ({0: VOICE, 10: LIVE}, [(0, 3)], [(0, 3), (10, 11)]),
        # across a minute boundary
        ({59: VOICE, 60: VOICE}, [(59, 63)], [(59, 63)]),
    ],
)
def test_voiced_and_publishing(
    seconds: dict[int, Second], voiced: list[tuple[int, int]], publishing: list[tuple[int, int]]
) -> None:
    rows = rows_of("t", seconds)
    got = derive(rows, T).get("t")
    shift = [(T0 + a, T0 + b) for a, b in voiced]
    assert (got.voiced if got else []) == shift
    assert (got.publishing if got else []) == [(T0 + a, T0 + b) for a, b in publishing]


@pytest.mark.parametrize(
    ("seconds", "receiving"),
    [
        # forwarded but never confirmed: nobody proves it arrived
        ({i: FWD for i in range(10)}, []),
        # one confirmation covers report_within_s (3 s) either side of its second
        ({**{i: FWD for i in range(10)}, 5: FWD_OK}, [(2, 9)]),
        # confirmations without anything forwarded: nothing received
        ({5: Second(confirmed=True)}, []),
        ({**{i: FWD for i in range(20)}, 2: FWD_OK, 8: FWD_OK, 17: FWD_OK}, [(0, 12), (14, 20)]),
    ],
)
def test_receiving_needs_forwarded_media_confirmed_by_receiver_reports(
    seconds: dict[int, Second], receiving: list[tuple[int, int]]
) -> None:
    got = derive(rows_of("s", seconds), T).get("s")
    assert (got.receiving if got else []) == [(T0 + a, T0 + b) for a, b in receiving]


def test_thresholds_are_policy_numbers_checked_on_construction() -> None:
    assert Thresholds().to_json() == {
        "voiced_dbov": -50, "voice_hold_s": 5.0, "live_video_fps": 5, "report_within_s": 5.0,
    }  # fmt: skip
    with pytest.raises(ValueError, match="voiced_dbov"):
        Thresholds(voiced_dbov=10)
    with pytest.raises(ValueError, match="voice_hold_s"):
        Thresholds(voice_hold_s=float("nan"))
