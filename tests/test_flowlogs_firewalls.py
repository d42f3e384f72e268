"""FortiGate (key=value syslog, FortiAnalyzer CSV) and PAN-OS (syslog CSV by position,
WebUI export by header) traffic-log readers, on samples written from the vendors'
published field lists (tests/data/flowlogs/), malformed lines included.

Every line is a header, a blank, a record that is not traffic, or a traffic record that is
read or reported with its line number; the totals reconcile. A denied / dropped / reset
session is an attempt the device stopped (``blocked_by_device``, not answered), never a
leak, even when the responder's packets were counted (PAN ``reset-both``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from segverify.checks.flows import flow_findings
from segverify.flowlogs import read_flow_log
from segverify.flowlogs.model import FlowLogTable
from segverify.topology.loader import load_topology

DATA = Path(__file__).parent / "data" / "flowlogs"
ALPHA = Path(__file__).resolve().parents[1] / "topologies" / "alpha.yaml"

# file → (format, lines, header, blank, other, analysed, {malformed line: words in message})
SAMPLES = {
    "fortigate-traffic.log": ("fortigate-kv", 14, 0, 1, 1, 6, {
        7: "without srcip", 8: "198.18.20.999", 9: "srcport 'abc'", 10: "unbalanced quotes",
        11: "no type= field", 12: "without srcport/dstport"}),
    "fortianalyzer-traffic.csv": ("fortigate-csv", 9, 1, 1, 1, 4, {
        5: "13 cells where the header names 28", 8: "dstip 'not-an-ip'"}),
    "paloalto-traffic.csv": ("paloalto-csv", 13, 0, 1, 1, 7, {
        7: "9 fields", 8: "198.18.20.256", 9: "protocol 'xyz'", 10: "destination port '65536'"}),
    "paloalto-export.csv": ("paloalto-csv", 6, 1, 0, 1, 3, {5: "7 cells where the header names 25"}),
}  # fmt: skip


def _read(name: str) -> FlowLogTable:
    return read_flow_log(str(DATA / name))


@pytest.mark.parametrize("name", SAMPLES)
def test_every_line_accounted_and_malformed_lines_named(name: str) -> None:
    fmt, lines, header, blank, other, analysed, bad = SAMPLES[name]
    table = _read(name)
    acct, stats = table.accounting, table.stats
    assert table.formats == (fmt,)  # sniffed
    assert len((DATA / name).read_text().splitlines()) == lines == stats.lines
    assert (stats.header_lines, stats.blank_lines, stats.other_records) == (header, blank, other)
    assert (acct.analysed, acct.malformed) == (analysed, len(bad))
    assert (
        stats.lines == stats.header_lines + stats.blank_lines + stats.other_records + acct.records
    )
    assert acct.balanced()
    assert {p.line: p.message for p in table.problems}.keys() == bad.keys()
    for p in table.problems:
        assert bad[p.line] in p.message
        assert str(p).startswith(f"{DATA / name}:{p.line}: ")


@pytest.mark.parametrize(
    "name",
    [
        "fortigate-traffic.log",
        "fortianalyzer-traffic.csv",
        "paloalto-traffic.csv",
        "paloalto-export.csv",
    ],
)
def test_denied_attempt_and_allowed_leak_told_apart(name: str) -> None:
    """My Number host → internet denied by the firewall: an R1 attempt; in the logs that
    have it, an internet-zone PC reaching a web server directly (R3) is a leak."""
    table = _read(name)
    report = flow_findings(table, load_topology(str(ALPHA)))
    flow_rows = [f for f in report.findings if f.kind == "flow"]
    by_rule = {f.rule: f for f in flow_rows}
    r1 = by_rule["R1"]
    assert (r1.data["src"], r1.data["dst"], r1.data["dport"]) == ("198.18.10.50", "192.0.2.80", 443)
    flows = {(f.src, f.dst): f for f in table.flows}
    denied = flows[("198.18.10.50", "192.0.2.80")]
    assert denied.blocked_by_device and not denied.answered and denied.action == "deny"
    assert r1.data["state"] == "attempt"  # the verdict stage reads the answered column
    if ("198.18.30.101", "198.51.100.20") in flows:
        leak = flows[("198.18.30.101", "198.51.100.20")]
        assert leak.answered and not leak.blocked_by_device
        assert by_rule["R3"].data["state"] == "leak"
    rdp = flows[("198.18.20.150", "198.18.30.40")]  # screen transfer: allowed, answered
    assert rdp.answered and not rdp.blocked_by_device
    assert (rdp.packets_fwd, rdp.packets_rev, rdp.bytes_fwd, rdp.bytes_rev) == (40, 60, 5200, 48000)
    assert not [f for f in flow_rows if f.data["dport"] == 3389]


def test_reset_by_the_firewall_is_an_attempt_though_packets_came_back() -> None:
    flows = {(f.src, f.dport): f for f in _read("paloalto-traffic.csv").flows}
    reset = flows[("198.18.20.150", 445)]
    assert reset.packets_rev == 2 and reset.action == "reset-both"
    assert reset.blocked_by_device and not reset.answered
    assert reset.log_state == "policy-deny"
    table = _read("paloalto-traffic.csv")
    i = next(i for i, f in enumerate(table.flows) if f.dport == 445)
    assert table.blocked[i] and not table.columns.answered[i]  # the columns say it too
    report = flow_findings(table, load_topology(str(ALPHA)))
    (r2,) = [f for f in report.findings if f.kind == "flow" and f.data["dport"] == 445]
    assert (r2.rule, r2.data["state"]) == ("R2", "attempt")


@pytest.mark.parametrize("name", ["fortigate-traffic.log", "paloalto-traffic.csv"])
def test_a_session_logged_twice_counts_once(name: str) -> None:
    """An interim/start record and the end record of one session: the later one counts."""
    table = _read(name)
    assert table.stats.superseded == 1
    (flow,) = [f for f in table.flows if f.dst == "198.51.100.20"]
    assert (flow.packets_fwd, flow.packets_rev, flow.bytes_fwd, flow.bytes_rev) == (
        12,
        10,
        2400,
        18000,
    )


def test_fortigate_times_and_evidence() -> None:
    flows = {f.dst: f for f in _read("fortigate-traffic.log").flows}
    # eventtime in ns, µs and s (FortiOS versions differ); close logged after 125 s
    assert flows["198.18.30.40"].first_ns == 1775034000_123456789 - 12 * 10**9
    assert flows["198.51.100.20"].first_ns == 1775034122_000000000 - 125 * 10**9
    assert flows["203.0.113.53"].last_ns == 1775034123_000000000
    # date/time with tz="+0900" and no eventtime
    assert flows["198.18.20.25"].last_ns == 1775034004_000000000
    assert flows["198.18.20.25"].proto == 1
    assert (flows["198.18.20.25"].sport, flows["198.18.20.25"].dport) == (8, 0)  # echo request
    assert flows["198.51.100.20"].names == ("update.example.com",)


def test_fortianalyzer_csv_keeps_untrusted_names_verbatim() -> None:
    flows = {f.dst: f for f in _read("fortianalyzer-traffic.csv").flows}
    assert flows["198.51.100.20"].names == ('update.example.com, "quoted"',)
    assert flows["2001:db8:30::60"].blocked_by_device


def test_paloalto_icmp_has_no_ports_and_ipv6_is_read() -> None:
    flows = {f.dst: f for f in _read("paloalto-traffic.csv").flows}
    assert (flows["198.18.20.25"].proto, flows["198.18.20.25"].sport) == (1, None)
    export = {f.dst: f for f in _read("paloalto-export.csv").flows}
    assert export["2001:db8::80"].packets == 8


def test_unreadable_records_as_catalogue_warnings_in_both_languages() -> None:
    from segverify.i18n import t

    table = _read("fortigate-traffic.log")
    keys = table.warning_keys(limit=4)
    assert [k for k, _ in keys] == ["flowlog.warn.problem"] * 4 + [
        "flowlog.warn.more",
        "flowlog.warn.superseded",
    ]
    en = [t(k, "en", **p) for k, p in keys]
    ja = [t(k, "ja", **p) for k, p in keys]
    assert en[0] == f"{DATA / 'fortigate-traffic.log'}:7: traffic line without srcip"
    # the reader's message is a catalogue message too: Japanese with the file and line kept
    assert ja[0].startswith("読めないレコード: ") and ja[0].endswith(
        ":7: srcip のないトラフィック行"
    )
    assert en[4] == "… and 2 more unreadable record(s)" and "2 件" in ja[4]
    assert "1 record(s) replaced" in en[5] and "置き換え" in ja[5]
