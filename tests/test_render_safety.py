"""Renderers with attacker-controlled strings: CSV formulas neutralised, HTML escaped and
rendered by a real browser, SARIF/JUnit well-formed."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from segverify.findings.model import Finding, InputWarning, Report
from segverify.render import render
from segverify.render.csv_out import neutralise
from segverify.topology.model import Location

HOSTILE = [
    "<script>alert(1)</script>.example",
    "=cmd|' /C calc'!A0",
    "+SUM(1,1)",
    '@HYPERLINK("http://x")',
    "-2+3",
    "\tTAB",
    "line\nbreak\"quote'",
    "＝全角",
]


def hostile_report() -> Report:
    finding = Finding(
        kind="flow",
        rule="R3",
        message=f"flow to {HOSTILE[0]}",
        message_ja=f"{HOSTILE[0]} への通信",
        clauses=("基本方針 6(3)③",),
        evidence=(HOSTILE[1],),
        remedy="<b>bold</b>",
        location=Location("<img src=x onerror=alert(1)>.pcap", 3, 1),
        data={"names": HOSTILE, "src": "198.18.30.5", "dst": "192.0.2.1", "sni": HOSTILE[1]},
    )
    return Report(
        command="pcap",
        findings=(finding,),
        summary={"records": 10, "note": "<script>x</script>"},
        warnings=(InputWarning("<svg onload=alert(1)>", Location("f", 1)),),
        inputs=("<i>capture</i>.pcap",),
    )


@pytest.mark.parametrize("value", HOSTILE)
def test_csv_cells_never_start_a_formula(value: str) -> None:
    cell = neutralise(value)
    assert not cell.startswith(("=", "+", "-", "@", "\t", "\r", "＝"))
    assert cell.lstrip("'") == value


def test_csv_round_trip_keeps_data_and_neutralises() -> None:
    text = render(hostile_report(), "csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 1
    row = rows[0]
    assert row["sni"] == "'" + HOSTILE[1]
    assert row["evidence"].startswith("'=")
    for cell in row.values():
        assert not cell.startswith(("=", "+", "@", "\t"))
    assert int(rows[0]["line"]) == 3


def test_html_escapes_everything() -> None:
    html = render(hostile_report(), "html")
    for raw in ("<script>alert", "<img src=x", "<svg onload", "<b>bold</b>", "<i>capture"):
        assert raw not in html
    assert html.count("<script>") == 1  # the page's own, allowed by its CSP hash
    assert "&lt;script&gt;alert(1)&lt;/script&gt;.example" in html
    assert "Content-Security-Policy" in html


def test_json_sarif_junit_are_well_formed() -> None:
    report = hostile_report()
    doc = json.loads(render(report, "json"))
    assert doc["findings"][0]["names"] == HOSTILE
    assert doc["summary"]["records"] == 10 and doc["exit_code"] == 1
    sarif = json.loads(render(report, "sarif"))
    result = sarif["runs"][0]["results"][0]
    assert sarif["version"] == "2.1.0" and result["ruleId"] == "R3" and result["level"] == "error"
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 3
    suite = ET.fromstring(render(report, "junit").split("\n", 1)[1])
    assert suite.get("failures") == "1"
    assert suite.find("testcase/failure").get("type") == "R3"


def test_text_in_japanese() -> None:
    text = render(hostile_report(), "text", "ja")
    assert "への通信" in text and "条項" in text


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("chromium not installed (CI installs it via .ci/run)")


def test_html_in_a_real_browser_runs_no_script(tmp_path: Path) -> None:
    """Chromium renders the page; its DOM has the hostile strings as text, and no script ran."""
    browser = _chromium()
    page = tmp_path / "report.html"
    page.write_text(render(hostile_report(), "html"), encoding="utf-8")
    profile = tmp_path / "profile"
    args = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
    ]
    env = {**os.environ, "HOME": str(tmp_path)}
    dom = subprocess.run(
        [*args, "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    # the only script element is the page's own (allowed by its CSP hash); the hostile
    # strings are text
    assert dom.stdout.count("<script>") == 1 and "<script>alert" not in dom.stdout
    assert "&lt;script&gt;alert(1)&lt;/script&gt;.example" in dom.stdout
    assert 'id="findings-table"' in dom.stdout
    shot = tmp_path / "shot.png"
    subprocess.run(
        [*args, f"--screenshot={shot}", "--window-size=1200,800", page.as_uri()],
        capture_output=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert shot.exists() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
