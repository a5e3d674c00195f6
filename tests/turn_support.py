"""A real coturn (Debian's ``coturn`` package, ``turnserver``) for tests: loopback
only, TURN REST credentials (``use-auth-secret``), relayed addresses on 127.0.0.1.

``scripts/test`` installs coturn where missing; without ``turnserver`` the tests that
need it are skipped, with the reason.
"""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

TURN_SECRET = "opentutor-test-turn-secret"
REALM = "opentutor.test"


@dataclass(frozen=True)
class TurnServer:
    host: str
    port: int  # UDP and TCP
    secret: str = field(repr=False)
    log: Path
    tls_port: int = 0  # TURN over TLS (``turns:``), a self-signed certificate
    tls_spki: str = ""  # its public key's SHA-256, base64: what a test browser trusts

    @property
    def udp_url(self) -> str:
        return f"turn:{self.host}:{self.port}?transport=udp"

    @property
    def tcp_url(self) -> str:
        return f"turn:{self.host}:{self.port}?transport=tcp"

    @property
    def tls_url(self) -> str:
        return f"turns:{self.host}:{self.tls_port}?transport=tcp"

    def allocations(self) -> int:
        """Relay allocations coturn logged as made so far (its log, not our guess)."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return text.count("ALLOCATE processed, success")


def _free_port(host: str) -> int:
    """A port free for both UDP and TCP on ``host`` (coturn listens on both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind((host, 0))
            port: int = tcp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind((host, port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no port free for both UDP and TCP")


def _self_signed(folder: Path, host: str) -> tuple[Path, Path, str]:
    """A certificate for ``host`` (its IP address), its key, and the SHA-256 of its
    public key in base64 (Chromium's --ignore-certificate-errors-spki-list takes that)."""
    import base64
    import datetime
    import hashlib
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "opentutor test TURN")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address(host)), x509.DNSName("localhost")]),
            critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "turn-cert.pem", folder / "turn-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o644)  # coturn may drop to another user; a throw-away test key
    spki = key.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)
    return cert_path, key_path, base64.b64encode(hashlib.sha256(spki).digest()).decode()


@contextmanager
def run_coturn(folder: Path, host: str = "127.0.0.1") -> Iterator[TurnServer]:
    """``turnserver`` on a free port of ``host`` (UDP and TCP) and another (TLS), stopped
    after. No config file (``-n``), no DTLS, no CLI; relays on ``host`` within a random
    200-port range (another run's coturn on this machine takes another range, or coturn
    tries the next port)."""
    binary = shutil.which("turnserver")
    if binary is None:
        pytest.skip("coturn's turnserver is not installed (./scripts/test installs it)")
    port = _free_port(host)
    tls_port = _free_port(host)
    while tls_port == port:
        tls_port = _free_port(host)
    cert, key, spki = _self_signed(folder, host)
    low = random.randrange(40000, 60000, 200)
    log = folder / "turnserver.log"
    args = [
        binary,
        "-n",
        "--no-cli",
        f"--listening-ip={host}",
        f"--relay-ip={host}",
        f"--listening-port={port}",
        f"--min-port={low}",
        f"--max-port={low + 199}",
        "--use-auth-secret",
        f"--static-auth-secret={TURN_SECRET}",
        f"--realm={REALM}",
        "--fingerprint",
        # TLS as a school network that lets only HTTPS out would need (on 443 in
        # production, docs/turn.md): a certificate made here for the test's address.
        f"--tls-listening-port={tls_port}",
        f"--cert={cert}",
        f"--pkey={key}",
        "--no-dtls",
        # The relayed peer is the server on this machine (loopback outside the test
        # namespace); multicast peers are refused as in production.
        "--allow-loopback-peers",
        "--no-multicast-peers",
        f"--log-file={log}",
        "--simple-log",
        "--verbose",
        f"--pidfile={folder / 'turnserver.pid'}",
    ]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                text = log.read_text(errors="replace") if log.exists() else ""
                pytest.fail(f"turnserver did not start:\n{text[-3000:]}")
            time.sleep(0.05)
    try:
        yield TurnServer(host, port, TURN_SECRET, log, tls_port, spki)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
