"""`topology check`: every structural and policy check of one topology, as a Report."""

from __future__ import annotations

from segverify.checks.allowrules import check_allow_rules
from segverify.checks.structure import check_overlaps, check_separation
from segverify.findings.model import Report
from segverify.topology.graph import build_graph
from segverify.topology.model import Topology


def check_topology(topology: Topology) -> Report:
    graph = build_graph(topology)
    findings = [
        *check_overlaps(topology),
        *check_separation(topology, graph),
        *check_allow_rules(topology),
    ]
    summary = {
        "model": topology.policy.model,
        "zones": len(topology.zones),
        "nodes": len(topology.nodes),
        "links": len(topology.links),
        "allow_rules": sum(1 for r in topology.policy.allow if r.origin == "file"),
        "model_rules": sum(1 for r in topology.policy.allow if r.origin == "model"),
        "enforced": [r.id for r in topology.policy.rules.values() if r.enforced],
        "findings": len(findings),
    }
    return Report(
        command="topology-check",
        findings=tuple(findings),
        summary=summary,
        manual_items=topology.manual_items,
        inputs=(topology.source,),
    )
