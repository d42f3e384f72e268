"""Helpers shared by the firewall checks: rule references, zone labels, warnings."""

from __future__ import annotations

from typing import Any

from segverify.engine.analysis import FirewallAnalysis
from segverify.engine.compile import CompiledStage
from segverify.findings.model import InputWarning
from segverify.firewall.model import Rule, Ruleset
from segverify.topology.model import Location, Topology


def rule_ref(
    rule: Rule | None, stage: CompiledStage | None = None, index: int | None = None
) -> dict[str, Any]:
    """A JSON-able reference to a rule (or to a stage's default action when rule is None)."""
    out: dict[str, Any] = {}
    if stage is not None:
        out["stage"] = stage.stage.name
        out["hook"] = stage.stage.hook
    if rule is None:
        if stage is not None:
            out["action"] = stage.stage.default_action
            out["default"] = True
            loc = stage.stage.location
            out["file"] = loc.file if loc else None
            out["line"] = loc.line if loc else None
        return out
    out["index"] = index
    out["action"] = rule.action
    out["file"] = rule.location.file if rule.location else None
    out["line"] = rule.location.line if rule.location else None
    out["text"] = rule.text
    if rule.name:
        out["name"] = rule.name
    if rule.chain:
        out["chain"] = rule.chain
    return out


def describe_rule(ref: dict[str, Any]) -> str:
    if ref.get("default"):
        where = f" ({ref['file']}:{ref['line']})" if ref.get("file") else ""
        return f"policy {ref['action']} of {ref.get('stage', '?')}{where}"
    where = (
        f"{ref['file']}:{ref['line']}"
        if ref.get("file")
        else f"{ref.get('stage', '?')} #{ref.get('index')}"
    )
    text = f" `{ref['text']}`" if ref.get("text") else ""
    return f"{where}{text}"


def describe_rule_ja(ref: dict[str, Any]) -> str:
    if ref.get("default"):
        where = f"（{ref['file']}:{ref['line']}）" if ref.get("file") else ""
        return f"{ref.get('stage', '?')} の既定動作 {ref['action']}{where}"
    return describe_rule(ref)


def zone_label(topology: Topology, zone: str, lang: str) -> str:
    z = topology.zones.get(zone)
    if lang == "ja" and z is not None and z.name:
        return f"{z.name}（{zone}）"
    return zone


def stage_location(rule: Rule | None, stage: CompiledStage) -> Location | None:
    if rule is not None and rule.location is not None:
        return rule.location
    return stage.stage.location


def ruleset_warnings(ruleset: Ruleset) -> list[InputWarning]:
    out = [InputWarning(msg, loc) for loc, msg in ruleset.warnings]
    for stage in ruleset.stages:
        for rule in stage.rules:
            for u in rule.unknown:
                out.append(
                    InputWarning(
                        f"unrecognised match `{u.text}`: treated as may-match",
                        u.location or rule.location,
                    )
                )
            if rule.action not in ("accept", "drop", "reject"):
                out.append(
                    InputWarning(
                        f"unknown verdict of `{rule.text}`: treated as may-accept", rule.location
                    )
                )
    return out


def family_warnings(analysis: FirewallAnalysis) -> list[InputWarning]:
    missing = [v for v in (4, 6) if v not in analysis.families]
    out = []
    for v in missing:
        out.append(
            InputWarning(
                f"the export filters no IPv{v} traffic: IPv{v} was not analysed"
                f" (analysed: {', '.join(f'IPv{f}' for f in analysis.families)})"
            )
        )
    return out


def summary_base(analysis: FirewallAnalysis) -> dict[str, Any]:
    rs = analysis.ruleset
    return {
        "device": analysis.view.node.id,
        "vendor": rs.vendor,
        "export": rs.source,
        "stages": len(rs.stages),
        "rules": sum(len(s.rules) for s in rs.stages),
        "families": list(analysis.families),
        "backend": analysis.space.backend,
        "zone_interfaces": {z: list(i) for z, i in analysis.view.zone_ifaces.items()},
    }
