"""State: answered forbidden flows are leaks, unanswered ones attempts; --fail-on; the
lab captures behind a compliant and a leaky firewall give different verdicts; tunnel
outer flows get their own verdict; findings are grouped."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from capgen import gre, tcp_flow, write_pcap
from conftest import REPO, TOPOLOGIES

from segverify.capture.scapy_backend import read_file
from segverify.checks.flows import analyse_table
from segverify.lab.truth import load_truth
from segverify.topology.loader import load_topology

ALPHA = str(TOPOLOGIES / "alpha.yaml")
LAB = REPO / "captures" / "lab"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "segverify", "pcap", *args, "--no-progress"],
        capture_output=True, text=True, cwd=REPO, timeout=300,
    )  # fmt: skip


def lab(name: str) -> tuple[str, str]:
    pcap = LAB / f"{name}.pcap"
    if not pcap.exists():
        pytest.skip(f"{pcap} not generated (make captures, as root)")
    truth = json.loads((LAB / f"{name}.truth.json").read_text("utf-8"))
    preset = truth["ruleset"]["path"].split("/")[2]
    return str(pcap), str(TOPOLOGIES / "lab" / preset / "topology.yaml")


def test_compliant_and_leaky_firewalls_give_different_verdicts() -> None:
    stopped, topo = lab("alpha-violations")  # compliant ruleset: every violation dropped
    leaked, topo2 = lab("alpha-violations-leaky")  # one R3 flow let through
    a = json.loads(run(stopped, "-t", topo, "--format", "json").stdout)
    b = json.loads(run(leaked, "-t", topo2, "--format", "json").stdout)
    assert a["summary"]["forbidden_flows"] == b["summary"]["forbidden_flows"] == 15
    assert (a["summary"]["leaks"], a["summary"]["attempts"]) == (0, 15)
    assert (b["summary"]["leaks"], b["summary"]["attempts"]) == (1, 14)
    assert a["exit_code"] == 0 and b["exit_code"] == 1
    [leak] = [f for f in b["findings"] if f["state"] == "leak"]
    assert leak["rule"] == "R3" and leak["severity"] == "error" and leak["answered"] is True
    assert all(f["severity"] == "warning" for f in a["findings"])
    # --fail-on attempt: every forbidden flow fails
    assert run(stopped, "-t", topo, "--fail-on", "attempt").returncode == 1
    text = run(stopped, "-t", topo)
    assert text.returncode == 0 and "Forbidden flows: 15 (leaks 0, attempts 15)" in text.stdout


@pytest.mark.parametrize(
    "name", sorted(p.name[: -len(".truth.json")] for p in LAB.glob("*.truth.json"))
)
def test_lab_state_equals_what_the_kernel_let_through(name: str) -> None:
    pcap, topo = lab(name)
    truth = load_truth(LAB / f"{name}.truth.json")
    analysis = analyse_table(read_file(pcap), load_topology(topo))
    states = {}
    for f in analysis.iter_findings():
        d = f.data
        if f.kind == "flow":
            states[(d["src"], d["dst"], d["proto_number"], d["dport"])] = d["state"]
    want = {
        (f.src, f.dst, f.proto_number, f.dport if f.proto_number in (6, 17) else None):
        ("leak" if f.passed else "attempt")
        for f in truth.flows if not f.allowed
    }  # fmt: skip
    got = {k: v for k, v in states.items() if k[2] in (6, 17)}
    assert got == {k: v for k, v in want.items() if k[2] in (6, 17)}
    assert analysis.exit_code() == (1 if "leak" in want.values() else 0)


def test_refused_and_unanswered_flows_are_attempts(tmp_path: Path) -> None:
    pcap = write_pcap(
        tmp_path / "p.pcap",
        tcp_flow("198.18.20.150", "198.18.30.60", 40001, 445, answered=False)  # RST back
        + tcp_flow("198.18.20.150", "198.18.30.61", 40002, 445)[:1]  # SYN only
        + tcp_flow("198.18.20.150", "198.18.30.62", 40003, 445),  # handshake: leak
    )
    doc = json.loads(run(pcap, "-t", ALPHA, "--format", "json").stdout)
    got = {f["dst"]: (f["state"], f["conn_state"]) for f in doc["findings"]}
    assert got == {
        "198.18.30.60": ("attempt", "REJ"), "198.18.30.61": ("attempt", "S0"),
        "198.18.30.62": ("leak", "S1"),
    }  # fmt: skip
    assert doc["summary"]["leaks"] == 1 and doc["summary"]["attempts"] == 2
    assert doc["exit_code"] == 1


@pytest.mark.parametrize("backend", ["scapy", "fast"])
def test_tunnel_outer_flow_crossing_zones_gets_its_own_verdict(
    tmp_path: Path, backend: str
) -> None:
    # inner SMTP stays inside the LGWAN zone; the GRE packets carrying it go from the My
    # Number zone to the internet: R1 for the outer flow
    inner = tcp_flow("198.18.20.150", "198.18.20.25", 40000, 25)
    pcap = write_pcap(tmp_path / "gre.pcap", gre("198.18.10.50", "192.0.2.80", inner))
    proc = run(pcap, "-t", ALPHA, "--format", "json", "--backend", backend)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    doc = json.loads(proc.stdout)
    [outer] = doc["findings"]
    assert outer["tunnel_outer"] is True and outer["rule"] == "R1"
    assert (outer["src"], outer["dst"], outer["proto"]) == ("198.18.10.50", "192.0.2.80", "gre")
    assert outer["inner_flows"] == 1 and outer["state"] == "leak"
    assert doc["summary"]["forbidden_flows"] == 0 and doc["summary"]["tunnel_outer_forbidden"] == 1
    [group] = doc["groups"]
    assert group["tunnel_outer"] is True and group["example"]["src"] == "198.18.10.50"


def test_findings_are_grouped_by_rule_zone_pair_and_service(tmp_path: Path) -> None:
    packets = []
    for k in range(12):  # a scan: one inet host to 12 internet hosts on 445, 3 answer
        packets += tcp_flow("198.18.30.101", f"192.0.2.{10 + k}", 41000 + k, 445, answered=k < 3)[
            : 4 if k < 3 else 1
        ]
    packets += tcp_flow("198.18.30.101", "192.0.2.99", 42000, 443)  # R3 on 443: its own group
    packets += tcp_flow("198.18.20.150", "198.18.30.60", 42001, 445)  # R2
    pcap = write_pcap(tmp_path / "scan.pcap", packets)
    doc = json.loads(run(pcap, "-t", ALPHA, "--format", "json").stdout)
    assert len(doc["findings"]) == 14  # JSON keeps every flow
    groups = [(g["rule"], g["src_zone"], g["dst_zone"], g["proto"], g["dport"], g["flows"],
               g["leaks"], g["attempts"]) for g in doc["groups"]]  # fmt: skip
    assert groups == [
        ("R2", "lgwan", "inet", "tcp", 445, 1, 1, 0),
        ("R3", "inet", "internet", "tcp", 445, 12, 3, 9),
        ("R3", "inet", "internet", "tcp", 443, 1, 1, 0),
    ]
    scan = doc["groups"][1]
    assert scan["top_sources"] == [{"address": "198.18.30.101", "flows": 12}]
    assert len(scan["top_destinations"]) == 3 and scan["example"]["dst"] == "192.0.2.10"
    text = run(pcap, "-t", ALPHA, "--rows", "2").stdout
    assert "inet → internet  tcp/445  12 flow(s) (leaks 3, attempts 9)" in text
    assert "top sources: 198.18.30.101 (12)" in text
    assert "… 12 more forbidden flow(s) not listed" in text


def test_undeclared_tunnel_endpoints_are_not_silent(tmp_path: Path) -> None:
    # the GRE endpoints are undeclared RFC 1918 hosts; the inner flow is declared
    inner = tcp_flow("198.18.20.150", "198.18.20.25", 40000, 25)
    pcap = write_pcap(tmp_path / "gre.pcap", gre("10.7.7.1", "10.7.7.2", inner))
    proc = run(pcap, "-t", ALPHA, "--format", "json")
    assert proc.returncode == 3, proc.stdout + proc.stderr
    doc = json.loads(proc.stdout)
    cov = doc["summary"]["coverage"]
    assert cov["flows"]["total"] == 1 and cov["flows"]["unclassified"] == 0
    assert cov["addresses"]["undeclared_internal"] == 2
    [finding] = [f for f in doc["findings"] if f["kind"] == "coverage"]
    assert finding["examples"] == ["10.7.7.1", "10.7.7.2"]
    assert finding["evidence"][0].endswith("gre.pcap#1")


@pytest.mark.parametrize("backend", ["fast", "scapy"])
def test_6in4_crossing_zones_is_judged_on_the_outer_flow(tmp_path: Path, backend: str) -> None:
    # the inner IPv6 flow stays inside the LGWAN zone; its IPv4 carrier (protocol 41)
    # goes from the My Number zone to the internet
    from scapy.layers.inet import IP

    inner = tcp_flow("2001:db8:20::5", "2001:db8:20::6", 40000, 25)
    packets = [
        (IP(src="198.18.10.50", dst="192.0.2.80") if p.src == "2001:db8:20::5"
         else IP(src="192.0.2.80", dst="198.18.10.50")) / p
        for p in inner
    ]  # fmt: skip
    pcap = write_pcap(tmp_path / "6in4.pcap", packets)
    proc = run(pcap, "-t", ALPHA, "--format", "json", "--backend", backend)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    [outer] = json.loads(proc.stdout)["findings"]
    assert (outer["src"], outer["dst"], outer["proto"], outer["proto_number"]) == (
        "198.18.10.50", "192.0.2.80", "ipv6", 41,
    )  # fmt: skip
    assert outer["tunnel_outer"] is True and outer["rule"] == "R1"
