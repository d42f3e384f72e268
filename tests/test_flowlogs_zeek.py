"""Zeek conn.log reader: every baseline log read, and its flows equal the capture's.

Peer: Zeek's own conn.log for 139 corpus traces (../shared/fixtures/pcaps/zeek-baselines).
Reading a log gives the same endpoints and per-side packets as analysing its trace with the
fast backend, except the documented semantic differences (docs/flowlogs.md, "Zeek"):
Zeek rows split by inactivity are joined again (one flow per 5-tuple on both sides), the
outer UDP connection of a tunnel the capture path decapsulates is not a flow there, Zeek
does not read SCTP ports (``unknown_transport``, port 0), and the capture-vs-Zeek
exceptions listed in test_capture_zeek.KNOWN.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest
from test_capture_support import BASELINES, CORPUS
from test_capture_zeek import ALL_BASES, BASES, CARRIER_PORTS, KNOWN
from test_flowlogs_support import flow_key

from segverify.capture.fast import read_file
from segverify.checks.flows import flow_findings
from segverify.errors import InputError
from segverify.flowlogs import read_flow_log, read_flow_logs
from segverify.flowlogs.model import LogFlow
from segverify.topology.loader import load_topology

DATA = Path(__file__).parent / "data" / "flowlogs"
ALL_LOGS = sorted(BASELINES.glob("*.conn.log")) if BASELINES.is_dir() else []
needs_fixtures = pytest.mark.skipif(not ALL_LOGS, reason=f"Zeek baselines absent: {BASELINES}")


def _sides(src: str, sport: int | None, dst: str, dport: int | None, fwd: int, rev: int):
    return {(src, sport): fwd, (dst, dport): rev}


def _compare(log: Path, trace: Path) -> list[tuple]:
    table = read_flow_log(str(log))
    capture = read_file(str(trace))
    outer = {frozenset(t.split(" ", 1)[1].split(">")) for f in capture.flows for t in f.tunnel}
    ours = {
        flow_key(f): _sides(f.src, f.sport, f.dst, f.dport, f.packets_fwd, f.packets_rev)
        for f in capture.flows
    }
    # SCTP: Zeek logs no ports, so compare per address pair
    sctp: dict[frozenset, int] = defaultdict(int)
    for f in capture.flows:
        if f.proto == 132:
            sctp[frozenset((f.src, f.dst))] += f.packets
    problems = []
    for f in table.flows:
        if f.packets == 0:
            continue  # Zeek logs a connection with no packet it counted (header cut short)
        pair = frozenset((f.src, f.dst))
        if f.proto == 17 and {f.sport, f.dport} & CARRIER_PORTS and pair in outer:
            continue  # the outer connection of a tunnel the capture path decapsulated
        if f.proto == 132 and f.sport is None:
            if sctp.get(pair) != f.packets:
                problems.append(("sctp", sorted(pair), f.packets, sctp.get(pair)))
            continue
        mine = ours.get(flow_key(f))
        theirs = _sides(f.src, f.sport, f.dst, f.dport, f.packets_fwd, f.packets_rev)
        if mine is None:
            problems.append(("missing", flow_key(f)))
        elif mine != theirs:
            problems.append(("packets", flow_key(f), theirs, mine))
    return problems


@needs_fixtures
@pytest.mark.parametrize(("baseline", "trace", "command"), BASES, ids=[b[0] for b in BASES])
def test_conn_log_flows_equal_capture_flows(baseline: str, trace: str, command: str) -> None:
    log, path = BASELINES / f"{baseline}.conn.log", CORPUS / trace
    if not path.is_file():
        pytest.skip(f"trace {trace} not found")
    problems = _compare(log, path)
    if baseline in KNOWN:
        assert problems, f"{baseline}: listed as {KNOWN[baseline]!r} but they agree: stale"
        return
    assert not problems, problems[:5]


# Where the capture path's conn_state (segverify.flows.state) differs from Zeek's own:
# semantic, listed (the capture path orients a flow by its first packet).
FLIP_PORT = (
    "Zeek flips a UDP flow whose originator uses the well-known port (DHCP 67/68): SHR vs our S0"
)
STATE_DIFFERS: dict[str, str] = {
    "scripts.base.protocols.dhcp.dhcp-all-msg-types": FLIP_PORT,
}
STATE_BASES = [b for b in BASES if b[0] not in KNOWN]


@needs_fixtures
@pytest.mark.parametrize(
    ("baseline", "trace", "command"), STATE_BASES, ids=[b[0] for b in STATE_BASES]
)
def test_conn_state_equals_capture_state(baseline: str, trace: str, command: str) -> None:
    """The log's conn_state (Zeek's words) equals the state the capture path derives, on
    every flow that is one Zeek row (no inactivity split), except the listed semantics."""
    path = CORPUS / trace
    if not path.is_file():
        pytest.skip(f"trace {trace} not found")
    capture = {flow_key(f): f for f in read_file(str(path)).flows}
    differ = []
    for f in read_flow_log(str(BASELINES / f"{baseline}.conn.log")).flows:
        mine = capture.get(flow_key(f))
        if mine is None or f.packets == 0 or "," in f.log_state:
            continue
        assert f.conn_state == f.log_state  # one row: the column holds Zeek's word
        if mine.conn_state != f.conn_state:
            differ.append((flow_key(f), f.conn_state, mine.conn_state))
    if baseline in STATE_DIFFERS:
        assert differ, f"{baseline}: listed as {STATE_DIFFERS[baseline]!r} but states agree: stale"
        return
    assert not differ, differ[:5]


@needs_fixtures
@pytest.mark.parametrize("log", ALL_LOGS, ids=[p.name for p in ALL_LOGS])
def test_every_baseline_log_is_read_or_refused_with_its_line(log: Path) -> None:
    """All 139 logs, whatever command made them: totals reconcile, each row a flow record;
    logs whose #fields rename the needed columns are refused with the header's line."""
    try:
        table = read_flow_log(str(log), "zeek-tsv")
    except InputError as exc:
        assert exc.line is not None and "lacks" in exc.message
        assert log.read_text(errors="replace").splitlines()[exc.line - 1].startswith("#fields")
        return
    lines = log.read_text(errors="replace").splitlines()
    acct, stats = table.accounting, table.stats
    assert stats.lines == len(lines)
    assert stats.lines == stats.header_lines + stats.blank_lines + acct.records
    assert acct.records == acct.analysed + acct.malformed
    rows = [ln for ln in lines if ln.strip() and not ln.startswith("#")]
    assert acct.records == len(rows)
    assert acct.malformed == len(table.problems)


def test_plain_baselines_are_many() -> None:
    if not ALL_BASES:
        pytest.skip(f"Zeek baselines absent: {BASELINES}")
    assert len(BASES) >= 90


@needs_fixtures
@pytest.mark.parametrize(
    ("baseline", "trace", "command"), BASES[:40], ids=[b[0] for b in BASES[:40]]
)
def test_json_form_reads_as_the_tsv_form(
    baseline: str, trace: str, command: str, tmp_path: Path
) -> None:
    """The same rows written as Zeek's JSON lines (LogAscii::use_json) give the same table."""
    log = BASELINES / f"{baseline}.conn.log"
    fields: list[str] = []
    out = []
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("#fields"):
            fields = line.split("\t")[1:]
        elif line and not line.startswith("#"):
            row = dict(zip(fields, line.split("\t"), strict=True))
            obj: dict[str, object] = {k: v for k, v in row.items() if v != "-"}
            for k in (
                "id.orig_p",
                "id.resp_p",
                "orig_pkts",
                "resp_pkts",
                "orig_ip_bytes",
                "resp_ip_bytes",
            ):
                if k in obj:
                    obj[k] = int(str(obj[k]))
            if "duration" in obj:
                obj["duration"] = float(str(obj["duration"]))
            out.append(json.dumps(obj))
    path = tmp_path / "conn.json"
    path.write_text("\n".join(out) + "\n")
    tsv, js = read_flow_log(str(log)), read_flow_log(str(path))
    assert js.formats == ("zeek-json",)

    def strip(flows: list) -> list:
        return [(f.src, f.sport, f.dst, f.dport, f.proto, f.packets_fwd, f.packets_rev, f.bytes, f.log_state, f.conn_state, f.answered)
                for f in flows]  # fmt: skip

    assert strip(js.flows) == strip(tsv.flows)


def test_malformed_rows_are_counted_with_their_line_numbers() -> None:
    table = read_flow_log(str(DATA / "zeek-conn-malformed.log"))
    assert table.formats == ("zeek-tsv",)
    acct, stats = table.accounting, table.stats
    assert (stats.lines, stats.header_lines, stats.blank_lines) == (18, 8, 1)
    assert (acct.records, acct.analysed, acct.malformed) == (9, 4, 5)
    assert acct.balanced()
    where = {p.line: p.message for p in table.problems}
    assert sorted(where) == [11, 12, 15, 16, 17]
    assert "5 fields" in where[11]
    assert "198.18.20.300" in where[12]
    assert "70000" in where[15]
    assert "bogus" in where[16]
    assert "unknown_transport" in where[17]
    assert str(table.problems[0]).endswith(
        "zeek-conn-malformed.log:11: 5 fields where #fields names 21"
    )


def test_conn_state_decides_answered() -> None:
    flows = {f.sport: f for f in read_flow_log(str(DATA / "zeek-conn-malformed.log")).flows}
    assert all(isinstance(f, LogFlow) for f in flows.values())
    assert flows[50000].conn_state == "SF" and flows[50000].answered
    assert flows[50001].conn_state == "S0" and not flows[50001].answered  # SYN only: an attempt
    icmp = next(f for f in flows.values() if f.proto == 58)
    assert (icmp.sport, icmp.dport, icmp.conn_state) == (128, 129, "OTH")  # echo ↔ reply pair
    assert icmp.answered  # OTH: judged by the reverse packets
    assert not any(f.blocked_by_device for f in flows.values())  # Zeek blocks nothing


def test_rej_is_an_attempt_though_the_responder_sent_a_packet() -> None:
    flows = read_flow_log(str(DATA / "zeek-conn-malformed.log")).flows
    rej = next(f for f in flows if f.conn_state == "REJ")
    assert rej.packets_rev == 1 and not rej.answered


def test_inactivity_splits_join_again(tmp_path: Path) -> None:
    head = (DATA / "zeek-conn-malformed.log").read_text().splitlines()[:7]
    row = "{ts}\tC{n}\t198.18.20.13\t5353\t192.0.2.53\t53\tudp\tdns\t0.1\t1\t1\t{st}\tT\tF\t0\tDd\t{a}\t60\t{b}\t60\t-"
    rows = [row.format(ts=1775034000 + 120 * n, n=n, st=st, a=a, b=b)
            for n, (st, a, b) in enumerate([("S0", 2, 0), ("SF", 1, 1)])]  # fmt: skip
    path = tmp_path / "conn.log"
    path.write_text("\n".join(head + rows) + "\n")
    (flow,) = read_flow_log(str(path)).flows
    assert (flow.packets_fwd, flow.packets_rev, flow.log_state, flow.conn_state, flow.answered) == (
        3,
        1,
        "S0,SF",
        "SF",
        True,
    )
    assert flow.first_frame == 8  # the earliest row's line


def test_two_logs_merge_as_one(tmp_path: Path) -> None:
    src = DATA / "zeek-conn-malformed.log"
    table = read_flow_logs([str(src), str(src)])
    single = read_flow_log(str(src))
    assert table.accounting.records == 2 * single.accounting.records
    assert table.accounting.files == 2
    assert len(table.flows) == len(single.flows)
    assert [f.packets for f in table.flows] == [2 * f.packets for f in single.flows]


def test_missing_fields_refused(tmp_path: Path) -> None:
    path = tmp_path / "conn.log"
    path.write_text("#separator \\x09\n#fields\tts\tid.orig_h\tproto\n1\t192.0.2.1\ttcp\n")
    with pytest.raises(InputError) as err:
        read_flow_log(str(path))
    assert err.value.line == 2 and "id.orig_p" in err.value.message


def test_json_lines_with_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "conn.json"
    good = {"ts": "2026-04-01T09:00:00.5Z", "id.orig_h": "198.18.20.10", "id.orig_p": 5000,
            "id.resp_h": "192.0.2.1", "id.resp_p": 443, "proto": "tcp", "conn_state": "S0",
            "orig_pkts": 1, "resp_pkts": 0}  # fmt: skip
    path.write_text(
        json.dumps(good) + "\n[1, 2]\n{not json\n" + json.dumps({**good, "id.orig_p": "x"}) + "\n"
    )
    table = read_flow_log(str(path))
    assert table.formats == ("zeek-json",)
    assert [p.line for p in table.problems] == [2, 3, 4]
    (flow,) = table.flows
    assert flow.first_ns == 1775034000_500000000


# --- the column-wise reader (pyarrow) gives exactly the line reader's table ---------------


def _both(path: Path) -> tuple[object, object]:
    from segverify.flowlogs.build import build_table
    from segverify.flowlogs.zeek_conn import collect_tsv

    out = []
    for columnar in (False, True):
        try:
            out.append(build_table([collect_tsv(str(path), columnar=columnar)]))
        except InputError as exc:
            out.append(("InputError", str(exc)))
    return out[0], out[1]


def _assert_same(lines: object, columns: object) -> None:
    if isinstance(lines, tuple):
        assert columns == lines
        return
    assert lines.accounting.as_dict() == columns.accounting.as_dict()
    assert lines.stats == columns.stats and lines.problems == columns.problems
    assert lines.flows == columns.flows
    assert list(lines.blocked) == list(columns.blocked) and lines.actions == columns.actions
    assert lines.log_states == columns.log_states


@needs_fixtures
@pytest.mark.parametrize("log", ALL_LOGS, ids=[p.name for p in ALL_LOGS])
def test_columnar_reader_equals_line_reader(log: Path, tmp_path: Path) -> None:
    """Each baseline as it is (masked times: those rows go to the line reader), and with
    real times put in (so Zeek's own rows are read column-wise)."""
    pytest.importorskip("pyarrow", reason="the column-wise reader needs pyarrow")
    _assert_same(*_both(log))
    lines = log.read_bytes().split(b"\n")
    times = [
        ln.replace(b"XXXXXXXXXX.XXXXXX", b"%d.%06d" % (1775034000 + i, i % 1000000), 1)
        for i, ln in enumerate(lines)
    ]
    unmasked = tmp_path / "conn.log"
    unmasked.write_bytes(b"\n".join(times))
    _assert_same(*_both(unmasked))


def test_columnar_reader_takes_the_common_layout() -> None:
    pytest.importorskip("pyarrow", reason="the column-wise reader needs pyarrow")
    from segverify.flowlogs.zeek_columns import collect_columnar

    path = DATA / "zeek-conn-malformed.log"
    col = collect_columnar(str(path), path.read_bytes())
    assert col is not None and len(col.blocks[0]) == 4  # the 4 good rows, column-wise
    assert {p.line for p in col.problems} == {11, 12, 15, 16, 17}  # the line reader's words


ODD_ROWS = [
    "2026-04-01T09:00:00Z\tC1\t198.18.20.10\t5000\t192.0.2.1\t443\ttcp\t-\t1e-3\t1\t1\tS0\tT\tF\t0\tS\t1\t60\t0\t0\t-",
    "1775034000.5\tC2\t198.18.20.10\t5001\t192.0.2.1\t443\ttcp\t-\tinf\t1\t1\tS0\tT\tF\t0\tS\t1\t60\t0\t0\t-",
    "1775034000.1234567891\tC3\t198.18.20.10\t5002\t192.0.2.1\t443\ttcp\t-\t(empty)\t1\t1\tSF\tT\tF\t0\tS\t(empty)\t60\t1\t0\t-",
    "1775034000.\tC4\t::ffff:198.18.20.10\t5003\t2001:db8::1\t443\ttcp\t-\t0.1\t1\t1\tS\\x30\tT\tF\t0\tS\t1\t60\t1\t0\t-",
    "XXXXXXXXXX.XXXXXX\tC5\t198.18.20.10\t5004\t192.0.2.1\t65536\tudp\t-\t0.1\t1\t1\tSF\tT\tF\t0\tD\t1\t60\t1\t0\t-",
    "1775034000\tC6\t198.18.20.10\t0\t192.0.2.1\t0\ticmp\t-\t0.1\t1\t1\tOTH\tT\tF\t0\t-\t99999999999999999999\t60\t1\t0\t-",
    "\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t",
    "   ",
    "1775034000\tC7\t198.18.20.10\t8\t192.0.2.1\t0\ticmp\t-\t-\t-\t-\t-\tT\tF\t0\t-\t-\t-\t-\t-\t-",
]


@pytest.mark.parametrize(
    "variant", ["plain", "blank-inside", "hash-inside", "crlf", "no-final-newline"]
)
def test_columnar_reader_on_odd_rows(variant: str, tmp_path: Path) -> None:
    pytest.importorskip("pyarrow", reason="the column-wise reader needs pyarrow")
    head = (DATA / "zeek-conn-malformed.log").read_text().splitlines()[:7]
    rows = list(ODD_ROWS)
    if variant == "blank-inside":
        rows.insert(3, "")
    if variant == "hash-inside":
        rows.insert(3, "#comment in the middle")
    text = "\n".join([*head, *rows, "#close\t2026-04-01-09-00-10"]) + "\n"
    if variant == "crlf":
        text = text.replace("\n", "\r\n")
    if variant == "no-final-newline":
        text = "\n".join([*head, *rows])
    path = tmp_path / "conn.log"
    path.write_text(text)
    lines, columns = _both(path)
    _assert_same(lines, columns)
    assert not isinstance(lines, tuple) and lines.accounting.records >= 7


def test_numbers_beyond_the_flow_table_are_malformed_not_a_crash(tmp_path: Path) -> None:
    """A count of 2^63 or more, or a time past 2116, cannot be held in the int64 columns:
    the row is reported (count) or untimed (time), never an overflow."""
    head = (DATA / "zeek-conn-malformed.log").read_text().splitlines()[:7]
    row = "{ts}\tC1\t198.18.20.10\t5000\t192.0.2.1\t443\ttcp\t-\t{dur}\t1\t1\tSF\tT\tF\t0\tS\t{pk}\t60\t1\t60\t-"
    rows = [
        row.format(ts="1775034000", dur="0.1", pk=str(2**63)),
        row.format(ts="99999999999.5", dur="0.1", pk="1"),
        row.format(ts="1775034000", dur="1e300", pk="1"),
    ]
    path = tmp_path / "conn.log"
    path.write_text("\n".join([*head, *rows]) + "\n")
    for columnar in (False, True):
        from segverify.flowlogs.build import build_table
        from segverify.flowlogs.zeek_conn import collect_tsv

        table = build_table([collect_tsv(str(path), columnar=columnar)])
        assert [p.line for p in table.problems] == [8, 10]
        assert "9223372036854775808" in table.problems[0].message
        assert "out of range" in table.problems[1].message
        assert table.stats.untimed == 1 and table.accounting.analysed == 1


# --- verdicts: a topology that splits the address space in two zones ----------------------

SPLIT = """segverify: 1
name: split
model: alpha
zones:
  lgwan: {tier: lgwan, prefixes: [0.0.0.0/1, "::/1"]}
  inet: {tier: inet, prefixes: [128.0.0.0/1, "8000::/1"]}
"""
GRE_CARRIER = (
    "Zeek writes no conn.log row for the GRE carrier of a tunnel it opens (tunnel.log "
    "has it); the capture path judges that outer GRE flow too"
)
VERDICT_DIFFERS = {"core.skip_analyzer": GRE_CARRIER, "core.tunnels.gre": GRE_CARRIER}


def _verdicts(table: object, topology: object) -> dict[tuple, tuple[str, str]]:
    out = {}
    for f in flow_findings(table, topology).findings:
        if f.kind == "flow":
            d = f.data
            ends = sorted([(d["src"], d["sport"]), (d["dst"], d["dport"])], key=str)
            out[(d["proto"], *ends)] = (f.rule, d["state"])
    return out


@needs_fixtures
@pytest.mark.parametrize(
    ("baseline", "trace", "command"), STATE_BASES, ids=[b[0] for b in STATE_BASES]
)
def test_conn_log_verdicts_equal_capture_verdicts(
    baseline: str, trace: str, command: str, tmp_path: Path
) -> None:
    """Half the address space LGWAN, half internet (α): the forbidden flows, their rule and
    leak/attempt state from the log equal those from the capture."""
    path = CORPUS / trace
    if not path.is_file():
        pytest.skip(f"trace {trace} not found")
    topo_path = tmp_path / "split.yaml"
    topo_path.write_text(SPLIT)
    topology = load_topology(str(topo_path))
    log = _verdicts(read_flow_log(str(BASELINES / f"{baseline}.conn.log")), topology)
    cap = _verdicts(read_file(str(path)), topology)
    differ = {k: (log.get(k), cap.get(k)) for k in set(log) | set(cap) if log.get(k) != cap.get(k)}
    if baseline in VERDICT_DIFFERS:
        assert differ and all(k[0] == "gre" and v[0] is None for k, v in differ.items()), differ
        return
    assert not differ, list(differ.items())[:3]
