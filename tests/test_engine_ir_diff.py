"""Differential test: the BDD engine compiled from random device models = the one concrete
evaluator, on models with interfaces, vendor zones, zone-pair and interface scopes,
intrazone defaults, And/Or/Not, opaque atoms, unknown actions, destination NAT and shared
user chains (``ChainVerdict``: jump, goto, return, chains called from several rules)."""

from __future__ import annotations

import ipaddress
import itertools
import random
from dataclasses import replace

import pytest

from segverify.engine.analysis import to_ir_packet
from segverify.engine.compile import compile_device
from segverify.engine.space import HeaderSpace
from segverify.engine.space import Packet as SpacePacket
from segverify.firewall import ir
from segverify.firewall.ir import (
    Addresses,
    ConnState,
    DestNat,
    Device,
    Family,
    Icmp,
    Interfaces,
    Opaque,
    Ports,
    Protocols,
    Rule,
    Scope,
    Stage,
    TcpFlags,
    VendorZone,
    Zones,
    all_of,
    any_of,
    negate,
)
from segverify.topology.model import PortRange

IFACES = ("eth0", "eth1", "eth2", "eth3")
ZONES = {"trust": ("eth0", "eth1"), "untrust": ("eth2",), "dmz": ("eth3",)}
SRC = ("198.18.0.1", "198.18.1.9")
DST = ("198.18.0.1", "198.18.1.9", "203.0.113.5", "203.0.113.6")
DST6 = ("2001:db8::1", "2001:db8::5")
PORTS = (22, 80, 443)
NETS = ("198.18.0.0/31", "198.18.0.0/24", "198.18.1.9/32", "203.0.113.5/32", "203.0.113.0/30")


def atom(rng: random.Random) -> ir.Expr:
    k = rng.randrange(11)
    if k == 0:
        return Addresses(rng.choice(("src", "dst")), (ipaddress.ip_network(rng.choice(NETS)),))
    if k == 1:
        return Protocols(rng.choice(((6,), (17,), (6, 17), (1,))))
    if k == 2:
        lo = rng.choice(PORTS)
        return Ports(rng.choice(("sport", "dport")), (PortRange(lo, lo + rng.choice((0, 400))),))
    if k == 3:
        return Icmp(rng.choice((None, 8, 0)), rng.choice((None, 0)))
    if k == 4:
        return ConnState(rng.choice((("new",), ("established", "related"))))
    if k == 5:
        return TcpFlags(0x12, rng.choice((0x02, 0x10, 0x12)))
    if k == 6:
        return Interfaces(rng.choice(("in", "out")), (rng.choice(IFACES + ("eth*",)),))
    if k == 7:
        return Zones(rng.choice(("in", "out")), (rng.choice(tuple(ZONES)),))
    if k == 8:
        return Family(rng.choice((4, 6)))
    if k == 9:
        return Opaque(rng.choice(("schedule", "application", "unknown")), "x")
    return Addresses("dst", (ipaddress.ip_network("2001:db8::/126"),))


def expr(rng: random.Random, depth: int = 0) -> ir.Expr:
    r = rng.random()
    if depth >= 2 or r < 0.45:
        return atom(rng)
    if r < 0.75:
        return all_of(*(expr(rng, depth + 1) for _ in range(rng.randint(1, 3))))
    if r < 0.9:
        return any_of(*(expr(rng, depth + 1) for _ in range(rng.randint(2, 3))))
    return negate(expr(rng, depth + 1))


def random_chains(rng: random.Random) -> list[ir.Chain]:
    """User chains built bottom-up: a chain jumps or goes only to chains built before it,
    often to the same one twice (shared)."""
    out: list[ir.Chain] = []
    for k in range(rng.randint(1, 4)):
        rules = []
        for _ in range(rng.randint(1, 5)):
            kinds = ["accept", "drop", "reject", "unknown", "return"]
            if out:
                kinds += ["jump", "jump", "goto"]
            action = rng.choice(kinds)
            target = rng.choice(out) if action in ("jump", "goto") else None
            rules.append(Rule(action, expr(rng), enabled=rng.random() > 0.05, target=target))
        out.append(ir.Chain(f"u{k}", tuple(rules)))
    return out


def random_device(rng: random.Random, nat: bool, chains: bool = False) -> Device:
    dev = Device("fw", "test", "test")
    dev.interfaces = {n: ir.Interface(n) for n in IFACES}
    dev.zones = {z: VendorZone(z, m) for z, m in ZONES.items()}
    scopes = [
        Scope(paths=("forward",)),
        Scope(paths=("forward", "input"), interface=rng.choice(IFACES), direction="in"),
        Scope(paths=("forward", "output"), interface=rng.choice(IFACES), direction="out"),
        Scope(paths=("forward",), from_zones=("trust",), to_zones=("untrust", "dmz")),
        Scope(paths=("input",), family=4),
    ]
    user = random_chains(rng) if chains else []
    for k in range(rng.randint(1, 3)):
        rules = tuple(
            Rule(
                rng.choice(("accept", "accept", "drop", "reject", "unknown")),
                expr(rng),
                enabled=rng.random() > 0.05,
            )
            for _ in range(rng.randint(1, 7))
        )
        if user:  # calls: the rule takes the chain's outcome (or returns → its own action)
            rules = tuple(
                replace(
                    r,
                    match=ir.And(
                        (
                            r.match,
                            ir.ChainVerdict(
                                rng.choice(user),
                                rng.choice((r.action, r.action, "return"))
                                if r.action != "unknown"
                                else "unknown",
                            ),
                        ),
                    ),
                )
                if i == 0 or rng.random() < 0.6
                else r
                for i, r in enumerate(rules)
            )
        dev.stages.append(
            Stage(
                f"s{k}",
                rules,
                rng.choice(("accept", "drop")),
                rng.choice(scopes),
                intrazone_default=rng.choice((None, "accept", "drop")),
            )
        )
    if nat:
        for _ in range(rng.randint(1, 2)):
            m = all_of(
                Addresses(
                    "dst", (ipaddress.ip_network(rng.choice(("203.0.113.5", "203.0.113.6"))),)
                ),
                rng.choice((ir.TRUE, Protocols((6,)), Ports("dport", (PortRange(80, 80),)))),
            )
            dev.dnat.append(
                DestNat(
                    m,
                    to_address=rng.choice(("198.18.1.9", "198.18.0.2")),
                    to_port=rng.choice((None, 443)),
                )
            )
        dev.policy_addresses = rng.choice(("translated", "original"))
    return dev


def universe(v6: bool = False) -> list[SpacePacket]:
    out = []
    srcs, dsts = (("2001:db8::1",), DST6) if v6 else (SRC, DST)
    ifs = ("eth0", "eth2", "eth3", "*")
    for src, dst, proto, ct, iif, oif in itertools.product(
        srcs, dsts, (6, 17, 1), ("new", "established"), ifs, ifs
    ):
        if proto == 1:
            combos = [(0, 8 << 8, 0x02), (0, 0, 0x02)]
        else:
            combos = [
                (s, d, f)
                for s in (22, 40000)
                for d in PORTS
                for f in ((0x02, 0x10) if proto == 6 else (0x02,))
            ]
        for sport, dport, flags in combos:
            out.append(SpacePacket(src, dst, proto, sport, dport, ct, iif, oif, flags))
    return out


@pytest.mark.parametrize("seed", range(10))
def test_engine_equals_evaluator_on_random_models(seed: int) -> None:
    rng = random.Random(seed)
    assert_engine_equals_evaluator(rng, random_device(rng, nat=False))


def assert_engine_equals_evaluator(rng: random.Random, dev: ir.Device) -> None:
    """On 900 packets and every path: the BDD's upper/lower permit sets = the evaluator."""
    space = HeaderSpace(IFACES)
    comp = compile_device(space, dev)
    pkts = rng.sample(universe(), 800) + rng.sample(universe(v6=True), 100)
    for pkt in pkts:
        for path in ("forward", "input", "output"):
            v = ir.evaluate(dev, to_ir_packet(pkt), path)
            up = space.contains(comp.permit_upper[path], pkt)
            low = space.contains(comp.permit_lower[path], pkt)
            assert up == v.may_accept, (pkt, path, v.possible)
            assert low == (v.possible == frozenset({"accept"})), (pkt, path, v.possible)


@pytest.mark.parametrize("seed", range(10))
def test_engine_equals_evaluator_with_shared_chains(seed: int) -> None:
    rng = random.Random(3000 + seed)
    dev = random_device(rng, nat=False, chains=True)
    assert any(isinstance(e, ir.ChainVerdict) for r in dev.rules for e in ir.walk(r.match))
    assert_engine_equals_evaluator(rng, dev)


@pytest.mark.parametrize("seed", range(4))
def test_engine_nat_equals_evaluator(seed: int) -> None:
    """With destination NAT the permitted sets are post-NAT: a packet is in them exactly
    when some arriving packet is (may be) accepted and translated to it."""
    rng = random.Random(1000 + seed)
    dev = random_device(rng, nat=True)
    space = HeaderSpace(IFACES)
    comp = compile_device(space, dev)
    pkts = universe()
    for path in ("forward", "input"):
        may_post: set[SpacePacket] = set()
        must_post: set[SpacePacket] = set()
        for pkt in pkts:
            v = ir.evaluate(dev, to_ir_packet(pkt), path)
            seen = v.packet
            post = SpacePacket(
                seen.src,
                seen.dst,
                pkt.proto,
                pkt.sport,
                seen.dport if pkt.proto in (6, 17) else pkt.dport,
                pkt.ct_state,
                pkt.in_interface,
                pkt.out_interface,
                pkt.tcp_flags,
                translated=v.nat is not None,
            )
            if v.may_accept:
                may_post.add(post)
                assert space.contains(comp.permit_upper[path], post), (pkt, post, path)
            if v.possible == frozenset({"accept"}):
                must_post.add(post)
                assert space.contains(comp.permit_lower[path], post), (pkt, post, path)
        translated = [q for q in may_post if q.dst in ("198.18.1.9", "198.18.0.2")]
        assert translated or not may_post
        for q0 in pkts:
            for q in (q0, replace(q0, translated=True)):
                assert space.contains(comp.permit_upper[path], q) == (q in may_post), (q, path)


PAN_PUBLISH = """set network interface ethernet ethernet1/2 layer3 ip 203.0.113.1/26
set network interface ethernet ethernet1/3 layer3 ip 198.18.21.1/24
set zone untrust network layer3 ethernet1/2
set zone dmz network layer3 ethernet1/3
set address web-pub ip-netmask 203.0.113.80
set address web-srv ip-netmask 198.18.21.80
set rulebase nat rules publish-web from untrust
set rulebase nat rules publish-web to untrust
set rulebase nat rules publish-web source any
set rulebase nat rules publish-web destination web-pub
set rulebase nat rules publish-web service any
set rulebase nat rules publish-web destination-translation translated-address web-srv
set rulebase security rules published-web from untrust
set rulebase security rules published-web to dmz
set rulebase security rules published-web source any
set rulebase security rules published-web destination web-pub
set rulebase security rules published-web application any
set rulebase security rules published-web service any
set rulebase security rules published-web action allow
"""


def test_original_address_policy_does_not_permit_direct_sends_to_the_mapped_server() -> None:
    """PAN-OS matches pre-NAT addresses: the packet sent to the public address is
    translated and permitted; one sent directly to the real server matches no rule and
    is dropped. The post-NAT sets tell them apart (the ``nat`` bit)."""
    from segverify.firewall.paloalto import parse_paloalto

    dev = parse_paloalto(PAN_PUBLISH, "x.set")
    space = HeaderSpace(sorted(dev.interfaces) + ["zz9"])
    comp = compile_device(space, dev)
    direct = SpacePacket("192.0.2.5", "198.18.21.80", 6, 40000, 443, "new")
    direct = replace(direct, in_interface="ethernet1/2", out_interface="ethernet1/3")
    assert ir.evaluate(dev, to_ir_packet(direct), "forward").possible == {"drop"}
    assert not space.contains(comp.permit_upper["forward"], direct)
    assert not space.contains(comp.permit_lower["forward"], direct)
    sent = replace(direct, dst="203.0.113.80")
    v = ir.evaluate(dev, to_ir_packet(sent), "forward")
    assert v.possible == {"accept"} and v.nat is not None
    translated = replace(direct, translated=True)
    assert space.contains(comp.permit_lower["forward"], translated)
    to_server = space.prefix("dst", ipaddress.ip_network("198.18.21.80/32"))
    arrive = space.iface("iif", "ethernet1/2") & space.iface("oif", "ethernet1/3")
    ex = space.example(comp.permit_upper["forward"] & to_server & arrive)
    assert ex is not None and ex.translated and "(after destination NAT)" in ex.describe()


@pytest.mark.parametrize("default", ["accept", "drop"])
def test_rule_naming_an_interface_the_device_does_not_have(default: str) -> None:
    """Issue 8, defect 2: a rule naming an interface that the device (and topology) does
    not map got "drop" from one evaluator and "accept" from the other. The engine's space
    takes the names rules use (``interface_names``), as the analysis builds it; the engine
    and the one evaluator agree on packets from and to every interface, "other" included."""
    from types import SimpleNamespace

    from segverify.engine.analysis import interface_names

    dev = Device("fw", "test", "test")
    dev.interfaces = {n: ir.Interface(n) for n in ("eth0", "eth1")}
    rules = (
        Rule("drop", Interfaces("out", ("eth9",))),
        Rule("accept", Interfaces("in", ("eth9",))),
        Rule("accept", all_of(Interfaces("in", ("eth0",)), Protocols((6,)))),
    )
    dev.stages.append(Stage("FORWARD", rules, default, Scope(paths=("forward",))))
    view = SimpleNamespace(interfaces=("eth0", "eth1"))  # what interface_names reads
    names = interface_names(view, dev)  # type: ignore[arg-type]
    assert "eth9" in names
    space = HeaderSpace(names)
    comp = compile_device(space, dev)
    checked = 0
    for iif, oif in itertools.product(("eth0", "eth1", "eth9", "*"), repeat=2):
        for proto in (6, 17):
            pkt = SpacePacket(SRC[0], DST[0], proto, 40000, 443, "new", iif, oif, 0x02)
            v = ir.evaluate(dev, to_ir_packet(pkt), "forward")
            assert space.contains(comp.permit_upper["forward"], pkt) == v.may_accept, pkt
            checked += 1
    assert checked == 32
