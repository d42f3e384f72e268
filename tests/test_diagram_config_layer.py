"""The diagram's configuration layer shows every zone pair the firewall exports permit:
sanctioned ones in the normal colour with the accepting rules' file:line, forbidden ones in
red with their rule, and sanctioned paths a firewall blocks (network-blocked) in purple, in
the lanes view, the matrix view and the DOT/Mermaid exports, each with a legend entry.

The oracle for "which pairs does the export permit" is the export itself: the lab exports
name their interfaces after the zones, so every cross-interface ``-A FORWARD … -i X -o Y …
-j ACCEPT`` line is a permitted zone pair X → Y at that line."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from click.testing import CliRunner

from segverify.cli.main import cli

ROOT = Path(__file__).resolve().parent.parent
LAB = ROOT / "topologies/lab/alpha"
TOPOLOGY = str(LAB / "topology.yaml")
COMPLIANT = LAB / "compliant.iptables"
LEAKY = LAB / "leaky.iptables"
GREEN, RED, PURPLE = "#38761d", "#cc0000", "#674ea7"

pytestmark = pytest.mark.skipif(not COMPLIANT.exists(), reason="lab rulesets missing")


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code in (0, 1, 3), result.output
    return result.output


def accept_lines(export: Path) -> dict[tuple[str, str], list[int]]:
    """Cross-interface FORWARD accepts of a lab export, read from its text."""
    out: dict[tuple[str, str], list[int]] = defaultdict(list)
    for n, line in enumerate(export.read_text(encoding="utf-8").splitlines(), 1):
        m = re.match(r"-A FORWARD .*-i (\S+) -o (\S+) .*-j ACCEPT$", line)
        if m and m.group(1) != m.group(2):
            out[(m.group(1), m.group(2))].append(n)
    return dict(out)


def dot_config(export: Path, view_args: tuple[str, ...] = ()) -> dict[tuple[str, str, str], str]:
    """The configuration edges of the DOT export: (src, dst, colour) → label."""
    dot = run("diagram", "-t", TOPOLOGY, "--firewall", str(export), "--format", "dot")
    edges = {}
    for m in re.finditer(
        r'"zone:([^"]+)" -> "zone:([^"]+)" \[color="([^"]+)", style=\w+, label="fw ([^"]*)"\]',
        dot,
    ):
        edges[(m.group(1), m.group(2), m.group(3))] = m.group(4)
    return edges


def network_blocked(export: Path) -> set[tuple[str, str]]:
    doc = json.loads(run("report", "-t", TOPOLOGY, "--firewall", str(export), "--format", "json"))
    return {
        (f["src_zone"], f["dst_zone"]) for f in doc["findings"] if f["kind"] == "network-blocked"
    }


def test_every_permitted_pair_is_drawn_with_its_lines() -> None:
    expected = accept_lines(COMPLIANT)
    assert len(expected) >= 8
    all_accepts = {n for lines in expected.values() for n in lines}
    edges = dot_config(COMPLIANT)
    green = {(a, b): label for (a, b, colour), label in edges.items() if colour == GREEN}
    assert set(green) == set(expected)
    for pair, lines in expected.items():
        # the interface-named accepts are cited (the engine may find more lines that open
        # the pair, e.g. for addresses arriving on another interface), all ACCEPT lines
        cited = {int(n) for n in re.findall(r"compliant\.iptables:(\d+)", green[pair])}
        assert set(lines[:4]) <= cited <= all_accepts, pair
    assert not any(colour == RED for _, _, colour in edges)  # a compliant export


def test_forbidden_permits_are_red_with_the_rule_and_sanctioned_ones_are_not() -> None:
    expected = accept_lines(LEAKY)
    edges = dot_config(LEAKY)
    doc = json.loads(
        run("firewall", str(LEAKY), "-t", TOPOLOGY, "--format", "json", "--device", "lab-fw")
    )
    forbidden = defaultdict(set)
    for f in doc["findings"]:
        if f["kind"] == "firewall-permit" and f["severity"] == "error":
            forbidden[(f["src_zone"], f["dst_zone"])].add(f["location"]["line"])
    assert forbidden
    red = {(a, b): label for (a, b, colour), label in edges.items() if colour == RED}
    assert set(red) == set(forbidden)
    for pair, lines in forbidden.items():
        assert {int(n) for n in re.findall(r"leaky\.iptables:(\d+)", red[pair])} == lines
    green = {(a, b) for a, b, colour in edges if colour == GREEN}
    # every other pair an interface-to-interface accept opens, in the normal colour
    assert green == {p for p in expected if p not in forbidden} - set(red)


def test_blocked_sanctioned_paths_are_drawn() -> None:
    blocked = network_blocked(COMPLIANT)
    assert blocked  # the lab export blocks some sanctioned paths (sanitiser relays)
    edges = dot_config(COMPLIANT)
    purple = {(a, b) for a, b, colour in edges if colour == PURPLE}
    assert purple == blocked
    mmd = run("diagram", "-t", TOPOLOGY, "--firewall", str(COMPLIANT), "--format", "mmd")
    assert mmd.count("blocked by lab-fw compliant.iptables:") == len(blocked)


def test_lanes_and_matrix_views_show_the_layer_with_a_legend() -> None:
    expected = accept_lines(LEAKY)
    svg = run("diagram", "-t", TOPOLOGY, "--firewall", str(LEAKY), "--format", "svg")
    assert svg.count(">permitted (leaky.iptables:") >= len(expected) - 2
    assert ">blocked by lab-fw leaky.iptables:" in svg
    for legend in (
        "permitted by firewall exports, sanctioned",
        "forbidden permits in firewall exports",
        "sanctioned path a firewall blocks",
    ):
        assert legend in svg
    matrix = run(
        "diagram", "-t", TOPOLOGY, "--firewall", str(LEAKY), "--view", "matrix", "--format", "svg"
    )
    cells = Counter(re.findall(r">fw: (✓|✗ \d+|blocked|—)<", matrix))
    edges = dot_config(LEAKY)
    assert cells["✓"] == len(
        {(a, b) for a, b, c in edges if c == GREEN} - {(a, b) for a, b, c in edges if c != GREEN}
    )
    assert sum(n for k, n in cells.items() if k.startswith("✗")) == len(
        {(a, b) for a, b, c in edges if c == RED}
    )
    assert cells["blocked"] == len(
        {(a, b) for a, b, c in edges if c == PURPLE} - {(a, b) for a, b, c in edges if c == RED}
    )
    assert f'stroke="{PURPLE}" stroke-width="3"' in matrix


def test_japanese_configuration_layer() -> None:
    svg = run(
        "--lang", "ja", "diagram", "-t", TOPOLOGY, "--firewall", str(LEAKY), "--format", "svg"
    )
    assert ">許可（leaky.iptables:" in svg and ">lab-fw leaky.iptables:38 が遮断" in svg
    assert "ファイアウォールが遮断している許可経路" in svg
