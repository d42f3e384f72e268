"""NetFlow v5/v9 and IPFIX exports and nfdump CSV, read into flows, compared with the capture.

Peer: Debian's softflowd reads each bundled capture and exports its flows (v5, v9, IPFIX)
to a UDP socket on 127.0.0.1; nfcapd collects the v9 export and nfdump prints it as CSV.
Reading the export gives the same flows as analysing the capture: endpoints, protocol,
ports, orientation and per-side packets, and the same forbidden flows. NetFlow v5 carries
IPv4 only, so IPv6 flows of a capture are absent from its v5 export (asserted).
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from test_flowlogs_support import (
    NFCAPD,
    NFDUMP,
    SOFTFLOWD,
    flow_key,
    nfcapd_collect,
    nfdump_csv,
    sll2_as_ethernet,
    softflowd_export,
)

from segverify.capture.fast import read_file
from segverify.checks.flows import flow_findings
from segverify.errors import InputError
from segverify.flowlogs import read_flow_log
from segverify.flowlogs.build import build_table
from segverify.flowlogs.netflow import read_datagrams
from segverify.lab.captures import load_manifest
from segverify.topology.loader import load_topology

REPO = Path(__file__).resolve().parents[1]
# the bundled captures (Ethernet); the lab captures are Linux SLL2, which softflowd cannot read
CAPTURES = sorted((REPO / "captures").glob("*.pcap")) + [
    REPO / "captures" / "alpha-violations.pcapng"
]
ALPHA = REPO / "topologies" / "alpha.yaml"
needs_softflowd = pytest.mark.skipif(
    SOFTFLOWD is None, reason="softflowd not installed (apt-get install softflowd)"
)
VERSIONS = (5, 9, 10)


def _view(flows: list, v4_only: bool = False) -> dict:
    return {
        flow_key(f): (f.src, f.sport, f.dst, f.dport, f.packets_fwd, f.packets_rev)
        for f in flows
        if not (v4_only and ":" in f.src)
    }


def _forbidden(table, topology) -> set:
    """Forbidden flows with the verdict stage's leak/attempt state."""
    report = flow_findings(table, topology)
    return {
        (f.data["src"], f.data["dst"], f.data["proto"], f.data["dport"], f.rule, f.data["state"])
        for f in report.findings
        if f.kind == "flow"
    }


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, int], list[bytes]]:
    if SOFTFLOWD is None:
        pytest.skip("softflowd not installed (apt-get install softflowd)")
    out = {}
    for capture in CAPTURES:
        for version in VERSIONS:
            work = tmp_path_factory.mktemp(f"sf-{capture.stem}-{version}")
            out[(capture.name, version)] = softflowd_export(capture, version, work)
    return out


@needs_softflowd
@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("capture", CAPTURES, ids=[c.name for c in CAPTURES])
def test_export_flows_equal_capture_flows(capture: Path, version: int, exports: dict) -> None:
    datagrams = exports[(capture.name, version)]
    assert datagrams, "softflowd exported nothing"
    table = build_table([read_datagrams(datagrams)])
    cap = read_file(str(capture))
    assert table.accounting.malformed == table.accounting.truncated == 0, table.problems
    assert table.accounting.records == table.accounting.analysed
    assert _view(table.flows) == _view(cap.flows, v4_only=version == 5)
    if version == 5:
        assert any(":" in f.src for f in cap.flows) == (capture.name != "hostile-names.pcap")


@needs_softflowd
@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("capture", CAPTURES, ids=[c.name for c in CAPTURES])
def test_export_verdicts_equal_capture_verdicts(capture: Path, version: int, exports: dict) -> None:
    topology = load_topology(str(ALPHA))
    table = build_table([read_datagrams(exports[(capture.name, version)])])
    cap = read_file(str(capture))
    expected = _forbidden(cap, topology)
    if version == 5:
        expected = {e for e in expected if ":" not in e[0]}
    assert _forbidden(table, topology) == expected


@needs_softflowd
@pytest.mark.parametrize("version", VERSIONS)
def test_export_file_and_pcap_of_export_read_alike(
    version: int, exports: dict, tmp_path: Path
) -> None:
    """The same datagrams as a collector's raw dump (sniffed) and as a capture of the
    export traffic on loopback give the same flows as the datagrams themselves."""
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether
    from scapy.utils import wrpcap

    datagrams = exports[("alpha-violations.pcap", version)]
    direct = build_table([read_datagrams(datagrams)])
    raw = tmp_path / "export.bin"
    raw.write_bytes(b"".join(datagrams))
    from_raw = read_flow_log(str(raw))
    assert from_raw.formats == ("netflow",)
    pcap = tmp_path / "export.pcap"
    wrpcap(str(pcap), [Ether() / IP(src="127.0.0.1", dst="127.0.0.1") / UDP(sport=40000, dport=2055) / d
                       for d in datagrams])  # fmt: skip
    from_pcap = read_flow_log(str(pcap), "netflow")
    with pytest.raises(InputError, match="a packet capture, not a flow log"):
        read_flow_log(str(pcap))  # auto: a capture belongs to the capture path
    assert _view(from_raw.flows) == _view(direct.flows) == _view(from_pcap.flows)
    assert from_raw.accounting.records == direct.accounting.records == from_pcap.accounting.records


@pytest.mark.skipif(
    None in (SOFTFLOWD, NFCAPD, NFDUMP),
    reason="softflowd, nfcapd or nfdump not installed (apt-get install softflowd nfdump)",
)
@pytest.mark.parametrize("capture", CAPTURES, ids=[c.name for c in CAPTURES])
def test_nfdump_csv_flows_equal_capture_flows(capture: Path, exports: dict, tmp_path: Path) -> None:
    nffile = nfcapd_collect(exports[(capture.name, 9)], tmp_path)
    csv_path = nfdump_csv(nffile, tmp_path / "flows.csv")
    table = read_flow_log(str(csv_path))
    assert table.formats == ("nfdump-csv",)
    assert table.accounting.malformed == 0, table.problems
    assert table.stats.other_records == 3  # the Summary block
    assert _view(table.flows) == _view(read_file(str(capture)).flows)
    assert _forbidden(table, load_topology(str(ALPHA))) == _forbidden(
        read_file(str(capture)), load_topology(str(ALPHA))
    )


@needs_softflowd
@pytest.mark.parametrize("capture", CAPTURES, ids=[c.name for c in CAPTURES])
def test_ipfix_biflows_equal_capture_flows(capture: Path, tmp_path: Path) -> None:
    """softflowd -b: one IPFIX record per connection with RFC 5103 reverse counters.
    softflowd puts the lower address first, not the initiator: the reader turns such
    records around (first side silent, answering ICMP, or the only port below 1024)."""
    table = build_table([read_datagrams(softflowd_export(capture, 10, tmp_path, ("-b",)))])
    cap = read_file(str(capture))
    assert table.accounting.malformed == 0
    assert _view(table.flows) == _view(cap.flows)
    topology = load_topology(str(ALPHA))
    assert _forbidden(table, topology) == _forbidden(cap, topology)


# --- damaged exports: every unreadable unit counted with its byte offset -------------------


def _v5(count: int, records: int) -> bytes:
    head = struct.pack("!HHIIIIBBH", 5, count, 1000, 1775034000, 0, 1, 0, 0, 0)
    rec = struct.pack("!4s4s4sHHIIIIHHBBBBHHBBH", bytes([198, 18, 20, 10]), bytes([192, 0, 2, 80]),
                      bytes(4), 0, 0, 3, 180, 900, 950, 50000, 443, 0, 2, 6, 0, 0, 0, 0, 0, 0)  # fmt: skip
    return head + rec * records


def test_v5_message_cut_short_counts_missing_records(tmp_path: Path) -> None:
    col = read_datagrams([_v5(3, 3), _v5(4, 2)])
    table = build_table([col])
    acct = table.accounting
    assert (acct.records, acct.analysed, acct.truncated) == (7, 5, 2)
    assert acct.balanced()
    (problem,) = table.problems
    assert problem.offset == len(_v5(3, 3)) + 24 + 2 * 48
    assert "says 4 records, holds 2" in problem.message
    (flow,) = table.flows
    assert flow.packets_fwd == 15 and flow.first_ns == 1775034000_000000000 - 100_000_000


def test_v9_data_before_template_and_unknown_version(tmp_path: Path) -> None:
    header = struct.pack("!HHIIII", 9, 1, 1000, 1775034000, 1, 0)
    data_set = struct.pack("!HH", 300, 8) + bytes(4)
    junk = struct.pack("!HH", 7, 0) + bytes(16)
    path = tmp_path / "export.bin"
    msg = header + data_set
    path.write_bytes(msg + _v5(1, 1))
    table = read_flow_log(str(path))
    assert table.formats == ("netflow",)
    assert [(p.offset, p.message) for p in table.problems] == [
        (24, "data set for template 300 before its template")
    ]
    assert (table.accounting.analysed, table.accounting.malformed) == (1, 1)
    table = build_table([read_datagrams([junk])])
    assert table.problems[0].message.startswith("not a NetFlow v5/v9 or IPFIX message (version 7)")


def test_raw_file_cut_inside_a_message(tmp_path: Path) -> None:
    path = tmp_path / "export.bin"
    path.write_bytes(_v5(1, 1) + _v5(2, 2)[:60])
    table = read_flow_log(str(path), "netflow")
    assert table.accounting.cut_short == [
        f"{path}: stopped at byte 72 (NetFlow/IPFIX v5 message cut short)"
    ]
    assert table.accounting.analysed == 1


# --- the lab captures: real kernel traffic behind compliant and leaky firewalls ------------

LAB = [e for e in load_manifest() if (REPO / "captures" / "lab" / f"{e.name}.pcap").is_file()]


@needs_softflowd
@pytest.mark.parametrize("entry", LAB, ids=lambda e: e.name)
def test_lab_export_tells_attempts_from_leaks_like_the_capture(entry, tmp_path: Path) -> None:
    """IPFIX of each lab capture (compliant: forbidden flows stopped; leaky: some got
    through): the same flows, the same forbidden flows and the same leak/attempt states
    as analysing the capture itself. One semantic difference: NetFlow/IPFIX carry no
    application names, so an α' flow allowed only by its TLS SNI / DNS name (an
    FQDN-restricted allow rule) cannot be shown allowed from the export: it is flagged
    ``fqdn-not-allowed`` (fail closed), and only such flows differ."""
    capture = REPO / "captures" / "lab" / f"{entry.name}.pcap"
    ethernet = sll2_as_ethernet(capture, tmp_path / "eth.pcap")
    table = build_table([read_datagrams(softflowd_export(ethernet, 10, tmp_path))])
    cap = read_file(str(capture))
    assert _view(table.flows) == _view(cap.flows)
    assert [f.answered for f in sorted(table.flows, key=flow_key)] == [
        f.answered for f in sorted(cap.flows, key=flow_key)
    ]
    topology = load_topology(str(entry.topology))
    exported, captured = _forbidden(table, topology), _forbidden(cap, topology)
    assert captured <= exported
    named = {(f.src, f.dst, f.dport) for f in cap.flows if f.names}
    reasons = {(f.data["src"], f.data["dst"], f.data["dport"]): f.data["reason"]
               for f in flow_findings(table, topology).findings if f.kind == "flow"}  # fmt: skip
    for src, dst, _proto, dport, _rule, _state in exported - captured:
        assert (src, dst, dport) in named and reasons[(src, dst, dport)] == "fqdn-not-allowed"
    if "prime" not in entry.name:
        assert exported == captured


def test_ipfix_counter_beyond_int64_is_malformed() -> None:
    template = struct.pack("!HHHHHHHHHHHH", 2, 24, 300, 4, 8, 4, 12, 4, 4, 1, 1, 8)
    record = bytes([198, 18, 20, 10, 192, 0, 2, 1, 6]) + (2**64 - 1).to_bytes(8, "big")
    data = struct.pack("!HH", 300, 4 + len(record)) + record
    body = template + data
    msg = struct.pack("!HHIII", 10, 16 + len(body), 1775034000, 1, 0) + body
    table = build_table([read_datagrams([msg])])
    assert table.accounting.malformed == 1 and "bytes fwd out of range" in table.problems[0].message
