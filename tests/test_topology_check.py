"""Presets and seed examples verify clean; hand-broken variants give exactly the expected findings."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from segverify.checks.topology_check import check_topology
from segverify.cli.main import cli
from segverify.topology.loader import load_topology, parse_topology
from tests.conftest import TOPOLOGIES

PRESETS = sorted(TOPOLOGIES.glob("*.yaml"))
EXAMPLES = sorted((TOPOLOGIES / "examples").glob("*.yaml"))


def test_every_model_has_a_preset() -> None:
    assert {p.stem for p in PRESETS} >= {"alpha", "alpha-prime", "beta", "beta-prime", "two-tier"}


def test_every_seed_has_an_example() -> None:
    assert {p.stem for p in EXAMPLES} == {"unnan", "ena", "yokote", "yamaga-ueki", "maizuru"}


@pytest.mark.parametrize("path", PRESETS + EXAMPLES, ids=lambda p: p.stem)
def test_preset_and_example_pass(path: Path) -> None:
    result = CliRunner().invoke(cli, ["topology", "check", str(path)])
    assert result.exit_code == 0, result.output
    assert "no findings" in result.output


def _mutated(path: Path, mutate) -> list[tuple[str, str]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    mutate(data)
    topo = parse_topology(
        yaml.safe_dump(data, allow_unicode=True, sort_keys=False), f"broken-{path.stem}.yaml"
    )
    return sorted((f.kind, f.rule) for f in check_topology(topo).findings)


ALPHA = TOPOLOGIES / "alpha.yaml"
BROKEN = {
    "overlapping-prefix": (
        lambda d: d["zones"]["lgwan"]["prefixes"].append("198.18.30.0/25"),
        [("overlap", "overlap")],
    ),
    "duplicate-node-address": (
        lambda d: d["nodes"]["inet-mail"].update(addresses=["198.18.30.30"]),
        [("overlap", "overlap")],
    ),
    "missing-sanitiser-cut": (
        lambda d: d["nodes"]["mail-sanitiser"].update(role="server"),
        [("structure", "R2")],
    ),
    "unpinned-mynumber-exception": (
        lambda d: d["policy"]["allow"].append(
            {
                "id": "wide",
                "from": {"zone": "mynumber"},
                "to": {"zone": "lgwan-wan"},
                "services": ["https"],
                "justification": "x",
            }
        ),
        [("allow-rule", "R1")],
    ),
    "mynumber-exception-any-port": (
        lambda d: d["policy"]["allow"][0].update(services=[{"proto": "tcp"}]),
        [("allow-rule", "R1")],
    ),
    "security-cloud-bypass": (
        lambda d: d["links"].append(["inet", "internet"]),
        [("structure", "R3")],
    ),
    "lgwan-to-internet-in-alpha": (
        lambda d: d["policy"]["allow"].append(
            {
                "id": "direct",
                "from": {"zone": "lgwan"},
                "to": {"zone": "internet"},
                "services": ["https"],
                "justification": "x",
            }
        ),
        [("allow-rule", "R5")],
    ),
    "mynumber-firewall-not-in-via": (
        lambda d: [r.pop("via") for r in d["policy"]["allow"]],
        [("structure", "R1"), ("structure", "R1")],
    ),
    "firewall-bridges-inet-and-lgwan-wan": (
        lambda d: d["nodes"]["fw-lgwan"]["interfaces"].update(
            eth2={"zone": "inet", "addresses": ["198.18.30.2/24"]}
        ),
        [("structure", "R4")],
    ),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_alpha_variants(name: str) -> None:
    mutate, expected = BROKEN[name]
    assert _mutated(ALPHA, mutate) == sorted(expected)


def test_beta_unpinned_destination_contradicts_model() -> None:
    def mutate(d: dict) -> None:
        d["policy"]["allow"].append(
            {
                "id": "any-lgwan",
                "from": {"node": "inet-pcs"},
                "to": {"zone": "lgwan"},
                "services": ["any"],
                "justification": "x",
            }
        )

    assert _mutated(TOPOLOGIES / "beta.yaml", mutate) == [("allow-rule", "R2")]


def test_two_tier_does_not_enforce_lgwan_split() -> None:
    # a direct LGWAN ↔ internet-zone link is not a finding when the policy has no split clause
    assert (
        _mutated(TOPOLOGIES / "two-tier.yaml", lambda d: d["links"].append(["lgwan", "inet"])) == []
    )
    assert _mutated(ALPHA, lambda d: d["links"].append(["lgwan", "inet"])) == [("structure", "R2")]


def test_structure_finding_carries_path_clauses_and_remedy() -> None:
    data = yaml.safe_load(ALPHA.read_text(encoding="utf-8"))
    data["links"].append(["inet", "internet"])
    topo = parse_topology(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "x.yaml")
    (finding,) = check_topology(topo).findings
    assert finding.evidence == ("inet", "internet")
    assert "基本方針 6(3)③" in finding.clauses
    assert finding.remedy and finding.remedy_ja
    assert finding.location is not None and finding.location.file == "x.yaml"


def test_findings_exit_code_and_japanese(tmp_path: Path) -> None:
    data = yaml.safe_load(ALPHA.read_text(encoding="utf-8"))
    data["links"].append(["inet", "internet"])
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = CliRunner().invoke(cli, ["--lang", "ja", "topology", "check", str(bad)])
    assert result.exit_code == 1
    assert "自治体情報セキュリティクラウド" in result.output
    assert "指摘事項 1 件" in result.output


def test_load_preset_model_shapes() -> None:
    topo = load_topology(ALPHA)
    assert topo.policy.model == "alpha"
    assert set(topo.firewalls) == {"fw-mynumber", "fw-lgwan", "fw-inet"}
    assert topo.nodes["mail-sanitiser"].zones == ("lgwan", "inet")
    assert all(r.enforced for r in topo.policy.rules.values())
