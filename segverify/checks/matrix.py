"""The zone × zone verdict matrix: allowed / only via named gateways on named services / forbidden."""

from __future__ import annotations

from dataclasses import dataclass

from segverify.checks.selectors import is_zone_wide, selector_nodes, selector_zones
from segverify.topology.model import INTERNAL_TIERS, Topology

VERDICTS = ("intra", "allowed", "restricted", "forbidden", "external")


@dataclass(frozen=True)
class Cell:
    src: str
    dst: str
    verdict: str
    rule: str | None = None  # governing tier rule
    via: tuple[str, ...] = ()  # gateway nodes/roles/prefixes that carry restricted traffic
    services: tuple[str, ...] = ()
    allow_rules: tuple[str, ...] = ()


def zone_matrix(topology: Topology) -> list[Cell]:
    policy = topology.policy
    zones = list(topology.zones.values())
    reach = {
        r.id: (
            {z.id for z in selector_zones(topology, r.src)},
            {z.id for z in selector_zones(topology, r.dst)},
        )
        for r in policy.allow
    }
    cells = []
    for a in zones:
        for b in zones:
            if a.id == b.id:
                cells.append(Cell(a.id, b.id, "intra"))
                continue
            rule_id = policy.rule_for(a.tier, b.tier)
            if a.tier == b.tier or (rule_id and not policy.rules[rule_id].enforced):
                cells.append(Cell(a.id, b.id, "allowed", rule_id))
                continue
            rules = [r for r in policy.allow if a.id in reach[r.id][0] and b.id in reach[r.id][1]]
            wide = [
                r
                for r in rules
                if is_zone_wide(r.src)
                and is_zone_wide(r.dst)
                and any(s.proto is None for s in r.services)
            ]
            if wide:
                cells.append(
                    Cell(a.id, b.id, "allowed", rule_id, allow_rules=tuple(r.id for r in wide))
                )
            elif rules:
                via: list[str] = []
                services: list[str] = []
                for r in rules:
                    gateways = list(r.via) + [
                        n.id for sel in (r.src, r.dst) for n in selector_nodes(topology, sel)
                    ]
                    gateways += [str(p) for sel in (r.src, r.dst) for p in sel.prefixes]
                    if not gateways:
                        gateways = [f"{a.id}→{b.id}"]
                    via.extend(g for g in gateways if g not in via)
                    services.extend(s for s in r.service_names if s not in services)
                cells.append(
                    Cell(
                        a.id,
                        b.id,
                        "restricted",
                        rule_id,
                        tuple(via),
                        tuple(services),
                        tuple(r.id for r in rules),
                    )
                )
            elif a.tier not in INTERNAL_TIERS and b.tier not in INTERNAL_TIERS:
                cells.append(Cell(a.id, b.id, "external", rule_id))
            else:
                cells.append(Cell(a.id, b.id, "forbidden", rule_id or "default-deny"))
    return cells
