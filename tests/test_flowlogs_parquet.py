"""Parquet flow tables: write → read gives the same table (every column, side table,
accounting, and for flow logs the device verdicts and unreadable records); DuckDB (another
engine, not ours) queries the file; a stored table re-evaluates to the same findings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_capture_support import CORPUS

from segverify.capture.fast import read_file
from segverify.checks.flows import flow_findings
from segverify.errors import InputError
from segverify.flowlogs import read_flow_log
from segverify.flowlogs.model import FlowLogTable
from segverify.flows.columns import COLUMN_NAMES
from segverify.flows.model import FlowTable
from segverify.topology.loader import load_topology

pytest.importorskip("pyarrow", reason="pyarrow not installed (pip install 'segverify[parquet]')")

from segverify.flowlogs.parquet import read_arrow, read_parquet, write_parquet  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data" / "flowlogs"
ALPHA = REPO / "topologies" / "alpha.yaml"
CAPTURES = [
    *sorted((REPO / "captures").glob("*.pcap")),
    REPO / "captures" / "alpha-violations.pcapng",
    *sorted((REPO / "captures" / "lab").glob("*.pcap"))[:3],
]
# corpus traces with tunnels, VLANs, IPv6 and names (skipped when the fixtures are absent)
TRACES = ["tunnels/gre-within-gre.pcap", "tunnels/vxlan.pcap", "http-vlan-0.pcap", "ipv6-fragmented-dns.pcap", "tls/chrome-34-google.pcap"]  # fmt: skip
LOGS = sorted(p.name for p in DATA.iterdir())


def _same(a: FlowTable, b: FlowTable) -> None:
    ca, cb = a.columns, b.columns
    for name in COLUMN_NAMES:
        assert np.array_equal(getattr(ca, name), getattr(cb, name)), name
        assert getattr(ca, name).dtype == getattr(cb, name).dtype, name
    assert ca.files == cb.files and ca.names == cb.names and ca.tunnels == cb.tunnels
    assert ca.community_ids() == cb.community_ids()
    assert a.accounting.as_dict() == b.accounting.as_dict()
    assert [f for f in a.flows] == [f for f in b.flows]


@pytest.mark.parametrize("partitioned", [False, True], ids=["file", "by-day"])
@pytest.mark.parametrize("capture", CAPTURES, ids=[c.name for c in CAPTURES])
def test_capture_table_round_trip(capture: Path, partitioned: bool, tmp_path: Path) -> None:
    table = read_file(str(capture))
    out = tmp_path / ("flows" if partitioned else "flows.parquet")
    write_parquet(table, str(out), partition_by_day=partitioned)
    back = read_parquet(str(out))
    assert type(back) is FlowTable
    _same(table, back)


@pytest.mark.parametrize("trace", TRACES)
def test_corpus_table_round_trip(trace: str, tmp_path: Path) -> None:
    path = CORPUS / trace
    if not path.is_file():
        pytest.skip(f"corpus trace {trace} absent")
    table = read_file(str(path))
    write_parquet(table, str(tmp_path / "f.parquet"))
    _same(table, read_parquet(str(tmp_path / "f.parquet")))


@pytest.mark.parametrize("name", LOGS)
def test_log_table_round_trip(name: str, tmp_path: Path) -> None:
    table = read_flow_log(str(DATA / name))
    write_parquet(table, str(tmp_path / "f.parquet"))
    back = read_parquet(str(tmp_path / "f.parquet"))
    assert isinstance(back, FlowLogTable)
    _same(table, back)
    assert np.array_equal(back.blocked, table.blocked)
    assert (back.actions, back.log_states, back.log_formats) == (
        table.actions,
        table.log_states,
        table.log_formats,
    )
    assert (
        back.problems == table.problems
        and back.stats == table.stats
        and back.formats == table.formats
    )


def test_stored_table_re_evaluates_to_the_same_findings(tmp_path: Path) -> None:
    """``flows check FLOWS.parquet -t TOPO``: read the stored table, judge it again."""
    topology = load_topology(str(ALPHA))
    for table in (
        read_file(str(REPO / "captures" / "alpha-violations.pcap")),
        read_flow_log(str(DATA / "paloalto-traffic.csv")),
    ):
        write_parquet(table, str(tmp_path / "f.parquet"))
        again = flow_findings(read_parquet(str(tmp_path / "f.parquet")), topology)
        first = flow_findings(table, topology)
        assert again.findings == first.findings and again.incomplete == first.incomplete
        assert again.findings


def test_duckdb_queries_the_file(tmp_path: Path) -> None:
    duckdb = pytest.importorskip(
        "duckdb", reason="duckdb not installed (pip install 'segverify[parquet]')"
    )
    table = read_file(str(REPO / "captures" / "alpha-violations.pcap"))
    path = tmp_path / "flows.parquet"
    write_parquet(table, str(path))
    con = duckdb.connect()
    rows = con.execute(
        f"SELECT src, dst, proto, dport, packets_fwd + packets_rev AS packets, conn_state, first_seen "
        f"FROM read_parquet('{path}') WHERE proto = 6 ORDER BY row"
    ).fetchall()
    want = [
        (f.src, f.dst, 6, f.dport, f.packets, f.conn_state) for f in table.flows if f.proto == 6
    ]
    assert [r[:6] for r in rows] == want
    assert rows[0][6].timestamp() == pytest.approx(
        next(f for f in table.flows if f.proto == 6).first_ns / 1e9
    )
    (total,) = con.execute(f"SELECT sum(packets_fwd + packets_rev) FROM '{path}'").fetchone()
    assert total == table.accounting.analysed
    partitioned = tmp_path / "by-day"
    write_parquet(table, str(partitioned), partition_by_day=True)
    (days,) = con.execute(
        f"SELECT count(DISTINCT day) FROM read_parquet('{partitioned}/**/*.parquet', hive_partitioning = true)"
    ).fetchone()
    assert days == 1


def test_not_a_flow_table(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    other = tmp_path / "other.parquet"
    pq.write_table(pa.table({"x": [1]}), str(other))
    with pytest.raises(InputError, match="no segverify metadata"):
        read_parquet(str(other))
    junk = tmp_path / "junk.parquet"
    junk.write_bytes(b"PAR1 not really")
    with pytest.raises(InputError, match="not a readable Parquet flow table"):
        read_parquet(str(junk))
    assert read_arrow is not None


def test_docs_name_every_column(tmp_path: Path) -> None:
    from segverify.flowlogs.parquet import to_arrow

    doc = (REPO / "docs" / "flowlogs.md").read_text(encoding="utf-8")
    names = [*to_arrow(read_flow_log(str(DATA / "fortigate-traffic.log"))).column_names, "day"]
    missing = [n for n in names if f"`{n}`" not in doc]
    assert not missing, f"docs/flowlogs.md does not describe the Parquet columns {missing}"
