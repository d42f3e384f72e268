"""Application evidence (DNS names, TLS SNI, HTTP Host) from payloads and real traces."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segverify.capture.scapy_backend import read_file
from segverify.flows.evidence import MAX_NAME_LEN, MAX_NAMES, extract_names

TCP, UDP = 6, 17


def dns_query(*names: bytes, qid: int = 1) -> bytes:
    body = b""
    for name in names:
        body += b"".join(bytes([len(x)]) + x for x in name.split(b".") if x) + b"\0" + b"\0\1\0\1"
    return struct.pack("!HHHHHH", qid, 0x0100, len(names), 0, 0, 0) + body


def client_hello(sni: bytes) -> bytes:
    name = b"\0" + struct.pack("!H", len(sni)) + sni
    ext = struct.pack("!HHH", 0, len(name) + 2, len(name)) + name
    body = b"\3\3" + bytes(32) + b"\0" + b"\0\2\x13\1" + b"\1\0" + struct.pack("!H", len(ext)) + ext
    hs = b"\1" + len(body).to_bytes(3, "big") + body
    return b"\x16\3\1" + struct.pack("!H", len(hs)) + hs


def test_dns_udp_and_tcp_length_prefix() -> None:
    msg = dns_query(b"www.Example.ORG.")
    assert extract_names(msg, UDP, 5353, 53) == ("www.Example.ORG",)
    assert extract_names(struct.pack("!H", len(msg)) + msg, TCP, 53, 40000) == ("www.Example.ORG",)
    assert extract_names(msg, UDP, 1000, 2000) == ()  # not DNS ports


def test_dns_compression_pointer_and_loop() -> None:
    head = struct.pack("!HHHHHH", 1, 0x0100, 2, 0, 0, 0)
    first = b"\3www\7example\3org\0\0\1\0\1"
    second = b"\4mail\xc0\x10" + b"\0\1\0\1"  # "mail" + pointer to "example.org"
    assert extract_names(head + first + second, UDP, 1, 53) == (
        "www.example.org",
        "mail.example.org",
    )
    loop = struct.pack("!HHHHHH", 1, 0, 1, 0, 0, 0) + b"\xc0\x0c\0\1\0\1"  # points at itself
    assert extract_names(loop, UDP, 1, 53) == ()
    beyond = struct.pack("!HHHHHH", 1, 0, 1, 0, 0, 0) + b"\xc3\xff"
    assert extract_names(beyond, UDP, 1, 53) == ()


def test_tls_sni_and_http_host() -> None:
    assert extract_names(client_hello(b"portal.example.jp"), TCP, 50000, 443) == (
        "portal.example.jp",
    )
    assert extract_names(client_hello(b"x.example")[:30], TCP, 1, 443) == ()  # cut before SNI
    req = b"GET /a HTTP/1.1\r\nUser-Agent: x\r\nhOsT:  www.example.com:8080 \r\n\r\n"
    assert extract_names(req, TCP, 1, 80) == ("www.example.com",)
    assert extract_names(b"GET / HTTP/1.1\r\nHost: [2001:db8::1]:80\r\n\r\n", TCP, 1, 80) == (
        "[2001:db8::1]",
    )
    assert extract_names(b"HELLO world\r\nHost: x\r\n", TCP, 1, 80) == ()


def test_names_are_data_and_capped() -> None:
    hostile = b"=cmd|' /C calc'!A0\n<script>"
    assert extract_names(client_hello(hostile), TCP, 1, 443) == ("=cmd|' /C calc'!A0\n<script>",)
    assert extract_names(client_hello(b"\xff\xfe.example"), TCP, 1, 443) == ("\\xff\\xfe.example",)
    long = b"a" * 2000
    assert len(extract_names(client_hello(long), TCP, 1, 443)[0]) == MAX_NAME_LEN
    many = dns_query(*[f"n{i}.example".encode() for i in range(8)])
    assert len(extract_names(many, UDP, 1, 53)) == MAX_NAMES


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600), st.sampled_from([6, 17, 1]), st.integers(0, 65535))
def test_garbage_never_raises(payload: bytes, proto: int, port: int) -> None:
    for sport, dport in ((port, 53), (53, port), (port, 443), (port, 80)):
        names = extract_names(payload, proto, sport, dport)
        assert isinstance(names, tuple) and len(names) <= MAX_NAMES
    for prefix in (b"\x16\x03\x01", b"GET / HTTP/1.1\r\nHost: ", b"\0\1\1\0\0\1\0\0\0\0\0\0"):
        extract_names(prefix + payload, proto, port, 53)
        extract_names(prefix + payload, 6, port, 443)


@pytest.mark.parametrize(
    ("trace", "name"),
    [
        ("dns53.pcap", "us.v27.distributed.net"),
        ("dns_original_case.pcap", "Us.V27.DiStRiBuTeD.NET"),
        ("http/get.pcap", "bro.org"),
        ("tls/chrome-34-google.pcap", "google.de"),
        ("tls/chrome-1250-tls-x25519-kyber.pcap", "lh3.google.com"),
        ("pcapng-multi-interface.pcapng", "www.apple.com"),
        ("ipv6-fragmented-dns.pcap", "txtpadding_323.n1.netalyzr.icsi.berkeley.edu"),
    ],
)
def test_names_in_real_traces(fixtures_dir: Path, trace: str, name: str) -> None:
    table = read_file(str(fixtures_dir / "pcaps" / "zeek-traces" / trace))
    assert name in {n for f in table.flows for n in f.names}


def test_hostile_dns_traces_do_not_hang(fixtures_dir: Path) -> None:
    base = fixtures_dir / "pcaps" / "zeek-traces"
    for trace in (
        "dns/max-compression-depth.pcap",
        "dns/dns-invalid-names.pcap",
        "dns/dns-corrupt.pcap",
    ):
        table = read_file(str(base / trace))
        assert table.accounting.balanced()
        for flow in table.flows:
            assert all(len(n) <= MAX_NAME_LEN for n in flow.names)
