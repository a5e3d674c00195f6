"""Where sessions, chat, the board log, uploads, submissions, marks and recording
choices are kept: SQLite by default, PostgreSQL with ``--database-url``
(:mod:`signaling.store.base` is the interface, :mod:`signaling.store.factory` chooses)."""
