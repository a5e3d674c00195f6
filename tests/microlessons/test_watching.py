"""The watching rule alone (signaling/microlessons/watching.py): byte ranges served,
when, → watched seconds; a fake clock is just the numbers passed in."""

from __future__ import annotations

import pytest

from signaling.microlessons import lessons
from signaling.microlessons.watching import ByteIndex, Served, allowed_end, merge, watched

# A 60 s file of 600 kB after a 10 kB header: 10 kB per media second.
INDEX = ByteIndex.build(((10_000 + 10_000 * s, float(s)) for s in range(60)), 610_000, 60.0)
SLACK = 2.0


def at(t: float) -> int:
    return 10_000 + round(10_000 * t)


def test_the_index_maps_bytes_to_time_and_back() -> None:
    assert INDEX.time_at(0) == 0.0  # the header is time 0
    assert INDEX.time_at(at(12.5)) == pytest.approx(12.5)
    assert INDEX.time_at(610_000) == 60.0
    assert INDEX.offset_at(12.5) == at(12.5)
    assert INDEX.offset_at(99) == 610_000
    back = ByteIndex.of_wire(INDEX.wire())
    assert back == INDEX


def test_interleaving_never_moves_time_back() -> None:
    # An audio packet written after later video: time stays non-decreasing in offset.
    index = ByteIndex.build([(100, 0.0), (200, 1.0), (300, 0.6), (400, 2.0)], 500, 2.5)
    times = [t for _, t in index.points]
    assert times == sorted(times)


Row = tuple[str, float, float, int, int]
CASES: dict[str, tuple[list[Row], float]] = {
    # name: rows (serve, first_at, last_at, start, end) → expected watched seconds
    "played along: 30 s sent over 30 s": ([("a", 0, 30, 0, at(30))], 30.0),
    "the whole file at once is one chunk": ([("a", 0, 0.1, 0, 610_000)], 0.1 + SLACK),
    "sent over 10 s but 40 s of media: 10 s + one chunk": ([("a", 0, 10, 0, at(40))], 12.0),
    "one response in flushes counts once": (
        [("a", 0, 5, 0, at(5)), ("a", 5, 10, at(5), at(10)), ("a", 10, 15, at(10), at(15))],
        15.0),
    "watching the same part twice counts once": (
        [("a", 0, 20, 0, at(20)), ("b", 100, 120, at(0), at(20))], 20.0),
    "a seek ahead: two parts": ([("a", 0, 10, 0, at(10)), ("b", 10, 20, at(40), at(50))], 20.0),
    "two connections at once: capped by the wall clock": (
        [("a", 0, 10, 0, at(20)), ("b", 0, 10, at(30), at(50))], 10.0 + SLACK),
    "the header alone is nothing": ([("a", 0, 30, 0, 10_000)], 0.0),
    "empty and backwards rows are ignored": ([("a", 5, 4, 0, at(9)), ("b", 0, 3, 50, 50)], 0.0),
}


@pytest.mark.parametrize("name", CASES)
def test_watched_seconds(name: str) -> None:
    rows, expected = CASES[name]
    got = watched([Served(*r) for r in rows], INDEX, slack_s=SLACK)
    assert got.watched_s == pytest.approx(expected, abs=0.01), got


def test_never_more_than_the_wall_clock_or_the_file() -> None:
    # Many responses re-fetching everything at the same moment.
    rows = [Served(str(i), 50.0, 50.0, 0, 610_000) for i in range(100)]
    got = watched(rows, INDEX, slack_s=SLACK)
    assert got.watched_s <= SLACK
    long = [Served("a", 0, 1000, 0, 610_000)]
    assert watched(long, INDEX, slack_s=SLACK).watched_s == 60.0


def test_merge() -> None:
    assert merge([(5, 6), (0, 2), (1, 3), (7, 7)]) == [(0, 3), (5, 6)]


def test_the_pace_sends_a_lead_then_a_little_faster_than_real_time() -> None:
    assert allowed_end(INDEX, 0, 0.0, lead_s=8, pace=1.5) == at(8)
    assert allowed_end(INDEX, 0, 10.0, lead_s=8, pace=1.5) == at(23)
    assert allowed_end(INDEX, at(30), 0.0, lead_s=8, pace=1.5) == at(38)
    assert allowed_end(INDEX, 0, 1000.0, lead_s=8, pace=1.5) == 610_000
    assert allowed_end(INDEX, at(59), 0.0, lead_s=8, pace=1.5) == 610_000


def paced_rows(seconds: int, *, lead_s: float = 10, pace: float = 1.03) -> list[Served]:
    """What a paced response sends to a phone that reads it as it comes, sampled by a
    fake clock once a second."""
    sent, rows = 0, []
    for second in range(seconds + 1):
        end = allowed_end(INDEX, 0, float(second), lead_s=lead_s, pace=pace)
        if end > sent:
            rows.append(Served("a", float(second), float(second), sent, end))
            sent = end
    return rows


def test_a_paced_response_played_along_is_counted_at_most_one_chunk_over() -> None:
    got = watched(paced_rows(40), INDEX, slack_s=SLACK)
    assert got.watched_s == pytest.approx(40 + SLACK)


def test_the_end_of_a_lesson_is_under_counted_by_at_most_the_buffer() -> None:
    # The last bytes go out about lead_s before they are played; nothing after that is
    # observed: those seconds count only up to one chunk (documented).
    got = watched(paced_rows(120), INDEX, slack_s=SLACK)
    last_sent = (60 - 10) / 1.03
    assert got.watched_s == pytest.approx(last_sent, abs=1.0 + SLACK)
    assert 60 - got.watched_s <= 10 + 0.03 * last_sent + 1.0


def test_the_publish_rules_name_the_field() -> None:
    p = lessons.MicroPolicy()
    good = {"recording_id": "r_1", "start_s": 5, "end_s": 65, "title": " 二次函数 ",
            "subject": "math", "grade": "8", "knowledge_point": "顶点式"}
    assert lessons.parse_publish(good, p).title == "二次函数"
    changes: list[tuple[dict[str, object], str]] = [
                          ({"end_s": 5}, "end_s"), ({"end_s": 5000}, "end_s"),
                          ({"end_s": 9}, "end_s"), ({"subject": "art"}, "subject"),
                          ({"grade": 10}, "grade"), ({"title": ""}, "title"),
                          ({"title": "x" * 81}, "title"), ({"start_s": True}, "start_s"),
                          ({"start_s": float("nan")}, "start_s"),
                          ({"recording_id": "../x"}, "recording_id"),
                          ({"knowledge_point": None}, "knowledge_point")]
    for change, field in changes:
        with pytest.raises(lessons.BadInput) as caught:
            lessons.parse_publish({**good, **change}, p)
        assert caught.value.field == field, change
    with pytest.raises(lessons.BadInput):
        lessons.parse_publish([], p)


def test_the_policy_table() -> None:
    assert lessons.parse_policy({}) == lessons.MicroPolicy()
    assert lessons.parse_policy({"micro_lessons": {"max_length_s": 600}}).max_length_s == 600
    for bad in ({"nope": 1}, {"slack_s": 0}, {"slack_s": True}, {"serve_pace_percent": 99},
                {"min_length_s": 1000}):
        with pytest.raises(lessons.PolicyError):
            lessons.parse_policy({"micro_lessons": bad})


def test_search_parameters() -> None:
    assert lessons.parse_search({}).order == "newest"
    q = lessons.parse_search({"subject": "math", "grade": "7", "order": "most_watched",
                              "limit": "5", "knowledge_point": "函数"})
    assert (q.subject, q.grade, q.order, q.limit) == ("math", "7", "most_watched", 5)
    for bad in ({"subject": "x"}, {"grade": "6"}, {"order": "random"}, {"limit": "0"},
                {"limit": "²"}, {"knowledge_point": "x" * 61}):
        with pytest.raises(lessons.BadInput):
            lessons.parse_search(bad)
