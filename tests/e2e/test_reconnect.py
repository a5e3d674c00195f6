"""A phone that changes network, with the whole product (issue 13, item 4): a real
``opentutor serve``, the teacher's Chromium on this host and the student's inside a
network namespace (bench/network_switch.py builds both, as bench/network.py does for
test_quality_tbf.py). A classroom: the teacher gives the student the pen and the stage
(camera on) and draws a stroke. Then

* the student's address moves (Wi-Fi to 4G as the kernel sees it: the browser closes
  its socket, socket.io reconnects, the welcome resumes the participant);
* only the student's UDP flows die while TCP lives (bench/netbridge.py's cut: a NAT that
  forgot its mappings; the socket stays up and ICE would say `failed` only after ~30 s):
  the page notices that nothing arrives and replaces its peer connection;
* every flow dies, TCP too (a NAT that lost every mapping: the socket dies without
  either end being told): the new peer connection's offer is not answered, and the page
  closes the socket and reconnects;
* the student's interface goes down for 5 s and comes back (a lift, a tunnel: the
  browser closes its socket; it retries as soon as the browser says it is online).

Either way the student comes back on a new peer connection as the same participant,
with the pen, the stage and the stroke, media moving both ways again, and the teacher's
roster never lists them as gone. Bounded waits only, no timing assertions (the gaps
are bench figures: ``python -m bench.network --conditions switch``)."""

from __future__ import annotations

import pytest

from bench.network import Link
from bench.network_switch import COUNTERS, Room, room, state, switch_once, until_moving
from tests.multinode.topology import unavailable

pytestmark = [
    pytest.mark.timeout(240),
    pytest.mark.skipif(unavailable() is not None, reason=str(unavailable())),
]

WATCH_ROSTER = """() => { window.__gone = 0; setInterval(() => {
  const p = window.opentutor.state().people.find((x) => x.id === "s1");
  if (p && p.present === false) window.__gone += 1; }, 50); }"""


async def check_same_participant(r: Room, pcs_before: int) -> None:
    assert await state(r.student, "s.phase") == "live"
    assert await state(r.student, "s.me.id") == "s1"
    assert await state(r.student, "s.caps.draw") is True  # the pen, granted before
    assert await state(r.student, "s.me.stage") is True  # the stage, granted before
    assert await state(r.student, "s.board.strokes.length") == 1  # the teacher's stroke
    assert (await r.student.evaluate(COUNTERS))["pcs"] > pcs_before  # a new peer connection
    await until_moving(r.student, "the student sees the teacher again")
    await until_moving(r.teacher, "the teacher sees the student again")
    assert await r.teacher.evaluate("() => window.__gone") == 0  # never listed as gone
    assert await state(r.teacher, "s.people.find((p) => p.id === 's1').present") is True


@pytest.mark.parametrize("how", ["move", "cut", "cutall", "outage"])
async def test_a_student_whose_network_changes_comes_back_as_the_same_participant(
    how: str,
) -> None:
    index = {"move": 7, "cut": 8, "outage": 9, "cutall": 12}[how]  # subnets 10.(214+N)…
    link = Link.create(index, bridged=how in ("cut", "cutall"))
    try:
        async with room(link) as r:
            await r.teacher.evaluate(WATCH_ROSTER)
            pcs = (await r.student.evaluate(COUNTERS))["pcs"]
            other = link.ns_ip.rsplit(".", 1)[0] + ".3"
            await switch_once(r, link, other, how)
            await check_same_participant(r, pcs)
    finally:
        link.close()
