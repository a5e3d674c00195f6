"""The certificate's verification code: HMAC-SHA256 under the server's secret over what
the certificate states (person id, term, 学时, 学分, issue date), cut to 80 bits and
written as 16 base32 letters in groups of four (``ABCD-EFGH-JKLM-NPQR``): short enough
to type from paper, and 2^80 codes make guessing one hopeless.

The code alone cannot carry those figures, so the server keeps each issued certificate
(:mod:`recorder.certificates.registry`) and a verifier looks the code up; the row's
figures are checked against the code again, so an edited row is not valid either. The
key is derived from the secret with a label of its own: a certificate code can never
stand in for a signed link's signature or a join token. Pure: no I/O.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

LABEL = b"opentutor certificate v1"
LENGTH = 16
_CODE = re.compile(r"[A-Z2-7]{16}")
# What people type for a base32 letter: the alphabet has no 0, 1 or 8.
_TYPED = str.maketrans({"0": "O", "1": "I", "8": "B"})


def make_code(secret: bytes, person: str, term: str, study_hours: int, credits: int,
              issued_on: str) -> str:
    """The code, grouped; the same figures on the same day give the same code."""
    key = hmac.new(secret, LABEL, hashlib.sha256).digest()
    message = "\x1f".join((person, term, str(study_hours), str(credits), issued_on)).encode()
    mac = hmac.new(key, message, hashlib.sha256).digest()[:10]  # 80 bits = 16 letters
    letters = base64.b32encode(mac).decode()
    return "-".join(letters[i : i + 4] for i in range(0, LENGTH, 4))


def normalise(typed: str) -> str | None:
    """``typed`` as the grouped code (case, spaces and dashes free), or None when it
    cannot be one: the verify endpoints answer "not valid" without a database look-up."""
    bare = re.sub(r"[\s\-]", "", typed[:64]).upper().translate(_TYPED)
    if not _CODE.fullmatch(bare):
        return None
    return "-".join(bare[i : i + 4] for i in range(0, LENGTH, 4))


def matches(secret: bytes, code: str, person: str, term: str, study_hours: int, credits: int,
            issued_on: str) -> bool:
    return hmac.compare_digest(
        make_code(secret, person, term, study_hours, credits, issued_on), code)
