"""Files at rest: the data directory holds minors' faces, voices and homework photos, so a
real ``opentutor serve`` keeps it 0700 and every file in it 0600 — SQLite databases and
their WAL, uploads, recording segments, secrets — and tightens what an older version left
readable."""

from __future__ import annotations

import asyncio
import copy
import os
import stat
import time
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import free_port
from tests.recording_support import Publisher, api, running
from tests.support import ONE_TO_ONE, token_of

pytestmark = pytest.mark.timeout(120)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 2048


def modes(root: Path) -> dict[str, int]:
    found = {".": stat.S_IMODE(root.stat().st_mode)}
    for path in root.rglob("*"):
        found[str(path.relative_to(root))] = stat.S_IMODE(path.lstat().st_mode)
    return found


async def test_data_directory_is_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    os.chmod(data, 0o755)
    (data / "uploads").mkdir(mode=0o755)
    (data / "uploads" / "u_left_by_an_old_version").write_bytes(PNG)
    os.chmod(data / "uploads" / "u_left_by_an_old_version", 0o644)

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    body = copy.deepcopy(ONE_TO_ONE)
    body["record"] = True
    with running(data, port, tmp_path / "server.log"):
        status, created = await api(base, "POST", "/api/v1/sessions", body)
        assert status == 201
        teacher_token = token_of(created["join_urls"]["t1"])
        teacher = await Publisher.join(base, teacher_token, "t1")
        try:
            async with aiohttp.ClientSession() as http, http.post(
                f"{base}/api/v1/me/uploads", data=PNG,
                headers={"Authorization": f"Bearer {teacher_token}",
                         "Content-Type": "image/png"},
            ) as answer:
                assert answer.status == 201, await answer.text()
            deadline = time.monotonic() + 30
            while not list(data.glob("recordings/r_*/*.webm")):
                assert time.monotonic() < deadline, "a recording segment on disk"
                await asyncio.sleep(0.2)
        finally:
            await teacher.close()

    found = modes(data)
    old = "uploads/u_left_by_an_old_version"
    kinds = {"sqlite": False, "old upload": False, "upload": False, "segment": False}
    for name, mode in found.items():
        path = data / name
        if path.is_dir():
            assert mode == 0o700, f"{name}: {oct(mode)}"
        else:
            assert mode == 0o600, f"{name}: {oct(mode)}"
        kinds["sqlite"] |= name.endswith(".sqlite")
        kinds["old upload"] |= name == old
        kinds["upload"] |= name.startswith("uploads/u_") and name != old
        kinds["segment"] |= name.endswith(".webm")
    assert all(kinds.values()), kinds  # each kind of file was there to be checked
