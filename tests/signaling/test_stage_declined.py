"""A declined stage invitation reaches the instructors as its own event (issue 12, item 5),
over real socket.io clients: the learner's no comes within the roster's coalescing
window of the invitation, so the roster alone would never show ``invited`` at all; the
``stage_declined`` event says it anyway, to whoever may invite and to nobody else."""

from __future__ import annotations

from tests.support import ServerHandle, lecture


async def test_a_decline_inside_one_roster_update_still_reaches_the_teacher(
    server: ServerHandle,
) -> None:
    _, toks = await server.create(lecture(2))
    teacher = await server.connect(toks["t1"])
    s1, s2 = await server.connect(toks["s1"]), await server.connect(toks["s2"])
    for peer in (teacher, s1, s2):
        await peer.wait_for("welcome")
    # Asked and declined at once: both within one coalesced roster update.
    assert (await teacher.call("grant", {"person": "s1", "what": "stage", "on": True}))["ok"]
    (invited,) = await s1.wait_for("invited")
    assert invited["open"] is True
    assert (await s1.call("stage_answer", {"accept": False}))["ok"]
    (declined,) = await teacher.wait_for("stage_declined")
    assert declined == {"person": "s1", "name": declined["name"]} and declined["name"]
    # Nothing changed for the learner; the other learner is not told.
    assert s1.named("caps") == [] and s2.named("stage_declined") == []
    assert s1.named("stage_declined") == []
    # Answered: a second no is refused and tells nobody again.
    again = await s1.call("stage_answer", {"accept": False})
    assert again["ok"] is False and again["error"]["code"] == "no_invitation"
    # Asked again and accepted: no decline is told.
    assert (await teacher.call("grant", {"person": "s1", "what": "stage", "on": True}))["ok"]
    await s1.wait_for("invited", 2)
    assert (await s1.call("stage_answer", {"accept": True}))["ok"]
    (caps,) = await s1.wait_for("caps")
    assert caps["publish"] == ["audio", "video"]
    assert len(teacher.named("stage_declined")) == 1

