"""`segverify report`: the audit HTML's content, provenance, determinism, CSP and languages
(static checks; tests/test_report_browser.py opens it in a real browser)."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import os
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from segverify.cli.main import cli
from segverify.topology.loader import load_topology

ROOT = Path(__file__).resolve().parent.parent
ALPHA = ROOT / "topologies/alpha.yaml"
YOKOTE = ROOT / "topologies/examples/yokote.yaml"
CAPTURE = ROOT / "captures/alpha-violations.pcap"
SEEDS = (
    Path(os.environ.get("SEGVERIFY_FIXTURES", ROOT.parent / "shared" / "fixtures")).parent / "seeds"
)


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def visible_text(page: str) -> str:
    """Text a reader sees: tags, scripts and styles removed, entities decoded."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    body = re.sub(r"<title>.*?</title>", " ", body, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def test_report_sections_and_rule_verdicts() -> None:
    code, page = run("report", "-t", str(ALPHA), "--date", "2026-04-01")
    assert code == 0
    for section in ("rules", "findings", "diagrams", "layers", "not-checked", "inputs"):
        assert (
            f'<section class="first" id="{section}">' in page or f'<section id="{section}">' in page
        )
    rules = re.findall(r'<tr id="rule-(R\d)">(.*?)</tr>', page, flags=re.S)
    assert [r for r, _ in rules] == ["R1", "R2", "R3", "R4", "R5"]
    for _, row in rules:
        assert "ガイドライン" in row and "基本方針 6(3)" in row and "compliant" in row
    assert "Compliant: no finding in any checked layer." in page
    # what a network tool cannot check, and layers not given, are listed as not checked
    text = visible_text(page)
    for item in (
        "multi-factor authentication",
        "EDR",
        "physical",
        "no capture given",
        "no --policy given",
    ):
        assert item in text
    assert page.count("<svg ") == 2


def test_report_with_capture_shows_observed_layer_and_exits_1() -> None:
    if not CAPTURE.exists():
        pytest.skip("bundled capture missing")
    code, page = run("report", "-t", str(ALPHA), "--capture", str(CAPTURE), "--date", "2026-04-01")
    assert code == 1
    # the unanswered R4 attempt is a warning (the network stopped it), the rest errors
    assert "Not compliant: 4 error finding(s)." in page
    verdicts = dict(
        re.findall(r'<tr id="rule-(R\d)">.*?class="verdict [^"]+">([^<]+)<', page, flags=re.S)
    )
    assert verdicts == {
        "R1": "not compliant",
        "R2": "not compliant",
        "R3": "not compliant",
        "R4": "compliant",
        "R5": "compliant",
    }
    observed = dict(re.findall(r'data-rule="(R\d)" data-layer="observed">(\d+)<', page))
    assert observed == {"R1": "1", "R2": "2", "R3": "1", "R4": "0", "R5": "0"}
    assert '"observed">0<span class="muted"> (+1 warning(s))</span>' in page
    layers = page[page.index('id="layers"') :]
    assert "Forbidden flows seen in traffic" in layers and "lgwan → inet" in layers
    assert "Sanctioned paths never used in the captures" in layers
    assert "no firewall export given" in layers


def test_report_provenance(tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    code, _ = run("report", "-t", str(ALPHA), "--date", "2026-04-01", "-o", str(out))
    assert code == 0
    page = out.read_text(encoding="utf-8")
    digest = hashlib.sha256(ALPHA.read_bytes()).hexdigest()
    assert f"<code>{digest}</code>" in page
    assert str(ALPHA.stat().st_size) in page
    assert "segverify 0." in page and "2026-04-01" in page
    line = f"segverify report --topology {ALPHA} --date 2026-04-01 --output {out}"
    assert line in html.unescape(page)


def test_report_is_deterministic_with_a_date() -> None:
    args = ("report", "-t", str(ALPHA), "--date", "2026-04-01")
    assert run(*args)[1] == run(*args)[1]


def test_csp_allows_exactly_the_inline_script_and_style() -> None:
    _, page = run("report", "-t", str(ALPHA))
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page).group(1)
    assert "default-src 'none'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    scripts = re.findall(r"<script>(.*?)</script>", page, flags=re.S)
    styles = re.findall(r"<style>(.*?)</style>", page, flags=re.S)
    assert len(scripts) == 1 and len(styles) == 1
    for kind, body in (("script-src", scripts[0]), ("style-src", styles[0])):
        h = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"{kind} 'sha256-{h}'" in csp
    assert not re.search(r"\s(src|href)=\"(https?:)?//", page)  # nothing to fetch


def _catalogue() -> dict[str, dict[str, str]]:
    return yaml.safe_load((ROOT / "segverify/data/messages.yaml").read_text(encoding="utf-8"))


def test_japanese_report_has_no_english_catalogue_text() -> None:
    """Every catalogue string whose English differs from its Japanese: the English must not
    appear on the Japanese page (identifiers, addresses and rule ids are data, not text)."""
    args = ["--lang", "ja", "report", "-t", str(YOKOTE), "--date", "2026-04-01"]
    if CAPTURE.exists():
        args += ["--capture", str(CAPTURE)]
    _, page = run(*args)
    # file paths, hashes and locations (<code>) are data; input warnings are checked
    # separately below (capture warnings have Japanese text; not every producer does yet)
    warnings = re.search(r'<ul class="plain" id="warnings-list">(.*?)</ul>', page, flags=re.S)
    assert warnings and "未定義の内部アドレス" in html.unescape(warnings.group(1))
    page = re.sub(r"<code>.*?</code>", " ", page, flags=re.S)
    text = visible_text(page)
    assert "監査報告書" in text and "規則ごとの判定" in text and "確認対象外" in text
    # identifiers are data: zone, node, tier, service and allow-rule names stay as written
    topo = load_topology(str(YOKOTE))
    services = yaml.safe_load((ROOT / "segverify/data/services.yaml").read_text(encoding="utf-8"))
    names = {*topo.zones, *topo.nodes, *(z.tier for z in topo.zones.values())}
    names |= {r.id for r in topo.policy.allow} | {
        s for r in topo.policy.allow for s in r.service_names
    }
    names |= set(services["services"])
    for name in sorted(names, key=len, reverse=True):
        text = re.sub(rf"(?<![\w-]){re.escape(name)}(?![\w-])", " ", text)
    leaks = []
    for key, entry in _catalogue().items():
        en, ja = entry.get("en", ""), entry.get("ja", "")
        if not en or en == ja or "{" in en or len(en) < 5 or en in ja:
            continue
        if re.search(rf"(?<![\w-]){re.escape(en)}(?![\w-])", text):
            leaks.append((key, en))
    assert not leaks


def test_policy_text_is_checked_when_given() -> None:
    seed = SEEDS / "004_09773366254f6ac9.txt"
    if not seed.exists():
        pytest.skip("shared seeds not present")
    maizuru = ROOT / "topologies/examples/maizuru.yaml"
    code, page = run("report", "-t", str(maizuru), "--policy", str(seed), "--date", "2026-04-01")
    assert code == 0  # a warning: the text names 大阪府, the topology says 京都府
    assert "policy text" in visible_text(page) and "大阪府" in page
    assert "no --policy given" not in page


LAB = ROOT / "topologies/lab/alpha"
LEAKY_CAPTURE = ROOT / "captures/lab/alpha-violations-leaky.pcap"


def _layer_list(page: str, title: str) -> list[str]:
    start = page.index(f"<h3>{title}</h3>") + len(f"<h3>{title}</h3>")
    ends = [page.find(tag, start) for tag in ("<h3>", "</section>")]
    end = min(e for e in ends if e >= 0)
    block = page[start:end]
    return [html.unescape(x) for x in re.findall(r"<li>(.*?)</li>", block)]


@pytest.mark.parametrize("ruleset", ["leaky", "compliant"])
def test_design_configuration_observation(ruleset: str) -> None:
    """The lab capture was recorded through the leaky ruleset: one forbidden flow
    (inet → internet tcp/443) got through, permitted by leaky.iptables:37. Against the leaky
    export the layers agree; against the compliant export the same traffic shows the export
    is stale (or bypassed)."""
    export = LAB / f"{ruleset}.iptables"
    if not (export.exists() and LEAKY_CAPTURE.exists()):
        pytest.skip("lab rulesets/captures missing")
    args = (
        "report",
        "-t",
        str(LAB / "topology.yaml"),
        "--firewall",
        str(export),
        "--capture",
        str(LEAKY_CAPTURE),
        "--date",
        "2026-04-01",
    )
    code, page = run(*args)
    assert code == 1
    config = dict(re.findall(r'data-rule="(R\d)" data-layer="config">(\d+)<', page))
    should_block = _layer_list(
        page,
        "Forbidden flows answered although no firewall export permits them (a bypass or a stale export)",
    )
    unseen = _layer_list(page, "Forbidden permits never seen in traffic")
    blocked = _layer_list(page, "Sanctioned paths a firewall blocks")
    # the whole-network check's network-blocked findings, one per sanctioned pair
    network = json.loads(run(*args, "--format", "json")[1])
    expected = sorted(
        f"{f['src_zone']} → {f['dst_zone']}"
        for f in network["findings"]
        if f["kind"] == "network-blocked"
    )
    assert sorted(b.split(":")[0] for b in blocked) == expected
    if ruleset == "leaky":
        assert config["R3"] == "2" and all(config[r] == "0" for r in ("R1", "R2", "R4", "R5"))
        assert should_block == []
        assert unseen == ["inet → security-cloud: 1 (leaky.iptables:37)"]
    else:
        assert all(v == "0" for v in config.values())
        assert should_block == ["inet → internet: 1"]
        assert unseen == []
    assert f"<code>{hashlib.sha256(export.read_bytes()).hexdigest()}</code>" in page


def test_firewall_overlay_in_diagram() -> None:
    leaky = LAB / "leaky.iptables"
    if not leaky.exists():
        pytest.skip("lab rulesets missing")
    topo = str(LAB / "topology.yaml")
    _, with_fw = run("diagram", "-t", topo, "--firewall", str(leaky), "--format", "svg")
    _, clean = run(
        "diagram", "-t", topo, "--firewall", str(LAB / "compliant.iptables"), "--format", "svg"
    )
    assert with_fw.count(">1 forbidden permits (leaky.iptables:37)</text>") == 2
    assert (
        "Permitted by firewall exports (configuration)" in clean and "leaky.iptables" not in clean
    )
    code, _ = run("diagram", "-t", topo, "--firewall", str(leaky), "--device", "a", "--device", "b")
    assert code == 2


def test_firewall_and_diff_html() -> None:
    leaky = LAB / "leaky.iptables"
    if not leaky.exists():
        pytest.skip("lab rulesets missing")
    topo = str(LAB / "topology.yaml")
    code, page = run("firewall", str(leaky), "-t", topo, "--format", "html")
    assert code == 1 and page.startswith("<!DOCTYPE html>")
    assert "segverify — firewall analysis" in page and 'id="findings-table"' in page
    assert "leaky.iptables:37" in page and "configuration (firewall)" in page
    code, page = run(
        "--lang",
        "ja",
        "diff",
        str(LAB / "compliant.iptables"),
        str(leaky),
        "-t",
        topo,
        "--format",
        "html",
    )
    assert code == 1 and "ファイアウォール設定の差分" in page and 'id="findings-table"' in page


def test_topology_check_html_has_provenance(tmp_path: Path) -> None:
    code, page = run("topology", "check", str(ALPHA), "--format", "html")
    assert code == 0
    assert f"<code>{hashlib.sha256(ALPHA.read_bytes()).hexdigest()}</code>" in page
    assert "segverify topology check" in html.unescape(page)
    assert "No findings: every check below ran and found nothing." in page


def test_findings_table_is_bounded_but_counts_are_complete() -> None:
    from segverify.findings.model import Finding
    from segverify.render.html_findings import findings_block

    many = [
        (
            "observed",
            Finding("flow", "R3", f"flow {i}", data={"src_zone": "inet", "dst_zone": "internet"}),
        )
        for i in range(450)
    ] + [("observed", Finding("flow", "R2", "one", data={"src_zone": "lgwan", "dst_zone": "inet"}))]
    block = findings_block(many, "en", per_group=200)
    assert block.count('<tr class="finding') == 201
    assert '<td class="num" data-sort="450">450</td>' in block  # the group count is complete
    assert "Listing 201 of 451 findings" in block
    assert 'data-rule="R2"' in block
