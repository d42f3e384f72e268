"""The vendor-independent model (segverify.firewall.ir) and its one concrete evaluator."""

from __future__ import annotations

import glob
import ipaddress
import random
from pathlib import Path

import pytest

from segverify.firewall import ir
from segverify.firewall.formats import get_format, sniff_format
from segverify.firewall.ir import (
    Addresses,
    DestNat,
    Device,
    Interface,
    Opaque,
    Packet,
    Ports,
    Protocols,
    Rule,
    Scope,
    Stage,
    VendorZone,
    Zones,
    all_of,
    any_of,
    at,
    evaluate,
    named,
    negate,
)
from segverify.topology.model import PortRange

F = "fw.conf"
web_srv = Addresses(
    "dst", (ipaddress.ip_network("198.51.100.10/32"),), (), at(F, 3, kind="address", name="web-srv")
)
lan = Addresses(
    "src", (ipaddress.ip_network("198.18.10.0/24"),), (), at(F, 4, kind="address", name="lan")
)
svc_web = named(
    any_of(
        all_of(Protocols((6,)), Ports("dport", (PortRange(80, 80), PortRange(443, 443)))),
        all_of(Protocols((17,)), Ports("dport", (PortRange(53, 53),))),
    ),
    at(F, 5, kind="service-group", name="web"),
)


def hand_built() -> Device:
    """A zone-based device: trust (port1, port3), untrust (port2), a VIP, a schedule."""
    dev = Device(name="fg1", vendor="example", source=F)
    dev.interfaces = {n: Interface(n) for n in ("port1", "port2", "port3")}
    dev.zones = {
        "trust": VendorZone("trust", ("port1", "port3")),
        "untrust": VendorZone("untrust", ("port2",)),
    }
    dev.dnat = [
        DestNat(
            all_of(Addresses("dst", (ipaddress.ip_network("203.0.113.5/32"),)), Protocols((6,))),
            to_address="198.51.100.10",
            to_port=443,
            origin=at(F, 9, kind="vip", name="vip-web"),
        )
    ]
    rules = (
        Rule(
            "accept",
            all_of(Zones("in", ("trust",)), Zones("out", ("untrust",)), lan, web_srv, svc_web),
            at(F, 12, kind="policy", id="12", name="lan-to-web"),
        ),
        Rule(
            "drop",
            all_of(Zones("in", ("trust",)), lan, Opaque("schedule", "after-hours")),
            at(F, 13, kind="policy", id="13", name="night-block"),
        ),
        Rule(
            "accept",
            all_of(Zones("in", ("trust",)), negate(lan), Protocols((6,))),
            at(F, 14, kind="policy", id="14", name="others-tcp"),
        ),
        Rule(
            "accept",
            all_of(Zones("in", ("untrust",)), web_srv, Protocols((6,))),
            at(F, 15, kind="policy", id="15", name="inbound-web"),
        ),
    )
    dev.stages = [Stage("policy", rules, default="drop", scope=Scope(), intrazone_default="accept")]
    return dev


def test_hand_built_model_verdicts() -> None:
    dev = hand_built()
    v = evaluate(
        dev, Packet("198.18.10.7", "198.51.100.10", 6, 40000, 443, iif="port1", oif="port2")
    )
    assert v.action == "accept" and v.certain
    assert v.deciding is not None and v.deciding.rule.origin.name == "lan-to-web"
    # udp/53 is in the service group; udp/443 is not
    v = evaluate(
        dev, Packet("198.18.10.7", "198.51.100.10", 17, 40000, 53, iif="port1", oif="port2")
    )
    assert v.action == "accept"
    v = evaluate(
        dev, Packet("198.18.10.7", "198.51.100.10", 17, 40000, 443, iif="port1", oif="port2")
    )
    # the schedule rule may drop; otherwise nothing matches (not tcp) → default drop
    assert v.possible == frozenset({"drop"}) and v.certain
    # tcp to elsewhere: the schedule rule may drop, else policy 14 does not match (lan) → drop
    v = evaluate(dev, Packet("198.18.10.7", "192.0.2.1", 6, 40000, 22, iif="port1", oif="port2"))
    assert v.possible == frozenset({"drop"})
    # Not(lan): another source is accepted by 14
    v = evaluate(dev, Packet("198.18.11.7", "192.0.2.1", 6, 40000, 22, iif="port1", oif="port2"))
    assert v.action == "accept" and v.deciding.rule.origin.id == "14"
    # intrazone default allow (port1 → port3 both trust), interzone default deny
    v = evaluate(dev, Packet("198.18.10.7", "198.18.20.1", 1, iif="port1", oif="port3"))
    assert v.possible == frozenset({"drop", "accept"})  # night-block may drop it
    assert [a.text for a in v.opaque] == ["after-hours"]
    v = evaluate(dev, Packet("192.0.2.9", "198.18.20.1", 1, iif="port2", oif="port1"))
    assert v.action == "drop" and v.deciding.rule is None


def test_dnat_before_policy() -> None:
    dev = hand_built()
    p = Packet("192.0.2.9", "203.0.113.5", 6, 40000, 8443, iif="port2", oif="port1")
    v = evaluate(dev, p)
    assert v.action == "accept" and v.nat is not None and v.nat.origin.name == "vip-web"
    assert v.packet.dst == "198.51.100.10" and v.packet.dport == 443
    # a vendor whose policy matches pre-NAT addresses does not match web-srv then
    dev.policy_addresses = "original"
    assert evaluate(dev, p).action == "drop"


def test_unknown_action_and_not_over_opaque() -> None:
    dev = Device("d", "x", "x")
    dev.stages = [
        Stage("s", (Rule("accept", negate(Opaque("application", "ssl"))),), default="drop"),
    ]
    v = evaluate(dev, Packet("192.0.2.1", "192.0.2.2", 6, 1, 2))
    assert v.possible == frozenset({"accept", "drop"}) and not v.certain and v.action == "unknown"
    dev.stages = [Stage("s", (Rule("unknown"),), default="drop")]
    assert evaluate(dev, Packet("192.0.2.1", "192.0.2.2", 6, 1, 2)).possible == frozenset(
        ir.ACTIONS
    )
    assert dev.incomplete


def test_interface_scoped_stages_compose() -> None:
    """ASA-like: the ingress ACL and the egress ACL must both accept."""
    dev = Device("asa", "x", "x")
    dev.stages = [
        Stage(
            "in-outside",
            (Rule("accept", Protocols((6,))),),
            "drop",
            Scope(interface="outside", direction="in"),
        ),
        Stage(
            "out-inside",
            (Rule("drop", Ports("dport", (PortRange(22, 22),))),),
            "accept",
            Scope(interface="inside", direction="out"),
        ),
    ]

    def mk(dport: int, proto: int = 6) -> Packet:
        return Packet("192.0.2.1", "198.18.1.1", proto, 1000, dport, iif="outside", oif="inside")

    assert evaluate(dev, mk(80)).action == "accept"
    assert evaluate(dev, mk(22)).action == "drop"
    assert evaluate(dev, mk(80, 17)).action == "drop"
    # another ingress interface: the outside ACL does not apply
    assert (
        evaluate(dev, Packet("192.0.2.1", "198.18.1.1", 17, 1, 80, iif="dmz", oif="inside")).action
        == "accept"
    )


def test_registry_sniff_and_aliases() -> None:
    assert get_format("iptables-save").name == "iptables"
    assert get_format("NFTABLES").name == "nft"
    assert sniff_format("*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n").name == "iptables"
    with pytest.raises(Exception, match="unknown vendor"):
        get_format("nosuch")


GOLDEN = Path(__file__).parent / "golden" / "firewall"


def _exports() -> list[str]:
    out = []
    for p in sorted(glob.glob(str(GOLDEN / "*" / "*"))):
        if p.endswith((".ref", ".ipset")):
            continue
        out.append(p)
    return out


@pytest.mark.parametrize("path", _exports(), ids=lambda p: Path(p).name)
def test_engine_and_evaluator_agree_on_golden_exports(path: str) -> None:
    """The BDD compilation of a lowered export = the concrete evaluator, on random packets
    over the addresses, ports and interfaces the export names (upper set: may accept;
    lower set: certainly accepts)."""
    from segverify.engine.analysis import to_ir_packet
    from segverify.engine.compile import compile_device
    from segverify.engine.space import HeaderSpace
    from segverify.engine.space import Packet as SpacePacket
    from segverify.firewall.ipset import parse_ipset_file
    from segverify.firewall.ir import ParseContext

    text = Path(path).read_text()
    ipset = path.replace(".rules", ".ipset")
    opts = {}
    if path.endswith(".rules") and Path(ipset).exists():
        opts["ipsets"] = parse_ipset_file(ipset)
    dev = sniff_format(text, path).parse(text, ParseContext(path, opts))
    ifaces = sorted(dev.interfaces) + ["zz9"]
    for k, z in enumerate(sorted(dev.zones)):  # CSV zones (no members): give them one
        if not dev.zones[z].interfaces:
            dev.zones[z] = ir.VendorZone(z, (ifaces[k % len(ifaces)],))
    space = HeaderSpace(ifaces)
    comp = compile_device(space, dev)
    rng = random.Random(7)
    addrs: set[str] = set()
    for a in (e for r in dev.rules for e in ir.walk(r.match)):
        if isinstance(a, Addresses):
            for n in a.nets:
                addrs |= {str(n.network_address), str(n.broadcast_address)}
            for lo, hi in a.ranges:
                addrs |= {str(lo), str(hi)}
    v4 = sorted(a for a in addrs if ":" not in a) + ["192.0.2.77", "198.18.0.1"]
    v6 = sorted(a for a in addrs if ":" in a) + ["2001:db8::99"]
    for _ in range(300):
        pool = v6 if rng.random() < 0.25 else v4
        proto = rng.choice([6, 17, 1, 58, 47])
        icmp = proto in (1, 58)
        dport = (rng.choice([0, 3, 8, 11]) << 8) if icmp else rng.choice([22, 53, 80, 443, 3389])
        sp_pkt = SpacePacket(
            rng.choice(pool),
            rng.choice(pool),
            proto,
            rng.choice([22, 53, 80, 40000]),
            dport,
            rng.choice(["new", "established", "related", "invalid"]),
            rng.choice(ifaces + ["*"]),
            rng.choice(ifaces + ["*"]),
            rng.choice([0x02, 0x12, 0x10]),
        )
        for path_ in ("forward", "input", "output"):
            got = evaluate(dev, to_ir_packet(sp_pkt), path_)
            post = sp_pkt
            if dev.dnat and path_ != "output" and got.packet is not None:
                # permitted sets are post-NAT: check the translated packet, one way (other
                # arrivals may be translated to the same packet)
                seen = got.packet
                dport = seen.dport if proto in (6, 17) else sp_pkt.dport
                post = SpacePacket(
                    seen.src,
                    seen.dst,
                    proto,
                    sp_pkt.sport,
                    dport,
                    sp_pkt.ct_state,
                    sp_pkt.in_interface,
                    sp_pkt.out_interface,
                    sp_pkt.tcp_flags,
                )
            upper = space.contains(comp.permit_upper[path_], post)
            lower = space.contains(comp.permit_lower[path_], post)
            certain = got.possible == frozenset({"accept"})
            if post is not sp_pkt:
                assert upper or not got.may_accept, (sp_pkt, path_, got.possible)
                assert lower or not certain, (sp_pkt, path_, got.possible)
                continue
            assert upper == got.may_accept, (sp_pkt, path_, got.possible)
            assert lower == certain, (sp_pkt, path_, got.possible)
