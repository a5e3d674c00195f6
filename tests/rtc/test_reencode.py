"""The benchmark-only media mode switch: read in one place, forward by default."""

from __future__ import annotations

import pytest

from rtc import reencode


def test_forward_is_the_default_and_unknown_modes_are_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(reencode.MODE_ENV, raising=False)
    assert reencode._mode() == "forward"
    assert not reencode.REENCODE  # the test run itself forwards
    monkeypatch.setenv(reencode.MODE_ENV, "reencode")
    assert reencode._mode() == "reencode"
    monkeypatch.setenv(reencode.MODE_ENV, "transcode")
    with pytest.raises(ValueError):
        reencode._mode()
