"""`topology check` / `matrix` scale (issue 13 item 12), bounded by resource limits in a child
process (never by timed assertions), and the faster separation check still finds exactly
the paths the plain definition gives (checked against that definition on random graphs)."""

from __future__ import annotations

import itertools
from pathlib import Path

import networkx as nx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segverify.checks.structure import (
    MAX_PATHS_PER_PAIR,
    check_overlaps,
    check_separation,
    crossing_points,
    ordered_subgraph,
    separated_pairs,
)
from segverify.limits import YAML_MAX_VALUES
from segverify.topology.graph import build_graph, zone_v
from segverify.topology.loader import parse_topology
from tests.adversarial import MiB, assert_fails_closed, run_limited
from tests.conftest import TOPOLOGIES

TIERS = ("mynumber", "lgwan", "inet")


def many_zones(n: int) -> str:
    """n internal zones, one terminal each, a firewall per 10 zones, links, allow rules."""
    out = ["segverify: 1", "model: alpha", "zones:"]
    for i in range(n):
        out.append(f"  z{i}: {{tier: {TIERS[i % 3]}, prefixes: [10.{i // 256}.{i % 256}.0/24]}}")
    out.append("  lgwan-wan: {tier: lgwan-wan, prefixes: [198.19.100.0/24]}")
    out.append("  sc: {tier: security-cloud, prefixes: [203.0.113.0/26]}")
    out.append("nodes:")
    for i in range(n):
        out.append(
            f"  h{i}: {{role: terminal, zone: z{i}, addresses: [10.{i // 256}.{i % 256}.10]}}"
        )
    for g in range(0, n, 10):
        ifs = ", ".join(f"e{j}: {{zone: z{j}}}" for j in range(g, min(g + 10, n)))
        out.append(f"  fw{g}: {{role: firewall, interfaces: {{{ifs}}}}}")
    out.append("links:")
    out += [f"  - [h{i}, h{i + 1}]" for i in range(0, n - 1, 7)]
    out.append("policy:\n  allow:")
    for i in range(1, n, 30):
        out.append(
            f"    - {{id: a{i}, from: {{node: h{i}}}, to: {{zone: lgwan-wan}},"
            " services: [smtp], justification: t}"
        )
    return "\n".join(out) + "\n"


def test_four_hundred_zones_check_and_matrix_within_cpu_limit(tmp_path: Path) -> None:
    """Before: ~4 CPU minutes for `check` (a whole-graph copy per separated pair)."""
    f = tmp_path / "z400.yaml"
    f.write_text(many_zones(400), encoding="utf-8")
    out = run_limited(["topology", "check", str(f), "--format", "json"], cpu=30, mem=1024 * MiB)
    assert_fails_closed(out)
    assert out.code == 1 and '"kind": "structure"' in out.stdout
    out = run_limited(["topology", "matrix", str(f), "--format", "csv"], cpu=30, mem=1024 * MiB)
    assert_fails_closed(out)
    assert out.code == 0 and out.stdout.count("\n") == 403 * 403 + 1  # + the implicit internet zone


def test_million_value_line_refused_in_bounded_time_and_memory(tmp_path: Path) -> None:
    """A 10 MB line of values: before, 99 s and 2.3 GB; now one line at the value bound."""
    base = (TOPOLOGIES / "alpha.yaml").read_text(encoding="utf-8")
    values = ", ".join(["7"] * 3_300_000)
    f = tmp_path / "long.yaml"
    f.write_text(base.replace("vlans: [10]", f"vlans: [{values}]"), encoding="utf-8")
    out = run_limited(["topology", "check", str(f)], cpu=30, mem=1024 * MiB)
    assert_fails_closed(out)
    assert out.code == 2
    assert f"more than {YAML_MAX_VALUES} values in one document" in out.stderr
    assert f":{_line_of(base, 'vlans: [10]')}:" in out.stderr


def test_long_lines_under_the_bound_load(tmp_path: Path) -> None:
    base = (TOPOLOGIES / "alpha.yaml").read_text(encoding="utf-8")
    name = "ab " * 3_000_000  # a 9 MB line
    f = tmp_path / "long-name.yaml"
    f.write_text(base.replace("name: LGWAN接続系\n", f'name: "{name}"\n', 1), encoding="utf-8")
    out = run_limited(["topology", "check", str(f)], cpu=30, mem=1024 * MiB)
    assert_fails_closed(out)
    assert out.code == 0


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


# -- the definition, literally: whole-graph copy per pair (the code before the change) -------


def reference_separation(topology) -> list[tuple[str, ...]]:  # noqa: ANN001
    g = build_graph(topology)
    zone_vertices = {zone_v(z) for z in topology.zones}
    paths = []
    for a, b, rule_id in separated_pairs(topology):
        cut = crossing_points(topology, a, b, rule_id)
        blocked = (zone_vertices - {zone_v(a), zone_v(b)}) | cut
        h = ordered_subgraph(g, {v for v in g.nodes if v not in blocked})
        for _ in range(MAX_PATHS_PER_PAIR):
            try:
                path = nx.shortest_path(h, zone_v(a), zone_v(b))
            except (nx.NetworkXNoPath, nx.NodeNotFound):
                break
            paths.append((a, b, rule_id, *path))
            if path[1:-1]:
                h.remove_nodes_from(path[1:-1])
            else:
                h.remove_edge(path[0], path[1])
    return paths


def reference_overlaps(topology) -> list[tuple[str, str, str, str]]:  # noqa: ANN001
    out = []
    for za, zb in itertools.combinations(topology.zones.values(), 2):
        for pa in za.prefixes:
            for pb in zb.prefixes:
                if pa.version == pb.version and pa.overlaps(pb):
                    out.append((za.id, str(pa), str(pb), zb.id))
    return out


@st.composite
def random_topology(draw: st.DrawFn) -> str:
    nz = draw(st.integers(2, 7))
    nn = draw(st.integers(0, 9))
    tiers = [draw(st.sampled_from((*TIERS, "lgwan-wan", "internet"))) for _ in range(nz)]
    lines = ["segverify: 1", f"model: {draw(st.sampled_from(('alpha', 'beta', 'two-tier')))}"]
    lines.append("zones:")
    for i, t in enumerate(tiers):
        plen = draw(st.sampled_from((16, 24, 25)))
        third = draw(st.integers(0, 3))
        prefix = f"10.0.{third}.0/{plen}" if plen != 16 else "10.0.0.0/16"
        lines.append(f"  z{i}: {{tier: {t}, prefixes: [{prefix}]}}")
    lines.append("nodes:" if nn else "nodes: {}")
    roles = ("terminal", "server", "firewall", "sanitiser", "proxy")
    for j in range(nn):
        role = draw(st.sampled_from(roles))
        zs = draw(
            st.lists(
                st.integers(0, nz - 1),
                min_size=2 if role == "firewall" else 1,
                max_size=3,
                unique=True,
            )
        )
        if role == "firewall" and len(zs) < 2:
            role = "server"
        ifs = ", ".join(f"i{k}: {{zone: z{z}}}" for k, z in enumerate(zs))
        lines.append(f"  n{j}: {{role: {role}, interfaces: {{{ifs}}}}}")
    ends = [f"z{i}" for i in range(nz)] + [f"n{j}" for j in range(nn)]
    links = draw(st.lists(st.tuples(st.sampled_from(ends), st.sampled_from(ends)), max_size=8))
    links = [(a, b) for a, b in links if a != b]
    lines.append("links:" if links else "links: []")
    lines += [f"  - [{a}, {b}]" for a, b in links]
    rules = []
    if nn and draw(st.booleans()):
        for k in range(draw(st.integers(1, 3))):
            src = draw(st.sampled_from([f"{{node: n{j}}}" for j in range(nn)]))
            dst = draw(st.sampled_from([f"{{zone: z{i}}}" for i in range(nz)]))
            via = draw(st.sampled_from(["", *[f", via: [n{j}]" for j in range(nn)]]))
            rules.append(
                f"    - {{id: r{k}, from: {src}, to: {dst}, services: [smtp],"
                f" justification: t{via}}}"
            )
    lines.append("policy:" + ("\n  allow:\n" + "\n".join(rules) if rules else " {}"))
    return "\n".join(lines) + "\n"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_topology())
def test_separation_and_overlaps_match_the_definition(text: str) -> None:
    topology = parse_topology(text, "random.yaml")
    got = [
        (f.data["zones"][0], f.data["zones"][1], f.rule, *f.data["path"])
        for f in check_separation(topology)
    ]
    want = [
        (a, b, r, *(v.split(":", 1)[1] for v in path))
        for a, b, r, *path in reference_separation(topology)
    ]
    assert got == want
    overlaps = [f.evidence for f in check_overlaps(topology) if "zones" in f.data]
    assert overlaps == reference_overlaps(topology)
