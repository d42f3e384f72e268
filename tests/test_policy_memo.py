"""The memoised PolicyEvaluator answers exactly as a fresh one, flow by flow."""

from __future__ import annotations

import ipaddress
import random

import pytest

from segverify.checks.policy import PolicyEvaluator
from segverify.topology.loader import load_topology
from tests.conftest import TOPOLOGIES

PATHS = sorted(TOPOLOGIES.glob("*.yaml")) + sorted((TOPOLOGIES / "examples").glob("*.yaml"))


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_memoised_equals_fresh(path) -> None:
    topo = load_topology(path)
    rng = random.Random(path.stem)
    hosts = [
        str(a.network_address + (1 if a.num_addresses > 1 else 0))
        for n in topo.nodes.values()
        for a in n.addresses
    ]
    hosts += [
        str(ipaddress.ip_address(int(p.network_address) + rng.randrange(p.num_addresses)))
        for z in topo.zones.values()
        for p in z.prefixes
    ]
    hosts += ["192.0.2.9", "198.51.100.7", "203.0.113.200"]
    shared = PolicyEvaluator(topo)
    for _ in range(400):
        src, dst = rng.choice(hosts), rng.choice(hosts)
        if ipaddress.ip_address(src).version != ipaddress.ip_address(dst).version:
            continue
        proto = rng.choice([6, 17, 1])
        dport = rng.choice([25, 53, 443, 445, 700, 3389, 8080, None])
        names = rng.choice([(), ("x.saas-office.example",), ("evil.example",)])
        fresh = PolicyEvaluator(topo).evaluate(src, dst, proto, dport, names)
        assert shared.evaluate(src, dst, proto, dport, names) == fresh
        assert shared.evaluate(src, dst, proto, dport, names) == fresh  # second time from the memo
