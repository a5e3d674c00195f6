"""Per-subscriber quality through the signaling room (issue 13, item 2), with the fakes
of test_room_unit.py: a learner's data-saver choice reaches the media room; the media
room's ``quality`` note reaches that person's tab and, for a learner, the instructors;
malformed ``media`` commands are refused, never a crash."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from signaling.session import messages as m
from signaling.session.room import MediaNote
from tests.signaling.test_room_unit import Harness, started
from tests.support import ONE_TO_ONE, lecture


class SaverLog:
    """``MediaRoom.set_data_saver`` for the fake media room (the real one has it)."""

    def __init__(self, calls: list[tuple[Any, ...]]) -> None:
        self.calls = calls

    def __call__(self, person: str, on: bool) -> None:
        self.calls.append(("saver", person, on))


def saver_calls(h: Harness) -> list[tuple[Any, ...]]:
    return [c for c in h.media.calls if c[0] == "saver"]


@pytest.fixture
async def one_to_one_room() -> AsyncIterator[Harness]:
    async for h in started(dict(ONE_TO_ONE)):
        h.media.set_data_saver = SaverLog(h.media.calls)  # type: ignore[attr-defined]
        yield h


async def test_the_media_command_carries_data_saver(one_to_one_room: Harness) -> None:
    h = one_to_one_room
    await h.join("t1", "sid-t")
    await h.join("s1", "sid-s")
    await h.say("s1", "sid-s", m.MediaIntent(audio=True, video=True, saver=True))
    await h.say("s1", "sid-s", m.MediaIntent(audio=False, video=True))  # older clients: off
    assert saver_calls(h) == [("saver", "s1", True), ("saver", "s1", False)]


async def test_a_quality_note_reaches_the_person_and_the_instructors() -> None:
    async for h in started(lecture(2)):
        await h.join("t1", "sid-t")
        await h.join("s1", "sid-s1")
        await h.join("s2", "sid-s2")
        note = {"level": "audio_only", "reason": "network"}
        await h.room.submit(MediaNote("s1", "quality", note))
        told = {"person": "s1", **note}
        assert h.outbox.received("sid-s1", "quality") == [told]
        assert h.outbox.received("sid-t", "quality") == [told]
        assert h.outbox.received("sid-s2", "quality") == []  # another learner's link: theirs
        # The instructor's own link is told to the instructor alone.
        await h.room.submit(MediaNote("t1", "quality", {"level": "full", "reason": ""}))
        assert h.outbox.received("sid-t", "quality")[-1]["person"] == "t1"
        assert h.outbox.received("sid-s1", "quality") == [told]
