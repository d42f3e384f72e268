"""The normalised model as JSON-able data: the stable contract of `topology show --format json`
(documented in docs/topology.md; later stages and external scripts read it)."""

from __future__ import annotations

from typing import Any

from segverify.topology.model import Selector, Topology
from segverify.topology.selectors import selector_nodes, selector_zones

SCHEMA = "segverify/topology/1"


def _selector(topology: Topology, sel: Selector) -> dict[str, Any]:
    out: dict[str, Any] = {
        k: getattr(sel, k) for k in ("zone", "tier", "node", "role") if getattr(sel, k)
    }
    if sel.prefixes:
        out["prefixes"] = [str(p) for p in sel.prefixes]
    out["zones"] = [z.id for z in selector_zones(topology, sel)]
    nodes = selector_nodes(topology, sel)
    if nodes:
        out["nodes"] = [n.id for n in nodes]
        out["addresses"] = [str(a) for n in nodes for a in n.addresses]
    return out


def topology_dict(topology: Topology) -> dict[str, Any]:
    policy = topology.policy
    entries = []
    for rule in policy.allow:
        for spec in rule.services:
            entries.append(
                {
                    "id": rule.id,
                    "origin": rule.origin,
                    "rule": rule.rule,
                    "from": _selector(topology, rule.src),
                    "to": _selector(topology, rule.dst),
                    "proto": spec.proto_name,
                    "proto_number": spec.proto,
                    "ports": [[r.lo, r.hi] for r in spec.ports],
                    "service": spec.name or None,
                    "via": list(rule.via),
                    "fqdns": list(rule.fqdns),
                    "clauses": list(rule.clauses),
                    "justification": rule.justification,
                    "location": str(rule.location) if rule.location else None,
                }
            )
    return {
        "schema": SCHEMA,
        "name": topology.name,
        "organisation": topology.organisation,
        "prefecture": topology.prefecture,
        "source": topology.source,
        "model": policy.model,
        "zones": [
            {
                "id": z.id,
                "tier": z.tier,
                "name": z.name,
                "prefixes": [str(p) for p in z.prefixes],
                "vlans": list(z.vlans),
                "default": z.tier == "internet" and z.id == topology.default_zone.id,
            }
            for z in topology.zones.values()
        ],
        "nodes": [
            {
                "id": n.id,
                "zone": n.zone,
                "zones": list(n.zones),
                "role": n.role,
                "name": n.name,
                "addresses": [str(a) for a in n.addresses],
                "mac": n.mac,
                "interfaces": [
                    {
                        "name": i.name,
                        "zone": i.zone,
                        "addresses": [str(a) for a in i.addresses],
                        "aliases": list(i.aliases),
                    }
                    for i in n.interfaces
                ]
                if n.multi_zone or n.role == "firewall"
                else [],
            }
            for n in topology.nodes.values()
        ],
        "links": [{"a": link.a, "b": link.b, "name": link.name} for link in topology.links],
        "rules": [
            {
                "id": r.id,
                "title": r.title_en,
                "title_ja": r.title_ja,
                "enforced": r.enforced,
                "clauses": list(r.clauses),
                "guideline": list(r.guideline),
            }
            for r in policy.rules.values()
        ],
        "policy": entries,
        "fqdn_allow": list(policy.fqdn_allow),
        "manual_items": list(topology.manual_items),
    }
