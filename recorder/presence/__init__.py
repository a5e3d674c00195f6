"""Presence: the tracker (pure: observations in, active intervals out) and the
durable journal that records it."""
