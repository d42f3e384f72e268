"""Structural verification of the topology graph.

* ``overlap``: a prefix claimed by two zones, or an address claimed by two nodes (a node
  address inside another zone's range is a declared host, not an overlap).
* separation (R1–R5): for every pair of zones the policy keeps apart, any graph path that
  avoids every declared crossing point is a finding, with the path as evidence.

Crossing points for a zone pair: the nodes its allow rules name (by id or role) and their
``via`` nodes. For pairs other than R1, a firewall also counts when the pair has allow
rules at all: the firewall is where those rules are enforced, and ``segverify firewall``
verifies its ruleset. R1 exceptions must name their firewall in ``via``. Paths through a
third zone are not followed: each hop is judged by its own pair.
"""

from __future__ import annotations

import itertools

import networkx as nx

from segverify.checks.selectors import is_zone_wide, rules_between, selector_nodes
from segverify.findings.model import Finding
from segverify.topology.graph import build_graph, label, node_v, zone_v
from segverify.topology.model import INTERNAL_TIERS, Topology

MAX_PATHS_PER_PAIR = 5

GATEWAY_HINT = {
    "R1": (
        "declare the exception as an allow rule pinned to hosts and ports, with the firewall that carries it in 'via', or remove the path",
        "ホストとポートを特定した例外の許可ルールを宣言し、経由するファイアウォールを via に記載するか、経路を撤去してください",
    ),
    "R2": (
        "route LGWAN↔internet-zone traffic only through a sanitiser or screen-transfer system (無害化通信), or a firewall that enforces it",
        "LGWAN接続系とインターネット接続系の間は無害化サーバ・画面転送システム（または無害化通信のみを許可するファイアウォール）経由に限定してください",
    ),
    "R3": (
        "send internet-zone traffic through the security cloud (自治体情報セキュリティクラウド)",
        "インターネット接続系の通信は自治体情報セキュリティクラウド経由に集約してください",
    ),
    "R4": (
        "only the LGWAN zone may reach LGWAN; remove the path",
        "LGWANへはLGWAN接続系からのみ接続できます。経路を撤去してください",
    ),
    "R5": (
        "the LGWAN zone must not reach the internet (α': only through a local-breakout gateway to allow-listed SaaS)",
        "LGWAN接続系からインターネットへ直接接続しないでください（α'はローカルブレイクアウト装置経由の許可リストSaaSのみ）",
    ),
}


def check_overlaps(topology: Topology) -> list[Finding]:
    findings: list[Finding] = []
    zones = list(topology.zones.values())
    for za, zb in itertools.combinations(zones, 2):
        for pa in za.prefixes:
            for pb in zb.prefixes:
                if pa.version == pb.version and pa.overlaps(pb):
                    findings.append(
                        Finding(
                            kind="overlap",
                            rule="overlap",
                            message=f"prefix {pa} of zone {za.id} overlaps {pb} of zone {zb.id}",
                            message_ja=f"領域 {za.id} のプレフィックス {pa} が領域 {zb.id} の {pb} と重複しています",
                            evidence=(za.id, str(pa), str(pb), zb.id),
                            remedy="give each zone its own address range; declare single hosts inside another range as nodes",
                            remedy_ja="領域ごとに重複しないアドレス範囲を割り当て、他領域の範囲内の個別ホストはノードとして宣言してください",
                            location=zb.location,
                            data={"zones": [za.id, zb.id], "prefixes": [str(pa), str(pb)]},
                        )
                    )
    owners: dict[object, str] = {}
    for node in topology.nodes.values():
        for addr in node.addresses:
            other = owners.get(addr)
            if other is not None and other != node.id:
                findings.append(
                    Finding(
                        kind="overlap",
                        rule="overlap",
                        message=f"address {addr} is claimed by nodes {other} and {node.id}",
                        message_ja=f"アドレス {addr} がノード {other} と {node.id} の両方に割り当てられています",
                        evidence=(other, str(addr), node.id),
                        remedy="give each node its own addresses",
                        remedy_ja="ノードごとに固有のアドレスを割り当ててください",
                        location=node.location,
                        data={"nodes": [other, node.id], "address": str(addr)},
                    )
                )
            owners.setdefault(addr, node.id)
    return findings


def crossing_points(topology: Topology, a: str, b: str, rule_id: str | None) -> set[str]:
    """Graph vertices a path between zones ``a`` and ``b`` may legitimately pass."""
    rules = rules_between(topology, a, b)
    cut: set[str] = set()
    for r in rules:
        cut.update(node_v(v) for v in r.via)
        for sel in (r.src, r.dst):
            cut.update(node_v(n.id) for n in selector_nodes(topology, sel))
    if rules and rule_id != "R1":
        cut.update(node_v(n) for n in topology.firewalls)
    return cut


def pair_is_open(topology: Topology, a: str, b: str) -> bool:
    """True when a zone-wide any-service rule joins the pair (e.g. LGWAN zone ↔ LGWAN)."""
    for r in rules_between(topology, a, b):
        if is_zone_wide(r.src) and is_zone_wide(r.dst) and any(s.proto is None for s in r.services):
            return True
    return False


def separated_pairs(topology: Topology) -> list[tuple[str, str, str]]:
    """Zone pairs the policy keeps apart, with the governing rule id (or default-deny)."""
    out = []
    policy = topology.policy
    for za, zb in itertools.combinations(topology.zones.values(), 2):
        if za.tier == zb.tier:
            continue
        if za.tier not in INTERNAL_TIERS and zb.tier not in INTERNAL_TIERS:
            continue
        rule_id = policy.rule_for(za.tier, zb.tier)
        if rule_id and not policy.rules[rule_id].enforced:
            continue
        if pair_is_open(topology, za.id, zb.id):
            continue
        out.append((za.id, zb.id, rule_id or "default-deny"))
    return out


def check_separation(topology: Topology, graph: nx.Graph | None = None) -> list[Finding]:
    g = graph if graph is not None else build_graph(topology)
    findings: list[Finding] = []
    zone_vertices = {zone_v(z) for z in topology.zones}
    for a, b, rule_id in separated_pairs(topology):
        cut = crossing_points(topology, a, b, rule_id)
        blocked = (zone_vertices - {zone_v(a), zone_v(b)}) | cut
        h = g.subgraph(v for v in g.nodes if v not in blocked).copy()
        for _ in range(MAX_PATHS_PER_PAIR):
            try:
                path = nx.shortest_path(h, zone_v(a), zone_v(b))
            except (nx.NetworkXNoPath, nx.NodeNotFound):
                break
            findings.append(_separation_finding(topology, a, b, rule_id, path))
            interior = path[1:-1]
            if interior:
                h.remove_nodes_from(interior)
            else:
                h.remove_edge(path[0], path[1])
    return findings


def _separation_finding(
    topology: Topology, a: str, b: str, rule_id: str, path: list[str]
) -> Finding:
    policy = topology.policy
    tr = policy.rules.get(rule_id)
    clauses = (tr.clauses + tr.guideline) if tr else ()
    hops = [label(v) for v in path]
    ta, tb = topology.zones[a].tier, topology.zones[b].tier
    remedy, remedy_ja = GATEWAY_HINT.get(
        rule_id,
        (
            "remove the path or declare an allow rule for it",
            "経路を撤去するか許可ルールを宣言してください",
        ),
    )
    link_loc = None
    for link in topology.links:
        if {link.a, link.b} & set(hops[1:-1]) or {link.a, link.b} == {hops[0], hops[-1]}:
            link_loc = link.location
            break
    if link_loc is None and len(path) > 2:
        link_loc = topology.nodes[hops[1]].location
    return Finding(
        kind="structure",
        rule=rule_id,
        message=f"path from zone {a} ({ta}) to zone {b} ({tb}) avoids every declared crossing point: {' -> '.join(hops)}",
        message_ja=f"領域 {a}（{ta}）から領域 {b}（{tb}）への経路が、宣言された通過点（無害化・例外・ファイアウォール）を経由していません: {' -> '.join(hops)}",
        clauses=clauses,
        evidence=tuple(hops),
        remedy=remedy,
        remedy_ja=remedy_ja,
        location=link_loc,
        data={"zones": [a, b], "path": hops},
    )
