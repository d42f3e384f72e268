"""The HTML reports in a real browser: Playwright driving Debian's chromium (never a
downloaded browser). The page opens with no console error and no network request, no
hostile string runs, sorting and filtering work, diagrams are visible, print hides the
controls, and a screenshot is kept (tmp_path; docs/images/ when SEGVERIFY_DOC_IMAGES=1)."""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from segverify.cli.main import cli

ROOT = Path(__file__).resolve().parent.parent
ALPHA = ROOT / "topologies/alpha.yaml"
CAPTURE = ROOT / "captures/alpha-violations.pcap"
L2 = {
    "src": "02:00:00:00:00:01",
    "dst": "02:00:00:00:00:02",
}  # fixed: scapy never resolves (no ARP)
ESC = "\x1b[2J\x1b]8;;http://192.0.2.9/\x07link\x1b]8;;\x07"
HOSTILE_NAMES = [
    "<script>window.pwned=1;alert(1)</script>",
    "\"onmouseover='alert(2)'",
    '=HYPERLINK("http://192.0.2.9","x")',
    "x\r=cmd|' /C calc'!A0",
    "abc\u202egnp.exe",
    ESC,
]


class Page:
    """A page plus everything it logged and requested."""

    def __init__(self, browser: Any, path: Path) -> None:
        self.url = path.resolve().as_uri()
        self.console: list[tuple[str, str]] = []
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.page = browser.new_page(viewport={"width": 1400, "height": 1000})
        self.page.on("console", lambda m: self.console.append((m.type, m.text)))
        self.page.on("pageerror", lambda e: self.console.append(("pageerror", str(e))))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.goto(self.url)
        self.page.wait_for_load_state("load")

    def column(self, table: str, index: int) -> list[str]:
        return self.page.eval_on_selector_all(
            f"#{table} tbody tr:not([hidden])",
            f"rows => rows.map(r => r.cells[{index}].textContent.trim())",
        )

    def assert_clean(self) -> None:
        assert [c for c in self.console if c[0] in ("error", "pageerror", "warning")] == []
        assert self.requests == [self.url]
        assert self.dialogs == []
        assert self.page.evaluate("typeof window.pwned") == "undefined"


def hostile_capture(path: Path) -> Path:
    """DNS queries and HTTP requests from the internet zone straight to the internet (R3)
    whose names carry markup, formulas, a bare CR, a right-to-left override and terminal
    escape sequences."""
    scapy = pytest.importorskip("scapy.all")
    pkts = []
    for i, name in enumerate(HOSTILE_NAMES):
        label = name.encode("utf-8").replace(b".", b"_")
        dns = scapy.DNS(id=i + 1, rd=1, qd=scapy.DNSQR(qname=label + b".example"))
        pkts.append(
            scapy.Ether(**L2)
            / scapy.IP(src="198.18.30.101", dst=f"192.0.2.{60 + i}")
            / scapy.UDP(sport=40000 + i, dport=53)
            / dns
        )
        host = name.encode("utf-8")
        pkts.append(
            scapy.Ether(**L2)
            / scapy.IP(src="198.18.30.102", dst=f"198.51.100.{60 + i}")
            / scapy.TCP(sport=41000 + i, dport=80, flags="PA", seq=1)
            / (b"GET / HTTP/1.1\r\nHost: " + host + b"\r\n\r\n")
        )
        # both answered, so each is a leak (an error), not a mere attempt
        pkts.append(
            scapy.Ether(**L2)
            / scapy.IP(src=f"192.0.2.{60 + i}", dst="198.18.30.101")
            / scapy.UDP(sport=53, dport=40000 + i)
            / scapy.DNS(id=i + 1, qr=1, rcode=3, qd=scapy.DNSQR(qname=label + b".example"))
        )
        pkts.append(
            scapy.Ether(**L2)
            / scapy.IP(src=f"198.51.100.{60 + i}", dst="198.18.30.102")
            / scapy.TCP(sport=80, dport=41000 + i, flags="PA", seq=1, ack=2)
            / b"HTTP/1.1 404 Not Found\r\n\r\n"
        )
    for n, p in enumerate(pkts):
        p.time = 1775001600 + n
    scapy.wrpcap(str(path), pkts)
    return path


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def _keep(shot: Path, name: str) -> None:
    if os.environ.get("SEGVERIFY_DOC_IMAGES") == "1":
        target = ROOT / "docs" / "images" / name
        target.parent.mkdir(exist_ok=True)
        shutil.copyfile(shot, target)


def test_audit_report_in_browser(browser: Any, tmp_path: Path) -> None:
    if not CAPTURE.exists():
        pytest.skip("bundled capture missing")
    out = tmp_path / "report.html"
    code, _ = run(
        "report",
        "-t",
        str(ALPHA),
        "--capture",
        str(CAPTURE),
        "--date",
        "2026-04-01",
        "-o",
        str(out),
    )
    assert code == 1
    p = Page(browser, out)
    p.assert_clean()
    page = p.page
    assert page.text_content("#shown-count") == "5"
    # sorting: the rule column, ascending then descending
    rule_head = page.locator("#findings-table thead th").nth(3)
    rule_head.click()
    assert p.column("findings-table", 3) == sorted(p.column("findings-table", 3))
    assert rule_head.get_attribute("aria-sort") == "ascending"
    rule_head.click()
    assert p.column("findings-table", 3) == sorted(p.column("findings-table", 3), reverse=True)
    page.locator("#findings-table thead th").nth(0).click()
    assert p.column("findings-table", 0) == ["1", "2", "3", "4", "5"]
    # filtering: free text, a select, a group button, reset
    page.fill("#filter-text", "tcp/445")
    assert p.column("findings-table", 3) == ["R2"] and page.text_content("#shown-count") == "1"
    page.fill("#filter-text", "")
    page.select_option("#filter-rule", "R2")
    assert p.column("findings-table", 3) == ["R2", "R2"]
    page.click("#filter-reset")
    page.click('button[data-group-rule="R4"]')
    assert p.column("findings-table", 4) == ["inet→lgwan-wan"]
    page.click("#filter-reset")
    assert page.text_content("#shown-count") == "5"
    # details expand
    details = page.locator("#findings-table details").first
    assert not details.locator("dl").is_visible()
    details.locator("summary").click()
    assert details.locator("dl").is_visible() and "Community ID" in details.inner_text()
    # diagrams are drawn and visible
    for fig in ("#diagram-lanes svg", "#diagram-matrix svg"):
        box = page.locator(fig).bounding_box()
        assert box and box["width"] > 600 and box["height"] > 300
    assert page.locator("#diagram-lanes svg text", has_text="forbidden flows 2 (R2×2)").count() == 1
    # print: controls hidden, every details opened
    page.emulate_media(media="print")
    assert not page.locator("#filter-text").is_visible()
    page.emulate_media(media="screen")
    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=False)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    _keep(shot, "report.png")
    p.assert_clean()
    page.close()


def test_japanese_report_in_browser(browser: Any, tmp_path: Path) -> None:
    out = tmp_path / "ja.html"
    run("--lang", "ja", "report", "-t", str(ALPHA), "--date", "2026-04-01", "-o", str(out))
    p = Page(browser, out)
    p.assert_clean()
    assert p.page.locator("html").get_attribute("lang") == "ja"
    heads = p.page.locator("#rules-table thead th").all_inner_texts()
    assert heads[:3] == ["規則", "ガイドラインの該当箇所", "自団体の基本方針の該当条項"]
    assert p.page.locator("#verdict").inner_text().startswith("適合")
    p.page.close()


def test_hostile_capture_runs_no_script_and_spreadsheets_stay_inert(
    browser: Any, tmp_path: Path
) -> None:
    cap = hostile_capture(tmp_path / "hostile.pcap")
    code, text = run("pcap", str(cap), "-t", str(ALPHA), "--no-progress")
    assert code == 1
    assert "\x1b" not in text and "\u202e" not in text  # terminal escapes neutralised
    code, table = run("pcap", str(cap), "-t", str(ALPHA), "--format", "csv", "--no-progress")
    for line in re.split(r"\r\n|\r|\n", table):
        assert not line.startswith(("=", "+", "-", "@", "\t")), repr(line)
    rows = list(csv.DictReader(io.StringIO(table, newline="")))
    assert len(rows) == len(HOSTILE_NAMES) * 2
    html_out = tmp_path / "pcap.html"
    run(
        "pcap", str(cap), "-t", str(ALPHA), "--format", "html", "-o", str(html_out), "--no-progress"
    )
    report_out = tmp_path / "report.html"
    run("report", "-t", str(ALPHA), "--capture", str(cap), "-o", str(report_out))
    for path in (html_out, report_out):
        raw = path.read_text(encoding="utf-8")
        assert "\u202e" not in raw and "\x1b" not in raw
        p = Page(browser, path)
        p.assert_clean()
        body = p.page.inner_text("body")
        p.page.locator("#findings-table details summary").first.click()
        page_text = p.page.content()
        assert "abc\\u202egnp" in page_text
        assert "window.pwned" in page_text  # shown as text, never run
        assert len(p.column("findings-table", 0)) == len(HOSTILE_NAMES) * 2
        assert body
        p.page.close()


def test_diagram_html_page_in_browser(browser: Any, tmp_path: Path) -> None:
    out = tmp_path / "diagram.html"
    code, _ = run("--lang", "ja", "diagram", "-t", str(ALPHA), "-o", str(out))
    assert code == 0
    p = Page(browser, out)
    p.assert_clean()
    for fig in ("#diagram-lanes svg", "#diagram-matrix svg"):
        box = p.page.locator(fig).bounding_box()
        assert box and box["width"] > 600 and box["height"] > 300
    assert p.page.locator("#diagram-lanes svg text", has_text="凡例").count() == 1
    p.page.close()
