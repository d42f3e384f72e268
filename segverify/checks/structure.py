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
from collections.abc import Callable

import networkx as nx

from segverify.checks.selectors import is_zone_wide, selector_nodes, selector_zones
from segverify.findings.model import Finding
from segverify.topology.graph import build_graph, label, node_v, zone_v
from segverify.topology.model import INTERNAL_TIERS, AllowRule, Link, Topology

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


def overlapping_prefixes(topology: Topology) -> list[tuple[int, int, int, int]]:
    """Pairs of zone prefixes that overlap, as (zone index, prefix index) twice, the earlier
    zone first, in zone then prefix order.

    CIDR blocks either nest or are disjoint, so one sweep over the prefixes sorted by start
    (longest block first) with a stack of the blocks still open finds every pair: the open
    blocks are exactly those containing the current one. Cost: sort + output.
    """
    entries = []
    for zi, zone in enumerate(topology.zones.values()):
        for pi, prefix in enumerate(zone.prefixes):
            start = int(prefix.network_address)
            entries.append(
                (prefix.version, start, prefix.prefixlen, zi, pi, start + prefix.num_addresses)
            )
    entries.sort(key=lambda e: (e[0], e[1], e[2]))
    pairs: list[tuple[int, int, int, int]] = []
    open_: list[tuple[int, int, int, int, int, int]] = []
    for e in entries:
        while open_ and (open_[-1][0] != e[0] or open_[-1][5] <= e[1]):
            open_.pop()
        for q in open_:
            if q[3] != e[3]:
                a, b = sorted(((q[3], q[4]), (e[3], e[4])))
                pairs.append((a[0], a[1], b[0], b[1]))
        open_.append(e)
    return sorted(pairs, key=lambda p: (p[0], p[2], p[1], p[3]))


def check_overlaps(topology: Topology) -> list[Finding]:
    findings: list[Finding] = []
    zones = list(topology.zones.values())
    for ia, ja, ib, jb in overlapping_prefixes(topology):
        za, zb = zones[ia], zones[ib]
        pa, pb = za.prefixes[ja], zb.prefixes[jb]
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


class PairRules:
    """Allow rules by unordered zone pair, in policy order; each rule's zones and crossing
    nodes are worked out once, not once per zone pair."""

    def __init__(self, topology: Topology) -> None:
        self.by_pair: dict[frozenset[str], list[AllowRule]] = {}
        self.nodes: dict[str, set[str]] = {}  # rule id → vertices it names (via, selectors)
        for rule in topology.policy.allow:
            src = [z.id for z in selector_zones(topology, rule.src)]
            dst = [z.id for z in selector_zones(topology, rule.dst)]
            for a in src:
                for b in dst:
                    if a == b:
                        continue
                    rules = self.by_pair.setdefault(frozenset((a, b)), [])
                    if not rules or rules[-1] is not rule:
                        rules.append(rule)
            cut = {node_v(v) for v in rule.via}
            for sel in (rule.src, rule.dst):
                cut.update(node_v(n.id) for n in selector_nodes(topology, sel))
            self.nodes[rule.id] = cut
        self.firewalls = {node_v(n) for n in topology.firewalls}

    def between(self, a: str, b: str) -> list[AllowRule]:
        """Same as ``selectors.rules_between``: rules carrying traffic between a and b."""
        return self.by_pair.get(frozenset((a, b)), [])


def crossing_points(
    topology: Topology, a: str, b: str, rule_id: str | None, index: PairRules | None = None
) -> set[str]:
    """Graph vertices a path between zones ``a`` and ``b`` may legitimately pass."""
    index = index or PairRules(topology)
    rules = index.between(a, b)
    cut: set[str] = set()
    for r in rules:
        cut |= index.nodes[r.id]
    if rules and rule_id != "R1":
        cut |= index.firewalls
    return cut


def pair_is_open(topology: Topology, a: str, b: str, index: PairRules | None = None) -> bool:
    """True when a zone-wide any-service rule joins the pair (e.g. LGWAN zone ↔ LGWAN)."""
    index = index or PairRules(topology)
    for r in index.between(a, b):
        if is_zone_wide(r.src) and is_zone_wide(r.dst) and any(s.proto is None for s in r.services):
            return True
    return False


def separated_pairs(
    topology: Topology, index: PairRules | None = None
) -> list[tuple[str, str, str]]:
    """Zone pairs the policy keeps apart, with the governing rule id (or default-deny)."""
    index = index or PairRules(topology)
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
        if pair_is_open(topology, za.id, zb.id, index):
            continue
        out.append((za.id, zb.id, rule_id or "default-deny"))
    return out


def _component(g: nx.Graph, start: str, blocked: Callable[[str], bool]) -> list[str]:
    """Vertices reachable from ``start`` without entering a blocked vertex."""
    seen = {start}
    todo = [start]
    while todo:
        v = todo.pop()
        for w in g.adj[v]:
            if w not in seen and not blocked(w):
                seen.add(w)
                todo.append(w)
    return list(seen)


def ordered_subgraph(g: nx.Graph, keep: set[str]) -> nx.Graph:
    """The subgraph on ``keep`` with vertices and adjacency in ``g``'s order, so that path
    searches break ties the same way whatever the hash seed (``nx.Graph.subgraph`` iterates
    a small vertex set in set order)."""
    h = nx.Graph()
    h.add_nodes_from(v for v in g.nodes if v in keep)
    h.add_edges_from((u, v) for u in list(h.nodes) for v in g.adj[u] if v in keep)
    return h


def check_separation(topology: Topology, graph: nx.Graph | None = None) -> list[Finding]:
    """Paths between separated zones that avoid every crossing point (up to 5 per pair).

    Cost: one search per zone (the nodes it reaches with every other zone closed), then, only
    for pairs that touch, a search within that neighbourhood — never a whole-graph copy per
    pair. The paths are the ones the plain definition gives (shortest, then with the found
    path's interior removed), because the search runs on the same subgraph, restricted to
    the component the path must lie in.
    """
    g = graph if graph is not None else build_graph(topology)
    index = PairRules(topology)
    links = _LinkIndex(topology)
    findings: list[Finding] = []
    is_zone = {zone_v(z) for z in topology.zones}
    # zones each zone can touch at all with every other zone closed (cuts only remove more)
    touches: dict[str, set[str]] = {}
    for z in topology.zones:
        zv = zone_v(z)
        near = _component(g, zv, lambda v, zv=zv: v in is_zone and v != zv)
        touches[z] = {label(w) for v in near for w in g.adj[v] if w in is_zone}
    for a, b, rule_id in separated_pairs(topology, index):
        if b not in touches[a]:
            continue
        cut = crossing_points(topology, a, b, rule_id, index)
        va, vb = zone_v(a), zone_v(b)

        def blocked(v: str, va: str = va, vb: str = vb, cut: set[str] = cut) -> bool:
            return (v in is_zone and v != va and v != vb) or v in cut

        comp = set(_component(g, va, blocked))
        if vb not in comp:
            continue
        h = ordered_subgraph(g, comp)
        for _ in range(MAX_PATHS_PER_PAIR):
            try:
                path = nx.shortest_path(h, va, vb)
            except (nx.NetworkXNoPath, nx.NodeNotFound):
                break
            findings.append(_separation_finding(topology, a, b, rule_id, path, links))
            interior = path[1:-1]
            if interior:
                h.remove_nodes_from(interior)
            else:
                h.remove_edge(path[0], path[1])
    return findings


class _LinkIndex:
    """The first declared link touching a set of hops, without scanning every link."""

    def __init__(self, topology: Topology) -> None:
        self.links = topology.links
        self.by_end: dict[str, int] = {}
        self.by_pair: dict[frozenset[str], int] = {}
        for i, link in enumerate(topology.links):
            self.by_end.setdefault(link.a, i)
            self.by_end.setdefault(link.b, i)
            self.by_pair.setdefault(frozenset((link.a, link.b)), i)

    def first(self, hops: list[str]) -> Link | None:
        """The first link with an end among the interior hops, or joining the two ends."""
        best = [self.by_end[h] for h in hops[1:-1] if h in self.by_end]
        pair = self.by_pair.get(frozenset((hops[0], hops[-1])))
        if pair is not None:
            best.append(pair)
        return self.links[min(best)] if best else None


def _separation_finding(
    topology: Topology,
    a: str,
    b: str,
    rule_id: str,
    path: list[str],
    links: _LinkIndex | None = None,
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
    link = (links or _LinkIndex(topology)).first(hops)
    link_loc = link.location if link is not None else None
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
