"""Join tokens: every way a token can be wrong is refused with its own code."""

from __future__ import annotations

import base64
import json

import pytest

from signaling import tokens

SECRET = b"s3cret"
NOW = 1_800_000_000


def grant(**kw: object) -> tokens.Grant:
    base = dict(
        person="t1",
        session="s_a",
        role="instructor",
        name="王老师",
        issued_at=NOW,
        expires_at=NOW + 3600,
    )
    base.update(kw)
    return tokens.Grant(**base)  # type: ignore[arg-type]


def test_round_trip_keeps_every_claim() -> None:
    token = tokens.issue(SECRET, grant())
    assert tokens.verify(SECRET, token, now=NOW + 10) == grant()


@pytest.mark.parametrize(
    ("token", "code"),
    [
        (None, "no_token"),
        ("", "no_token"),
        (42, "bad_token"),
        ("a.b", "bad_token"),
        ("x" * 5000, "bad_token"),
        ("a.b.c", "bad_token"),
    ],
)
def test_missing_or_malformed(token: object, code: str) -> None:
    with pytest.raises(tokens.TokenError) as err:
        tokens.verify(SECRET, token, now=NOW)
    assert err.value.code == code


def test_expired() -> None:
    token = tokens.issue(SECRET, grant())
    with pytest.raises(tokens.TokenError) as err:
        tokens.verify(SECRET, token, now=NOW + 3600)
    assert err.value.code == "expired"


def test_tampered_payload_is_refused() -> None:
    header, payload, sig = tokens.issue(SECRET, grant(role="learner")).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["role"] = "instructor"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(tokens.TokenError) as err:
        tokens.verify(SECRET, f"{header}.{forged}.{sig}", now=NOW)
    assert err.value.code == "bad_token"


def test_other_secret_is_refused() -> None:
    with pytest.raises(tokens.TokenError):
        tokens.verify(b"other", tokens.issue(SECRET, grant()), now=NOW)


def test_alg_none_is_refused() -> None:
    _, payload, _ = tokens.issue(SECRET, grant()).split(".")
    header = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
    with pytest.raises(tokens.TokenError) as err:
        tokens.verify(SECRET, f"{header}.{payload}.", now=NOW)
    assert err.value.code == "bad_token"


def test_wrong_session() -> None:
    token = tokens.issue(SECRET, grant())
    with pytest.raises(tokens.TokenError) as err:
        tokens.verify(SECRET, token, now=NOW, session="s_other")
    assert err.value.code == "wrong_session"
