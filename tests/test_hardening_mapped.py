"""IPv4-mapped IPv6 addresses (issue 13 item 5): ``::ffff:a.b.c.d`` classifies as a.b.c.d in
explain and in policy evaluation; a flow mixing address families is bad input (exit 2)."""

from __future__ import annotations

import ipaddress
import json

import pytest
from click.testing import CliRunner

from segverify.checks.policy import PolicyEvaluator, canonical_ip
from segverify.cli.main import cli
from segverify.errors import InputError
from segverify.topology.loader import load_topology
from segverify.topology.model import MODELS
from tests.conftest import TOPOLOGIES

ALPHA = str(TOPOLOGIES / "alpha.yaml")


def mapped(v4: str) -> str:
    return f"::ffff:{v4}"


def explain(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["explain", "-t", ALPHA, *args, "--format", "json"])
    return result.exit_code, result.stdout, result.stderr


def test_explain_mapped_is_the_ipv4_verdict() -> None:
    """The issue's case: the IPv4 form is forbidden by R1, the mapped form said allowed."""
    v4 = explain("--src", "198.18.10.10", "--dst", "203.0.113.77", "--dport", "443")
    v6 = explain("--src", mapped("198.18.10.10"), "--dst", mapped("203.0.113.77"), "--dport", "443")
    assert v4[0] == 1 and v6[0] == 1
    a, b = json.loads(v4[1]), json.loads(v6[1])
    assert b["allowed"] is False and b["rule"] == "R1"
    assert a == b  # same zones, nodes, rule, clauses, addresses in canonical form


def test_explain_hex_spelling_of_a_mapped_address() -> None:
    code, out, _ = explain("--src", "::ffff:c612:a0a", "--dst", "203.0.113.77")
    assert code == 1 and json.loads(out)["src"]["zone"] == "mynumber"


@pytest.mark.parametrize(
    ("src", "dst"),
    [
        ("198.18.10.10", "2001:db8:30::5"),
        (mapped("198.18.10.10"), "2001:db8:30::5"),
        ("2001:db8:10::5", "203.0.113.77"),
    ],
)
def test_explain_mixed_families_is_bad_input(src: str, dst: str) -> None:
    code, out, err = explain("--src", src, "--dst", dst)
    assert code == 2 and not out
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "a flow has one address family" in lines[0], err
    assert lines[0].startswith("segverify: source ")


@pytest.mark.parametrize("model", MODELS)
def test_every_preset_mapped_equals_ipv4(model: str) -> None:
    """Every node address and the first/last address of every prefix, all ordered pairs."""
    topo = load_topology(TOPOLOGIES / f"{model}.yaml")
    addrs: list[str] = ["203.0.113.250", "192.0.2.1"]
    for z in topo.zones.values():
        for p in z.prefixes:
            if p.version == 4:
                addrs += [str(p.network_address), str(p.broadcast_address)]
    for n in topo.nodes.values():
        addrs += [str(a.network_address) for a in n.addresses if a.version == 4]
    ev = PolicyEvaluator(topo)
    for s in addrs:
        for d in addrs:
            for proto, dport in ((6, 443), (17, 53), (1, None)):
                a = ev.evaluate(s, d, proto, dport)
                b = ev.evaluate(mapped(s), mapped(d), proto, dport)
                c = ev.evaluate(mapped(s), d, proto, dport)
                assert (a.allowed, a.decided_by, a.src, a.dst) == (
                    b.allowed,
                    b.decided_by,
                    b.src,
                    b.dst,
                ), (s, d)
                assert (c.allowed, c.decided_by) == (a.allowed, a.decided_by)


def test_prefix_selector_matches_mapped_address() -> None:
    topo = load_topology(ALPHA)
    rules = [r for r in topo.policy.allow if r.src.prefixes or r.dst.prefixes]
    ev = PolicyEvaluator(topo)
    for r in rules:
        for p in r.dst.prefixes:
            if p.version != 4:
                continue
            dst = str(p.network_address)
            for src_zone in topo.zones.values():
                for sp in src_zone.prefixes:
                    if sp.version != 4:
                        continue
                    src = str(sp.network_address + 1)
                    for spec in r.services:
                        port = spec.ports[0].lo if spec.ports else None
                        proto = spec.proto if spec.proto is not None else 6
                        a = ev.evaluate(src, dst, proto, port)
                        b = ev.evaluate(mapped(src), mapped(dst), proto, port)
                        assert (a.allowed, a.decided_by) == (b.allowed, b.decided_by)


def test_canonical_ip_leaves_other_ipv6_alone() -> None:
    assert canonical_ip("::ffff:198.18.10.10") == ipaddress.ip_address("198.18.10.10")
    assert canonical_ip("::198.18.10.10").version == 6  # IPv4-compatible: deprecated, not mapped
    assert canonical_ip("64:ff9b::c612:a0a").version == 6  # NAT64 stays IPv6
    assert canonical_ip("2001:db8::1").version == 6


def test_evaluator_refuses_mixed_families() -> None:
    ev = PolicyEvaluator(load_topology(ALPHA))
    with pytest.raises(InputError, match="one address family"):
        ev.evaluate("198.18.10.10", "2001:db8:30::5", 6, 443)


FW_RULES = """*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -s {src} -d {dst} -i eth0 -o eth1 -p tcp -m tcp --dport 443 -j ACCEPT
-A FORWARD -s {src2} -i eth0 -o eth2 -p udp -j ACCEPT
COMMIT
"""


def _firewall_pairs(tmp_path, vendor: str, **addrs: str) -> tuple[int, set, list[str]]:
    export = tmp_path / f"{vendor}.rules"
    export.write_text(FW_RULES.format(**addrs))
    result = CliRunner().invoke(
        cli,
        [
            "firewall",
            str(export),
            "-t",
            ALPHA,
            "--device",
            "fw-mynumber",
            "--vendor",
            vendor,
            "--no-shadow",
            "--format",
            "json",
        ],
    )
    doc = json.loads(result.stdout)
    permits = [f for f in doc["findings"] if f["kind"] == "firewall-permit"]
    pairs = {(f["src_zone"], f["dst_zone"], f["rule"]) for f in permits}
    return result.exit_code, pairs, [f["message"] for f in permits]


def test_header_space_engine_classifies_mapped_as_ipv4(tmp_path) -> None:
    """An ip6tables rule over ::ffff:a.b.c.d prefixes is judged as the same rule over a.b.c.d:
    the engine used to classify the mapped block as the internet zone (no finding)."""
    code4, v4, _ = _firewall_pairs(
        tmp_path, "iptables", src="198.18.10.0/24", dst="198.19.100.0/24", src2="198.18.10.0/25"
    )
    code6, v6, messages = _firewall_pairs(
        tmp_path,
        "ip6tables",
        src="::ffff:198.18.10.0/120",
        dst="::ffff:198.19.100.0/120",
        src2="::ffff:198.18.10.0/121",
    )
    assert code4 == code6 == 1
    assert v4 and v6 == v4
    assert ("mynumber", "lgwan-wan", "R1") in v6
    assert any("::ffff:198.18.10." in m for m in messages), messages  # dotted example address
