"""Rebuild the example images in docs/images/ (run from the repository root):

    python scripts/make_doc_images.py

* diagram-alpha-ja.png: the α preset's lane diagram in Japanese;
* diagram-yokote-capture.png and matrix-yokote-capture.png: the 横手市 seed example with
  a small scripted capture overlaid (sanctioned traffic, forbidden flows, an unanswered
  attempt), lanes and matrix views;
* report.png: the top of the audit report for that example, in headless chromium
  (Playwright driving the system's chromium; skipped when either is missing).

Outputs are deterministic (fixed date, scripted packets with fixed timestamps).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from segverify.cli.main import cli  # noqa: E402

IMAGES = ROOT / "docs" / "images"
YOKOTE = ROOT / "topologies" / "examples" / "yokote.yaml"
ALPHA = ROOT / "topologies" / "alpha.yaml"
L2 = {
    "src": "02:00:00:00:00:01",
    "dst": "02:00:00:00:00:02",
}  # fixed: scapy never resolves (no ARP)
DATE = "2026-04-01"


def yokote_capture(path: Path) -> None:
    """A few flows in 横手市's example address plan: sanctioned ones and violations."""
    from scapy.all import DNS, DNSQR, IP, TCP, UDP, Ether, wrpcap

    def tcp(src: str, dst: str, dport: int, sport: int, answered: bool = True) -> list:
        pkts = [Ether(**L2) / IP(src=src, dst=dst) / TCP(sport=sport, dport=dport, flags="S")]
        if answered:
            pkts.append(
                Ether(**L2) / IP(src=dst, dst=src) / TCP(sport=dport, dport=sport, flags="SA")
            )
            pkts.append(
                Ether(**L2) / IP(src=src, dst=dst) / TCP(sport=sport, dport=dport, flags="A")
            )
            pkts += [
                Ether(**L2)
                / IP(src=src, dst=dst)
                / TCP(sport=sport, dport=dport, flags="PA")
                / (b"x" * 200)
            ] * 6
        return pkts

    pkts: list = []
    # sanctioned: LGWAN terminal → screen transfer (RDP), mail to the sanitiser, the
    # security cloud proxy from the internet zone, 宛名 → 中間サーバー
    pkts += tcp("198.18.100.150", "198.18.100.40", 3389, 50001)
    pkts += tcp("198.18.110.25", "198.18.110.30", 25, 50002)
    pkts += tcp("198.18.110.60", "203.0.113.10", 8080, 50003)
    pkts += tcp("198.18.90.10", "198.19.100.50", 443, 50004)
    # violations: LGWAN PC straight to an internet-zone host (R2), internet zone straight
    # to the internet (R3), My Number zone to the internet (R1), an unanswered attempt
    # from the internet zone into LGWAN (R4)
    pkts += tcp("198.18.100.151", "198.18.110.60", 445, 50010)
    pkts += tcp("198.18.110.61", "198.51.100.20", 443, 50011)
    pkts += tcp("198.18.90.50", "192.0.2.80", 443, 50012)
    pkts += tcp("198.18.110.62", "198.19.100.50", 443, 50013, answered=False)
    pkts.append(
        Ether(**L2)
        / IP(src="198.18.110.63", dst="192.0.2.53")
        / UDP(sport=50014, dport=53)
        / DNS(rd=1, qd=DNSQR(qname="example.com"))
    )
    for i, p in enumerate(pkts):
        p.time = 1775001600 + i * 0.01
    wrpcap(str(path), pkts)


def invoke(*args: str) -> None:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    if result.exit_code not in (0, 1):
        raise SystemExit(f"segverify {' '.join(args)} failed: {result.output}")


def screenshot(page: Path, out: Path) -> bool:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return False
    if browser is None:
        return False
    args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ]
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=browser, args=args)
        tab = b.new_page(viewport={"width": 1280, "height": 1100})
        tab.goto(page.resolve().as_uri())
        tab.screenshot(path=str(out))
        b.close()
    return True


def main() -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    invoke(
        "--lang",
        "ja",
        "diagram",
        "-t",
        str(ALPHA),
        "--date",
        DATE,
        "-o",
        str(IMAGES / "diagram-alpha-ja.png"),
    )
    with tempfile.TemporaryDirectory() as tmp:
        cap = Path(tmp) / "yokote.pcap"
        yokote_capture(cap)
        invoke(
            "diagram",
            "-t",
            str(YOKOTE),
            "--capture",
            str(cap),
            "--date",
            DATE,
            "-o",
            str(IMAGES / "diagram-yokote-capture.png"),
        )
        invoke(
            "diagram",
            "-t",
            str(YOKOTE),
            "--capture",
            str(cap),
            "--date",
            DATE,
            "--view",
            "matrix",
            "-o",
            str(IMAGES / "matrix-yokote-capture.png"),
        )
        report = Path(tmp) / "report.html"
        invoke(
            "report", "-t", str(YOKOTE), "--capture", str(cap), "--date", DATE, "-o", str(report)
        )
        if not screenshot(report, IMAGES / "report.png"):
            print("report.png not updated: playwright or chromium missing")
    for path in sorted(IMAGES.glob("*.png")):
        print(f"{path.relative_to(ROOT)}: {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
