"""The header-space encoding of the policy agrees exactly with PolicyEvaluator."""

from __future__ import annotations

import ipaddress
import random
from pathlib import Path

import pytest

from segverify.checks.policy import PolicyEvaluator
from segverify.engine.policy import PolicySpace
from segverify.engine.space import PORT_PROTOS, HeaderSpace, Packet
from segverify.topology.loader import load_topology

TOPOLOGIES = Path(__file__).resolve().parents[1] / "topologies"
TOPOS = sorted(p.name for p in TOPOLOGIES.glob("*.yaml")) + sorted(
    f"examples/{p.name}" for p in (TOPOLOGIES / "examples").glob("*.yaml")
)


def _addresses(topology, rng: random.Random, version: int) -> list[str]:
    """Interesting addresses: inside every prefix and node address, edges, and outside."""
    out: list[str] = []
    nets = [p for z in topology.zones.values() for p in z.prefixes]
    nets += [a for n in topology.nodes.values() for a in n.addresses]
    for a in topology.policy.allow:
        nets += list(a.src.prefixes) + list(a.dst.prefixes)
    for net in nets:
        if net.version != version:
            continue
        first, last = int(net.network_address), int(net.broadcast_address)
        make = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
        out += [str(make(first)), str(make(last)), str(make(rng.randint(first, last)))]
        if first > 0:
            out.append(str(make(first - 1)))
        if last < (2**net.max_prefixlen) - 1:
            out.append(str(make(last + 1)))
    if version == 4:
        out += ["198.51.100.7", "8.8.8.8", "203.0.113.99", "192.0.2.1"]
    else:
        out += ["2001:db8:ffff::1", "2001:db8:30::1"]
    return out


@pytest.mark.parametrize("name", TOPOS)
def test_engine_policy_agrees_with_evaluator(name: str) -> None:
    topology = load_topology(TOPOLOGIES / name)
    evaluator = PolicyEvaluator(topology)
    space = HeaderSpace()
    policy = PolicySpace(space, topology)
    rng = random.Random(hash(name) & 0xFFFF)
    ports = sorted(
        {r.lo for a in topology.policy.allow for s in a.services for r in s.ports}
        | {0, 22, 80, 443, 65535}
    )
    ports += [p + 1 for p in ports if p < 65535]
    checked = 0
    for version in (4, 6, "mapped"):
        if version == "mapped":  # ::ffff:a.b.c.d classifies as a.b.c.d (issue 13 item 5)
            addrs = [f"::ffff:{a}" for a in _addresses(topology, rng, 4)]
        else:
            addrs = _addresses(topology, rng, version)
        for _ in range(700):
            src, dst = rng.choice(addrs), rng.choice(addrs)
            proto = rng.choice((6, 6, 17, 1, 58, 47, 132))
            dport = rng.choice(ports) if proto in PORT_PROTOS else 0
            verdict = evaluator.evaluate(src, dst, proto, dport if proto in PORT_PROTOS else None)
            pkt = Packet(src, dst, proto, 40000, dport)
            a, b = verdict.src.zone, verdict.dst.zone
            assert space.contains(policy.zone_src[a], pkt), (src, a)
            assert space.contains(policy.zone_dst[b], pkt), (dst, b)
            pair = policy.pair(a, b)
            allowed = space.contains(pair.allowed, pkt)
            assert allowed == verdict.allowed, (pkt, verdict.decided_by, verdict.reason)
            assert space.contains(pair.forbidden, pkt) == (not verdict.allowed)
            if not verdict.allowed:
                assert space.contains(pair.fqdn_gap, pkt) == (
                    verdict.reason == "fqdn-not-allowed"
                ), pkt
            checked += 1
    assert checked == 2100


def test_engine_policy_zone_partition_is_exact() -> None:
    """Zone address sets partition the whole address space (both families)."""
    topology = load_topology(TOPOLOGIES / "alpha.yaml")
    space = HeaderSpace()
    policy = PolicySpace(space, topology)
    union = space.false
    for z, u in policy.zone_src.items():
        assert (union & u) == space.false, z
        union = union | u
    assert union == space.true


def test_engine_policy_mixed_family_packet_is_no_flow() -> None:
    """A packet between an IPv4-mapped and a plain IPv6 address mixes families: the evaluator
    refuses it as bad input, so the header space counts it neither allowed nor forbidden; a
    sanctioned packet's mapped twin is allowed but no packet a host sends (not sanctioned)."""
    topology = load_topology(TOPOLOGIES / "alpha.yaml")
    space = HeaderSpace()
    policy = PolicySpace(space, topology)
    mixed = Packet("2001:db8:10::5", "::ffff:203.0.113.77", 6, 40000, 443)
    twin = Packet("::ffff:198.18.30.10", "::ffff:203.0.113.10", 6, 40000, 443)
    plain = Packet("198.18.30.10", "203.0.113.10", 6, 40000, 443)
    pairs = [policy.pair(a, b) for a in topology.zones for b in topology.zones]
    assert not any(space.contains(p.allowed | p.forbidden, mixed) for p in pairs)
    inet_sc = policy.pair("inet", "security-cloud")
    assert space.contains(inet_sc.allowed, twin) and space.contains(inet_sc.allowed, plain)
    assert space.contains(inet_sc.sanctioned, plain)
    assert not space.contains(inet_sc.sanctioned, twin)
