"""matrix, show, graph, diagram, explain and init, through the real CLI."""

from __future__ import annotations

import ipaddress
import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from segverify.checks.policy import PolicyEvaluator
from segverify.cli.main import cli
from segverify.topology.loader import load_topology
from segverify.topology.model import MODELS
from tests.conftest import TOPOLOGIES

ALPHA = str(TOPOLOGIES / "alpha.yaml")


def _line_of(text: str) -> int:
    lines = Path(ALPHA).read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_show_json_contract() -> None:
    code, out = run("topology", "show", ALPHA, "--format", "json")
    assert code == 0
    doc = json.loads(out)
    assert doc["schema"] == "segverify/topology/1"
    zones = {z["id"]: z for z in doc["zones"]}
    assert zones["lgwan"]["tier"] == "lgwan" and zones["lgwan"]["prefixes"][0] == "198.18.20.0/24"
    assert zones["lgwan"]["vlans"] == [20]
    nodes = {n["id"]: n for n in doc["nodes"]}
    assert nodes["fw-inet"]["role"] == "firewall"
    assert {i["name"]: i["zone"] for i in nodes["fw-inet"]["interfaces"]} == {
        "eth0": "inet",
        "eth1": "security-cloud",
    }
    assert nodes["sc-proxy"]["addresses"] == ["203.0.113.10/32"]
    entries = [p for p in doc["policy"] if p["id"] == "atena-to-chukan"]
    assert entries == [
        {
            "id": "atena-to-chukan",
            "origin": "file",
            "rule": "R1",
            "from": {
                "node": "atena-server",
                "zones": ["mynumber"],
                "nodes": ["atena-server"],
                "addresses": ["198.18.10.10/32"],
            },
            "to": {
                "node": "chukan-server",
                "zones": ["lgwan-wan"],
                "nodes": ["chukan-server"],
                "addresses": ["198.19.100.50/32"],
            },
            "proto": "tcp",
            "proto_number": 6,
            "ports": [[443, 443]],
            "service": None,
            "via": ["fw-mynumber"],
            "fqdns": [],
            "clauses": ["基本方針 6(3)①", "ガイドライン 第2編 第3章 3.(1)① 例外"],
            "justification": "団体内統合宛名システムから中間サーバー・プラットフォームへの情報連携",
            "location": f"{ALPHA}:{_line_of('- id: atena-to-chukan')}:7",
        }
    ]
    rdp = [p for p in doc["policy"] if p["id"] == "R2-screen-transfer" and p["service"] == "rdp"]
    assert {(p["proto"], tuple(map(tuple, p["ports"]))) for p in rdp} == {
        ("tcp", ((3389, 3389),)),
        ("udp", ((3389, 3389),)),
    }


def test_matrix_json_matches_policy_evaluation() -> None:
    code, out = run("topology", "matrix", ALPHA, "--format", "json")
    assert code == 0
    cells = {(c["src"], c["dst"]): c for c in json.loads(out)["cells"]}
    assert cells[("lgwan", "lgwan-wan")]["verdict"] == "allowed"
    assert cells[("inet", "internet")] == {
        **cells[("inet", "internet")],
        "verdict": "forbidden",
        "rule": "R3",
    }
    assert cells[("lgwan", "inet")]["verdict"] == "restricted"
    assert set(cells[("lgwan", "inet")]["via"]) == {"mail-sanitiser", "screen-transfer"}
    assert cells[("mynumber", "lgwan")]["rule"] == "R1"
    # every forbidden cell really is forbidden for a sample flow between the zones' first hosts
    topo = load_topology(ALPHA)
    ev = PolicyEvaluator(topo)
    for (a, b), cell in cells.items():
        za, zb = topo.zones[a], topo.zones[b]
        if cell["verdict"] == "forbidden" and za.prefixes and zb.prefixes:
            src = next(za.prefixes[0].hosts()) + 100
            dst = next(zb.prefixes[0].hosts()) + 100
            assert not ev.evaluate(src, dst, 6, 443).allowed, (a, b)


def test_matrix_text_and_csv() -> None:
    code, out = run("topology", "matrix", ALPHA)
    assert code == 0 and "✗3" in out and "mail-sanitiser" in out
    code, out = run("--lang", "ja", "topology", "matrix", ALPHA)
    assert "領域間到達性マトリクス" in out
    code, out = run("topology", "matrix", ALPHA, "--format", "csv")
    assert out.splitlines()[0] == "from,to,verdict,rule,via,services,allow_rules"
    assert len(out.splitlines()) == 1 + 7 * 7


@pytest.mark.parametrize("fmt", ["graphml", "json"])
def test_graph_export(fmt: str) -> None:
    code, out = run("topology", "graph", ALPHA, "--format", fmt)
    assert code == 0
    if fmt == "graphml":
        root = ET.fromstring(out)
        ns = {"g": "http://graphml.graphdrawing.org/xmlns"}
        ids = {n.get("id") for n in root.iterfind(".//g:node", ns)}
    else:
        ids = {n["id"] for n in json.loads(out)["nodes"]}
    assert {"zone:lgwan", "node:fw-inet", "node:mail-sanitiser"} <= ids


def test_diagram_dot_escapes_and_svg(tmp_path: Path) -> None:
    code, out = run("topology", "diagram", ALPHA)
    assert code == 0 and out.startswith("digraph") and '"zone:lgwan" -> "zone:lgwan-wan"' in out
    if shutil.which("dot") is None:
        pytest.skip("graphviz dot not installed (CI installs it)")
    svg = tmp_path / "d.svg"
    code, _ = run("topology", "diagram", ALPHA, "--format", "svg", "-o", str(svg))
    assert code == 0 and ET.parse(svg).getroot().tag.endswith("svg")


@pytest.mark.parametrize(
    ("src", "dst", "proto", "dport", "allowed", "decided"),
    [
        ("198.18.20.130", "198.18.30.40", "tcp", "3389", True, "R2-screen-transfer"),
        ("198.18.20.130", "198.18.30.40", "tcp", "445", False, "R2"),
        ("198.18.10.10", "198.19.100.50", "tcp", "443", True, "atena-to-chukan"),
        ("198.18.10.10", "198.19.100.50", "tcp", "80", False, "R1"),
        ("198.18.30.7", "192.0.2.80", "tcp", "443", False, "R3"),
        ("198.18.30.7", "203.0.113.10", "tcp", "8080", True, "R3-to-security-cloud-proxy"),
        ("198.18.30.7", "198.19.100.9", "udp", "53", False, "R4"),
        ("198.18.20.5", "198.18.20.6", "tcp", "22", True, "intra-zone"),
    ],
)
def test_explain(src: str, dst: str, proto: str, dport: str, allowed: bool, decided: str) -> None:
    code, out = run(
        "explain",
        "--topology",
        ALPHA,
        "--src",
        src,
        "--dst",
        dst,
        "--proto",
        proto,
        "--dport",
        dport,
        "--format",
        "json",
    )
    doc = json.loads(out)
    assert code == (0 if allowed else 1)
    assert doc["allowed"] is allowed and doc["decided_by"] == decided
    if not allowed:
        assert doc["clauses"], "a forbidden verdict names its clauses"


def test_explain_ipv6_and_bad_address() -> None:
    code, out = run(
        "explain",
        "-t",
        ALPHA,
        "--src",
        "2001:db8:10::5",
        "--dst",
        "2001:db8:30::5",
        "--dport",
        "443",
    )
    assert code == 1 and "R1" in out
    result = CliRunner().invoke(
        cli, ["explain", "-t", ALPHA, "--src", "10.0.0.300", "--dst", "198.18.20.1"]
    )
    assert result.exit_code == 2 and "not an IP address" in result.output


def test_explain_alpha_prime_fqdn_allow_list() -> None:
    path = str(TOPOLOGIES / "alpha-prime.yaml")
    base = [
        "explain",
        "-t",
        path,
        "--src",
        "198.18.20.130",
        "--dst",
        "198.51.100.7",
        "--dport",
        "443",
    ]
    assert run(*base, "--name", "mail.saas-office.example")[0] == 0
    code, out = run(*base, "--name", "evil.example", "--format", "json")
    assert code == 1 and json.loads(out)["reason"] == "fqdn-not-allowed"
    assert run(*base)[0] == 1  # no evidence: fail closed


@pytest.mark.parametrize("model", MODELS)
def test_init_writes_a_valid_starter(model: str, tmp_path: Path) -> None:
    out = tmp_path / "t.yaml"
    assert run("init", "--model", model, "-o", str(out))[0] == 0
    assert yaml.safe_load(out.read_text(encoding="utf-8"))["model"] == model
    assert "#" in out.read_text(encoding="utf-8")  # commented
    code, text = run("topology", "check", str(out))
    assert code == 0, text
    assert run("init", "--model", model, "-o", str(out))[0] == 2  # no silent overwrite


def test_address_index_longest_prefix() -> None:
    ev = PolicyEvaluator(load_topology(ALPHA))
    assert ev.index.classify("198.18.30.40").node == "screen-transfer"
    assert ev.index.classify("198.18.20.40").zone == "lgwan"
    assert ev.index.classify("198.18.20.200").node == "lgwan-pcs"
    assert ev.index.classify(ipaddress.ip_address("8.8.8.8")).zone == "internet"


def test_japanese_from_locale() -> None:
    args = ["explain", "-t", ALPHA, "--src", "198.18.30.7", "--dst", "192.0.2.80", "--dport", "443"]
    result = CliRunner(env={"LC_ALL": "", "LC_MESSAGES": "", "LANG": "ja_JP.UTF-8"}).invoke(
        cli, args
    )
    assert "禁止" in result.output and "インターネット接続系" in result.output
    result = CliRunner(env={"LC_ALL": "", "LC_MESSAGES": "", "LANG": "C.UTF-8"}).invoke(cli, args)
    assert "FORBIDDEN" in result.output
    result = CliRunner(env={"LANG": "ja_JP.UTF-8"}).invoke(cli, ["--lang", "en", *args])
    assert "FORBIDDEN" in result.output
