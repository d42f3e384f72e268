"""The engine's first-match/stage semantics against a direct evaluator, and the queries
(forbidden permits, shadowed, redundant) on hand-made cases."""

from __future__ import annotations

import ipaddress
import random
from pathlib import Path

import pytest

from segverify.checks.firewall import check_firewall
from segverify.checks.policy import PolicyEvaluator
from segverify.engine.analysis import build_analysis, to_ir_packet
from segverify.engine.space import CT_STATES, PORT_PROTOS, Packet
from segverify.firewall import ir
from segverify.firewall.model import AddressSet, PortSet, Rule, Ruleset, Stage, UnknownMatch
from segverify.topology.loader import load_topology
from segverify.topology.model import Location, PortRange

ALPHA = Path(__file__).resolve().parents[1] / "topologies" / "alpha.yaml"
NETS = (
    "198.18.30.0/24",
    "198.18.30.0/28",
    "198.18.30.25/32",
    "203.0.113.0/26",
    "203.0.113.10/32",
    "198.51.100.0/24",
    "198.18.20.0/24",
    "2001:db8:30::/64",
    "0.0.0.0/0",
)
HOSTS = (
    "198.18.30.5",
    "198.18.30.25",
    "198.18.30.200",
    "203.0.113.10",
    "203.0.113.53",
    "198.51.100.7",
    "198.18.20.9",
    "198.18.10.10",
    "198.18.30.1",
)
HOSTS6 = ("2001:db8:30::5", "2001:db8:20::9", "2001:db8:ffff::1")


def A(*nets: str, negated: bool = False) -> AddressSet:
    return AddressSet(tuple(ipaddress.ip_network(n) for n in nets), negated=negated)


def P(*ranges: tuple[int, int], negated: bool = False) -> PortSet:
    return PortSet(tuple(PortRange(lo, hi) for lo, hi in ranges), negated)


def evaluate(analysis, pkt: Packet, path: str) -> str:
    """The one concrete evaluator on the analysed (bound) device."""
    return ir.evaluate(analysis.device, to_ir_packet(pkt), path).action


def loc(n: int) -> Location:
    return Location("test.rules", n)


@pytest.fixture(scope="module")
def alpha():
    return load_topology(ALPHA)


def random_rule(rng: random.Random, n: int) -> Rule:
    kw: dict = {}
    if rng.random() < 0.5:
        kw["src"] = A(*rng.sample(NETS, rng.randint(1, 2)), negated=rng.random() < 0.15)
    if rng.random() < 0.5:
        kw["dst"] = A(*rng.sample(NETS, rng.randint(1, 2)), negated=rng.random() < 0.15)
    if rng.random() < 0.2:
        lo = ipaddress.ip_address("198.18.30.3")
        kw["src"] = AddressSet(ranges=((lo, lo + rng.randint(0, 40)),))
    p = rng.random()
    if p < 0.6:
        kw["protocols"] = rng.choice(((6,), (17,), (6, 17), (1,), (58,)))
        kw["protocols_negated"] = rng.random() < 0.1
    if (
        kw.get("protocols") in ((6,), (17,), (6, 17))
        and not kw.get("protocols_negated")
        and rng.random() < 0.7
    ):
        lo = rng.choice((22, 25, 53, 80, 443, 1000))
        kw["dports"] = P((lo, lo + rng.choice((0, 0, 5, 100))), negated=rng.random() < 0.1)
        if rng.random() < 0.2:
            kw["sports"] = P((1024, 65535))
    if kw.get("protocols") == (1,) and rng.random() < 0.5:
        kw["icmp_types"] = (8,) if rng.random() < 0.7 else (0, 3)
        kw["icmp_types_negated"] = rng.random() < 0.2
    if rng.random() < 0.4:
        kw["in_interfaces"] = (rng.choice(("eth0", "eth1", "eth*")),)
    if rng.random() < 0.2:
        kw["out_interfaces_except"] = ("eth1",)
    if rng.random() < 0.25:
        kw["ct_states"] = rng.choice((("new",), ("established", "related"), ("invalid",)))
    if rng.random() < 0.1:
        kw["family"] = rng.choice((4, 6))
    return Rule(
        rng.choice(("accept", "accept", "drop", "reject")), location=loc(n), text=f"rule {n}", **kw
    )


def random_ruleset(rng: random.Random) -> Ruleset:
    stages = []
    n = 0
    for prio, fam in ((-150, None), (0, 4), (0, 6)):
        if prio == -150 and rng.random() < 0.5:
            continue
        rules = []
        for _ in range(rng.randint(1, 12)):
            n += 1
            rules.append(random_rule(rng, n))
        stages.append(
            Stage(
                f"s{prio}/{fam}", "forward", prio, tuple(rules), rng.choice(("accept", "drop")), fam
            )
        )
    inp = tuple(random_rule(rng, 100 + i) for i in range(rng.randint(0, 4)))
    stages.append(Stage("input", "input", 0, inp, rng.choice(("accept", "drop")), None))
    return Ruleset("fw-inet", "test", "test.rules", stages)


def random_packet(rng: random.Random, analysis) -> Packet:
    if rng.random() < 0.15:
        src, dst = rng.choice(HOSTS6), rng.choice(HOSTS6)
    else:
        src, dst = rng.choice(HOSTS), rng.choice(HOSTS)
    proto = rng.choice((6, 6, 17, 1, 58, 47))
    if proto in PORT_PROTOS:
        dport = rng.choice((22, 25, 53, 80, 443, 1000, 1005, 1100, 1101, 8080))
    elif proto in (1, 58):
        dport = rng.choice((0, 3, 8, 11)) << 8
    else:
        dport = 0
    pkts = analysis.packets_for(
        src, dst, proto, dport, rng.choice((80, 40000)), rng.choice(CT_STATES)
    )
    return rng.choice(pkts)


def test_engine_matches_direct_evaluator_on_random_rulesets(alpha) -> None:
    rng = random.Random(7)
    compared = 0
    for _ in range(40):
        rs = random_ruleset(rng)
        analysis = build_analysis(alpha, rs, "fw-inet")
        for _ in range(60):
            pkt = random_packet(rng, analysis)
            path = analysis.hook_of(pkt.src, pkt.dst)
            want = evaluate(analysis, pkt, path)
            got = analysis.decide(pkt)
            assert got.action == want, (pkt, got, [s.name for s in rs.stages])
            perm = analysis.permitted()
            assert analysis.space.contains(perm, pkt) == (want == "accept")
            compared += 1
    assert compared == 2400


def _stage(*rules: Rule, default: str = "drop") -> Ruleset:
    return Ruleset(
        "fw-inet", "test", "test.rules", [Stage("FORWARD", "forward", 0, tuple(rules), default, 4)]
    )


def test_engine_forbidden_permit_examples_are_real(alpha) -> None:
    rs = _stage(
        Rule("accept", ct_states=("established", "related"), location=loc(1)),
        Rule(
            "accept",
            src=A("198.18.30.0/24"),
            protocols=(6,),
            dports=P((443, 443)),
            in_interfaces=("eth0",),
            location=loc(2),
        ),
        Rule(
            "accept",
            src=A("198.18.30.0/24"),
            dst=A("203.0.113.10/32"),
            protocols=(6,),
            dports=P((8080, 8080)),
            location=loc(3),
        ),
        Rule(
            "accept",
            src=A("198.18.30.0/24"),
            dst=A("203.0.113.53/32"),
            protocols=(17,),
            dports=P((53, 53)),
            location=loc(4),
        ),
    )
    report = check_firewall(alpha, rs, "fw-inet", shadow=False)
    analysis = build_analysis(alpha, rs, "fw-inet")
    evaluator = PolicyEvaluator(alpha)
    permits = [f for f in report.findings if f.kind == "firewall-permit"]
    assert permits and report.exit_code() == 1
    forward = [f for f in permits if f.data["firewall_rule"].get("line") == 2]
    assert {(f.data["src_zone"], f.data["dst_zone"]) for f in forward} >= {
        ("inet", "internet"),
        ("inet", "security-cloud"),
    }
    # rules 3 and 4 follow the policy (security-cloud proxy and DNS): no finding
    assert not [f for f in permits if f.data["firewall_rule"].get("line") in (3, 4)]
    for f in permits:
        ex = f.data["example"]
        pkt = Packet(
            ex["src"],
            ex["dst"],
            ex["proto"],
            ex["sport"] or 0,
            ex["dport"] or 0,
            ex["ct_state"],
            ex["in_interface"],
            ex["out_interface"],
        )
        assert ex["ct_state"] == "new"
        verdict = evaluator.evaluate(ex["src"], ex["dst"], ex["proto"], ex["dport"])
        assert not verdict.allowed, f.message
        assert evaluate(analysis, pkt, analysis.hook_of(pkt.src, pkt.dst)) == "accept", f.message
        d = analysis.decide(pkt)
        if f.data["firewall_rule"].get("line"):
            assert d.deciding.rule.origin.location.line == f.data["firewall_rule"]["line"]
        assert f.location is not None


def test_engine_established_rules_do_not_permit_new_flows(alpha) -> None:
    rs = _stage(Rule("accept", ct_states=("established", "related"), location=loc(1)))
    report = check_firewall(alpha, rs, "fw-inet", shadow=False)
    forward = [
        f
        for f in report.findings
        if f.kind == "firewall-permit" and f.data["firewall_rule"].get("line") == 1
    ]
    assert forward == []


def test_engine_shadowed_and_redundant(alpha) -> None:
    rs = _stage(
        Rule(
            "drop", src=A("198.18.30.0/24"), protocols=(6,), location=loc(1), text="drop inet tcp"
        ),
        Rule(
            "accept",
            src=A("198.18.30.0/28"),
            dst=A("203.0.113.10/32"),
            protocols=(6,),
            dports=P((8080, 8080)),
            location=loc(2),
            text="accept shadowed",
        ),
        Rule(
            "accept",
            src=A("198.18.30.0/24"),
            dst=A("203.0.113.53/32"),
            protocols=(17,),
            dports=P((53, 53)),
            location=loc(3),
            text="dns",
        ),
        Rule(
            "accept",
            src=A("198.18.30.0/25"),
            dst=A("203.0.113.53/32"),
            protocols=(17,),
            dports=P((53, 53)),
            location=loc(4),
            text="dns again",
        ),
        Rule(
            "drop",
            src=A("198.18.30.77/32"),
            protocols=(47,),
            location=loc(5),
            text="drop gre: default drops anyway",
        ),
        Rule(
            "accept",
            src=A("198.18.30.0/24"),
            dst=A("203.0.113.10/32"),
            protocols=(17,),
            dports=P((3128, 3128)),
            location=loc(6),
            text="needed",
        ),
    )
    report = check_firewall(alpha, rs, "fw-inet")
    shadowed = {f.data["firewall_rule"]["line"]: f for f in report.findings if f.kind == "shadowed"}
    redundant = {f.data["firewall_rule"]["line"] for f in report.findings if f.kind == "redundant"}
    assert set(shadowed) == {2, 4}
    # the shadowed accept is covered by the earlier drop (a different action)
    assert [c["line"] for c in shadowed[2].data["covered_by"]] == [1]
    assert shadowed[2].data["covered_by"][0]["action"] == "drop"
    assert [c["line"] for c in shadowed[4].data["covered_by"]] == [3]
    assert redundant == {5}
    assert all(
        f.severity in ("warning", "info")
        for f in report.findings
        if f.kind in ("shadowed", "redundant")
    )


def test_engine_unknown_match_fails_closed(alpha) -> None:
    unknown = (UnknownMatch("-m weird --thing", loc(2)),)
    rs = _stage(
        Rule(
            "drop",
            src=A("198.18.30.0/24"),
            dst=A("198.51.100.0/24"),
            unknown=unknown,
            location=loc(1),
        ),
        Rule("accept", src=A("198.18.30.0/24"), location=loc(2)),
    )
    report = check_firewall(alpha, rs, "fw-inet", shadow=False)
    assert report.incomplete
    permits = [
        f
        for f in report.findings
        if f.kind == "firewall-permit" and f.data["dst_zone"] == "internet"
    ]
    assert permits and permits[0].data["firewall_rule"]["line"] == 2
    # an accept rule with an unknown match: the permit "may" happen, still reported
    rs2 = _stage(Rule("accept", src=A("198.18.30.0/24"), unknown=unknown, location=loc(1)))
    report2 = check_firewall(alpha, rs2, "fw-inet", shadow=False)
    may = [f for f in report2.findings if f.kind == "firewall-permit"]
    assert may and all(not f.data["certain"] for f in may)
    assert report2.incomplete and report2.exit_code() == 1
    # nothing permitted beyond the policy even in the may-semantics: exit 3
    rs3 = _stage(
        Rule(
            "accept",
            src=A("198.18.30.0/24"),
            dst=A("203.0.113.10/32"),
            protocols=(6,),
            dports=P((8080, 8080)),
            unknown=unknown,
            location=loc(1),
        )
    )
    report3 = check_firewall(alpha, rs3, "fw-inet", shadow=False)
    assert not [
        f
        for f in report3.findings
        if f.kind == "firewall-permit"
        and f.data["src_zone"] == "inet"
        and f.data["dst_zone"] != "inet"
        and f.data["firewall_rule"].get("line") == 1
    ]


@pytest.mark.parametrize("order", ["grouped", "interleaved", "ports-first"])
def test_engine_backends_and_orders_agree(alpha, order: str) -> None:
    from segverify.engine.bdd import available_backends

    rng = random.Random(3)
    rs = random_ruleset(rng)
    results = []
    for backend in available_backends():
        report = check_firewall(alpha, rs, "fw-inet", backend=backend, order=order)
        results.append(
            sorted(
                (
                    f.kind,
                    f.data.get("src_zone"),
                    f.data.get("dst_zone"),
                    str(f.data["firewall_rule"]),
                    str(f.data.get("example")),  # examples are a property of the set
                )
                for f in report.findings
            )
        )
    assert {"oxidd", "autoref"} <= set(available_backends())
    assert any("example" in f.data for f in report.findings)
    assert all(r == results[0] for r in results)


def test_engine_deciders_match_a_scan_across_prefix_blocks(alpha) -> None:
    """The cover search (bisection over the fold's prefix unions, kept only every
    PREFIX_STRIDE rules and replayed per block) finds exactly the rules a plain scan of the
    effective sets finds, in order, for ranges that start and end inside blocks."""
    from segverify.engine.compile import PREFIX_STRIDE

    rng = random.Random(11)
    n = 3 * PREFIX_STRIDE + 17
    rules = [random_rule(rng, i) for i in range(n)]
    rules = [r for r in rules if r.family in (None, 4)]
    analysis = build_analysis(alpha, _stage(*rules), "fw-inet")
    sp = analysis.space
    cs = next(s for s in analysis.compiled.stages if len(s.rules) == len(rules))
    assert len(cs.rules) > 2 * PREFIX_STRIDE
    assert len(cs.cov_marks) < len(cs.rules) // 8  # marks, not one union per rule
    checked = 0
    for _ in range(60):
        i = rng.randrange(len(cs.rules) + 1)
        lo = rng.randrange(i + 1)
        target = cs.rules[rng.randrange(len(cs.rules))].may
        if rng.random() < 0.3:
            target = sp.true
        for accepting in (None, True, False):
            want = [
                j
                for j in range(lo, i)
                if (cs.eff[j] & target) != sp.false
                and (accepting is None or cs.rules[j].may_accept == accepting)
            ]
            got = cs.deciders(target, lo, i, accepting, 5)
            assert got == want[:5], (lo, i, accepting)
            checked += bool(want)
    assert checked > 20  # most queries have deciders


def test_engine_example_head_projection_matches_the_general_path(alpha) -> None:
    """Example packets choose the header fields and ports on the set's projection
    (``_head_fast``); the values and the restricted set are those of the general path
    (``_head_slow``, one conjunction per tried value) on random rules' effective sets,
    their pieces and complements, and the example packets are members of the set."""
    rng = random.Random(5)
    checked = fast = 0
    for _ in range(8):
        analysis = build_analysis(alpha, random_ruleset(rng), "fw-inet")
        sp = analysis.space
        sets = [e for cs in analysis.compiled.stages for e in cs.eff]
        sets += [~e for e in sets[:6]] + [e & sp.protos((1, 58)) for e in sets[:6]]
        sets += [e & ~sp.protos((6, 17, 1, 58)) for e in sets[:4]]
        for u in sets:
            if u == sp.false:
                continue
            for prefer in ({}, {"proto": 17, "dport": 53}):
                got = sp._head_fast(u, dict(prefer))
                want = sp._head_slow(u, dict(prefer))
                checked += 1
                if got is not None:
                    fast += 1
                    assert got[:5] == want[:5] and got[5] == want[5], (got[:5], want[:5])
                    assert got[6] == want[6]
                ex = sp.example(u, dict(prefer))
                assert sp.contains(u, ex)
    assert checked > 100 and fast > checked // 2
