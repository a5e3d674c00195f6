"""bench/netbridge.py's frame handling (issue 13): which flow a frame belongs to (the
cut that forgets flows), and the TCP checksum it computes for frames a veth left to
offload (the whole-product bench runs its socket over a bridged link)."""

from __future__ import annotations

import struct

from bench.netbridge import no_udp_checksum, tcp_checksum, udp_flow

A, B = bytes([10, 214, 0, 2]), bytes([10, 214, 0, 1])


def ipv4(proto: int, src: bytes, dst: bytes, payload: bytes) -> bytes:
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0, 64, proto, 0, src, dst)
    ether = b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00"
    return ether + header + payload


def udp(src: bytes, sport: int, dst: bytes, dport: int) -> bytes:
    body = b"media"
    return ipv4(17, src, dst, struct.pack("!HHHH", sport, dport, 8 + len(body), 0x1234) + body)


def tcp(payload: bytes, checksum: int = 0xBEEF) -> bytes:
    header = struct.pack("!HHIIBBHHH", 50000, 8080, 1, 2, 5 << 4, 0x18, 65535, checksum, 0)
    return ipv4(6, A, B, header + payload)


def ones_sum(data: bytes) -> int:
    data += b"\x00" * (len(data) % 2)
    total = sum(int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def test_both_directions_of_a_udp_flow_are_one_flow_and_other_ports_another() -> None:
    out, back = udp(A, 50000, B, 40000), udp(B, 40000, A, 50000)
    assert udp_flow(out) == udp_flow(back) is not None
    assert udp_flow(udp(A, 50001, B, 40000)) != udp_flow(out)  # a new peer connection's port
    assert udp_flow(tcp(b"x")) is None  # TCP is not a UDP flow…
    assert udp_flow(tcp(b"x"), proto=6) is not None  # …but a TCP connection
    assert udp_flow(b"\x00" * 60) is None  # not IPv4


def test_the_tcp_checksum_is_computed_whatever_the_field_held() -> None:
    for payload in (b"", b"odd", b'42["offer",{"sdp":"v=0"}]' * 40):
        frame = tcp_checksum(tcp(payload))
        segment = frame[14 + 20 :]
        pseudo = A + B + b"\x00\x06" + len(segment).to_bytes(2, "big")
        assert ones_sum(pseudo + segment) == 0xFFFF  # a valid checksum sums to all ones
        assert frame[: 14 + 20 + 16] == tcp(payload)[: 14 + 20 + 16]  # nothing else changed
        assert frame[14 + 20 + 18 :] == tcp(payload)[14 + 20 + 18 :]


def test_udp_gets_no_checksum_and_other_frames_pass_unchanged() -> None:
    frame = no_udp_checksum(udp(A, 1, B, 2))
    assert frame[14 + 20 + 6 : 14 + 20 + 8] == b"\x00\x00"
    arp = b"\xff" * 6 + b"\x04" * 6 + b"\x08\x06" + b"\x00" * 28
    assert tcp_checksum(arp) == arp and no_udp_checksum(arp) == arp
