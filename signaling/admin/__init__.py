"""Staff access (issue 16): what a viewer may see (:mod:`.scope`: the city, one district,
one school) and, in time, staff accounts and the audit log. The web side (who is asking:
``signaling.server.access``) lives with the other handlers."""
