"""Helpers shared by the firewall checks: rule references, zone labels, warnings."""

from __future__ import annotations

from typing import Any

from segverify.engine.analysis import FirewallAnalysis
from segverify.engine.compile import CompiledStage
from segverify.findings.model import InputWarning
from segverify.firewall.ir import Device, Rule, names_in
from segverify.i18n import Msg
from segverify.topology.model import Location, Topology


def rule_ref(
    rule: Rule | None, stage: CompiledStage | None = None, index: int | None = None
) -> dict[str, Any]:
    """A JSON-able reference to a rule (or to a stage's default action when rule is None)."""
    out: dict[str, Any] = {}
    if stage is not None:
        out["stage"] = stage.stage.name
        out["hook"] = stage.stage.scope.hook
    if rule is None:
        if stage is not None:
            out["action"] = stage.stage.default
            out["default"] = True
            loc = stage.stage.origin.location
            out["file"] = loc.file if loc else None
            out["line"] = loc.line if loc else None
        return out
    o = rule.origin
    out["index"] = index
    out["action"] = rule.action
    out["file"] = o.location.file if o.location else None
    out["line"] = o.location.line if o.location else None
    out["text"] = o.text
    if o.name:
        out["name"] = o.name
    if o.id:
        out["id"] = o.id
    if o.kind and o.kind != "rule":
        out["kind"] = o.kind
    if o.context:
        out["chain"] = o.context
    objects = [
        {"kind": n.kind, "name": n.name or n.id} for n in names_in(rule.match) if n.kind != "set"
    ]
    if objects:
        out["objects"] = objects
    return out


def describe_rule(ref: dict[str, Any]) -> str:
    if ref.get("unfiltered"):
        return str(ref["stage"])
    if ref.get("default"):
        where = f" ({ref['file']}:{ref['line']})" if ref.get("file") else ""
        return f"policy {ref['action']} of {ref.get('stage', '?')}{where}"
    where = (
        f"{ref['file']}:{ref['line']}"
        if ref.get("file")
        else f"{ref.get('stage', '?')} #{ref.get('index')}"
    )
    text = f" `{ref['text']}`" if ref.get("text") else ""
    label = " ".join(str(ref[k]) for k in ("kind", "id") if ref.get(k))
    if ref.get("name") and ref.get("name") != ref.get("id"):
        label = f"{label} {ref['name']!r}".strip()
    if label:
        return f"{label} ({where}){text}"
    return f"{where}{text}"


def describe_rule_ja(ref: dict[str, Any]) -> str:
    if ref.get("unfiltered"):
        return str(ref.get("stage_ja") or ref["stage"])
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
    if rule is not None and rule.origin.location is not None:
        return rule.origin.location
    return stage.stage.origin.location


def ruleset_warnings(device: Device) -> list[InputWarning]:
    """Everything not understood: the parser's warnings, unknown atoms, unknown verdicts."""
    out = [InputWarning(msg, loc) for loc, msg in device.warnings]
    for stage in device.stages:
        for rule in stage.rules:
            if not rule.enabled:
                continue
            for u in rule.opaque:
                if u.kind == "unknown":
                    out.append(
                        InputWarning(
                            Msg(
                                "warn.checks.firewall_common.unrecognised_match_treated_as_may",
                                text=u.text,
                            ),
                            u.origin.location or rule.origin.location,
                        )
                    )
            if rule.action not in ("accept", "drop", "reject"):
                out.append(
                    InputWarning(
                        Msg(
                            "warn.checks.firewall_common.unknown_verdict_treated_as_may",
                            text=rule.origin.text,
                        ),
                        rule.origin.location,
                    )
                )
    return out


def not_analysed(analysis: FirewallAnalysis) -> str:
    """The IP families the export does not filter (so not analysed): coverage, shown in
    the summary. Not a warning: warnings mean "not understood" and make the report
    incomplete, in every output format alike."""
    missing = [f"IPv{v}" for v in (4, 6) if v not in analysis.families]
    return ", ".join(missing) or "none"


def interfaces_line(analysis: FirewallAnalysis) -> str:
    """``eth0 → inet; eth1 → security-cloud, internet``: the zones behind each interface
    (a scalar, so every output format prints it)."""
    v = analysis.view
    return "; ".join(f"{n} → {', '.join(v.behind.get(n, ()))}" for n in v.interfaces)


def summary_base(analysis: FirewallAnalysis) -> dict[str, Any]:
    dev = analysis.device
    return {
        "device": analysis.view.node.id,
        "vendor": dev.vendor,
        "export": dev.source,
        "stages": len(dev.stages),
        "rules": sum(len(s.rules) for s in dev.stages),
        "families": list(analysis.families),
        "not_analysed": not_analysed(analysis),
        "backend": analysis.space.backend,
        "zone_interfaces": {z: list(i) for z, i in analysis.view.zone_ifaces.items()},
        "interfaces": interfaces_line(analysis),
        "unpinned_zones": ", ".join(analysis.view.unpinned) or "none",
    }


SEVERITIES = ("error", "warning", "info")
FINDING_KINDS = (
    "firewall-permit",
    "device-exposure",
    "shadowed",
    "redundant",
    "unused-object",
    "diff",
    "test-flow",
    "network-permit",
    "network-blocked",
    "network-diff",
)


def parse_fail_on(text: str | None) -> tuple[str, ...]:
    """``--fail-on error,device-exposure``: severities and/or finding kinds."""
    if not text:
        return ("error",)
    items = tuple(x.strip() for x in text.split(",") if x.strip())
    bad = [x for x in items if x not in SEVERITIES and x not in FINDING_KINDS]
    if bad:
        from segverify.errors import InputError

        raise InputError(
            Msg(
                "error.checks.firewall_common.fail_unknown_severities_kinds",
                bad=", ".join(bad),
                severities=", ".join(SEVERITIES),
                kinds=", ".join(FINDING_KINDS),
            )
        )
    return items


def exit_code(report: Any, fail_on: tuple[str, ...] = ("error",)) -> int:
    """1 when a finding's severity or kind is in ``fail_on``; else 3 when incomplete; 0."""
    from segverify.errors import EXIT_CLEAN, EXIT_FINDINGS, EXIT_INCOMPLETE

    if any(f.severity in fail_on or f.kind in fail_on for f in report.findings):
        return EXIT_FINDINGS
    return EXIT_INCOMPLETE if report.incomplete else EXIT_CLEAN
