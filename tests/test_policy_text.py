"""Published policy texts (../shared/seeds) against the example topologies."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from segverify.checks.policytext import check_policy_text, find_measures
from segverify.cli.main import cli
from segverify.topology.loader import load_topology
from tests.conftest import REPO, TOPOLOGIES

SEEDS = Path(os.environ.get("SEGVERIFY_SEEDS", REPO.parent / "shared" / "seeds"))
PAIRS = {
    "000": "unnan",
    "001": "ena",
    "002": "yokote",
    "003": "yamaga-ueki",
    "004": "maizuru",
}


def seed(prefix: str) -> Path:
    if not SEEDS.is_dir():
        pytest.skip(f"seed policies not found at {SEEDS}")
    return next(SEEDS.glob(f"{prefix}_*.txt"))


@pytest.mark.parametrize("prefix", sorted(PAIRS))
def test_each_seed_matches_its_example(prefix: str) -> None:
    report = check_policy_text(
        str(seed(prefix)), load_topology(TOPOLOGIES / "examples" / f"{PAIRS[prefix]}.yaml")
    )
    errors = [f for f in report.findings if f.severity == "error"]
    assert errors == []
    warnings = [(f.rule, f.data.get("named")) for f in report.findings]
    if prefix == "004":  # 舞鶴市 is in 京都府 but its text names 大阪府
        assert warnings == [("R3", ["大阪府"])]
    else:
        assert warnings == []


def test_measure_markers() -> None:
    assert [(m.kind, m.marker) for m in find_measures(seed("002").read_text(encoding="utf-8"))] == [
        ("mynumber", "(ア)"),
        ("lgwan", "(イ)"),
        ("inet", "(ウ)"),
    ]
    assert [m.kind for m in find_measures(seed("003").read_text(encoding="utf-8"))] == [
        "mynumber",
        "inet",
    ]


def test_three_measure_policy_against_two_tier_topology_is_an_error() -> None:
    report = check_policy_text(str(seed("000")), load_topology(TOPOLOGIES / "two-tier.yaml"))
    assert [(f.rule, f.severity) for f in report.findings if f.severity == "error"] == [
        ("R2", "error")
    ]
    assert report.exit_code() == 1


def test_two_measure_policy_against_alpha_topology_warns() -> None:
    report = check_policy_text(str(seed("003")), load_topology(TOPOLOGIES / "alpha.yaml"))
    assert ("R2", "warning") in [(f.rule, f.severity) for f in report.findings]


def test_cli_and_bad_text(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "--lang",
            "ja",
            "policy",
            "check",
            str(seed("004")),
            "-t",
            str(TOPOLOGIES / "examples" / "maizuru.yaml"),
        ],
    )
    assert result.exit_code == 0 and "大阪府" in result.output and "京都府" in result.output
    empty = tmp_path / "x.txt"
    empty.write_text("nothing here\n", encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["policy", "check", str(empty), "-t", str(TOPOLOGIES / "alpha.yaml")]
    )
    assert result.exit_code == 2 and "no three-tier measures" in result.stderr
