"""A session: its spec, people, roles, whiteboard, messages in and events out, and the
room that owns its state (one task per session)."""
