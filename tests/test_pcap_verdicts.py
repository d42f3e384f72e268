"""Flow verdicts: the bundled captures yield exactly their expected forbidden flows."""

from __future__ import annotations

import json

import pytest
from conftest import REPO, TOPOLOGIES

from segverify.capture.scapy_backend import read_file
from segverify.checks.flows import flow_findings, iso_ns
from segverify.flows.model import Accounting, Flow, FlowTable
from segverify.topology.loader import load_topology

EXPECTED = sorted(
    p.name[: -len(".expected.json")] for p in (REPO / "captures").glob("*.expected.json")
)
DATA_FIELDS = {
    "src", "dst", "src_zone", "dst_zone", "src_node", "dst_node", "src_role", "dst_role", "proto",
    "proto_number", "sport", "dport", "packets_fwd", "packets_rev", "bytes_fwd", "bytes_rev",
    "first_seen", "last_seen", "first_frame", "file", "vlan", "tcp_flags", "community_id", "names",
    "tunnel", "established",
}  # fmt: skip


@pytest.fixture(scope="module")
def alpha():  # noqa: ANN201
    return load_topology(TOPOLOGIES / "alpha.yaml")


@pytest.mark.parametrize("name", EXPECTED)
def test_bundled_capture_findings_exact(alpha, name: str) -> None:  # noqa: ANN001
    expected = json.loads((REPO / "captures" / f"{name}.expected.json").read_text("utf-8"))
    report = flow_findings(read_file(str(REPO / "captures" / name)), alpha, backend="scapy")
    got = sorted(
        (f.data["src"], f.data["dst"], f.data["proto"], f.data["dport"], f.rule)
        for f in report.findings
    )
    want = sorted((e["src"], e["dst"], e["proto"], e["dport"], e["rule"]) for e in expected)
    assert got == want


def test_finding_fields_and_summary(alpha) -> None:  # noqa: ANN001
    report = flow_findings(
        read_file(str(REPO / "captures" / "alpha-violations.pcap")), alpha, "scapy"
    )
    assert report.command == "pcap" and not report.incomplete and report.exit_code() == 1
    for f in report.findings:
        assert f.kind == "flow"
        assert f.severity == ("error" if f.data["state"] == "leak" else "warning")
        assert set(f.data) >= DATA_FIELDS
        assert f.message and f.message_ja and f.remedy and f.remedy_ja and f.clauses
    r1 = next(f for f in report.findings if f.rule == "R1")
    assert r1.data["src_zone"] == "mynumber" and r1.data["dst_zone"] == "internet"
    assert r1.data["names"] == ["update.example.com"] and r1.data["established"] is True
    assert "マイナンバー利用事務系" in r1.message_ja
    r4 = next(f for f in report.findings if f.rule == "R4")
    assert r4.data["established"] is False and r4.data["dst_node"] == "chukan-server"
    assert r4.data["packets_rev"] == 0 and "no answer" in r4.message
    s = report.summary
    assert s["records"] == 111 and s["analysed"] == 111 and s["flows"] == 17
    assert s["forbidden_flows"] == 5 and s["backend"] == "scapy" and s["files"] == 1
    assert s["records"] == sum(
        s[b] for b in ("analysed", "non_ip", "unsupported_link", "malformed", "truncated")
    )


def test_incomplete_capture_says_why(alpha) -> None:  # noqa: ANN001
    report = flow_findings(read_file(str(REPO / "captures" / "alpha-incomplete.pcap")), alpha)
    assert report.findings == () and report.incomplete and report.exit_code() == 3
    assert report.summary["truncated"] == 1 and report.summary["non_ip"] == 1
    assert any("snap length" in w.message for w in report.warnings)


def test_hostile_names_stay_data(alpha) -> None:  # noqa: ANN001
    report = flow_findings(read_file(str(REPO / "captures" / "hostile-names.pcap")), alpha)
    names = [n for f in report.findings for n in f.data["names"]]
    assert "=cmd|' /C calc'!A0" in names and any("\n" in n for n in names)
    assert any("<script>" in n for n in names)
    for f in report.findings:  # names never reach the message text
        assert all(n not in f.message and n not in f.message_ja for n in f.data["names"])


def test_fqdn_allow_list_uses_flow_names() -> None:
    topo = load_topology(TOPOLOGIES / "alpha.yaml")
    from dataclasses import replace

    from segverify.topology.model import AllowRule, Selector, ServiceSpec

    saas = AllowRule(
        id="lbo-saas",
        src=Selector(tier="lgwan"),
        dst=Selector(tier="internet"),
        services=(ServiceSpec(6),),
        fqdns=("*.saas.example",),
        fqdn_required=True,
        rule="R5",
    )
    topo = replace(topo, policy=replace(topo.policy, allow=(*topo.policy.allow, saas)))

    def flow(names: tuple[str, ...]) -> Flow:
        return Flow(
            "198.18.20.150",
            "192.0.2.9",
            6,
            50000,
            443,
            3,
            180,
            2,
            120,
            10**18,
            10**18 + 5,
            1,
            "x.pcap",
            names=names,
        )

    table = FlowTable(
        [flow(("app.saas.example",)), flow(("evil.example",))],
        Accounting(records=5, analysed=5, files=1),
    )
    report = flow_findings(table, topo)
    assert len(report.findings) == 1
    assert (
        report.findings[0].rule == "R5" and report.findings[0].data["reason"] == "fqdn-not-allowed"
    )


def test_iso_timestamps() -> None:
    assert iso_ns(1_775_034_000_000_000_123) == "2026-04-01T09:00:00.000000123Z"
