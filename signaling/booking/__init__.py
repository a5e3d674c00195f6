"""Booking (issue 14, item 4): teachers publish one-to-one slots and schedule lectures
and reviews, learners book and enrol, reminders go to the platform's webhook, the join
links open the booked session.

``rules`` is pure (slots, overlap, capacity, cut-offs, reminders due); ``store``
(SQLite or PostgreSQL), ``passes``, ``service``, ``reminders`` and ``api`` do the I/O.
"""
