"""Diff of two exports reports exactly the changed packets: brute force on a small space."""

from __future__ import annotations

import ipaddress
import itertools
import random
from pathlib import Path

from segverify.checks.firewall_diff import analyse_pair, diff_firewalls, diff_sets
from segverify.engine.analysis import to_ir_packet
from segverify.firewall import ir
from segverify.firewall.model import AddressSet, PortSet, Rule, Ruleset, Stage
from segverify.firewall.ruleset_ir import lower_ruleset
from segverify.topology.loader import load_topology
from segverify.topology.model import Location, PortRange

ALPHA = Path(__file__).resolve().parents[1] / "topologies" / "alpha.yaml"
BLOCKS = ("198.18.30.0/29", "203.0.113.8/29", "198.51.100.0/29")
PORTS = (80, 443, 8080)


def evaluate(rs, pkt, path: str) -> str:  # noqa: ANN001
    """The one concrete evaluator (segverify.firewall.ir) on the lowered ruleset."""
    return ir.evaluate(lower_ruleset(rs), to_ir_packet(pkt), path).action


def _hosts() -> list[str]:
    return [str(h) for b in BLOCKS for h in ipaddress.ip_network(b)]


def _subnet(rng: random.Random) -> AddressSet:
    block = ipaddress.ip_network(rng.choice(BLOCKS))
    plen = rng.choice((29, 30, 31, 32))
    subs = list(block.subnets(new_prefix=plen))
    return AddressSet((rng.choice(subs),), negated=rng.random() < 0.1)


def _rule(rng: random.Random, n: int) -> Rule:
    kw: dict = {}
    if rng.random() < 0.7:
        kw["src"] = _subnet(rng)
    if rng.random() < 0.7:
        kw["dst"] = _subnet(rng)
    if rng.random() < 0.7:
        kw["protocols"] = rng.choice(((6,), (17,), (1,)))
        if kw["protocols"] != (1,) and rng.random() < 0.6:
            lo = rng.choice(PORTS)
            kw["dports"] = PortSet((PortRange(lo, lo),))
    if rng.random() < 0.2:
        kw["ct_states"] = ("established", "related")
    return Rule(rng.choice(("accept", "drop")), location=Location("r", n), text=f"r{n}", **kw)


def _ruleset(rules: list[Rule], default: str, name: str) -> Ruleset:
    return Ruleset(
        "fw-inet", "test", name, [Stage("FORWARD", "forward", 0, tuple(rules), default, 4)]
    )


def _mutate(rng: random.Random, rules: list[Rule]) -> list[Rule]:
    out = list(rules)
    for _ in range(rng.randint(1, 3)):
        op = rng.random()
        if op < 0.35 and out:
            out.pop(rng.randrange(len(out)))
        elif op < 0.7:
            out.insert(rng.randint(0, len(out)), _rule(rng, 100 + len(out)))
        elif out:
            i = rng.randrange(len(out))
            r = out[i]
            out[i] = Rule(
                "drop" if r.action == "accept" else "accept",
                r.src,
                r.dst,
                r.protocols,
                dports=r.dports,
                ct_states=r.ct_states,
                location=r.location,
                text=r.text,
            )
    return out


def test_engine_diff_is_exact_on_small_space() -> None:
    topology = load_topology(ALPHA)
    rng = random.Random(11)
    hosts = _hosts()
    checked = changed = 0
    for _ in range(6):
        old_rules = [_rule(rng, i) for i in range(rng.randint(3, 10))]
        new_rules = _mutate(rng, old_rules)
        old = _ruleset(old_rules, rng.choice(("accept", "drop")), "old")
        new = _ruleset(new_rules, rng.choice(("accept", "drop")), "new")
        a, b = analyse_pair(topology, old, new, "fw-inet")
        result = diff_sets(a, b)
        sp = b.space
        changes = {(c.src_zone, c.dst_zone): c for c in result.changes}
        for src, dst, proto, ct in itertools.product(
            hosts, hosts, (6, 17, 1), ("new", "established")
        ):
            ports = PORTS if proto != 1 else (8 << 8,)
            if b.hook_of(src, dst) != "forward":
                continue
            for dport in ports:
                pkts = b.packets_for(src, dst, proto, dport, 40000, ct)
                for pkt in pkts:
                    if pkt.in_interface == pkt.out_interface:
                        continue  # a hairpin: not traffic the topology routes through the device
                    was = evaluate(old, pkt, "forward") == "accept"
                    now = evaluate(new, pkt, "forward") == "accept"
                    za = b.policy.index.classify(src).zone
                    zb = b.policy.index.classify(dst).zone
                    ch = changes.get((za, zb))
                    in_more = ch is not None and sp.contains(ch.permitted, pkt)
                    in_less = ch is not None and sp.contains(ch.blocked, pkt)
                    assert in_more == (now and not was), pkt
                    assert in_less == (was and not now), pkt
                    checked += 1
                    changed += now != was
    assert checked > 10000 and changed > 0


def test_engine_diff_report_flags_newly_permitted_forbidden_flow() -> None:
    topology = load_topology(ALPHA)
    base = [
        Rule(
            "accept",
            src=AddressSet((ipaddress.ip_network("198.18.30.0/24"),)),
            dst=AddressSet((ipaddress.ip_network("203.0.113.10/32"),)),
            protocols=(6,),
            dports=PortSet((PortRange(8080, 8080),)),
            location=Location("old", 1),
        )
    ]
    opened = base + [
        Rule(
            "accept",
            src=AddressSet((ipaddress.ip_network("198.18.30.0/24"),)),
            protocols=(6,),
            dports=PortSet((PortRange(443, 443),)),
            location=Location("new", 2),
            text="open 443",
        )
    ]
    report = diff_firewalls(
        topology, _ruleset(base, "drop", "old"), _ruleset(opened, "drop", "new"), "fw-inet"
    )
    bad = [f for f in report.findings if f.severity == "error"]
    assert bad and report.exit_code() == 1
    f = next(f for f in bad if f.data["dst_zone"] == "internet")
    assert f.data["change"] == "permitted" and f.data["forbidden"]
    assert f.data["example"]["dport"] == 443 and f.data["example"]["ct_state"] == "new"
    assert f.data["rules_new"][0]["line"] == 2
    assert f.data["rules_old"][0].get("default")
    same = diff_firewalls(
        topology, _ruleset(base, "drop", "old"), _ruleset(base, "drop", "new"), "fw-inet"
    )
    assert same.findings == () and same.exit_code() == 0
