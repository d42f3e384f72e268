"""The vectorised pre-filter of name candidates (flows/ingest.py ``_may_hold_names``) only
drops payloads in which ``extract_names`` finds nothing: checked on generated payloads of
every kind it tests (DNS over UDP and TCP with headers around each bound, TLS, HTTP,
garbage), each judged alone and all of them in one buffer."""

from __future__ import annotations

import random
import struct

import numpy as np

from segverify.flows.evidence import extract_names
from segverify.flows.ingest import _may_hold_names
from segverify.flows.rows import DPORT, NCOL, PAY_LEN, PAY_OFF, PROTO, SPORT


def _dns(rng: random.Random) -> bytes:
    flags = rng.choice([0, 0x0100, 0x8180, 0x3800, 0x3000, 0x7800, rng.randrange(1 << 16)])
    qd = rng.choice([0, 1, 2, 8, 9, 300, rng.randrange(1 << 16)])
    head = struct.pack("!HHHHHH", rng.randrange(1 << 16), flags, qd, 0, 0, 0)
    body = b"".join(
        bytes([len(lab)]) + lab for lab in (b"www", b"example", b"jp")[: rng.randrange(4)]
    )
    msg = head + body + b"\0" + b"\0\1\0\1" * rng.randrange(3)
    return msg[: rng.randrange(len(msg) + 1)] if rng.random() < 0.3 else msg


def _payload(rng: random.Random, proto: int, dns: bool) -> bytes:
    if dns:
        msg = _dns(rng)
        if proto == 6:
            length = rng.choice([len(msg), 11, 12, rng.randrange(1 << 16)])
            return struct.pack("!H", length) + msg
        return msg
    kind = rng.randrange(4)
    if kind == 0:
        return bytes([0x16, 3, 1]) + bytes(rng.randrange(256) for _ in range(rng.randrange(60)))
    if kind == 1:
        return b"GET / HTTP/1.1\r\nHost: a.example:80\r\n\r\n"[: rng.randrange(50)]
    return bytes(rng.randrange(256) for _ in range(rng.randrange(40)))


def test_dropped_candidates_hold_no_name() -> None:
    rng = random.Random(11)
    cases = []
    for _ in range(4000):
        proto = rng.choice([6, 17, 1])
        dns = rng.random() < 0.6
        sport, dport = (53, 40000) if dns and rng.random() < 0.5 else (40000, 53 if dns else 443)
        cases.append((_payload(rng, proto, dns), proto, sport, dport))
    buf = bytearray()
    rows = np.zeros((len(cases), NCOL), dtype=np.int64)
    for i, (payload, proto, sport, dport) in enumerate(cases):
        buf += b"\xaa" * rng.randrange(3)  # other bytes around each payload
        rows[i, PAY_OFF], rows[i, PAY_LEN] = len(buf), len(payload)
        rows[i, PROTO], rows[i, SPORT], rows[i, DPORT] = proto, sport, dport
        buf += payload
    may = _may_hold_names(rows, bytes(buf))
    found = [bool(extract_names(p, proto, sp, dp)) for p, proto, sp, dp in cases]
    assert not any(f and not m for f, m in zip(found, may.tolist(), strict=True))
    # the filter does drop something of each kind, and keeps what has names
    assert sum(found) > 200
    assert (~may).sum() > 1000
    # the same judgement from a numpy buffer
    assert (_may_hold_names(rows, np.frombuffer(bytes(buf), dtype=np.uint8)) == may).all()


def test_streams_ruled_out_by_their_first_segment_hold_no_name() -> None:
    """When ``_stream_without_names`` rules out a TCP stream from its first segment, no
    continuation gives a name; and it rules out the header-only case of every rule."""
    from segverify.flows.ingest import _stream_without_names

    rng = random.Random(5)
    firsts = [_payload(rng, 6, True) for _ in range(3000)]
    rows = np.zeros((len(firsts), NCOL), dtype=np.int64)
    buf = bytearray()
    for i, payload in enumerate(firsts):
        rows[i, PAY_OFF], rows[i, PAY_LEN] = len(buf), len(payload)
        rows[i, PROTO], rows[i, SPORT], rows[i, DPORT] = 6, 40000, 53
        buf += payload
    dead = _stream_without_names(rows, bytes(buf)).tolist()
    assert sum(dead) > 500
    for payload, ruled_out in zip(firsts, dead, strict=True):
        if not ruled_out:
            continue
        for _ in range(3):
            rest = _dns(rng)[rng.randrange(12) :]
            assert extract_names(payload + rest, 6, 40000, 53) == ()
    # not DNS, or fewer than 8 bytes: never ruled out
    rows[:, DPORT] = 443
    assert not _stream_without_names(rows, bytes(buf)).any()
