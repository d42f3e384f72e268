"""The zone × zone verdict matrix: allowed / only via named gateways on named services / forbidden."""

from __future__ import annotations

from dataclasses import dataclass

from segverify.checks.selectors import is_zone_wide, selector_nodes, selector_zones
from segverify.topology.model import INTERNAL_TIERS, AllowRule, Topology

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
    # Each zone's rules (by source zone) and each tier pair's rule, worked out once: the
    # loop below is one pass over the cells, not cells × rules.
    rules_from: dict[str, list[AllowRule]] = {z.id: [] for z in zones}
    for r in policy.allow:
        for zid in reach[r.id][0]:
            rules_from[zid].append(r)
    tier_rule: dict[tuple[str, str], str | None] = {}
    cells = []
    for a in zones:
        from_a = rules_from[a.id]
        for b in zones:
            if a.id == b.id:
                cells.append(Cell(a.id, b.id, "intra"))
                continue
            key = (a.tier, b.tier)
            if key not in tier_rule:
                tier_rule[key] = policy.rule_for(a.tier, b.tier)
            rule_id = tier_rule[key]
            if a.tier == b.tier or (rule_id and not policy.rules[rule_id].enforced):
                cells.append(Cell(a.id, b.id, "allowed", rule_id))
                continue
            rules = [r for r in from_a if b.id in reach[r.id][1]] if from_a else []
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
