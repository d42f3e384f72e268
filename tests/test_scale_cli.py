"""`segverify pcap|flows` with flow logs, Parquet flow tables and `flows check`, through the
real commands on the bundled captures and the flow-log samples."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import REPO, TOPOLOGIES

ALPHA = str(TOPOLOGIES / "alpha.yaml")
CAP = REPO / "captures"
LOGS = REPO / "tests" / "data" / "flowlogs"
pytest.importorskip("pyarrow", reason="Parquet needs pyarrow (segverify[parquet])")


def run(*args: str, lang: str | None = None) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "segverify"]
    if lang:
        cmd += ["--lang", lang]
    cmd += [*args, "--no-progress"]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=300)


def flow_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if not line.startswith("#")]


def test_cli_choices_match_the_library() -> None:
    from segverify.cli import pcap_cmd
    from segverify.flowlogs import inputs

    assert pcap_cmd.INPUT_FORMATS == inputs.INPUT_FORMATS
    assert pcap_cmd.ENGINES == inputs.ENGINES


def test_flows_out_then_flows_check_gives_the_same_flows(tmp_path: Path) -> None:
    stored = tmp_path / "v.parquet"
    cap = str(CAP / "alpha-violations.pcap")
    direct = run("flows", cap, "-t", ALPHA, "--flows-out", str(stored))
    assert direct.returncode == 1, direct.stderr
    assert stored.read_bytes()[:4] == b"PAR1"
    again = run("flows", "check", str(stored), "-t", ALPHA)
    assert again.returncode == 1, again.stderr
    lines = flow_lines(direct.stdout)
    assert lines and flow_lines(again.stdout) == lines


def test_check_against_a_changed_topology(tmp_path: Path) -> None:
    """The stored table judged against another topology: the verdicts follow the topology,
    not the one of the run that stored it."""
    stored = tmp_path / "v.parquet"
    cap = str(CAP / "alpha-violations.pcap")
    assert run("pcap", cap, "-t", ALPHA, "--flows-out", str(stored)).returncode == 1
    doc = yaml.safe_load((TOPOLOGIES / "alpha.yaml").read_text("utf-8"))
    doc["policy"]["allow"].append(
        {
            "id": "sanctioned-update", "rule": "R1", "via": "fw-mynumber",
            "from": {"zone": "mynumber", "prefix": "198.18.10.50/32"},
            "to": {"zone": "internet", "prefix": "192.0.2.80/32"},
            "services": [{"proto": "tcp", "ports": ["443"]}],
            "justification": "test", "clauses": ["基本方針 6(3)①"],
        }
    )  # fmt: skip
    other = str(tmp_path / "alpha-changed.yaml")
    Path(other).write_text(yaml.safe_dump(doc, allow_unicode=True), "utf-8")
    fresh = run("pcap", cap, "-t", other, "--format", "json")
    stored_run = run("pcap", str(stored), "-t", other, "--format", "json")
    assert stored_run.returncode == fresh.returncode
    a, b = json.loads(fresh.stdout), json.loads(stored_run.stdout)
    assert a["summary"]["forbidden_flows"] == b["summary"]["forbidden_flows"]
    assert [f["rule"] for f in a["findings"]] == [f["rule"] for f in b["findings"]]
    base = json.loads(run("pcap", str(stored), "-t", ALPHA, "--format", "json").stdout)
    assert base["summary"]["forbidden_flows"] == b["summary"]["forbidden_flows"] + 1


def test_partition_by_day_writes_a_directory_that_reads_back(tmp_path: Path) -> None:
    out = tmp_path / "days"
    cap = str(CAP / "alpha-violations.pcap")
    assert (
        run("flows", cap, "-t", ALPHA, "--flows-out", str(out), "--partition-by-day").returncode
        == 1
    )
    assert any(p.name.startswith("day=") for p in out.iterdir())
    direct = run("flows", cap, "-t", ALPHA)
    again = run("flows", "check", str(out), "-t", ALPHA)
    assert sorted(flow_lines(again.stdout)) == sorted(flow_lines(direct.stdout))


def test_flows_check_refuses_a_capture() -> None:
    proc = run("flows", "check", str(CAP / "alpha-clean.pcap"), "-t", ALPHA)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "Parquet" in proc.stderr


@pytest.mark.parametrize(
    ("log", "fmt"),
    [
        ("fortigate-traffic.log", "fortigate-kv"),
        ("fortianalyzer-traffic.csv", "fortigate-csv"),
        ("paloalto-traffic.csv", "paloalto-csv"),
        ("zeek-conn-malformed.log", "zeek-tsv"),
    ],
)
def test_logs_through_pcap_name_each_bad_line(log: str, fmt: str) -> None:
    path = LOGS / log
    for args in ((), ("--input-format", fmt)):
        proc = run("pcap", str(path), "-t", ALPHA, *args)
        assert proc.returncode in (1, 3), proc.stderr
        assert "INCOMPLETE" in proc.stdout
        assert f"{path.relative_to(REPO)}:" in proc.stdout or f"{path}:" in proc.stdout
    ja = run("pcap", str(path), "-t", ALPHA, lang="ja")
    assert "読めないレコード" in ja.stdout


def test_device_blocked_flow_is_said_blocked_not_unanswered() -> None:
    proc = run("pcap", str(LOGS / "fortigate-traffic.log"), "-t", ALPHA)
    assert "blocked by the device" in proc.stdout
    # the captured attempt keeps the wording of what was (not) seen
    cap = run("pcap", str(CAP / "alpha-violations.pcap"), "-t", ALPHA)
    assert "blocked by the device" not in cap.stdout
    ja = run("pcap", str(LOGS / "fortigate-traffic.log"), "-t", ALPHA, lang="ja")
    assert "機器が遮断" in ja.stdout


def test_wrong_input_format_is_one_line_exit_2() -> None:
    proc = run("pcap", str(CAP / "alpha-clean.pcap"), "-t", ALPHA, "--input-format", "parquet")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_engine_dask_refuses_flow_logs() -> None:
    proc = run("pcap", str(LOGS / "fortigate-traffic.log"), "-t", ALPHA, "--engine", "dask")
    assert proc.returncode == 2 and "captures only" in proc.stderr


def test_dask_options_without_the_dask_engine_are_refused() -> None:
    proc = run("pcap", str(CAP / "alpha-clean.pcap"), "-t", ALPHA, "--workers", "2")
    assert proc.returncode == 2 and "--engine dask" in proc.stderr


def test_unwritable_flows_out_is_one_line_exit_2(tmp_path: Path) -> None:
    target = tmp_path / "missing-dir" / "x.parquet"
    proc = run("pcap", str(CAP / "alpha-clean.pcap"), "-t", ALPHA, "--flows-out", str(target))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "x.parquet" in proc.stderr and "internal error" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
