"""The reminders' scheduler: one bounded task that, every :data:`TICK_S` seconds, asks
the store which booked offers start within ``remind_minutes`` and sends each person
(the teacher and every booked learner) one ``booking.reminder`` webhook with their
join link.

Nothing is kept in memory: what is due is derived from the store each time, so a
restart (or another node) carries on where the last tick stopped. A reminder is
recorded as sent *before* it is handed to the webhook queue (``mark_sent`` inserts its
row and says whether it was the first), so no person is reminded twice; a process that
dies between the two loses that one reminder rather than sending it again. A tick looks
at :data:`BATCH` offers at most.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from signaling.booking import rules
from signaling.booking.service import Booking, offer_brief

log = logging.getLogger(__name__)
TICK_S = 30.0
BATCH = 100


class Reminders:
    def __init__(self, booking: Booking, *, tick_s: float = TICK_S, batch: int = BATCH) -> None:
        self.booking, self.tick_s, self.batch = booking, tick_s, batch
        self._task: asyncio.Task[None] | None = None
        self.sent = 0

    async def tick(self) -> int:
        """One look at the store; how many reminders were sent."""
        b = self.booking
        hooks = b.svc.webhooks
        if hooks is None:  # no --webhook-url: nobody to tell, nothing recorded
            return 0
        r, now = b.rules(), b.now()
        rows = await b.store.starting(int(now), int(now) + r.booking.remind_minutes * 60,
                                      self.batch)
        sent = await b.store.sent([o.id for o, _ in rows])
        count = 0
        for due in rules.reminders_due(rows, sent, now=now, policy=r.booking):
            if not await b.store.mark_sent(due.offer.id, due.person.id, int(now)):
                continue  # another node (or an earlier tick) sent it
            kind = "booking_teacher" if due.role == "instructor" else "booking_learner"
            base = b.svc.config.public_url or due.offer.base_url
            hooks.send("booking.reminder", due.offer.session_id or "", {
                **offer_brief(due.offer),
                "person": {"id": due.person.id, "name": due.person.name, "role": due.role},
                "join_url": b.join_link(due.offer, due.person, kind, base),
            })
            count += 1
        self.sent += count
        return count

    async def _run(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:  # a store hiccup: the next tick looks again
                log.exception("booking reminders: tick failed")
            await self.booking.svc.clock.sleep(self.tick_s)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="booking-reminders")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
