"""Example packets follow one rule on every BDD backend: the path of the set that takes each
bit's preferred value wherever the set allows it (most significant bit first). Checked
against that rule computed by brute force over explicit sets of port values."""

from __future__ import annotations

import random

import pytest

from segverify.engine.bdd import available_backends
from segverify.engine.space import HeaderSpace


def greedy(values: set[int], pref: int, width: int = 16) -> int:
    """MSB first: keep the values with the preferred bit when there are any."""
    left = values
    for i in range(width - 1, -1, -1):
        bit = (pref >> i) & 1
        same = {v for v in left if (v >> i) & 1 == bit}
        left = same or left
    (only,) = left
    return only


@pytest.mark.parametrize("backend", available_backends())
def test_walk_takes_the_preferred_path(backend: str) -> None:
    sp = HeaderSpace(("eth0", "eth1"), backend=backend)
    names = sp.fields["dport"].vars
    rng = random.Random(7)
    checked = 0
    for _ in range(60):
        values: set[int] = set()
        u = sp.false
        for _ in range(rng.choice((1, 2, 3, 6))):
            if rng.random() < 0.5:
                v = rng.randrange(1 << 16)
                values.add(v)
                u = u | sp.value("dport", v)
            else:
                lo = rng.randrange(1 << 16)
                hi = min((1 << 16) - 1, lo + rng.randrange(1, 40))
                values |= set(range(lo, hi + 1))
                u = u | sp.interval("dport", lo, hi)
        u = u & sp.value("proto", 6)  # other variables on the path too
        for pref in (0, 443, 0xFFFF, rng.randrange(1 << 16), min(values), max(values)):
            want = sp._bits_of("dport", 16, pref)
            got = sp._walk(u, want)(names, pref)
            assert got == greedy(values, pref), (backend, sorted(values)[:8], pref)
            checked += 1
    assert checked == 360


def test_backends_pick_the_same_example_packets() -> None:
    import ipaddress

    backends = available_backends()
    assert "oxidd" in backends
    out = []
    for backend in backends:
        sp = HeaderSpace(("eth0", "eth1"), backend=backend)
        u = (
            sp.prefix("src", ipaddress.ip_network("198.18.30.240/29"))
            & sp.prefix("dst", ipaddress.ip_network("192.0.2.0/24"))
            & ~sp.prefix("dst", ipaddress.ip_network("192.0.2.192/26"))
            & sp.protos((6, 17))
            & (sp.interval("dport", 500, 1000) | sp.value("dport", 8080))
            & sp.iface("iif", "eth1")
        )
        out.append(sp.example(u))
    assert all(p == out[0] for p in out), out
    assert out[0].src.startswith("198.18.30.24") and out[0].in_interface == "eth1"
