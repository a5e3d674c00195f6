"""TURN REST credentials (signaling/server/turn.py): the test vector coturn's
``use-auth-secret`` checks, the ``--turn-*`` flags and what a welcome hands out.
A real coturn accepting them: tests/rtc/test_turn_relay.py and tests/e2e/test_turn.py."""

from __future__ import annotations

import argparse

import pytest

from signaling.server.config import add_serve_arguments, from_args
from signaling.server.turn import TurnConfig, check_turn_url, credentials

SECRET = "opentutor-turn-secret"


def test_credentials_match_an_independent_hmac_sha1() -> None:
    # echo -n "1700021600:s1" | openssl dgst -sha1 -hmac "opentutor-turn-secret" -binary | base64
    assert credentials(SECRET, "s1", 1_700_000_000, 21_600) == (
        "1700021600:s1",
        "SQ8gtLDv/SBU9bbr+4ubpnagg0M=",
    )
    # The draft's own shape: a millisecond timestamp and any name (openssl as above).
    assert credentials("my_secret", "my_username", 1433895918506, 0)[1] == (
        "gKwSWE2uKuZnhCArog06lwc23/A="
    )


def test_a_welcome_gets_every_url_with_one_credential() -> None:
    turn = TurnConfig(("turn:t.example:3478", "turns:t.example:443?transport=tcp"), SECRET, 60)
    (entry,) = turn.ice_servers("s1", 1_700_000_000.7)
    assert entry == {
        "urls": ["turn:t.example:3478", "turns:t.example:443?transport=tcp"],
        "username": "1700000060:s1",
        "credential": credentials(SECRET, "s1", 1_700_000_000, 60)[1],
    }
    assert SECRET not in repr(turn)


@pytest.mark.parametrize(
    "url",
    [
        "turn:t.example",
        "turn:t.example:3478",
        "turn:t.example:3478?transport=udp",
        "turn:t.example:3478?transport=tcp",
        "turns:t.example:443?transport=tcp",
        "turns:t.example",
        "turn:[2001:db8::1]:3478",
        "turn:127.0.0.1:3478",
    ],
)
def test_turn_urls_accepted(url: str) -> None:
    assert check_turn_url(f" {url} ") == url


@pytest.mark.parametrize(
    "url",
    [
        "stun:t.example:3478",
        "turn:",
        "turn:u:p@t.example:3478",
        "turn:t.example:0",
        "turn:t.example:99999",
        "turn:t.example:x",
        "turns:t.example:443?transport=udp",
        "turn:t.example?transport=sctp",
        "turn:t.example/path",
        "https://t.example",
    ],
)
def test_turn_urls_refused(url: str) -> None:
    with pytest.raises(ValueError):
        check_turn_url(url)


def parse(
    argv: list[str], env: dict[str, str] | None = None
) -> tuple[argparse.Namespace, dict[str, str]]:
    parser = argparse.ArgumentParser()
    add_serve_arguments(parser)
    return parser.parse_args(["--api-key", "k", "--token-secret", "t", *argv]), env or {}


def test_flags_and_environment() -> None:
    args, env = parse(["--turn-url", "turn:a:3478", "--turn-url", "turns:a:443?transport=tcp",
                       "--turn-secret", SECRET, "--turn-ttl", "7200"])
    config = from_args(args, env)
    assert config.turn_urls == ("turn:a:3478", "turns:a:443?transport=tcp")
    assert (config.turn_secret, config.turn_ttl_s, config.turn_server_side) == (SECRET, 7200, False)
    assert SECRET not in repr(config)
    args, env = parse([], {"OPENTUTOR_TURN_URL": "turn:a:3478 turn:a:3478?transport=tcp",
                           "OPENTUTOR_TURN_SECRET": SECRET, "OPENTUTOR_TURN_SERVER_SIDE": "1"})
    config = from_args(args, env)
    assert config.turn_urls == ("turn:a:3478", "turn:a:3478?transport=tcp")
    assert (config.turn_ttl_s, config.turn_server_side) == (21600, True)


@pytest.mark.parametrize(
    "argv",
    [
        ["--turn-url", "turn:a:3478"],  # no secret
        ["--turn-secret", SECRET],  # no URL
        ["--turn-url", "turn:u:p@a:3478", "--turn-secret", SECRET],
        ["--turn-url", "turn:a:3478", "--turn-secret", SECRET, "--turn-ttl", "0"],
    ],
)
def test_incomplete_turn_flags_stop_the_server_without_naming_the_secret(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    args, env = parse(argv)
    with pytest.raises(SystemExit) as stopped:
        from_args(args, env)
    assert SECRET not in str(stopped.value)
