"""The board a late joiner sees is what the ordered log draws."""

from __future__ import annotations

from signaling.whiteboard import Board


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
    assert [e.seq for e in board.log] == [1, 2, 3, 4]
    board.append("t1", "2026-01-01T00:00:04.000Z", {"type": "clear"})
    assert board.visible()["strokes"] == []
    assert board.author_of("b") is None


def test_replay_rebuilds_the_same_board() -> None:
    board = Board()
    for i in range(5):
        board.append("t1", f"2026-01-01T00:00:0{i}.000Z", stroke(str(i)))
    board.append("t1", "2026-01-01T00:00:09.000Z", {"type": "undo", "id": "2"})
    again = Board.replay(list(board.log))
    assert again.visible() == board.visible() and again.seq == 6
