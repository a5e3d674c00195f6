"""Join tokens: every way a token can be wrong is refused with its own code."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from signaling.server import tokens

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


# -- strict shape, time claims, and compatibility (issue 8.4, issue 10)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _signed(header: object, claims: object, secret: bytes = SECRET) -> str:
    """A token signed by hand (stdlib HMAC), to build what ``issue`` never would."""
    h = _b64(json.dumps(header).encode())
    p = _b64(json.dumps(claims, ensure_ascii=False).encode())
    sig = hmac.new(secret, f"{h}.{p}".encode(), hashlib.sha256).digest()
    return f"{h}.{p}.{_b64(sig)}"


CLAIMS = {"sub": "t1", "sid": "s_a", "role": "instructor", "name": "王老师", "iat": NOW,
          "exp": NOW + 3600}


def _refused(token: object, now: float = NOW + 10) -> tokens.TokenError:
    with pytest.raises(tokens.TokenError) as err:
        tokens.verify(SECRET, token, now=now)
    return err.value


def test_token_signed_by_the_previous_stdlib_code_still_verifies() -> None:
    # Links already handed out (UTF-8 names, not \\u-escaped) stay valid across the switch.
    token = _signed({"alg": "HS256", "typ": "JWT"}, CLAIMS)
    assert tokens.verify(SECRET, token, now=NOW + 10) == grant()


@pytest.mark.parametrize(
    "mangle",
    [
        lambda h, p, s: f"{h}.{p}é.{s}",  # non-ASCII in the payload segment
        lambda h, p, s: f"{h}.{p}.{s}²",  # non-ASCII digit in the signature
        lambda h, p, s: f"ｅ{h}.{p}.{s}",  # full-width letter
        lambda h, p, s: f"{h}.{p}.{s}=",  # stray padding
        lambda h, p, s: f"{h}.{p}.{s.replace('-', '+').replace('_', '/')}x",  # std alphabet
        lambda h, p, s: f"{h}.{p}.{s[:10]} {s[10:]}",  # whitespace
        lambda h, p, s: f"{h}.{p}.{s}.{s}",  # four segments
        lambda h, p, s: f"{h}.{p}.",  # no signature
        lambda h, p, s: f"{h}.{p}.{s[:-1]}",  # truncated signature (length 1 mod 4)
    ],
)
def test_malformed_spellings_are_bad_token(mangle: object) -> None:
    h, p, s = tokens.issue(SECRET, grant()).split(".")
    assert _refused(mangle(h, p, s)).code == "bad_token"  # type: ignore[operator]


def test_alternative_padding_bits_in_the_signature_are_refused() -> None:
    token = tokens.issue(SECRET, grant())
    h, p, s = token.split(".")
    # 32 bytes = 43 base64url characters: the last one carries 4 data bits and 2 unused
    # bits. Flipping an unused bit decodes to the same bytes: a second spelling.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(s[-1])
    twin = f"{h}.{p}.{s[:-1]}{alphabet[last ^ 1]}"
    assert base64.urlsafe_b64decode(twin.split(".")[2] + "=") == base64.urlsafe_b64decode(
        s + "="
    )
    assert _refused(twin).code == "bad_token"


@pytest.mark.parametrize("claim", ["iat", "nbf"])
def test_issued_or_valid_from_the_future_is_refused(claim: str) -> None:
    future = _signed({"alg": "HS256", "typ": "JWT"}, {**CLAIMS, claim: NOW + 3000})
    err = _refused(future, now=NOW)
    assert err.code == "bad_token" and "future" in err.message
    # A little clock skew is tolerated.
    skewed = _signed({"alg": "HS256", "typ": "JWT"}, {**CLAIMS, claim: NOW + 30})
    assert tokens.verify(SECRET, skewed, now=NOW).person == "t1"


@pytest.mark.parametrize(
    "claims",
    [
        {k: v for k, v in CLAIMS.items() if k != "iat"},
        {**CLAIMS, "nbf": "soon"},
        {**CLAIMS, "exp": True},
        {**CLAIMS, "sub": 7},
        {**CLAIMS, "exp": 10**400},
        [CLAIMS],
    ],
)
def test_malformed_claims_are_bad_token(claims: object) -> None:
    assert _refused(_signed({"alg": "HS256", "typ": "JWT"}, claims)).code == "bad_token"


@pytest.mark.parametrize("header", [{"alg": "HS512"}, {"alg": "none"}, {"typ": "JWT"}, [1],
                                    {"alg": "HS256", "crit": ["x"], "x": 1}])
def test_headers_other_than_hs256_are_refused(header: object) -> None:
    assert _refused(_signed(header, CLAIMS)).code == "bad_token"


def test_deeply_nested_segments_are_refused_without_recursion_error() -> None:
    deep = "[" * 2000 + "]" * 2000
    h = _b64(deep.encode())
    sig = _b64(hmac.new(SECRET, f"{h}.{h}".encode(), hashlib.sha256).digest())
    assert _refused(f"{h}.{h}.{sig}").code == "bad_token"
