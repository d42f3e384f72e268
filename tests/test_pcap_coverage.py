"""Coverage, never silence: undeclared internal addresses, --strict, runs that analysed
nothing, and the counts every run reports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from capgen import header_only_pcap, tcp_flow, udp_packet, write_pcap
from conftest import REPO, TOPOLOGIES

from segverify.checks.addrclass import AddressClassifier
from segverify.checks.policy import AddressIndex
from segverify.topology.loader import load_topology

ALPHA = str(TOPOLOGIES / "alpha.yaml")
PATHS = sorted(TOPOLOGIES.glob("*.yaml")) + sorted((TOPOLOGIES / "examples").glob("*.yaml"))


def run(cmd: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "segverify", cmd, *args, "--no-progress"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )


def test_undeclared_private_addresses_are_never_clean(tmp_path: Path) -> None:
    # two RFC 1918 hosts no zone declares talk to each other: the old code called them
    # "internet" both, found nothing forbidden and exited 0
    pcap = write_pcap(
        tmp_path / "p.pcap",
        tcp_flow("10.40.1.5", "10.40.1.6", 40000, 445)
        + udp_packet("10.40.1.5", "172.16.9.9", 5, 53),
    )
    proc = run("pcap", pcap, "-t", ALPHA, "--format", "json")
    assert proc.returncode == 3, proc.stdout + proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["incomplete"] is True
    cov = doc["summary"]["coverage"]
    assert cov["addresses"] == {
        "total": 3, "node": 0, "prefix": 0, "none": 3, "undeclared_internal": 3,
    }  # fmt: skip
    assert cov["flows"]["undeclared_internal"] == 2
    [finding] = [f for f in doc["findings"] if f["kind"] == "coverage"]
    assert finding["rule"] == "undeclared-internal" and finding["severity"] == "warning"
    assert finding["range"] == "RFC 1918" and finding["addresses"] == 3
    assert finding["examples"][:2] == ["10.40.1.5", "10.40.1.6"]
    assert any("undeclared internal" in w["message"] for w in doc["warnings"])
    text = run("pcap", pcap, "-t", ALPHA)
    assert text.returncode == 3
    assert "Undeclared internal address (RFC 1918)" in text.stdout
    assert "No forbidden flows." in text.stdout and "INCOMPLETE" in text.stdout


def test_undeclared_address_in_a_forbidden_flow_is_named(tmp_path: Path) -> None:
    # a My Number host reaches an undeclared private host: R1 leak, and the message
    # says the destination's zone is a guess
    pcap = write_pcap(tmp_path / "p.pcap", tcp_flow("198.18.10.50", "10.40.1.5", 40000, 22))
    proc = run("pcap", pcap, "-t", ALPHA, "--format", "json")
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    flow = next(f for f in doc["findings"] if f["kind"] == "flow")
    assert flow["rule"] == "R1" and flow["dst_match"] == "none" and flow["state"] == "leak"
    assert "10.40.1.5 is in no declared zone" in flow["message"]
    assert "どの領域にも定義されていません" in flow["message_ja"]


def test_header_only_pcap_is_incomplete(tmp_path: Path) -> None:
    pcap = header_only_pcap(tmp_path / "empty.pcap")
    proc = run("pcap", pcap, "-t", ALPHA)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "no packet was analysed (0 record(s) read)" in proc.stdout
    ja = subprocess.run(
        [sys.executable, "-m", "segverify", "--lang", "ja", "pcap", pcap, "-t", ALPHA,
         "--no-progress"], capture_output=True, text=True, cwd=REPO, timeout=300,
    )  # fmt: skip
    assert ja.returncode == 3 and "分析したパケットがありません" in ja.stdout


def test_strict_makes_any_unmatched_address_incomplete(tmp_path: Path) -> None:
    # 198.20.0.1 lies outside every special range and every declared prefix
    pcap = write_pcap(tmp_path / "p.pcap", tcp_flow("203.0.113.10", "198.20.0.1", 3128, 443))
    assert run("pcap", pcap, "-t", ALPHA).returncode == 0
    proc = run("pcap", pcap, "-t", ALPHA, "--strict", "--format", "json")
    assert proc.returncode == 3
    doc = json.loads(proc.stdout)
    assert doc["summary"]["coverage"]["addresses"]["none"] == 1
    assert any("--strict: 1 address(es) in 1 flow(s)" in w["message"] for w in doc["warnings"])


def test_coverage_counts_on_a_bundled_capture() -> None:
    proc = run(
        "pcap", str(REPO / "captures" / "alpha-violations.pcap"), "-t", ALPHA, "--format", "json"
    )
    cov = json.loads(proc.stdout)["summary"]["coverage"]
    a = cov["addresses"]
    assert a["total"] == a["node"] + a["prefix"] + a["none"] and a["total"] == 18
    assert a["none"] == 0 and cov["flows"] == {
        "total": 17, "declared": 17, "unclassified": 0, "undeclared_internal": 0,
    }  # fmt: skip


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_vectorised_classes_agree_with_the_address_index(path: Path) -> None:
    """Zone, tier, node and role of every class equal AddressIndex's answer, on addresses
    around every boundary of the topology and random ones."""
    topo = load_topology(path)
    index = AddressIndex(topo)
    classifier = AddressClassifier(topo)
    rng = np.random.default_rng(7)
    addrs: list[str] = []
    import ipaddress

    for entry in index.entries:
        net = entry.network
        for value in (int(net.network_address), int(net.broadcast_address)):
            for delta in (-1, 0, 1):
                v = value + delta
                if 0 <= v < (1 << net.max_prefixlen):
                    addrs.append(
                        str(
                            ipaddress.ip_address(v)
                            if net.version == 4
                            else ipaddress.IPv6Address(v)
                        )
                    )
    addrs += [str(ipaddress.IPv4Address(int(x))) for x in rng.integers(0, 2**32, 300)]
    got = classifier.classify_text(addrs)
    for addr, cls in zip(addrs, got.tolist(), strict=True):
        c = classifier.classes[cls]
        e = index.classify(addr)
        assert (c.zone, c.tier, c.node, c.role) == (e.zone, e.tier, e.node, e.role), addr


def test_ipv4_mapped_ipv6_classifies_as_its_ipv4_address() -> None:
    topo = load_topology(TOPOLOGIES / "alpha.yaml")
    c = AddressClassifier(topo)
    v4, mapped = c.classify_text(["198.18.10.10", "::ffff:198.18.10.10"]).tolist()
    assert v4 == mapped and c.classes[v4].node == "atena-server"
    other = c.classify_text(["::198.18.10.10"])[0]  # IPv4-compatible: not mapped
    assert c.classes[other].zone == "internet"


def test_special_ranges_are_labelled() -> None:
    topo = load_topology(TOPOLOGIES / "alpha.yaml")
    c = AddressClassifier(topo)
    cases = {
        "10.1.2.3": "RFC 1918", "172.31.0.1": "RFC 1918", "192.168.1.1": "RFC 1918",
        "100.64.0.1": "RFC 6598", "198.19.200.1": "RFC 2544", "fd00::1": "RFC 4193",
        "2001:db8:5::1": "RFC 3849", "192.0.2.80": None, "8.8.4.4": None,
    }  # fmt: skip
    got = c.classify_text(list(cases))
    for (addr, label), cls in zip(cases.items(), got.tolist(), strict=True):
        klass = c.classes[cls]
        assert klass.special == label, addr
        assert klass.undeclared_internal == (label is not None), addr


def test_records_that_could_not_be_opened_make_the_run_incomplete() -> None:
    from segverify.checks.flows import analyse_table
    from segverify.flows.model import Accounting, FlowTable

    table = FlowTable([], Accounting(records=7, analysed=0, opaque=7, files=1))
    analysis = analyse_table(table, load_topology(TOPOLOGIES / "alpha.yaml"))
    assert analysis.exit_code() == 3
    texts = analysis.warning_texts("en")
    assert "7 record(s) may carry IP but could not be opened" in texts[0]
    assert any("no packet was analysed" in w for w in texts)
    assert "開けませんでした" in analysis.warning_texts("ja")[0]
