"""The board a late joiner sees is what the ordered log draws, within its limits."""

from __future__ import annotations

import json

import pytest

from signaling.session.whiteboard import Board, BoardLimitError, BoardLimits, BoardOp


def stroke(sid: str) -> dict[str, object]:
    return {
        "type": "stroke",
        "id": sid,
        "tool": "pen",
        "color": "#000000",
        "width": 2,
        "points": [[0.5, 0.5]],
    }


def test_log_is_ordered_and_undo_clear_background_apply() -> None:
    board = Board()
    board.append("t1", "2026-01-01T00:00:00.000Z", stroke("a"))
    board.append("s1", "2026-01-01T00:00:01.000Z", stroke("b"))
    board.append("t1", "2026-01-01T00:00:02.000Z", {"type": "undo", "id": "a"})
    board.append("t1", "2026-01-01T00:00:03.000Z", {"type": "background", "image": "u_12345678"})
    visible = board.visible(lambda u: f"/uploads/{u}")
    assert [s["id"] for s in visible["strokes"]] == ["b"]
    assert visible["background"] == "/uploads/u_12345678" and visible["seq"] == 4
    board.append("t1", "2026-01-01T00:00:04.000Z", {"type": "clear"})
    assert board.visible()["strokes"] == []
    assert board.author_of("b") is None


def test_replay_rebuilds_the_same_board() -> None:
    board = Board()
    log = [board.append("t1", f"2026-01-01T00:00:0{i}.000Z", stroke(str(i))) for i in range(5)]
    log.append(board.append("t1", "2026-01-01T00:00:09.000Z", {"type": "undo", "id": "2"}))
    assert [e.seq for e in log] == [1, 2, 3, 4, 5, 6]
    again = Board.replay(log)
    assert again.visible() == board.visible() and again.seq == 6
    assert (again.page_bytes, again.pages, again.total_bytes) == (
        board.page_bytes,
        board.pages,
        board.total_bytes,
    )


def big(sid: str, n: int = 2000) -> dict[str, object]:
    return dict(stroke(sid), points=[[0.1234, 0.5678]] * n)


TS = "2026-01-01T00:00:00.000Z"


def test_a_full_page_refuses_ops_and_changes_nothing() -> None:
    limits = BoardLimits(page_bytes=200_000, pages=3, session_bytes=1_000_000)
    board = Board(limits)
    accepted = 0
    with pytest.raises(BoardLimitError) as refused:
        for i in range(100):
            board.append("s1", TS, big(f"b{i}"))
            accepted += 1
    assert refused.value.code == "board_full" and 0 < accepted < 100
    with pytest.raises(BoardLimitError):  # the rest of the page, in small strokes
        for i in range(10_000):
            board.append("s1", TS, stroke(f"s{i}"))
    before = (board.seq, board.page_bytes, board.total_bytes, board.visible())
    assert board.page_bytes <= limits.page_bytes
    for op in (stroke("s99999"), big("b1000")):
        with pytest.raises(BoardLimitError):
            board.append("s1", TS, op)
    assert (board.seq, board.page_bytes, board.total_bytes, board.visible()) == before
    # What a joiner gets is never more than a page.
    assert len(json.dumps(board.visible(), separators=(",", ":")).encode()) <= limits.page_bytes
    board.append("t1", TS, {"type": "clear"})  # a new page
    board.append("s1", TS, stroke("again"))
    assert [s["id"] for s in board.visible()["strokes"]] == ["again"]


def test_pages_and_the_session_total_are_bounded() -> None:
    board = Board(BoardLimits(pages=3))
    board.append("t1", TS, {"type": "clear"})
    board.append("t1", TS, {"type": "clear"})
    with pytest.raises(BoardLimitError) as refused:
        board.append("t1", TS, {"type": "clear"})
    assert refused.value.code == "board_full" and board.pages == 3 and board.seq == 2
    small = Board(BoardLimits(session_bytes=100_000))
    with pytest.raises(BoardLimitError):
        for i in range(100):
            small.append("s1", TS, big(f"b{i}"))
            small.append("t1", TS, {"type": "clear"})
    assert small.total_bytes <= 100_000


def test_a_stroke_over_the_point_limit_is_refused() -> None:
    board = Board(BoardLimits(points_per_stroke=10))
    board.append("s1", TS, big("ok", 10))
    with pytest.raises(BoardLimitError) as refused:
        board.append("s1", TS, big("long", 11))
    assert refused.value.code == "stroke_too_long"
    assert [s["id"] for s in board.visible()["strokes"]] == ["ok"] and board.seq == 1


def test_a_stored_log_over_the_limits_is_still_replayed() -> None:
    log = [BoardOp(i + 1, TS, "s1", big(f"b{i}")) for i in range(10)]
    board = Board.replay(log, BoardLimits(page_bytes=1000))
    assert board.seq == 10 and len(board.visible()["strokes"]) == 10
    with pytest.raises(BoardLimitError):
        board.append("s1", TS, stroke("more"))
