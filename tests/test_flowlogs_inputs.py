"""``read_inputs``: one entry for captures, flow logs and Parquet tables (``--input-format``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from segverify.capture import read_flows
from segverify.errors import InputError
from segverify.flowlogs import read_flow_logs
from segverify.flowlogs.inputs import INPUT_FORMATS, input_kind, read_inputs
from segverify.flowlogs.model import FlowLogTable

REPO = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data" / "flowlogs"
CAPTURE = str(REPO / "captures" / "alpha-violations.pcap")
LOG = str(DATA / "fortigate-traffic.log")


def _rows(table) -> list:
    return [
        (f.src, f.dst, f.proto, f.sport, f.dport, f.packets_fwd, f.packets_rev) for f in table.flows
    ]


def test_auto_dispatches_by_content(tmp_path: Path) -> None:
    assert (input_kind(CAPTURE), input_kind(LOG)) == ("pcap", "log")
    assert _rows(read_inputs([CAPTURE])) == _rows(read_flows([CAPTURE]))
    logs = read_inputs([LOG, str(DATA / "paloalto-traffic.csv")])
    assert isinstance(logs, FlowLogTable) and logs.formats == ("fortigate-kv", "paloalto-csv")
    assert _rows(logs) == _rows(read_flow_logs([LOG, str(DATA / "paloalto-traffic.csv")]))
    pytest.importorskip("pyarrow", reason="Parquet needs pyarrow")
    from segverify.flowlogs.parquet import write_parquet

    stored = tmp_path / "flows.parquet"
    write_parquet(logs, str(stored))
    assert input_kind(str(stored)) == "parquet"
    assert _rows(read_inputs([str(stored)])) == _rows(logs)
    days = tmp_path / "days"
    write_parquet(logs, str(days), partition_by_day=True)
    assert input_kind(str(days)) == "parquet" and _rows(read_inputs([str(days)])) == _rows(logs)


def test_named_formats() -> None:
    assert _rows(read_inputs([CAPTURE], "pcap", backend="fast")) == _rows(read_flows([CAPTURE]))
    assert read_inputs([LOG], "fortigate-kv").formats == ("fortigate-kv",)
    assert {"auto", "pcap", "parquet", "zeek-tsv", "netflow"} <= set(INPUT_FORMATS)


def test_mixed_or_unknown_inputs_are_refused() -> None:
    with pytest.raises(InputError, match="separate runs") as err:
        read_inputs([CAPTURE, LOG])
    assert err.value.file == LOG
    with pytest.raises(InputError, match="unknown input format"):
        read_inputs([LOG], "cisco")
    with pytest.raises(InputError, match="no input file"):
        read_inputs([])


def test_summary_names_the_log_formats_not_a_capture_backend() -> None:
    """A flow-log run says which formats it read; no packet backend ran."""
    import json

    from click.testing import CliRunner

    from segverify.cli.main import cli

    args = [
        "pcap",
        LOG,
        str(DATA / "paloalto-traffic.csv"),
        "-t",
        str(REPO / "topologies" / "alpha.yaml"),
    ]
    r = CliRunner().invoke(cli, [*args, "--format", "json"])
    assert r.exit_code in (0, 1, 3), r.stderr
    assert json.loads(r.stdout)["summary"]["backend"] == "fortigate-kv, paloalto-csv"
    r = CliRunner().invoke(
        cli, ["pcap", CAPTURE, "-t", str(REPO / "topologies" / "alpha.yaml"), "--format", "json"]
    )
    assert json.loads(r.stdout)["summary"]["backend"] == "fast"
