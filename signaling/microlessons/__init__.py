"""Micro-lessons (微课, issue 14 item 6): a teacher publishes part of a recording of
their own session; students browse and watch it on a phone; watching time is what
the server observed itself sending, never what a player claims.

``watching`` (byte ranges served → watched seconds, and the serving pace) and
``lessons`` (the publish request's rules) are pure; ``making`` (the playable file),
``store`` (SQLite / PostgreSQL, component ``microlessons``) and ``api`` (REST, the
paced video, the pages) do the I/O around them.
"""
