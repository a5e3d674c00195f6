"""Scope (issue 16), pure: who sees which person and which session."""

from __future__ import annotations

import pytest

from signaling.admin.scope import LEVELS, Scope, platform

TONGZHOU, MIYUN = "110112", "110118"
CITY = Scope("city", who="city-office")
DISTRICT = Scope("district", district_code=TONGZHOU, who="tz")
SCHOOL = Scope("school", district_code=TONGZHOU, school_id="S1", who="s1")


def test_the_platform_is_the_city() -> None:
    assert platform() == Scope("city", who="api-key")
    assert platform("drain").who == "drain"


@pytest.mark.parametrize(("scope", "where", "sees"), [
    (CITY, (TONGZHOU, "S1"), True),
    (CITY, ("", ""), True),  # a person without a recorded place: only the city
    (DISTRICT, (TONGZHOU, "S1"), True),
    (DISTRICT, (TONGZHOU, "S9"), True),
    (DISTRICT, (MIYUN, "S7"), False),
    (DISTRICT, ("", ""), False),
    (SCHOOL, (TONGZHOU, "S1"), True),
    (SCHOOL, (MIYUN, "S1"), True),  # a school is its id, wherever it is recorded
    (SCHOOL, (TONGZHOU, "S2"), False),
    (SCHOOL, ("", ""), False),
])
def test_sees_person(scope: Scope, where: tuple[str, str], sees: bool) -> None:
    assert scope.sees_person(*where) is sees


def test_a_session_is_seen_if_one_instructor_is_in_scope() -> None:
    reviewers = [(MIYUN, "S7"), (TONGZHOU, "S1")]
    assert DISTRICT.sees_session(reviewers) and SCHOOL.sees_session(reviewers)
    assert not DISTRICT.sees_session([(MIYUN, "S7")])
    assert not SCHOOL.sees_session([(TONGZHOU, "S2")])
    assert not DISTRICT.sees_session([])  # no instructor: nobody but the city
    assert CITY.sees_session([]) and CITY.sees_session([("", "")])  # the city sees all


def test_sees_session_takes_any_iterable_once() -> None:
    assert DISTRICT.sees_session(iter([(MIYUN, "S7"), (TONGZHOU, "S2")]))


@pytest.mark.parametrize(("args", "message"), [
    (("county",), "unknown scope level"),
    (("district",), "needs a district code"),
    (("school",), "needs a school id"),
    (("school", TONGZHOU), "needs a school id"),
])
def test_incomplete_scopes_are_refused(args: tuple[str, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Scope(*args)  # type: ignore[arg-type]


def test_levels_and_immutability() -> None:
    assert LEVELS == ("city", "district", "school")
    with pytest.raises(AttributeError):
        CITY.level = "school"  # type: ignore[misc]
