"""One neutraliser per output kind (issue 13 items 6 and 7, issue 10): hostile strings from
captures and firewall exports cannot start a formula, move the terminal cursor, break XML,
or reorder text."""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from segverify.cli.main import cli
from segverify.findings.model import Finding, InputWarning, Report
from segverify.render import render, safe
from segverify.render.safe import FORMULA_START
from segverify.topology.model import Location

ESC = "\x1b[31mRED\x1b[0m"
OSC8 = "\x1b]8;;http://192.0.2.9/\x07click\x1b]8;;\x07"
RLO = "abc\u202etxt.exe"
BARE_CR = "x\r=cmd|' /C calc'!A0"
MULTILINE = 'ok\n+SUM(1,1)\r\n@HYPERLINK("http://192.0.2.9")'
HOSTILE = [
    "<script>alert(1)</script>",
    "\"quoted\" & 'single'",
    '=HYPERLINK("http://192.0.2.9","x")',
    ESC,
    OSC8,
    RLO,
    BARE_CR,
    MULTILINE,
    "nul\x00byte",
]


def hostile_report(command: str = "firewall") -> Report:
    findings = tuple(
        Finding(
            kind="firewall-permit",
            rule="R3",
            message=f"permit {value}",
            message_ja=f"許可 {value}",
            evidence=(value,),
            remedy=value,
            location=Location(f"export{ESC}.rules", 7),
            data={"src_zone": "inet", "dst_zone": "internet", "comment": value, "sni": value},
        )
        for value in HOSTILE
    )
    return Report(
        command=command,
        findings=findings,
        summary={"rules": 3, "note": OSC8},
        warnings=(InputWarning(f"unknown {ESC} {RLO}", Location("x.rules", 2)),),
        incomplete=True,
        inputs=(f"export{RLO}.rules",),
    )


def test_csv_bare_cr_is_quoted_and_no_line_starts_a_formula() -> None:
    text = render(hostile_report(), "csv")
    # every physical line, split at CR as well as LF, is safe for a spreadsheet
    for line in re.split(r"\r\n|\r|\n", text):
        assert not line.startswith(FORMULA_START), repr(line)
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert len(rows) == len(HOSTILE)  # the bare CR did not split a record
    by_value = {row["comment"].replace("'", ""): row for row in rows}
    assert by_value[BARE_CR.replace("'", "")]["comment"] == "x\r'=cmd|' /C calc'!A0"
    multi = rows[HOSTILE.index(MULTILINE)]["comment"]
    assert multi == "ok\n'+SUM(1,1)\r\n'@HYPERLINK(\"http://192.0.2.9\")"
    for row in rows:
        for cell in row.values():
            for line in re.split(r"\r\n|\r|\n", cell):
                assert not line.startswith(FORMULA_START), repr(cell)


@pytest.mark.parametrize("value", HOSTILE)
def test_csv_cell_keeps_the_data(value: str) -> None:
    cell = safe.csv_cell(value)
    assert cell.replace("'", "") == value.replace("'", "")


def test_csv_bom_for_excel_and_japanese() -> None:
    report = hostile_report()
    assert not render(report, "csv").startswith("\ufeff")
    assert render(report, "csv", "ja").startswith("\ufeff")
    assert render(report, "csv", excel=True).startswith("\ufeff")
    topo = str(Path(__file__).resolve().parent.parent / "topologies/alpha.yaml")
    runner = CliRunner()
    plain = runner.invoke(cli, ["topology", "matrix", topo, "--format", "csv"]).output
    excel = runner.invoke(cli, ["--excel", "topology", "matrix", topo, "--format", "csv"]).output
    ja = runner.invoke(cli, ["--lang", "ja", "topology", "matrix", topo, "--format", "csv"]).output
    assert not plain.startswith("\ufeff") and excel == "\ufeff" + plain and ja.startswith("\ufeff")


def _no_raw_controls(text: str, allow: str = "\n") -> None:
    bad = [
        c
        for c in text
        if (ord(c) < 32 and c not in allow) or c in safe.BIDI or 0x7F <= ord(c) < 0xA0
    ]
    assert not bad, [hex(ord(c)) for c in bad]


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_terminal_text_shows_escapes_instead_of_obeying_them(lang: str) -> None:
    text = render(hostile_report(), "text", lang)
    _no_raw_controls(text)
    assert "\\x1b[31mRED\\x1b[0m" in text
    assert "\\x1b]8;;http://192.0.2.9/\\x07click" in text
    assert "abc\\u202etxt.exe" in text


def test_junit_is_well_formed_with_control_characters() -> None:
    junitparser = pytest.importorskip("junitparser")
    xml = render(hostile_report(), "junit")
    _no_raw_controls(xml)
    root = ET.fromstring(xml.split("\n", 1)[1])
    assert root.tag == "testsuite"
    parsed = junitparser.JUnitXml.fromstring(xml.split("\n", 1)[1].encode())
    suites = [parsed] if isinstance(parsed, junitparser.TestSuite) else list(parsed)
    cases = [case for suite in suites for case in suite]
    # one case per rule per zone pair (all nine findings are R3 inet→internet), plus the
    # incomplete-analysis error case
    assert [c.name for c in cases] == ["R3 inet→internet", "input fully understood"]
    assert "\\x1b]8;;" in cases[0].result[0].text


def test_html_escapes_markup_and_neutralises_bidi() -> None:
    html = render(hostile_report(), "html")
    assert "<script>alert" not in html
    assert "\u202e" not in html and "abc\\u202etxt.exe" in html
    assert "\x1b" not in html and "\x00" not in html


def test_json_and_sarif_keep_the_data_exactly() -> None:
    doc = json.loads(render(hostile_report(), "json"))
    assert [f["comment"] for f in doc["findings"]] == HOSTILE
    sarif = json.loads(render(hostile_report(), "sarif"))
    assert sarif["runs"][0]["results"][5]["properties"]["comment"] == RLO


def test_diagram_exports_with_hostile_names(tmp_path: Path) -> None:
    """Zone and node names are user text too: SVG stays well-formed, DOT/Mermaid labels
    cannot close their quotes, and no control character passes raw."""
    topo = Path(__file__).resolve().parent.parent / "topologies/alpha.yaml"
    text = topo.read_text(encoding="utf-8")
    text = text.replace("name: 業務端末", 'name: "\\u202e\\"]</text><script>1</script>\\e]8;;x\\a"')
    hostile = tmp_path / "hostile.yaml"
    hostile.write_text(text, encoding="utf-8")
    runner = CliRunner()
    svg = runner.invoke(cli, ["diagram", "-t", str(hostile), "--format", "svg"])
    assert svg.exit_code == 0, svg.output
    root = ET.fromstring(svg.output.split("\n", 1)[1])
    assert not list(root.iter("{http://www.w3.org/2000/svg}script"))
    _no_raw_controls(svg.output)
    assert "\\u202e" in svg.output
    for fmt in ("dot", "mmd", "html"):
        out = runner.invoke(cli, ["diagram", "-t", str(hostile), "--format", fmt]).output
        _no_raw_controls(out)
        assert "<script>1" not in out or fmt == "dot"  # a quoted DOT label is plain text
        assert out.count("<script>") <= (1 if fmt == "html" else 0) or fmt == "dot"
    dot = runner.invoke(cli, ["diagram", "-t", str(hostile), "--format", "dot"]).output
    assert '\\"]' in dot  # the quote stays inside its DOT string


def test_firewall_export_control_characters_never_reach_terminal_or_junit(tmp_path: Path) -> None:
    """Issue 13 item 7: a rule comment carrying ESC, OSC 8 and a right-to-left override, in a
    real export, through the real `segverify firewall` command."""
    lab = Path(__file__).resolve().parent.parent / "topologies/lab/alpha"
    leaky = lab / "leaky.iptables"
    if not leaky.exists():
        pytest.skip("lab rulesets missing")
    comment = "\x1b]8;;http://192.0.2.9/\x07ok\x1b]8;;\x07 \x1b[2J abc\u202etxt"
    text = leaky.read_text(encoding="utf-8").replace(
        "-A FORWARD -i inet -o internet -p tcp -m tcp --dport 443 -j ACCEPT",
        f'-A FORWARD -i inet -o internet -p tcp -m tcp --dport 443 -m comment --comment "{comment}" -j ACCEPT',
    )
    export = tmp_path / "hostile.iptables"
    export.write_text(text, encoding="utf-8")
    runner = CliRunner()
    topo = str(lab / "topology.yaml")
    out = runner.invoke(cli, ["firewall", str(export), "-t", topo])
    assert out.exit_code == 1, out.output
    assert "comment" in out.output
    _no_raw_controls(out.output)
    junit = runner.invoke(cli, ["firewall", str(export), "-t", topo, "--format", "junit"]).output
    _no_raw_controls(junit)
    ET.fromstring(junit.split("\n", 1)[1])
    page = runner.invoke(cli, ["report", "-t", topo, "--firewall", str(export)]).output
    assert "\u202e" not in page and "\x1b" not in page


def test_the_compiled_hazard_classes_flag_exactly_the_hazards() -> None:
    """xml_text/terminal search one compiled character class; it must flag the same code
    points as the per-character rule, for every code point."""
    from segverify.render import safe

    for keep, pattern in (("", safe._HAZARD), ("\t\n", safe._HAZARD_KEEP_LINES)):
        wrong = [
            c
            for c in range(0x110000)
            if safe._hazard(chr(c), keep) != (pattern.search(chr(c)) is not None)
        ]
        assert not wrong, (keep, wrong[:10])
