"""Diff of two exports of one device: per zone pair, the packets newly permitted and newly
blocked (exact sets), each with an example packet and the rules responsible on both sides.

Both exports are compiled into one header space. Packets of every conntrack state count;
a newly permitted NEW connection the policy forbids is an error (exit 1), other changes are
reported for review. With unrecognised matches the sets are fail-closed over-approximations
(newly permitted = may-permit(new) ∧ ¬must-permit(old)) and the report is incomplete.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from segverify.checks.firewall_common import (
    describe_rule,
    describe_rule_ja,
    rule_ref,
    ruleset_warnings,
    summary_base,
    zone_label,
)
from segverify.engine.analysis import (
    FirewallAnalysis,
    as_device,
    build_analysis,
    interface_names,
)
from segverify.engine.device import device_view, pick_device
from segverify.engine.space import HeaderSpace
from segverify.findings.model import Finding, Report
from segverify.firewall.ir import Device
from segverify.firewall.model import Ruleset
from segverify.topology.model import Topology

MAX_RULES = 5


@dataclass
class PairChange:
    src_zone: str
    dst_zone: str
    permitted: Any  # packets the new export permits and the old did not
    blocked: Any  # packets the old export permitted and the new does not


@dataclass
class DiffResult:
    old: FirewallAnalysis
    new: FirewallAnalysis
    changes: list[PairChange]


def analyse_pair(
    topology: Topology,
    old: Device | Ruleset,
    new: Device | Ruleset,
    device: str | None = None,
    backend: str | None = None,
    order: str = "grouped",
) -> tuple[FirewallAnalysis, FirewallAnalysis]:
    """Both exports compiled into one shared header space."""
    old_d = as_device(topology, old, device)
    new_d = as_device(topology, new, device)
    node = pick_device(topology, new_d.name)
    view = device_view(topology, node)
    space = HeaderSpace(interface_names(view, old_d, new_d), backend=backend, order=order)
    old, new = old_d, new_d
    a = build_analysis(topology, old, node.id, space=space)
    b = build_analysis(topology, new, node.id, space=space)
    # one traffic space: the union of the analysed families
    mask = a.family_mask | b.family_mask
    a.family_mask = b.family_mask = mask
    a.families = b.families = tuple(sorted(set(a.families) | set(b.families)))
    return a, b


def diff_sets(old: FirewallAnalysis, new: FirewallAnalysis) -> DiffResult:
    sp = new.space
    p_old_up, p_old_low = old.permitted(True), old.permitted(False)
    p_new_up, p_new_low = new.permitted(True), new.permitted(False)
    more = p_new_up & ~p_old_low
    less = p_old_up & ~p_new_low
    changes = []
    for a in new.topology.zones:
        for b in new.topology.zones:
            space = new.pair_space(a, b)
            if space == sp.false:
                continue
            x, y = more & space, less & space
            if x != sp.false or y != sp.false:
                changes.append(PairChange(a, b, x, y))
    return DiffResult(old, new, changes)


def _responsible(analysis: FirewallAnalysis, packets: Any, accepting: bool) -> list[dict[str, Any]]:
    """Rules (or stage policies) deciding some of ``packets``: accepting or refusing ones."""
    sp = analysis.space
    out: list[dict[str, Any]] = []
    for cs in analysis.compiled.stages:
        for cr, eff in zip(cs.rules, cs.eff, strict=False):
            if cr.may_accept == accepting and (eff & packets) != sp.false:
                out.append(rule_ref(cr.rule, cs, cr.index))
                if len(out) >= MAX_RULES:
                    return out
        if cs.default_accept == accepting and (cs.default_eff & packets) != sp.false:
            out.append(rule_ref(None, cs))
            if len(out) >= MAX_RULES:
                return out
    return out


def _finding(
    result: DiffResult, change: PairChange, packets: Any, kind: str, forbidden: bool
) -> Finding:
    old, new = result.old, result.new
    sp = new.space
    topo = new.topology
    a, b = change.src_zone, change.dst_zone
    pp = new.policy.pair(a, b)
    ex = sp.example(packets)
    assert ex is not None
    permitted = kind == "permitted"
    rules_new = _responsible(new, packets, accepting=permitted)
    rules_old = _responsible(old, packets, accepting=not permitted)
    by = "; ".join(describe_rule(r) for r in rules_new) or "-"
    was = "; ".join(describe_rule(r) for r in rules_old) or "-"
    by_ja = "; ".join(describe_rule_ja(r) for r in rules_new) or "-"
    was_ja = "; ".join(describe_rule_ja(r) for r in rules_old) or "-"
    la, lb = zone_label(topo, a, "ja"), zone_label(topo, b, "ja")
    if permitted and forbidden:
        tier = pp.tier_rule or "default-deny"
        severity, rule = "error", tier
        msg = f"newly permits new connections {a} → {b} that the policy forbids ({tier}), e.g. {ex.describe()}; new: {by}; old: {was}"
        msg_ja = f"ポリシーで禁止されている {la} → {lb} の新規通信が新たに許可される（{tier}）。例: {ex.describe()}。新: {by_ja}。旧: {was_ja}"
    elif permitted:
        severity, rule = "info", "diff"
        msg = f"newly permits {a} → {b} traffic (allowed by the policy), e.g. {ex.describe()} ({ex.ct_state}); new: {by}; old: {was}"
        msg_ja = f"{la} → {lb} の通信が新たに許可される（ポリシー上は許可）。例: {ex.describe()}（{ex.ct_state}）。新: {by_ja}。旧: {was_ja}"
    else:
        severity, rule = "warning", "diff"
        msg = f"newly blocks {a} → {b} traffic, e.g. {ex.describe()} ({ex.ct_state}); new: {by}; old: {was}"
        msg_ja = f"{la} → {lb} の通信が新たに遮断される。例: {ex.describe()}（{ex.ct_state}）。新: {by_ja}。旧: {was_ja}"
    loc_rule = rules_new[0] if rules_new else None
    location = None
    if loc_rule and loc_rule.get("file") and loc_rule.get("line"):
        from segverify.topology.model import Location

        location = Location(loc_rule["file"], loc_rule["line"])
    return Finding(
        kind="diff",
        rule=rule,
        message=f"{new.view.node.id}: {msg}.",
        message_ja=f"{new.view.node.id}: {msg_ja}。",
        severity=severity,
        clauses=pp.clauses if forbidden else (),
        location=location,
        data={
            "device": new.view.node.id,
            "change": kind,
            "src_zone": a,
            "dst_zone": b,
            "forbidden": forbidden,
            "example": ex.as_dict(),
            "rules_new": rules_new,
            "rules_old": rules_old,
        },
    )


def diff_findings(result: DiffResult) -> list[Finding]:
    sp = result.new.space
    new_state = sp.ct(["new"])
    out: list[Finding] = []
    for ch in result.changes:
        if ch.permitted != sp.false:
            bad = (
                ch.permitted
                & new_state
                & result.new.policy.pair(ch.src_zone, ch.dst_zone).forbidden
            )
            if bad != sp.false:
                out.append(_finding(result, ch, bad, "permitted", True))
            ok = ch.permitted & ~bad
            if ok != sp.false:
                out.append(_finding(result, ch, ok, "permitted", False))
        if ch.blocked != sp.false:
            out.append(_finding(result, ch, ch.blocked, "blocked", False))
    return out


def diff_firewalls(
    topology: Topology,
    old: Device | Ruleset,
    new: Device | Ruleset,
    device: str | None = None,
    *,
    backend: str | None = None,
    order: str = "grouped",
) -> Report:
    a, b = analyse_pair(topology, old, new, device, backend, order)
    old, new = a.device, b.device
    result = diff_sets(a, b)
    findings = diff_findings(result)
    summary = summary_base(b)
    summary.update(
        {
            "old": old.source,
            "new": new.source,
            "old_rules": sum(len(s.rules) for s in old.stages),
            "zone_pairs_changed": len(result.changes),
            "newly_permitted_forbidden": sum(1 for f in findings if f.severity == "error"),
            "newly_permitted": sum(1 for f in findings if f.data.get("change") == "permitted"),
            "newly_blocked": sum(1 for f in findings if f.data.get("change") == "blocked"),
            "exact": a.compiled.exact and b.compiled.exact,
        }
    )
    warnings = ruleset_warnings(old) + ruleset_warnings(new)
    return Report(
        command="diff",
        findings=tuple(findings),
        summary=summary,
        warnings=tuple(warnings),
        incomplete=old.incomplete or new.incomplete,
        manual_items=(),
        inputs=(topology.source, old.source, new.source),
    )
