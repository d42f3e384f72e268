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


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_verdicts_per_equivalence_class_equal_per_flow_evaluation(path) -> None:
    """The columnar path (address classes, one evaluation per class key, names only where
    an FQDN rule could decide) gives every flow the verdict a fresh evaluator gives it."""
    import numpy as np

    from segverify.checks.addrclass import AddressClassifier
    from segverify.checks.flow_verdicts import evaluate_table

    topo = load_topology(path)
    rng = random.Random("classes-" + path.stem)
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
    for rule in topo.policy.allow:  # addresses inside and just outside selector prefixes
        for p in (*rule.src.prefixes, *rule.dst.prefixes):
            hosts.append(str(p.network_address))
            if int(p.broadcast_address) + 1 < (1 << p.max_prefixlen):
                hosts.append(str(ipaddress.ip_address(int(p.broadcast_address) + 1)))
    hosts += ["192.0.2.9", "198.51.100.7", "203.0.113.200", "10.1.2.3"]
    flows = []
    while len(flows) < 600:
        src, dst = rng.choice(hosts), rng.choice(hosts)
        if ipaddress.ip_address(src).version != ipaddress.ip_address(dst).version:
            continue
        proto = rng.choice([6, 17, 1])
        dport = rng.choice([25, 53, 443, 445, 700, 3389, 8080, None])
        names = rng.choice([(), ("x.saas-office.example",), ("evil.example",)])
        flows.append((src, dst, proto, dport, names))
    classifier = AddressClassifier(topo)
    src_cls = classifier.classify_text([f[0] for f in flows])
    dst_cls = classifier.classify_text([f[1] for f in flows])
    proto = np.array([f[2] for f in flows], dtype=np.uint8)
    dport = np.array([-1 if f[3] is None else f[3] for f in flows], dtype=np.int32)
    table = evaluate_table(
        PolicyEvaluator(topo), classifier.classes, src_cls, dst_cls, proto, dport,
        lambda i: flows[i][4],
    )  # fmt: skip
    assert table.classes_evaluated < len(flows)
    for i, (src, dst, p, port, names) in enumerate(flows):
        want = PolicyEvaluator(topo).evaluate(src, dst, p, port, names)
        got = table.rows[int(table.verdict[i])]
        assert (got.allowed, got.decided_by, got.rule, got.clauses, got.reason) == (
            want.allowed, want.decided_by, want.rule, want.clauses, want.reason,
        ), (src, dst, p, port, names)  # fmt: skip
        assert bool(table.forbidden[i]) == (not want.allowed)
