"""Reachability diagrams: every preset and seed example in every format, byte-identical
across two processes (different hash seeds), and a broken topology draws differently."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from segverify.cli.main import cli

ROOT = Path(__file__).resolve().parent.parent
TOPOLOGIES = sorted(ROOT.glob("topologies/*.yaml")) + sorted(
    ROOT.glob("topologies/examples/*.yaml")
)
FORMATS = ("svg", "dot", "mmd", "html", "png", "pdf")
TEXT_FORMATS = ("svg", "dot", "mmd", "html")
# PNG and PDF go through matplotlib (seconds per file): every format on a preset and a seed
# example, the text formats on every topology.
RASTER_TOPOLOGIES = [ROOT / "topologies/alpha.yaml", ROOT / "topologies/examples/yokote.yaml"]
ALPHA = ROOT / "topologies/alpha.yaml"
CAPTURE = ROOT / "captures/alpha-violations.pcap"

RENDER_ALL = """
import sys
from pathlib import Path
from click.testing import CliRunner
from segverify.cli.main import cli
out = Path(sys.argv[1])
for topo in sys.argv[2:]:
    for fmt in {formats!r}:
        for lang in ("en", "ja"):
            target = out / f"{{Path(topo).stem}}.{{lang}}.{{fmt}}"
            r = CliRunner().invoke(cli, ["--lang", lang, "diagram", "-t", topo, "-o", str(target)])
            assert r.exit_code == 0, (topo, fmt, r.output)
"""


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def _render_jobs(out: Path, seed: str) -> list[tuple[Path, subprocess.Popen[str]]]:
    """Start the renderings of one seed: text formats of every topology, every format of
    RASTER_TOPOLOGIES (two processes, so both seeds run side by side)."""
    env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
    env.pop("SOURCE_DATE_EPOCH", None)
    jobs = []
    for sub, formats, topologies in (
        ("text", TEXT_FORMATS, TOPOLOGIES),
        ("raster", ("png", "pdf"), RASTER_TOPOLOGIES),
    ):
        target = out / sub
        target.mkdir(parents=True)
        script = RENDER_ALL.format(formats=formats)
        proc = subprocess.Popen(
            [sys.executable, "-c", script, str(target), *map(str, topologies)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        jobs.append((target, proc))
    return jobs


def _collect(jobs: list[tuple[Path, subprocess.Popen[str]]]) -> dict[str, str]:
    hashes: dict[str, str] = {}
    for target, proc in jobs:
        _, err = proc.communicate(timeout=480)
        assert proc.returncode == 0, err[-3000:]
        for p in sorted(target.iterdir()):
            hashes[p.name] = hashlib.sha256(p.read_bytes()).hexdigest()
    return hashes


def test_every_preset_and_example_is_byte_identical_across_runs(tmp_path: Path) -> None:
    assert len(TOPOLOGIES) >= 10
    jobs_a = _render_jobs(tmp_path / "a", "1")
    jobs_b = _render_jobs(tmp_path / "b", "4242")
    first, second = _collect(jobs_a), _collect(jobs_b)
    expected = len(TOPOLOGIES) * len(TEXT_FORMATS) * 2 + len(RASTER_TOPOLOGIES) * 2 * 2
    assert len(first) == expected
    assert first == second
    # and every topology draws differently from every other
    svgs = [h for name, h in first.items() if name.endswith(".en.svg")]
    assert len(set(svgs)) == len(TOPOLOGIES)
    for svg in (tmp_path / "a" / "text").glob("*.svg"):
        assert ET.parse(svg).getroot().tag == "{http://www.w3.org/2000/svg}svg"
    pngs = list((tmp_path / "a" / "raster").glob("*.png"))
    assert len(pngs) == len(RASTER_TOPOLOGIES) * 2
    for png in pngs:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _broken(tmp_path: Path, extra_links: list[str]) -> Path:
    text = ALPHA.read_text(encoding="utf-8")
    links = "".join(f"  - {link}\n" for link in extra_links)
    text = text.replace(
        "  - [security-cloud, internet]\n", "  - [security-cloud, internet]\n" + links
    )
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("links", "rules"),
    [
        (["[lgwan, inet]"], ["R2"]),
        (["[lgwan-pcs, internet]"], ["R5"]),
        (["[atena-server, inet]"], ["R1"]),
        (["[lgwan, inet]", "[inet, internet]"], ["R2", "R3"]),
    ],
)
def test_broken_variant_draws_its_findings(
    tmp_path: Path, links: list[str], rules: list[str]
) -> None:
    broken = _broken(tmp_path, links)
    code, check = run("topology", "check", str(broken), "--format", "json")
    assert code == 1
    found = sorted({f["rule"] for f in json.loads(check)["findings"]})
    assert found == sorted(rules)
    for fmt in ("svg", "dot", "mmd"):
        _, good = run("diagram", "-t", str(ALPHA), "--format", fmt, "--date", "2026-04-01")
        _, bad = run("diagram", "-t", str(broken), "--format", fmt, "--date", "2026-04-01")
        assert good != bad
        for rule in rules:
            assert f"] {rule}" in bad and f"] {rule}" not in good
    _, svg = run("diagram", "-t", str(broken), "--format", "svg")
    # the bypass link itself is drawn in red, with the finding's rule in red text
    assert re.search(r'<polyline points="[^"]+" fill="none" stroke="#cc0000" stroke-width="3"', svg)
    for rule in rules:
        assert re.search(rf'fill="#cc0000">\[\d+\] {rule}: ', svg)
    _, dot = run("diagram", "-t", str(broken), "--format", "dot")
    assert 'color="#cc0000", penwidth=3' in dot


def test_topology_diagram_uses_the_new_renderer_and_shows_findings(tmp_path: Path) -> None:
    broken = _broken(tmp_path, ["[lgwan, inet]"])
    _, good = run("topology", "diagram", str(ALPHA))
    _, bad = run("topology", "diagram", str(broken))
    assert good.startswith("digraph") and good != bad and "] R2" in bad
    out = tmp_path / "t.png"
    code, _ = run("topology", "diagram", str(ALPHA), "--format", "png", "-o", str(out))
    assert code == 0 and out.read_bytes()[:4] == b"\x89PNG"


def test_diagram_content_alpha() -> None:
    """Lanes in tier order, gateways drawn as nodes, sanctioned paths with rule ids, legend."""
    _, svg = run("diagram", "-t", str(ALPHA), "--format", "svg", "--date", "2026-04-01")
    texts = re.findall(r"<text [^>]*>([^<]*)</text>", svg)
    lanes = [
        "Juki-net",
        "My Number zone",
        "LGWAN",
        "LGWAN zone",
        "internet zone",
        "security cloud",
        "internet",
    ]
    positions = [texts.index(name) for name in lanes]
    assert positions == sorted(positions)
    for gateway in (
        "マイナンバー系境界FW",
        "メール無害化サーバ",
        "画面転送サーバ",
        "インターネット接続系FW",
    ):
        assert gateway in texts
    assert any("atena-to-chukan" in x for x in texts)
    assert "Legend" in texts and any("2026-04-01" in x for x in texts)
    assert any("678b07b980a6" in x or "SHA-256" in x for x in texts)
    _, ja = run("--lang", "ja", "diagram", "-t", str(ALPHA), "--format", "svg")
    ja_texts = re.findall(r"<text [^>]*>([^<]*)</text>", ja)
    for term in ("マイナンバー利用事務系", "LGWAN接続系", "インターネット接続系", "凡例"):
        assert term in ja_texts
    for english in (
        "Legend",
        "Sanctioned paths (design: services [allow rules])",
        "My Number zone",
    ):
        assert english not in ja_texts


def test_date_from_option_or_source_date_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    _, plain = run("diagram", "-t", str(ALPHA), "--format", "svg")
    assert "date:" not in plain
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1775001600")
    _, dated = run("diagram", "-t", str(ALPHA), "--format", "svg")
    assert "date: 2026-04-01" in dated
    code, out = run("diagram", "-t", str(ALPHA), "--format", "svg", "--date", "April")
    assert code == 2


def test_pdf_is_a4_landscape_width(tmp_path: Path) -> None:
    out = tmp_path / "a.pdf"
    code, _ = run("diagram", "-t", str(ALPHA), "-o", str(out))
    assert code == 0
    data = out.read_bytes()
    assert data.startswith(b"%PDF")
    box = re.search(rb"/MediaBox \[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", data)
    assert box and abs(float(box.group(1)) - 841.68) < 1 and float(box.group(2)) < 841.68
    assert b"CreationDate" not in data
    assert b"IPAexGothic" in data  # the bundled Japanese font is embedded


def test_large_topology_stays_readable(tmp_path: Path) -> None:
    """60 nodes: every node label drawn, nothing outside the page, width stays A4-landscape."""
    text = ALPHA.read_text(encoding="utf-8")
    extra = "".join(
        f"  host-{i:02d}:\n    role: server\n    zone: {zone}\n    addresses: [198.18.{net}.{100 + i}]\n"
        for i, (zone, net) in enumerate([("lgwan", 20), ("inet", 30), ("mynumber", 10)] * 15)
    )
    text = text.replace("\nlinks:\n", "\n" + extra + "\nlinks:\n")
    path = tmp_path / "big.yaml"
    path.write_text(text, encoding="utf-8")
    _, svg = run("diagram", "-t", str(path), "--format", "svg")
    root = ET.fromstring(svg)
    width, height = float(root.get("width")), float(root.get("height"))
    texts = [el for el in root.iter("{http://www.w3.org/2000/svg}text")]
    labels = {el.text for el in texts}
    assert all(f"host-{i:02d}" in labels for i in range(45))
    for el in texts:
        assert 0 <= float(el.get("x")) <= width and 0 <= float(el.get("y")) <= height
    assert width == 1400


def test_capture_overlay_counts_match_ground_truth() -> None:
    if not CAPTURE.exists():
        pytest.skip("bundled capture missing")
    truth = json.loads(Path(str(CAPTURE) + ".expected.json").read_text())
    per_rule = Counter(item["rule"] for item in truth)
    _, svg = run("diagram", "-t", str(ALPHA), "--capture", str(CAPTURE), "--format", "svg")
    labels = re.findall(r'fill="#cc0000">forbidden flows (\d+) \(([^)]*)\)</text>', svg)
    seen: Counter[str] = Counter()
    for count, rules in labels:
        parts = dict(p.split("×") for p in rules.split(", "))
        assert sum(int(v) for v in parts.values()) == int(count)
        for rule, n in parts.items():
            seen[rule] += int(n)
    assert seen == per_rule
    assert "Observed in captures" in svg
    _, mmd = run("diagram", "-t", str(ALPHA), "--capture", str(CAPTURE), "--format", "mmd")
    assert "seen " in mmd


def test_matrix_view_has_layers() -> None:
    _, svg = run("diagram", "-t", str(ALPHA), "--view", "matrix", "--format", "svg")
    assert "✗3" in svg and "✗1" in svg and "design" in svg
    if CAPTURE.exists():
        _, layered = run(
            "diagram",
            "-t",
            str(ALPHA),
            "--view",
            "matrix",
            "--capture",
            str(CAPTURE),
            "--format",
            "svg",
        )
        assert "observed" in layered and 'stroke="#cc0000" stroke-width="3"' in layered


def test_unanswered_forbidden_flows_are_dashed() -> None:
    """In alpha-violations.pcap the R4 attempt (inet → LGWAN) got no answer: its arrow is
    dashed; the answered R2 flows are solid."""
    if not CAPTURE.exists():
        pytest.skip("bundled capture missing")
    _, svg = run("diagram", "-t", str(ALPHA), "--capture", str(CAPTURE), "--format", "svg")

    def arrow_at(label: str) -> str:
        y = float(
            re.search(rf'<text x="[\d.]+" y="([\d.]+)"[^>]*>{re.escape(label)}</text>', svg).group(
                1
            )
        )
        line = re.search(rf'<polyline points="[\d.]+,{y + 5:g} [^"]+"[^>]*/>', svg)
        assert line, label
        return line.group(0)

    assert "stroke-dasharray" in arrow_at("forbidden flows 1 (R4×1)")
    assert "stroke-dasharray" not in arrow_at("forbidden flows 2 (R2×2)")


def _table_pairs(paths: list[str]) -> tuple[list, list]:
    from segverify.capture import read_flows
    from segverify.checks.flows import analyse_table
    from segverify.checks.observed import observed_from_analysis, observed_pairs
    from segverify.topology.loader import load_topology

    topo = load_topology(str(ALPHA))
    table = read_flows(paths)
    reference = observed_pairs(topo, table.flows)
    fast = observed_from_analysis(analyse_table(table, topo))
    return reference, fast


def test_observed_layer_columns_equal_the_per_flow_reference() -> None:
    """The columnar observed layer (used by diagram/report) equals the per-flow one built
    on the PolicyEvaluator, on every bundled capture."""
    captures = sorted(
        str(p)
        for p in [*ROOT.glob("captures/*.pcap*"), *ROOT.glob("captures/lab/*.pcap")]
        if not p.name.endswith(".json")
    )
    if not captures:
        pytest.skip("bundled captures missing")
    reference, fast = _table_pairs(captures)
    assert reference and fast == reference
    assert any(p.forbidden for p in fast) and any(p.unanswered for p in fast)


def test_many_zones_widen_the_page_instead_of_cramping(tmp_path: Path) -> None:
    """Sixteen LGWAN-side VLAN zones: every lane keeps at least 150 px, labels stay whole."""
    text = ALPHA.read_text(encoding="utf-8")
    extra = "".join(
        f"  lgwan-v{i}:\n    tier: lgwan\n    name: 業務VLAN{i}\n    prefixes: [198.18.{200 + i}.0/24]\n"
        for i in range(10)
    )
    text = text.replace("\nnodes:\n", "\n" + extra + "\nnodes:\n", 1)
    path = tmp_path / "zones.yaml"
    path.write_text(text, encoding="utf-8")
    code, svg = run("diagram", "-t", str(path), "--format", "svg")
    assert code == 0
    root = ET.fromstring(svg.split("\n", 1)[1])
    width = float(root.get("width"))
    assert width >= 2 * 16 + 17 * 150
    labels = {el.text for el in root.iter("{http://www.w3.org/2000/svg}text")}
    assert all(f"lgwan-v{i} (lgwan)" in labels for i in range(10))
