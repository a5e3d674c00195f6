"""The Q&A centre's pure rules with a fake clock (times passed by hand): states, who
may do what, bounds, the policy table and the pay of accepted answers."""

from __future__ import annotations

import tomllib
from fractions import Fraction

import pytest

from recorder.credits.policy import POLICY_DIR
from signaling.qa import rules
from signaling.qa.rules import Accepted, Answer, QaPolicy, Question, Refused

P = QaPolicy()
T0 = 1_790_000_000.0


def question(state: str = "open", student: str = "s1", subject: str = "math",
             grade: str = "8") -> Question:
    return Question("q1", student, "小明", "一中", grade, subject, "这道题怎么做？", T0, state)


def answer(aid: str, teacher: str) -> Answer:
    return Answer(aid, "q1", teacher, f"{teacher}老师", "二中", "先画图，再列方程。", T0 + 60)


def test_the_shipped_table_is_the_defaults() -> None:
    data = tomllib.loads((POLICY_DIR / "tutoring.toml").read_text(encoding="utf-8"))
    assert rules.parse_qa(data) == P
    assert rules.parse_qa({}) == P  # a policy file without [qa]


@pytest.mark.parametrize(("table", "field"), [
    ({"max_photos": 0}, "qa.max_photos"),
    ({"max_photos": "4"}, "qa.max_photos"),
    ({"max_photos": True}, "qa.max_photos"),
    ({"points_per_accepted_answer": -1}, "qa.points_per_accepted_answer"),
    ({"points_per_term": "lots"}, "qa.points_per_term"),
    ({"media_answer_counts": 1}, "qa.media_answer_counts"),
    ({"max_fotos": 4}, "qa.max_fotos"),
    ({"min_answer_chars": 5, "min_answer_distinct": 6}, "qa.min_answer_distinct"),
])
def test_a_malformed_table_names_the_field(table: dict[str, object], field: str) -> None:
    with pytest.raises(rules.QaPolicyError, match=field):
        rules.parse_qa({"qa": table})


def test_rates_are_exact_fractions() -> None:
    p = rules.parse_qa({"qa": {"points_per_accepted_answer": "1.5", "max_photos": 2}})
    assert p.points_per_accepted_answer == Fraction(3, 2) and p.max_photos == 2


def test_an_unsolved_question_closes_after_the_policy_days() -> None:
    q = question("answered")
    assert rules.state_at(q, P, T0 + 7 * 86_400 - 1) == "answered"
    assert rules.state_at(q, P, T0 + 7 * 86_400) == "closed"
    assert rules.state_at(question("solved"), P, T0 + 30 * 86_400) == "solved"


def test_bounds_of_a_post() -> None:
    rules.check_text("x" * P.max_question_chars, limit=P.max_question_chars, media=0, what="q")
    with pytest.raises(Refused) as over:
        rules.check_text("x" * (P.max_question_chars + 1), limit=P.max_question_chars,
                         media=0, what="q")
    assert (over.value.code, over.value.status) == ("too_long", 413)
    with pytest.raises(Refused, match="needs some text") as empty:
        rules.check_text(" \u200b\n", limit=100, media=0, what="a question")
    assert empty.value.status == 400
    rules.check_text("", limit=100, media=1, what="a question")  # a photo alone is a question
    rules.check_photos(P.max_photos, P)
    with pytest.raises(Refused, match="at most 4 photos"):
        rules.check_photos(P.max_photos + 1, P)


def test_questions_waiting_per_student() -> None:
    rules.may_post(P.max_open_per_student - 1, P)
    with pytest.raises(Refused) as refused:
        rules.may_post(P.max_open_per_student, P)
    assert (refused.value.code, refused.value.status) == ("too_many_open", 429)


def test_who_may_answer() -> None:
    q = question()
    rules.may_answer(q, [], "t1", ("math",), ("8",), P, T0 + 1)
    rules.may_answer(q, [], "t1", ("math",), (), P, T0 + 1)  # a pass without grades: all
    cases = [
        ((q, [], "t1", ("physics",), ("8",)), "not_your_subject"),
        ((q, [], "t1", ("math",), ("9",)), "not_your_subject"),
        ((q, [answer("a1", "t1")], "t1", ("math",), ("8",)), "already_answered"),
        ((q, [answer(f"a{i}", f"t{i}") for i in range(5)], "t9", ("math",), ("8",)),
         "enough_answers"),
        ((question("solved"), [], "t1", ("math",), ("8",)), "solved"),
    ]
    for args, code in cases:
        with pytest.raises(Refused) as refused:
            rules.may_answer(*args, P, T0 + 1)
        assert refused.value.code == code
    with pytest.raises(Refused) as late:
        rules.may_answer(q, [], "t1", ("math",), ("8",), P, T0 + 8 * 86_400)
    assert late.value.code == "closed"


def test_the_student_solves_and_accepts_one_answer() -> None:
    q, answers = question("answered"), [answer("a1", "t1"), answer("a2", "t2")]
    solved = rules.solve(q, answers, "s1", "a2", P, T0 + 100)
    assert (solved.state, solved.accepted, solved.solved_at) == ("solved", "a2", T0 + 100)
    assert rules.solve(q, answers, "s1", None, P, T0 + 100).accepted is None
    for args, code in [(("s2", "a1"), "not_yours"), (("s1", "zz"), "no_such_answer")]:
        with pytest.raises(Refused) as refused:
            rules.solve(q, answers, *args, P, T0 + 100)
        assert refused.value.code == code
    with pytest.raises(Refused) as again:
        rules.solve(solved, answers, "s1", "a1", P, T0 + 200)
    assert again.value.code == "solved"


GOOD = "先把两个三角形的对应边找出来，再用全等的判定定理证明。"


def test_pay_counts_substantial_accepted_answers_within_the_caps() -> None:
    items = [
        Accepted("a1", GOOD, False, "2026-11-02"),
        Accepted("a2", "对", False, "2026-11-02"),  # too short, no media
        Accepted("a3", "看图", True, "2026-11-02"),  # a photo or voice note counts
        Accepted("a4", "好" * 40, False, "2026-11-03"),  # one character repeated
    ]
    got = rules.qa_points(items, P)
    assert (got.accepted, got.counted, got.too_short, got.over_day_cap) == (4, 2, 2, 0)
    assert got.points == 2 * P.points_per_accepted_answer and not got.capped
    strict = QaPolicy(media_answer_counts=False)
    assert rules.qa_points(items, strict).counted == 1


def test_pay_caps_per_day_and_per_term() -> None:
    p = QaPolicy(max_paid_answers_per_day=2, points_per_term=Fraction(5))
    items = [Accepted(f"a{i}", GOOD, False, f"2026-11-0{1 + i // 3}") for i in range(9)]
    got = rules.qa_points(items, p)
    assert (got.counted, got.over_day_cap) == (6, 3)
    assert got.points == 5 and got.capped  # 6 × 2 = 12, cut to the term's 5
    assert got.wire()["points_exact"] == "5"
