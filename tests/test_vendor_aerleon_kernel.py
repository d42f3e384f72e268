"""aerleon's iptables and nftables renderings in the kernel: segverify's verdicts = netfilter's.

The three-tier policies of tests/test_vendor_aerleon_oracle.py (security-cloud egress clean
and with a leak and a shadowed rule on alpha's fw-inet, the My Number exceptions with a
leak on fw-mynumber, the sanitiser exceptions with a leak on fw-split) are rendered by
aerleon to iptables (``speedway``) and nftables, wrapped into whole exports, loaded with
``iptables-restore`` and ``nft -f`` into a firewall namespace whose interfaces and
addresses are the topology node's (tests/netns_lab.py), and probed from the namespaces
behind each interface: TCP, UDP and ICMP echo for every service of the policies (and
neighbouring ports) between every pair of hosts on different interfaces, and to the
firewall itself. The hosts are the policies' named addresses, other hosts of the same
zones, external hosts routed behind the security cloud's link, and the example packets of
segverify's findings. Required, per policy and rendering:

- every probe: the kernel's verdict (arrived or not) = segverify's ``--test-flow`` decision
  on the export, and on the export the kernel lists back (``iptables-save``,
  ``nft list ruleset``);
- forbidden permits: the zone pairs of the probes the kernel let through and the topology's
  policy forbids = the zone pairs of segverify's forbidden-permit findings; each finding's
  example packet gets through the kernel; each leaking probe is decided by a reported rule;
- shadowed rules: the terms whose kernel counters stayed at zero over all the probes
  (iptables' per-rule counters; nftables ``counter`` statements that aerleon renders) =
  the terms segverify reports shadowed.

The addresses (alpha's example plan) lie in 198.18.0.0/15 and TEST-NET-2/3, inside the
namespaces only.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner

from segverify.checks.firewall_flow import decide_flow
from segverify.checks.policy import PolicyEvaluator
from segverify.cli.main import cli
from segverify.engine.analysis import build_analysis
from segverify.firewall.registry import parse_export
from segverify.topology.loader import load_topology
from tests.netns_lab import Lab, Side, key_of, need_lab, running
from tests.test_vendor_aerleon_oracle import (
    NODE_ADDR,
    POLICIES,
    _as_iptables_save,
    _render,
    _topology,
    _verdicts,
    _wrap_nft,
)

# hosts behind each interface besides the firewall's own address: the policies' named
# addresses, other hosts of the zone, and (behind fw-inet's eth1) the internet beyond the
# security cloud's link (routed by the firewall via the first on-link host)
HOSTS = {
    "fw-inet": {
        "eth0": ("198.18.30.25", "198.18.30.10", "198.18.30.30"),
        "eth1": ("203.0.113.10", "203.0.113.25", "203.0.113.53", "203.0.113.40",
                 "203.0.113.200", "198.51.100.10"),
    },
    "fw-mynumber": {
        "eth0": ("198.18.10.10", "198.18.10.20", "198.18.10.50"),
        "eth1": ("198.19.100.50", "198.19.100.10", "198.18.20.25"),
        "eth2": ("198.19.110.10", "198.19.110.20"),
    },
    "fw-split": {
        "eth0": ("198.18.20.25", "198.18.20.30", "198.18.20.130"),
        "eth1": ("198.18.30.30", "198.18.30.25", "198.18.30.10"),
    },
}  # fmt: skip
# (protocol, port) probed between every pair of hosts: the policies' services and their
# neighbours; ICMP as type << 8 (echo request)
SERVICES = (
    (6, 8080), (6, 25), (6, 587), (6, 443), (6, 700), (6, 701), (6, 702), (6, 80),
    (17, 53), (17, 443), (1, 8 << 8),
)  # fmt: skip
KINDS = ("iptables", "nft")


def _term(rule_context: str) -> str:
    """The aerleon term behind a rule: speedway's chain ``F_<term>``, nftables' chain
    ``<term>`` (each jumped to from the base chain)."""
    return re.sub(r"^F_", "", rule_context.rsplit(">", 1)[-1])


@dataclass
class Run:
    """One policy in one rendering, probed in the kernel."""

    permits: set  # segverify: (term, src zone, dst zone) of the forbidden-permit findings
    shadowed: set  # segverify: shadowed terms
    examples: list[dict] = field(default_factory=list)  # the findings' example packets
    mismatches: list[str] = field(default_factory=list)
    relisted: list[str] = field(default_factory=list)  # verdicts that differ on the listing
    kernel_pairs: set = field(default_factory=set)  # zone pairs of leaking probes
    leak_terms: set = field(default_factory=set)  # terms deciding leaking probes (engine)
    examples_dropped: list[dict] = field(default_factory=list)
    zero_terms: set = field(default_factory=set)  # terms whose kernel counter stayed 0
    terms: set = field(default_factory=set)
    sanctioned: set = field(default_factory=set)  # (src, dst, proto, dport) let through, allowed
    compared: int = 0
    accepted: int = 0


def _export(kind: str, policy: str, counter: bool = False) -> str:
    node, sections, _, _ = POLICIES[policy]
    if kind == "iptables":
        return _as_iptables_save(_render("speedway", node, sections))
    return _wrap_nft(_render("nftables", node, sections, counter))


def _findings(path: Path, kind: str, node: str) -> tuple[set, set, list[dict]]:
    permits, shadowed, _ = _verdicts(path, kind, node)
    # the example packets (with their interfaces) from the same JSON report
    args = ["firewall", str(path), "-t", _topology(node, path.parent), "--device", node]
    res = CliRunner().invoke(cli, args + ["--vendor", kind, "--format", "json"])
    doc = json.loads(res.output)
    examples = [f["example"] for f in doc["findings"] if f["kind"] == "firewall-permit"]
    return permits, shadowed, examples


def _probes(node: str, extra: dict[str, set[str]], counter: list[int]) -> list[dict]:
    hosts = {i: sorted(set(HOSTS[node][i]) | extra.get(i, set())) for i in NODE_ADDR[node]}
    out = []
    for a in hosts:
        for b in hosts:
            dsts = hosts[b] if a != b else [str(ipaddress.ip_interface(NODE_ADDR[node][a]).ip)]
            for src in hosts[a]:
                for dst in dsts:
                    for proto, port in SERVICES:
                        counter[0] += 1
                        out.append(
                            {"side": a, "src": src, "dst": dst, "proto": proto,
                             "sport": 20000 + counter[0], "dport": port}
                        )  # fmt: skip
    return out


def _counters(lab: Lab, kind: str) -> dict[str, int]:
    """Packets each term's rule matched in the kernel."""
    out: dict[str, int] = {}
    if kind == "iptables":
        text = lab.listing_cmd("iptables-save", "-c")
        for m in re.finditer(r"(?m)^\[(\d+):\d+\] -A F_(\S+) ", text):
            out[m.group(2)] = out.get(m.group(2), 0) + int(m.group(1))
        return out
    doc = json.loads(lab.listing_cmd("nft", "-j", "list", "table", "ip", "filtering_policies"))
    for item in doc["nftables"]:
        rule = item.get("rule")
        if not rule:
            continue
        for expr in rule["expr"]:
            if "counter" in expr:
                out[rule["chain"]] = out.get(rule["chain"], 0) + int(expr["counter"]["packets"])
    return out


def _decide(analysis, p: dict) -> tuple[bool, str, str, str]:
    """segverify's verdict on a probe: accepted, the deciding term, the path (forward or
    input) and the input interface it puts the packet on."""
    decisions = decide_flow(analysis, p["src"], p["dst"], p["proto"], p["dport"])
    assert len(decisions) == 1, (p, decisions)
    d = decisions[0]
    rule = d.deciding.rule if d.deciding is not None else None
    term = _term(rule.origin.context) if rule is not None and rule.origin.context else ""
    return d.action == "accept", term, d.path, d.packet.in_interface


def _run(lab: Lab, tmp: Path, policy: str, kind: str, counter: list[int]) -> Run:
    node = POLICIES[policy][0]
    path = tmp / f"{policy}.{kind}"
    path.write_text(_export(kind, policy))
    permits, shadowed, examples = _findings(path, kind, node)
    run = Run(permits, shadowed, examples)
    topology = load_topology(_topology(node, tmp))
    analysis = build_analysis(topology, parse_export(str(path), kind, topology, node), node)
    # the kernel gets the same export (nftables: with a counter on every term)
    lab.load([(kind, path.read_text() if kind == "iptables" else _export(kind, policy, True))])
    listed = tmp / f"{policy}.listed.{kind}"
    listed.write_text(lab.listing_cmd("iptables-save") if kind == "iptables" else lab.listing())
    relisted = build_analysis(topology, parse_export(str(listed), kind, topology, node), node)
    extra: dict[str, set[str]] = {}
    for ex in examples:
        extra.setdefault(ex["in_interface"], set()).add(ex["src"])
        extra.setdefault(ex["out_interface"], set()).add(ex["dst"])
    probes = _probes(node, extra, counter)
    for ex in examples:
        counter[0] += 1
        probes.append(
            {"side": ex["in_interface"], "src": ex["src"], "dst": ex["dst"],
             "proto": ex["proto"], "sport": 20000 + counter[0], "dport": ex["dport"],
             "example": True}
        )  # fmt: skip
    seen = lab.probe(probes)
    policy_eval = PolicyEvaluator(topology)
    for p in probes:
        kernel = key_of(p) in seen
        engine, term, path, iface = _decide(analysis, p)
        again = _decide(relisted, p)[0]
        run.compared += 1
        run.accepted += kernel
        if kernel != engine:
            run.mismatches.append(f"{p}: kernel={kernel} segverify={engine} by {term!r}")
        if again != engine:
            run.relisted.append(f"{p}: export={engine} listing={again}")
        if p["side"] != iface:
            run.mismatches.append(f"{p}: segverify puts it on {iface}, the lab on {p['side']}")
        if p.get("example") and not kernel:
            run.examples_dropped.append(p)
        verdict = policy_eval.evaluate(p["src"], p["dst"], p["proto"], p["dport"])
        if kernel and not verdict.allowed and path == "forward":
            run.kernel_pairs.add((verdict.src.zone, verdict.dst.zone))
            run.leak_terms.add(term)
        if kernel and verdict.allowed and path == "forward":
            run.sanctioned.add((p["src"], p["dst"], p["proto"], p["dport"]))
    counts = _counters(lab, kind)
    run.terms = set(counts)
    run.zero_terms = {t for t, n in counts.items() if n == 0}
    print(
        f"aerleon kernel {policy} {kind}: {run.compared} probes, {run.accepted} accepted, "
        f"leaking zone pairs {sorted(run.kernel_pairs)}, zero-counter terms {sorted(run.zero_terms)}"
    )
    return run


LAB_SPACE = tuple(
    ipaddress.ip_network(n)
    for n in ("198.18.0.0/15", "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")
)


def _lab_space(addr: str) -> ipaddress.IPv4Network:
    """The lab range (198.18.0.0/15 or a TEST-NET) holding ``addr``; fails if none does."""
    ip = ipaddress.ip_interface(addr).ip
    found = [n for n in LAB_SPACE if ip in n]
    assert found, f"{addr} is outside 198.18.0.0/15 and the TEST-NETs"
    return found[0]


@pytest.fixture(scope="module")
def kernel_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Run]:
    need_lab("iptables-restore", "iptables-save")
    tmp = tmp_path_factory.mktemp("aerleon-kernel")
    counter = [0]
    runs: dict[tuple[str, str], Run] = {}
    for node in sorted({v[0] for v in POLICIES.values()}):
        # the findings' example packets can name hosts HOSTS lacks: add them up front
        extra: dict[str, set[str]] = {i: set() for i in NODE_ADDR[node]}
        for policy in (p for p, v in POLICIES.items() if v[0] == node):
            for kind in KINDS:
                path = tmp / f"pre-{policy}.{kind}"
                path.write_text(_export(kind, policy))
                for ex in _findings(path, kind, node)[2]:
                    extra[ex["in_interface"]].add(ex["src"])
                    extra[ex["out_interface"]].add(ex["dst"])
        sides = {
            i: Side(i, (addr,), tuple(sorted(set(HOSTS[node][i]) | extra[i])))
            for i, addr in NODE_ADDR[node].items()
        }
        # every address of the lab is alpha's example plan: 198.18.0.0/15 or a TEST-NET
        for side in sides.values():
            assert ipaddress.ip_interface(side.fw[0]).network.subnet_of(_lab_space(side.fw[0]))
            for h in side.hosts:
                assert ipaddress.ip_address(h) in _lab_space(h), h
        with running(sides, "svae") as lab:
            for policy in (p for p, v in POLICIES.items() if v[0] == node):
                for kind in KINDS:
                    runs[(policy, kind)] = _run(lab, tmp, policy, kind, counter)
    return runs


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_kernel_verdicts_equal_segverify(policy: str, kind: str, kernel_runs) -> None:
    run = kernel_runs[(policy, kind)]
    assert run.compared >= 100
    # both verdicts occur, or the comparison proves little
    assert 0 < run.accepted < run.compared, run.accepted
    assert not run.mismatches, "\n".join(run.mismatches[:20])
    assert not run.relisted, "\n".join(run.relisted[:20])


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_kernel_forbidden_permits_equal_segverify(policy: str, kind: str, kernel_runs) -> None:
    run = kernel_runs[(policy, kind)]
    forbidden = POLICIES[policy][2]
    assert {t for t, _, _ in run.permits} == forbidden
    assert run.kernel_pairs == {(a, b) for _, a, b in run.permits}
    assert run.leak_terms == forbidden
    assert len(run.examples) == len(run.permits)
    assert not run.examples_dropped, run.examples_dropped


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_kernel_counters_confirm_shadowed(policy: str, kind: str, kernel_runs) -> None:
    run = kernel_runs[(policy, kind)]
    terms = {t["name"] for _, _, ts in POLICIES[policy][1] for t in ts}
    assert run.terms == terms  # every term has a counted rule in the kernel
    assert run.shadowed == POLICIES[policy][3]
    assert run.zero_terms == run.shadowed


# flows the policies exist for: the kernel lets them through and the topology allows them
SANCTIONED = {
    "sanitiser-exceptions-and-leak": {
        ("198.18.20.25", "198.18.30.30", 6, 25),  # LGWAN mail → sanitiser
        ("198.18.20.25", "198.18.30.30", 6, 587),
        ("198.18.30.30", "198.18.20.25", 6, 25),  # sanitiser → LGWAN mail
    },
    "security-cloud-egress-clean": {
        ("198.18.30.25", "203.0.113.10", 6, 8080),  # proxy via the security cloud
        ("198.18.30.10", "203.0.113.10", 6, 8080),
        ("198.18.30.25", "203.0.113.25", 6, 25),  # mail relay
    },
    "mynumber-exceptions-and-leak": {
        ("198.18.10.10", "198.19.100.50", 6, 443),  # 団体内統合宛名 → 中間サーバー
        ("198.18.10.20", "198.19.110.10", 6, 700),  # 住基 CS → 住基ネット
        ("198.18.10.20", "198.19.110.10", 6, 701),
    },
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("policy", sorted(SANCTIONED))
def test_kernel_passes_the_sanctioned_exceptions(policy: str, kind: str, kernel_runs) -> None:
    assert SANCTIONED[policy] <= kernel_runs[(policy, kind)].sanctioned
