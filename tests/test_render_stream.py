"""The streamed CSV, SARIF and JUnit of a capture analysis (written from the flow table,
finding by finding) say exactly what the materialised report says, and stay valid: SARIF
against the official 2.1.0 schema, JUnit read by junitparser with the counts computed
before the first case, CSV neutralised with the byte-order-mark rule."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from capgen import tcp_flow
from scapy.layers.l2 import Ether
from test_capture_cases import CASES
from test_capture_readers import pcap_bytes
from test_render_schema import _sarif_schema

from segverify.checks.flows import FlowAnalysis
from segverify.cli.pcap_cmd import analyse
from segverify.render import render, write_analysis

ROOT = Path(__file__).resolve().parent.parent
ALPHA = str(ROOT / "topologies/alpha.yaml")


def mixed_capture(tmp_path: Path) -> str:
    """Tunnels whose outer endpoints cross zones, a leak to an undeclared private host, an
    attempt from it, and a refused R1 attempt."""
    frames: list[bytes] = []
    for name in ("6in4", "gre", "pptp", "vxlan"):
        built, link = CASES[name]()
        assert link == 1
        frames += built
    packets = (
        tcp_flow("198.18.10.10", "10.40.1.5", 40000, 443)
        + tcp_flow("10.40.1.5", "192.168.7.1", 40001, 22, answered=False)
        + tcp_flow("198.18.20.129", "198.18.10.10", 40002, 443, answered=False)
    )
    frames += [bytes(Ether() / p) for p in packets]
    path = tmp_path / "mixed.pcap"
    path.write_bytes(pcap_bytes(frames, link=1))
    return str(path)


@pytest.fixture(scope="module", params=["leak", "attempt"])
def analysis(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> FlowAnalysis:
    path = mixed_capture(tmp_path_factory.mktemp("stream"))
    return analyse((path,), ALPHA, fail_on=request.param)


def streamed(analysis: FlowAnalysis, fmt: str, lang: str) -> str:
    out = io.StringIO()
    write_analysis(analysis, fmt, out, lang)
    return out.getvalue()


@pytest.mark.parametrize("lang", ["en", "ja"])
@pytest.mark.parametrize("fmt", ["csv", "junit", "sarif"])
def test_streamed_equals_the_materialised_report(
    analysis: FlowAnalysis, fmt: str, lang: str
) -> None:
    report = analysis.to_report()
    kinds = {(f.kind, f.data.get("tunnel_outer")) for f in report.findings}
    assert {("flow", False), ("flow", True), ("coverage", None)} <= kinds  # every finding kind
    whole = render(report, fmt, lang)
    ours = streamed(analysis, fmt, lang)
    if fmt == "sarif":
        assert json.loads(ours) == json.loads(whole)
    else:
        assert ours == whole


def test_sarif_stream_validates(analysis: FlowAnalysis) -> None:
    import jsonschema

    doc = json.loads(streamed(analysis, "sarif", "en"))
    errors = list(jsonschema.Draft4Validator(_sarif_schema()).iter_errors(doc))
    assert not errors, [e.message for e in errors[:5]]
    results = doc["runs"][0]["results"]
    assert len(results) == len(analysis.to_report().findings)
    rules = [r["id"] for r in doc["runs"][0]["tool"]["driver"]["rules"]]
    assert sorted(rules) == sorted({r["ruleId"] for r in results})


def test_junit_stream_counts_match_its_cases(analysis: FlowAnalysis) -> None:
    junitparser = pytest.importorskip("junitparser")
    text = streamed(analysis, "junit", "en")
    parsed = junitparser.JUnitXml.fromstring(text.split("\n", 1)[1].encode())
    (suite,) = [parsed] if isinstance(parsed, junitparser.TestSuite) else list(parsed)
    cases = list(suite)
    assert suite.tests == len(cases)
    failures = [c for c in cases if c.result and isinstance(c.result[0], junitparser.Failure)]
    skipped = [c for c in cases if c.result and isinstance(c.result[0], junitparser.Skipped)]
    errors = [c for c in cases if c.result and isinstance(c.result[0], junitparser.Error)]
    assert (suite.failures, suite.skipped, suite.errors) == (
        len(failures),
        len(skipped),
        len(errors),
    )
    assert errors  # undeclared internal addresses: the analysis is incomplete
    named = {c.name for c in cases}
    assert "undeclared-internal -" in named and "R1 mynumber→internet" in named
    total = sum(int(c.result[0].message.split(" ", 1)[0]) for c in failures + skipped)
    assert total == len(analysis.to_report().findings)
    if analysis.fail_on == "attempt":
        assert "R1 lgwan→mynumber" in {c.name for c in failures}  # an attempt fails too
    else:
        assert "R1 lgwan→mynumber" in {c.name for c in skipped}


@pytest.mark.parametrize(("lang", "bom"), [("en", False), ("ja", True)])
def test_csv_stream_rows_and_bom(analysis: FlowAnalysis, lang: str, bom: bool) -> None:
    text = streamed(analysis, "csv", lang)
    assert text.startswith("\ufeff") == bom
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")))
    assert len(rows) - 1 == len(analysis.to_report().findings)
    header = rows[0]
    assert header[:9] == ["kind", "rule", "severity", "message", "clauses", "evidence",
                          "remedy", "file", "line"]  # fmt: skip
    assert {"inner_flows", "range", "src_zone"} <= set(header)  # outer and coverage columns
    width = {len(r) for r in rows}
    assert width == {len(header)}


def test_csv_stream_neutralises_formulas(tmp_path: Path) -> None:
    # a file name that starts like a formula ends up in every flow row's file/evidence cells
    path = Path(mixed_capture(tmp_path))
    hostile = tmp_path / "=HYPERLINK(1).pcap"
    path.rename(hostile)
    text = streamed(analyse((str(hostile),), ALPHA), "csv", "en")
    cells = [c for row in csv.reader(io.StringIO(text, newline="")) for c in row]
    assert not any(c.startswith(("=", "+", "-", "@")) for c in cells)
    assert any(c.startswith("'=") or "=HYPERLINK" in c for c in cells)
