"""`segverify flows`: every flow one per line (TSV, JSON lines, CSV), filters, schema,
and agreement with the lab captures' ground truth."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from conftest import REPO, TOPOLOGIES

ALPHA = str(TOPOLOGIES / "alpha.yaml")
CAP = REPO / "captures"
LAB = REPO / "captures" / "lab"
SCHEMA = json.loads((REPO / "docs" / "schema" / "flows.schema.json").read_text("utf-8"))


def run(*args: str, lang: str | None = None) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "segverify", *(["--lang", lang] if lang else []), "flows", *args]
    if "--help" not in args:
        cmd.append("--no-progress")
    return subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=300)


def jsonl(*args: str) -> list[dict]:
    proc = run(*args, "--format", "jsonl")
    assert proc.returncode in (0, 1, 3), proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


def test_every_flow_listed_and_valid_against_the_schema() -> None:
    rows = jsonl(str(CAP / "alpha-violations.pcap"), "-t", ALPHA)
    assert len(rows) == 17  # every flow, not only the forbidden ones
    validator = jsonschema.Draft202012Validator(SCHEMA)
    for row in rows:
        validator.validate(row)
    forbidden = [r for r in rows if r["verdict"] == "forbidden"]
    expected = json.loads((CAP / "alpha-violations.pcap.expected.json").read_text("utf-8"))
    assert sorted(
        (r["src"], r["dst"], r["proto"], r["dport"], r["rule"]) for r in forbidden
    ) == sorted((e["src"], e["dst"], e["proto"], e["dport"], e["rule"]) for e in expected)
    allowed = {r["rule"] for r in rows if r["verdict"] == "allowed"}
    assert "intra-zone" in allowed and "R2-screen-transfer" in allowed  # allow rule ids
    r4 = next(r for r in forbidden if r["rule"] == "R4")
    assert r4["state"] == "attempt" and r4["conn_state"] == "S0" and r4["resp_pkts"] == 0
    assert r4["dst_node"] == "chukan-server" and r4["dst_match"] == "node"


def test_tsv_is_conn_log_like() -> None:
    proc = run(str(CAP / "alpha-violations.pcap"), "-t", ALPHA)
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    header = [ln for ln in lines if ln.startswith("#")]
    fields = next(ln for ln in header if ln.startswith("#fields\t")).split("\t")[1:]
    types = next(ln for ln in header if ln.startswith("#types\t")).split("\t")[1:]
    assert fields == list(SCHEMA["required"]) and len(types) == len(fields)
    body = [ln.split("\t") for ln in lines if not ln.startswith("#")]
    assert len(body) == 17 and all(len(r) == len(fields) for r in body)
    rec = dict(zip(fields, body[0], strict=True))
    assert rec["vlan"] == "-" and rec["names"] == "(empty)" and rec["ts"].count(".") == 1


def test_tsv_escapes_hostile_names() -> None:
    proc = run(str(CAP / "hostile-names.pcap"), "-t", ALPHA, "--forbidden")
    body = [ln for ln in proc.stdout.splitlines() if not ln.startswith("#")]
    assert all(len(ln.split("\t")) == len(SCHEMA["required"]) for ln in body)
    assert "line1\\x0aline2" in proc.stdout and "\r" not in proc.stdout


def test_csv_neutralises_formulas_and_keeps_one_record_per_flow() -> None:
    proc = run(str(CAP / "hostile-names.pcap"), "-t", ALPHA, "--forbidden", "--format", "csv")
    records = list(csv.reader(io.StringIO(proc.stdout, newline="")))
    assert records[0] == list(SCHEMA["required"])
    names = [r[records[0].index("names")] for r in records[1:]]
    assert "'=cmd|' /C calc'!A0" in names
    for rec in records[1:]:
        assert len(rec) == len(records[0])
        for cell in rec:
            assert not cell.startswith(("=", "+", "@", "\t", "\r", "\n")), cell
            if cell.startswith("-"):
                float(cell)  # only negative numbers may start with '-'


def test_filters() -> None:
    pcap = str(CAP / "alpha-violations.pcap")
    forbidden = jsonl(pcap, "-t", ALPHA, "--forbidden")
    assert len(forbidden) == 5 and all(r["verdict"] == "forbidden" for r in forbidden)
    mynumber = jsonl(pcap, "-t", ALPHA, "--zone", "mynumber")
    assert mynumber and all("mynumber" in (r["src_zone"], r["dst_zone"]) for r in mynumber)
    assert len(jsonl(pcap, "-t", ALPHA, "--zone", "mynumber", "--zone", "lgwan")) > len(mynumber)
    assert jsonl(pcap, "-t", ALPHA, "--unclassified") == []


def test_unclassified_filter(tmp_path: Path) -> None:
    from capgen import tcp_flow, write_pcap

    pcap = write_pcap(
        tmp_path / "p.pcap",
        tcp_flow("198.18.20.150", "198.18.20.25", 40000, 25)
        + tcp_flow("10.9.9.9", "192.0.2.50", 1, 25),
    )
    rows = jsonl(pcap, "-t", ALPHA, "--unclassified")
    assert [(r["src"], r["src_match"], r["src_zone"]) for r in rows] == [
        ("10.9.9.9", "none", "internet")
    ]
    assert run(pcap, "-t", ALPHA, "--unclassified").returncode == 3  # undeclared internal


def test_unknown_zone_is_bad_input() -> None:
    proc = run(str(CAP / "alpha-clean.pcap"), "-t", ALPHA, "--zone", "nope")
    assert proc.returncode == 2 and "no zone 'nope'" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


def test_help_is_a_reference() -> None:
    proc = run("--help")
    for word in ("--forbidden", "--zone", "--unclassified", "--format", "tsv", "jsonl", "csv",
                 "conn_state", "Exit codes"):  # fmt: skip
        assert word in proc.stdout


def test_formats_match_the_renderer() -> None:
    from segverify.cli.flows_cmd import FORMATS
    from segverify.render.flows_out import FIELD_NAMES
    from segverify.render.flows_out import FORMATS as RENDER_FORMATS

    assert FORMATS == RENDER_FORMATS and list(FIELD_NAMES) == SCHEMA["required"]


@pytest.mark.parametrize(
    "name", sorted(p.name[: -len(".truth.json")] for p in LAB.glob("*.truth.json"))
)
def test_lab_flows_match_the_ground_truth(name: str) -> None:
    """Every attempted flow of the lab run is listed once, with the policy verdict, the
    deciding rule and (forbidden ones) leak exactly when the kernel let it through."""
    from segverify.lab.truth import load_truth

    truth = load_truth(LAB / f"{name}.truth.json")
    preset = json.loads((LAB / f"{name}.truth.json").read_text("utf-8"))["ruleset"]["path"].split(
        "/"
    )[2]
    topo = str(TOPOLOGIES / "lab" / preset / "topology.yaml")
    rows = jsonl(str(LAB / f"{name}.pcap"), "-t", topo)
    by_key = {(r["src"], r["dst"], r["proto"], r["sport"]): r for r in rows}
    for f in truth.flows:
        if f.proto_number not in (6, 17):
            continue
        r = by_key[(f.src, f.dst, f.proto, f.sport)]
        assert r["dport"] == f.dport
        assert r["verdict"] == ("allowed" if f.allowed else "forbidden"), f.id
        assert r["rule"] == f.decided_by, f.id
        if not f.allowed:
            assert r["state"] == ("leak" if f.passed else "attempt"), f.id
