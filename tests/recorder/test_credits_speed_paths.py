"""The memos and fast paths behind the credits engine's speed give exactly what the plain
computation gives (the golden test covers whole sessions; these cover the edges)."""

from __future__ import annotations

import random
from datetime import datetime

import pytest

from recorder.credits.calendar import US_PER_SECOND, parse_calendar


@pytest.mark.parametrize(
    "zone",
    ["Asia/Shanghai", "America/New_York", "Europe/London", "Asia/Kolkata", "Asia/Kathmandu",
     "Australia/Lord_Howe", "Pacific/Chatham", "America/St_Johns"],
)
def test_local_date_memo_matches_the_zone(zone: str) -> None:
    """Quarter-hour memo of local dates: right across DST changes (Lord Howe moves by 30
    minutes), half- and quarter-hour offsets, and every minute around local midnight."""
    calendar = parse_calendar({"timezone": zone})

    def exact(us: int) -> object:
        return datetime.fromtimestamp(us // US_PER_SECOND, calendar.timezone).date()

    rng = random.Random(zone)
    start = 1_609_459_200  # 2021-01-01 UTC, in seconds
    seconds = [start + rng.randrange(3 * 365 * 86_400) for _ in range(5000)]
    for day in range(40):  # every minute of 40 days, on either side of each minute
        seconds.extend(start + day * 86_400 + m * 60 + d for m in range(1440) for d in (0, -1))
    for hour in range(3 * 365 * 24):  # every 10 s of each hour where the offset changes
        at = start + hour * 3600
        before = datetime.fromtimestamp(at, calendar.timezone).utcoffset()
        if datetime.fromtimestamp(at + 3600, calendar.timezone).utcoffset() != before:
            seconds.extend(range(at - 1800, at + 5400, 10))
    instants = [t * US_PER_SECOND + rng.choice((0, 999_999)) for t in seconds]
    for us in instants:
        assert calendar.local_date(us) == exact(us), us
    for us in instants[:500]:  # asked again: from the memo
        assert calendar.local_date(us) == exact(us), us
