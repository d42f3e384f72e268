"""What a reachability diagram shows, gathered once for every output format.

Design layer: zones (lanes, in tier order), gateway and host nodes, declared links,
sanctioned paths (matrix cells that are allowed or restricted, with services and allow-rule
ids) and every structural finding. Configuration layer: what firewall exports permit
between zones. Observed layer: flows seen in captures. Both extra layers are optional.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from segverify.checks.configured import BlockedPair, ConfiguredPair, PermitPair
from segverify.checks.matrix import Cell
from segverify.checks.observed import PairTraffic
from segverify.findings.model import Finding
from segverify.i18n import t
from segverify.topology.model import Topology

# lane order, left to right: the external networks sit beside the zone they serve
TIER_ORDER = (
    "juki-net",
    "gov-cloud",
    "mynumber",
    "lgwan-wan",
    "lgwan",
    "inet",
    "security-cloud",
    "internet",
)
GATEWAY_ROLES = ("firewall", "sanitiser", "screen-transfer", "proxy", "mail-relay", "lbo-gateway")


@dataclass(frozen=True)
class Lane:
    zone: str
    tier: str
    label: str  # display name in the output language
    prefixes: tuple[str, ...]


@dataclass(frozen=True)
class NodeBox:
    id: str
    label: str
    role: str
    zones: tuple[str, ...]

    @property
    def gateway(self) -> bool:
        return self.role in GATEWAY_ROLES or len(self.zones) > 1


@dataclass(frozen=True)
class PathArrow:
    """A sanctioned zone-to-zone direction from the design."""

    src: str
    dst: str
    verdict: str  # allowed | restricted
    services: tuple[str, ...]
    rules: tuple[str, ...]  # allow-rule ids
    via: tuple[str, ...]


@dataclass(frozen=True)
class FindingMark:
    """A structural finding drawn on the diagram (numbered as in the findings list)."""

    number: int
    rule: str
    kind: str
    hops: tuple[str, ...]  # zone/node ids along the offending path (may be empty)
    text: str


@dataclass(frozen=True)
class DiagramData:
    title: str
    organisation: str
    model: str
    topology_hash: str
    date: str
    lang: str
    lanes: tuple[Lane, ...]
    nodes: tuple[NodeBox, ...]
    links: tuple[tuple[str, str, bool], ...]  # (a, b, flagged by a finding)
    paths: tuple[PathArrow, ...]
    findings: tuple[FindingMark, ...]
    cells: tuple[Cell, ...]
    observed: tuple[PairTraffic, ...] = ()
    permits: tuple[PermitPair, ...] = ()
    has_observed: bool = False
    has_permits: bool = False
    # every zone pair the exports permit (sanctioned or not) and sanctioned paths blocked
    configured: tuple[ConfiguredPair, ...] = ()
    blocked: tuple[BlockedPair, ...] = ()

    def forbidden_pairs(self) -> set[tuple[str, str]]:
        """Zone pairs the policy forbids outright (the design's ✗ cells)."""
        return {(c.src, c.dst) for c in self.cells if c.verdict == "forbidden"}

    def lane_index(self) -> dict[str, int]:
        return {lane.zone: i for i, lane in enumerate(self.lanes)}


def topology_hash(data: bytes) -> str:
    """The SHA-256 of the topology file, as printed in titles (first 12 hex digits)."""
    return hashlib.sha256(data).hexdigest()[:12]


CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff00-\uffef]")


def zone_label(topology: Topology, zone_id: str, lang: str) -> str:
    """The lane's headline: the zone's own name (Japanese names only on Japanese pages),
    else the official name of its tier."""
    z = topology.zones[zone_id]
    official = t(f"tier.{z.tier}", lang)
    if not z.name:
        return official
    if lang == "ja":
        return z.name
    return official if CJK.search(z.name) else z.name


def build_diagram(
    topology: Topology,
    cells: list[Cell],
    findings: list[Finding],
    lang: str = "en",
    topo_hash: str = "",
    date: str = "",
    observed: list[PairTraffic] | None = None,
    permits: list[PermitPair] | None = None,
    configured: Sequence[ConfiguredPair] = (),
    blocked: Sequence[BlockedPair] = (),
) -> DiagramData:
    """Gather the diagram's content from the model, the matrix and the check's findings."""
    order = {tier: i for i, tier in enumerate(TIER_ORDER)}
    declared = list(topology.zones)
    zones = sorted(
        topology.zones.values(),
        key=lambda z: (order.get(z.tier, len(order)), declared.index(z.id)),
    )
    lanes = tuple(
        Lane(z.id, z.tier, zone_label(topology, z.id, lang), tuple(str(p) for p in z.prefixes[:2]))
        for z in zones
    )
    nodes = tuple(NodeBox(n.id, n.name or n.id, n.role, n.zones) for n in topology.nodes.values())
    marks: list[FindingMark] = []
    flagged: set[frozenset[str]] = set()
    for i, f in enumerate(findings, 1):
        hops = tuple(str(h) for h in f.data.get("path", ()))
        if not hops and f.data.get("zones"):
            hops = tuple(str(z) for z in f.data["zones"])
        for a, b in zip(hops, hops[1:], strict=False):
            flagged.add(frozenset((a, b)))
        marks.append(FindingMark(i, f.rule, f.kind, hops, f.text(lang)))
    links = tuple((ln.a, ln.b, frozenset((ln.a, ln.b)) in flagged) for ln in topology.links)
    paths = tuple(
        PathArrow(c.src, c.dst, c.verdict, c.services, c.allow_rules, c.via)
        for c in cells
        if c.verdict in ("allowed", "restricted")
        and topology.zones[c.src].tier != topology.zones[c.dst].tier
    )
    return DiagramData(
        title=topology.name,
        organisation=topology.organisation,
        model=topology.policy.model,
        topology_hash=topo_hash,
        date=date,
        lang=lang,
        lanes=lanes,
        nodes=nodes,
        links=links,
        paths=paths,
        findings=tuple(marks),
        cells=tuple(cells),
        observed=tuple(observed or ()),
        permits=tuple(permits or ()),
        has_observed=observed is not None,
        has_permits=permits is not None,
        configured=tuple(configured),
        blocked=tuple(blocked),
    )
