"""The Q&A centre (问答中心, issue 14 item 5): students ask with text and photos, teachers
answer with text, photos or a voice note, the student marks it solved; paid by the
tutoring policy's ``[qa]`` numbers. Pure rules in :mod:`signaling.qa.rules`."""
