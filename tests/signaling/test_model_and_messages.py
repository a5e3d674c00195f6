"""Session bodies and inbound events: valid input parses, bad input names its field."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from signaling.session import messages
from signaling.session.roles import Grants, caps_for, may_undo
from signaling.session.schema import Invalid
from signaling.session.spec import parse_new_session

BODY: dict[str, Any] = {
    "programme": "training",
    "form": "one_to_one",
    "title": "函数图像答疑",
    "scheduled_start": "2026-03-02T10:00:00Z",
    "scheduled_end": "2026-03-02T11:00:00Z",
    "record": False,
    "people": [
        {"id": "t1", "name": "王老师", "role": "instructor", "school": "S1", "district": "通州"},
        {"id": "s1", "name": "李同学", "role": "learner", "school": "S7", "district": "密云"},
    ],
}


def body(**changes: Any) -> dict[str, Any]:
    result = copy.deepcopy(BODY)
    result.update(changes)
    return result


def test_the_issue_example_parses() -> None:
    spec = parse_new_session(BODY)
    assert (spec.programme, spec.form, len(spec.people)) == ("training", "one_to_one", 2)
    assert spec.person("t1") is not None and spec.person("t1").district == "通州"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"programme": "school"}, "programme"),
        ({"form": "classroom"}, "form"),  # classroom is a tutoring form
        ({"title": ""}, "title"),
        ({"title": "x" * 500}, "title"),
        ({"scheduled_start": "tomorrow"}, "scheduled_start"),
        ({"scheduled_start": "2026-03-02T10:00:00"}, "scheduled_start"),  # no offset
        ({"scheduled_end": "2026-03-02T09:00:00Z"}, "scheduled_end"),
        ({"record": "yes"}, "record"),
        ({"people": []}, "people"),
        ({"people": [{"id": "t1", "name": "王", "role": "boss"}]}, "people[0].role"),
        ({"people": [{"id": "a b", "name": "王", "role": "instructor"}]}, "people[0].id"),
        ({"people": [BODY["people"][0], BODY["people"][0]]}, "people[1].id"),
        ({"people": [BODY["people"][0]]}, "people"),  # one_to_one needs a learner
    ],
)
def test_bad_bodies_name_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(Invalid) as err:
        parse_new_session(body(**changes))
    assert err.value.field == field


def test_review_takes_at_most_three_reviewers() -> None:
    reviewers = [{"id": f"r{i}", "name": f"R{i}", "role": "instructor"} for i in range(4)]
    presenter = {"id": "p", "name": "P", "role": "learner"}
    parse_new_session(body(form="review", people=[*reviewers[:3], presenter]))
    with pytest.raises(Invalid, match="one to 3 reviewing"):
        parse_new_session(body(form="review", people=[*reviewers, presenter]))


def test_not_an_object() -> None:
    with pytest.raises(Invalid):
        parse_new_session([1, 2])


def test_caps_follow_form_role_and_grants() -> None:
    learner = caps_for("lecture", "learner", Grants())
    assert (learner.publish, learner.draw, learner.grant, learner.end) == (
        frozenset(),
        False,
        False,
        False,
    )
    staged = caps_for("lecture", "learner", Grants(stage=True, pen=True))
    assert staged.publish == {"audio", "video"} and staged.draw
    teacher = caps_for("classroom", "instructor", Grants())
    assert teacher.grant and teacher.end and not teacher.report
    assert caps_for("review", "instructor", Grants()).report
    assert caps_for("one_to_one", "learner", Grants()).publish == {"audio", "video"}
    assert may_undo("learner", "s1", "s1") and not may_undo("learner", "t1", "s1")
    assert may_undo("instructor", "s1", "t1")


STROKE = {
    "type": "stroke",
    "id": "k1",
    "tool": "pen",
    "color": "#112233",
    "width": 3,
    "points": [[0.1, 0.2], [0.3, 0.4]],
}


@pytest.mark.parametrize(
    ("event", "payload", "expected"),
    [
        ("hand", {"up": True}, messages.Hand(True)),
        (
            "grant",
            {"person": "s1", "what": "pen", "on": False},
            messages.GrantCmd("s1", "pen", False),
        ),
        ("chat", {"text": "你好"}, messages.Chat("你好", None)),
        ("chat", {"image": "u_abcdefgh12"}, messages.Chat("", "u_abcdefgh12")),
        ("ice", {"candidate": None}, messages.Ice(None, None, None)),
        ("end", None, messages.End()),
        ("media", {"audio": True, "video": False}, messages.MediaIntent(True, False)),
    ],
)
def test_events_parse(event: str, payload: Any, expected: object) -> None:
    assert messages.parse(event, payload) == expected


def test_stroke_is_normalised_and_extra_fields_dropped() -> None:
    parsed = messages.parse("board", {"op": {**STROKE, "evil": "x"}})
    assert isinstance(parsed, messages.BoardCmd)
    assert "evil" not in parsed.op and parsed.op["points"] == [[0.1, 0.2], [0.3, 0.4]]


@pytest.mark.parametrize(
    ("event", "payload", "field"),
    [
        ("shout", {}, ""),
        ("hand", {"up": "yes"}, "up"),
        ("hand", [], ""),
        ("grant", {"person": "s1", "what": "crown", "on": True}, "what"),
        ("chat", {"text": "   "}, "text"),
        ("chat", {"text": "x" * 2001}, "text"),
        ("chat", {"image": "../../etc/passwd"}, "image"),
        ("offer", {"sdp": "hello"}, "sdp"),
        ("offer", {"sdp": "v=0" + "x" * 70_000}, "sdp"),
        ("ice", {"candidate": "c" * 2000}, "candidate"),
        ("board", {"op": {**STROKE, "color": "red"}}, "op.color"),
        ("board", {"op": {**STROKE, "width": 99}}, "op.width"),
        ("board", {"op": {**STROKE, "points": [[0.1, 2.0]]}}, "op.points[0]"),
        ("board", {"op": {**STROKE, "points": [[0.1, 0.1]] * 2001}}, "op.points"),
        ("board", {"op": {"type": "explode"}}, "op.type"),
    ],
)
def test_bad_events_name_the_field(event: str, payload: Any, field: str) -> None:
    with pytest.raises(Invalid) as err:
        messages.parse(event, payload)
    assert err.value.field == field
