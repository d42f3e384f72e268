"""The parser's fast paths give what the general code gives: addresses decoded without
``ipaddress`` text parsing, emptiness without intervals, ``evolve`` as ``replace``."""

from __future__ import annotations

import ipaddress
import random
from dataclasses import replace

import pytest

from segverify.firewall.intervals import _aset_intervals, aset_is_empty, parse_address
from segverify.firewall.match import Match, normalise
from segverify.firewall.model import AddressSet, PortSet, Rule, evolve
from segverify.topology.model import PortRange

EDGE_TEXTS = [
    "10.0.0.1",
    "10.0.0.1/8",
    " 10.0.0.0/255.0.0.0 ",
    "10.0.0.0/0.0.0.255",  # a host mask
    "01.2.3.4",  # leading zero: refused
    "1.2.3.4/08",  # leading zero in the length: accepted by ipaddress
    "1.2.3.4/33",
    "1.2.3.4/",
    "1.2.3",
    "1.2.3.4.5",
    "256.1.1.1",
    "0.0.0.0/0",
    "255.255.255.255/32",
    "1.2.3.4/-1",
    "1.2.3.4/+8",
    "\uff11.2.3.4",  # a non-ASCII digit
    "1..3.4",
    "",
    "2001:db8::1/32",
    "::",
]


def _reference(text: str) -> str:
    try:
        return repr(ipaddress.ip_network(text.strip(), strict=False))
    except ValueError:
        return "ValueError"


def _fast(text: str) -> str:
    try:
        return repr(parse_address(text))
    except ValueError:
        return "ValueError"


def test_parse_address_agrees_with_ipaddress() -> None:
    rnd = random.Random(7)
    texts = list(EDGE_TEXTS)
    for _ in range(3000):
        octets = [str(rnd.choice([0, 255, rnd.randint(0, 300)])) for _ in range(4)]
        if rnd.random() < 0.1:
            octets[rnd.randrange(4)] = "0" + octets[0]
        text = ".".join(octets)
        if rnd.random() < 0.8:
            text += f"/{rnd.randint(-1, 34)}"
        texts.append(text)
    assert [_fast(t) for t in texts] == [_reference(t) for t in texts]
    net = parse_address("198.51.100.194/31")
    ref = ipaddress.ip_network("198.51.100.194/31", strict=False)
    assert (net, hash(net), list(net.hosts())) == (ref, hash(ref), list(ref.hosts()))


def test_interval_and_emptiness_shortcuts_agree_with_intervals() -> None:
    nets = (parse_address("10.0.0.0/8"), parse_address("2001:db8::/32"))
    v4lo, v4hi = ipaddress.ip_address("10.0.0.5"), ipaddress.ip_address("10.0.0.1")
    sets = [
        AddressSet(),
        AddressSet(nets[:1]),
        AddressSet(nets[1:]),
        AddressSet(nets),
        AddressSet(ranges=((v4lo, v4hi),)),  # lo > hi: kept as written
        AddressSet(nets[:1], negated=True),
        AddressSet((parse_address("0.0.0.0/0"),), negated=True),
    ]
    assert _aset_intervals(AddressSet(nets[:1]))[0] == [(10 << 24, (11 << 24) - 1)]
    for aset in sets:
        v4, v6 = _aset_intervals(aset)
        expected = {4: not v4, 6: not v6, None: not v4 and not v6}
        assert {f: aset_is_empty(aset, f) for f in (4, 6, None)} == expected, aset


def test_normalise_port_and_protocol_checks() -> None:
    tcp_80 = PortSet((PortRange(80, 80),))
    assert normalise(Match(protocols=(6,), dports=tcp_80)) is not None
    assert normalise(Match(protocols=(1,), dports=tcp_80)) is None  # icmp has no ports
    assert (
        normalise(Match(protocols=(6, 17, 33, 132, 136), protocols_negated=True, dports=tcp_80))
        is None
    )
    assert normalise(Match(protocols=(1,), protocols_negated=True, dports=tcp_80)) is not None
    assert normalise(Match(dports=PortSet(()))) is None
    assert normalise(Match(dports=PortSet((PortRange(0, 65535),), negated=True))) is None
    assert normalise(Match(protocols=(6,), icmp_types=(8,))) is None
    assert normalise(Match(protocols=(17,), tcp_flags=(2, 2))) is None


def test_evolve_is_replace() -> None:
    r = Rule(action="accept", protocols=(6,), text="x")
    assert evolve(r, in_zones=("a",), action="drop") == replace(r, in_zones=("a",), action="drop")
    with pytest.raises(TypeError):
        evolve(r, no_such_field=1)


def test_encoded_conjunction_with_ports_equals_atom_by_atom() -> None:
    """The encoder's bottom-up part conjunction (ports split into ranges and protocols)
    gives the set of conjoining the atoms one at a time."""
    from segverify.engine.encode import ExprEncoder
    from segverify.engine.space import HeaderSpace
    from segverify.firewall import ir

    space = HeaderSpace(["eth0", "eth1"])
    enc = ExprEncoder(space, ir.Device("fw", "test", "test"))
    src = ir.Addresses("src", (parse_address("10.1.0.0/16"),))
    dst = ir.Addresses("dst", (parse_address("192.0.2.7"),))
    ports = ir.Ports("dport", (PortRange(22, 22), PortRange(8000, 8080)))
    sports = ir.Ports("sport", (PortRange(1024, 65535),))
    heads = [
        [ir.Family(4), ir.Protocols((6,))],
        [ir.Protocols((1,))],  # no ports: empty
        [ir.Interfaces("in", ("eth0",)), ir.Protocols((17, 6))],
        [ir.Not(ports)],
    ]
    for head in heads:
        for tail in ([ports], [ports, sports], [sports, ir.Not(ir.Protocols((6,)))]):
            items = (*head, src, dst, *tail)
            may, must = enc.encode(ir.And(items))
            expected = space.true
            for it in items:
                expected = expected & enc.encode(it)[0]
            assert may == expected and must == expected, items
