"""The BDD engine and the concrete evaluator agree on the FortiOS and PAN-OS golden
exports as parsed (zones as the configuration defines them), on random packets over the
addresses, ports and interfaces each export names: may-accept = the upper set, certainly
accepts = the lower set."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from segverify.engine.analysis import to_ir_packet
from segverify.engine.compile import compile_device
from segverify.engine.space import HeaderSpace
from segverify.engine.space import Packet as SpacePacket
from segverify.firewall import ir
from segverify.firewall.formats import get_format
from segverify.firewall.ir import Addresses, ParseContext, evaluate

GOLDEN = Path(__file__).parent / "golden" / "firewall"
ORIGINAL_DNAT_BUG = pytest.mark.xfail(
    strict=True,
    reason="engine: with policy_addresses='original' a packet arriving addressed to the mapped "
    "server is permitted as if translated (the evaluator drops it); reported to fw, "
    "repro /tmp/segverify/vendA-dnat-repro.py",
)
KNOWN_BUGS = {
    ("paloalto", "traps.xml"): ORIGINAL_DNAT_BUG,
    ("fortios", "traps.conf"): ORIGINAL_DNAT_BUG,
}
CASES = [
    pytest.param(fmt, p, marks=KNOWN_BUGS.get((fmt, p.name), ()))
    for fmt in ("fortios", "paloalto")
    for p in sorted((GOLDEN / fmt).iterdir())
    if p.is_file() and not p.name.endswith(".ref")
]


@pytest.mark.parametrize("fmt,path", CASES, ids=lambda v: v if isinstance(v, str) else v.name)
def test_engine_equals_evaluator(fmt: str, path: Path) -> None:
    dev = get_format(fmt).parse(path.read_text(encoding="utf-8"), ParseContext(str(path)))
    ifaces = sorted(dev.interfaces) + ["zz9"]
    space = HeaderSpace(ifaces)
    comp = compile_device(space, dev)
    addrs: set[str] = set()
    exprs = [r.match for r in dev.rules] + [n.match for n in dev.dnat]
    for a in (e for m in exprs for e in ir.walk(m)):
        if isinstance(a, Addresses):
            for n in a.nets:
                addrs |= {str(n.network_address), str(n.broadcast_address)}
            for lo, hi in a.ranges:
                addrs |= {str(lo), str(hi)}
    for i in dev.interfaces.values():
        addrs |= {str(n.network_address) for n in i.addresses}
    v4 = sorted(a for a in addrs if ":" not in a) + ["192.0.2.77"]
    v6 = sorted(a for a in addrs if ":" in a) + ["2001:db8::99"]
    rng = random.Random(11)
    packets: list[SpacePacket] = []
    for nat in dev.dnat:  # packets that arrive addressed to a translation target
        for iif in ifaces:
            for oif in ifaces:
                port = nat.to_port or 443
                packets.append(
                    SpacePacket(
                        v4[0], nat.to_address or v4[-1], 6, 40000, port, "new", iif, oif, 0x02
                    )
                )
    for _ in range(400):
        pool = v6 if rng.random() < 0.2 else v4
        proto = rng.choice([6, 6, 17, 1, 47])
        icmp = proto in (1, 58)
        dport = (rng.choice([0, 8]) << 8) if icmp else rng.choice([22, 25, 53, 80, 443, 8080, 8443])
        packets.append(
            SpacePacket(
                rng.choice(pool),
                rng.choice(pool),
                proto,
                rng.choice([53, 40000]),
                dport,
                "new",
                rng.choice(ifaces),
                rng.choice(ifaces + ["*"]),
                0x02,
            )
        )
    for pkt in packets:
        for path_ in ("forward", "input"):
            got = evaluate(dev, to_ir_packet(pkt), path_)
            upper = space.contains(comp.permit_upper[path_], pkt)
            lower = space.contains(comp.permit_lower[path_], pkt)
            assert upper == got.may_accept, (pkt, path_, got.possible)
            assert lower == (got.possible == frozenset({"accept"})), (pkt, path_, got.possible)
