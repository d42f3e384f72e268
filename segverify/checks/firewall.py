"""Firewall export against the topology's policy: forbidden permits, shadowed and redundant
rules. Exact: every answer is a set computed on the header space, never a sample.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from segverify.checks.configured import ConfiguredPair
from segverify.checks.firewall_common import (
    describe_rule,
    describe_rule_ja,
    rule_ref,
    ruleset_warnings,
    stage_location,
    summary_base,
    zone_label,
)
from segverify.checks.firewall_exposure import device_exposure
from segverify.checks.firewall_may import may_text, opaque_behind
from segverify.checks.firewall_objects import unused_objects
from segverify.engine.analysis import FirewallAnalysis, build_analysis
from segverify.engine.compile import CompiledStage
from segverify.findings.model import Finding, Report
from segverify.firewall.bind import LOOPBACK
from segverify.firewall.ir import Device, Interfaces, Rule, walk
from segverify.firewall.model import Ruleset
from segverify.gcpause import gc_paused
from segverify.i18n import t
from segverify.topology.model import Topology

MAX_COVER = 5
MAX_SCAN = 64


@dataclass
class ForbiddenSpace:
    """Per zone pair: the NEW-connection packets the policy forbids, as the device sees them."""

    pairs: dict[tuple[str, str], Any]
    union: Any


def forbidden_space(analysis: FirewallAnalysis) -> ForbiddenSpace:
    sp = analysis.space
    new = sp.ct(["new"]) & (~sp.protos((6,)) | sp.tcp_flags(0x17, 0x02))  # a TCP SYN opens
    pairs: dict[tuple[str, str], Any] = {}
    union = sp.false
    for a in analysis.topology.zones:
        for b in analysis.topology.zones:
            pp = analysis.policy.pair(a, b)
            if pp.forbidden == sp.false:
                continue
            # traffic to or from the device itself ends there: not a zone crossing (see
            # firewall_exposure for what the device accepts for itself)
            f = pp.forbidden & new & analysis.pair_space(a, b, "forward")
            if f != sp.false:
                pairs[(a, b)] = f
                union = union | f
    return ForbiddenSpace(pairs, union)


def no_stage_ref(iif: str, oif: str) -> dict[str, Any]:
    """The ``firewall_rule`` of packets that no policy stage filters on their path."""
    return {
        "action": "accept",
        "default": True,
        "unfiltered": True,
        "stage": t("firewall.no_stage", "en", iif=iif, oif=oif),
        "stage_ja": t("firewall.no_stage", "ja", iif=iif, oif=oif),
        "in_interface": iif,
        "out_interface": oif,
    }


PermitSource = tuple[CompiledStage | None, Rule | None, int | None, Any, tuple[str, str] | None]


def _permit_sources(analysis: FirewallAnalysis) -> Iterator[PermitSource]:
    """Every (stage, accepting rule or default, index, packets it lets through the device,
    None); stage None: packets no stage applies to, one entry per (input, output)
    interface pair. A generator: each set is dropped once its findings are made (a list
    held one BDD per accepting rule alive at once). The sets of rules and defaults are
    not cut to the forward region: every caller intersects them with zone-pair spaces of
    that region (one operation per rule less)."""
    comp = analysis.compiled
    sp = analysis.space
    path = "forward"  # zone crossings only
    region = analysis.regions[path]
    for cs in comp.stages:
        if path not in comp.paths_of(cs):
            continue
        others = comp.others_accept(path, cs)

        def leaving(u: Any, others: Any = others) -> Any:
            # as the policy matched them → as they leave (destination NAT applied)
            return comp.to_post(u & others, path)

        for cr, eff in zip(cs.rules, cs.eff, strict=False):
            if cr.may_accept and eff != sp.false:
                yield (cs, cr.rule, cr.index, leaving(eff), None)
        if cs.default_accept and cs.default_eff != sp.false:
            yield (cs, None, None, leaving(cs.default_eff & cs.default_accepts), None)
    # packets no stage applies to (an interface without an ACL): the device forwards them
    unfiltered = region
    for cs in comp.paths[path]:
        unfiltered = unfiltered & ~cs.family
    if unfiltered == sp.false:
        return
    for iif in sp.interfaces:
        at_in = unfiltered & sp.iface("iif", iif)
        if at_in == sp.false:
            continue
        for oif in sp.interfaces:
            u = at_in & sp.iface("oif", oif)
            if u != sp.false:
                yield (None, None, None, comp.to_post(u, path) & region, (iif, oif))


def forbidden_permits(
    analysis: FirewallAnalysis, forbidden: ForbiddenSpace | None = None
) -> list[Finding]:
    sp = analysis.space
    topo = analysis.topology
    fs = forbidden or forbidden_space(analysis)
    findings: list[Finding] = []
    lower = analysis.permitted(upper=False)
    nat = analysis.compiled.nat
    # every source's packets lie in the upper permitted set: when the lower one is the
    # same set (no opaque atom, no NAT) each finding is certain without a test
    all_certain = (nat is None or not nat.active) and lower == analysis.permitted(upper=True)
    for cs, rule, index, permits, ifaces in _permit_sources(analysis):
        # each pair's set directly (not through ``permits & fs.union`` first: one
        # operation on the whole set less per permitting source, and a pair that does
        # not meet the source ends the conjunction within its first fields)
        ref = None
        for (a, b), f in fs.pairs.items():
            x = permits & f
            if x == sp.false:
                continue
            if ref is None:
                ref = rule_ref(rule, cs, index) if ifaces is None else no_stage_ref(*ifaces)
            pp = analysis.policy.pair(a, b)
            certain = all_certain or (x & lower) != sp.false
            gap = x & pp.fqdn_gap
            fqdn = gap != sp.false
            example = sp.example(x)
            assert example is not None
            example = analysis.compiled.arrival(example)
            tier_rule = pp.tier_rule or "default-deny"
            may_en, may_ja = (
                ("", "")
                if certain
                else may_text(*opaque_behind(analysis.compiled, "forward", x, rule))
            )
            fq_en = (
                " Part of it is allowed only for allow-listed FQDNs, which header filtering cannot enforce: needs FQDN filtering."
                if fqdn
                else ""
            )
            fq_ja = (
                " うち一部はFQDN許可リストでのみ許可される通信で、ヘッダによるフィルタでは制御できない（FQDNフィルタリングが必要）。"
                if fqdn
                else ""
            )
            findings.append(
                Finding(
                    kind="firewall-permit",
                    rule=tier_rule,
                    message=(
                        f"{analysis.view.node.id}: {describe_rule(ref)} permits new connections "
                        f"{a} → {b} that the policy forbids ({tier_rule}){may_en}, e.g. {example.describe()}.{fq_en}"
                    ),
                    message_ja=(
                        f"{analysis.view.node.id}: {describe_rule_ja(ref)} が、ポリシーで禁止されている "
                        f"{zone_label(topo, a, 'ja')} → {zone_label(topo, b, 'ja')} の新規通信を許可している"
                        f"（{tier_rule}）{may_ja}。例: {example.describe()}。{fq_ja}"
                    ),
                    severity="error",
                    clauses=pp.clauses,
                    evidence=tuple(x for x in (rule.origin.text if rule else "",) if x),
                    remedy="Restrict the rule to the flows the policy allows, or add a drop rule before it.",
                    remedy_ja="ポリシーで許可された通信だけに絞るか、その前に拒否ルールを置く。",
                    location=stage_location(rule, cs) if cs is not None else None,
                    data={
                        "device": analysis.view.node.id,
                        "src_zone": a,
                        "dst_zone": b,
                        "firewall_rule": ref,
                        "example": example.as_dict(),
                        "certain": certain,
                        "needs_fqdn_filtering": fqdn,
                    },
                )
            )
    return findings


def permitted_pairs(analysis: FirewallAnalysis) -> list[ConfiguredPair]:
    """Every zone pair (a ≠ b) the export lets new connections cross, forbidden or not,
    with the file:line of each accepting rule (the diagram's configuration layer)."""
    sp = analysis.space
    new = sp.ct(["new"]) & (~sp.protos((6,)) | sp.tcp_flags(0x17, 0x02))
    spaces = {}
    for a in analysis.topology.zones:
        for b in analysis.topology.zones:
            if a != b:
                s = new & analysis.pair_space(a, b, "forward")
                if s != sp.false:
                    spaces[(a, b)] = s
    rules: dict[tuple[str, str], list[str]] = {}
    for cs, rule, _index, permits, ifaces in _permit_sources(analysis):
        if ifaces is not None:
            where = f"{ifaces[0]}→{ifaces[1]}"
        else:
            loc = stage_location(rule, cs) if cs is not None else None
            where = f"{PurePath(loc.file).name}:{loc.line}" if loc else analysis.view.node.id
        for key, s in spaces.items():
            if (permits & s) != sp.false and where not in rules.setdefault(key, []):
                rules[key].append(where)
    return [
        ConfiguredPair(a, b, tuple(rules[(a, b)]), analysis.view.node.id)
        for a, b in sorted(rules)
        if rules[(a, b)]
    ]


def group_by_pair(findings: list[Finding]) -> list[Finding]:
    """Forbidden permits ordered by zone pair, then by rule position: a large ruleset's
    report reads pair by pair."""

    def key(f: Finding) -> tuple:
        r = f.data.get("firewall_rule", {})
        return (f.data["src_zone"], f.data["dst_zone"], r.get("file") or "", r.get("line") or 0)

    return sorted(findings, key=key)


def pairs_line(findings: list[Finding]) -> str:
    """``inet → internet: 12; …``: forbidden permits counted per zone pair (a scalar, so every
    output format prints it)."""
    counts: dict[tuple[str, str], int] = {}
    for f in findings:
        if f.kind == "firewall-permit":
            k = (f.data["src_zone"], f.data["dst_zone"])
            counts[k] = counts.get(k, 0) + 1
    return "; ".join(f"{a} → {b}: {n}" for (a, b), n in sorted(counts.items())) or "none"


def _cover(
    cs: CompiledStage, i: int, target: Any, cache: dict[Any, list[int]]
) -> list[dict[str, Any]]:
    """Earlier rules that take packets of ``target`` (all of them when shadowed): up to
    MAX_COVER, with one of a different action when there is one. Duplicated rules share
    one search: a shadowed target's deciders all lie before its first occurrence."""
    mine = cs.rules[i].may_accept
    key = (target, mine)
    idx = cache.get(key)
    if idx is None:
        idx = cs.deciders(target, 0, i, None, MAX_COVER)
        if idx and all(cs.rules[j].may_accept == mine for j in idx):
            other = cs.deciders(target, 0, i, not mine, 1)
            if other:
                idx = idx[: MAX_COVER - 1] + other
        cache[key] = idx
    return [rule_ref(cs.rules[j].rule, cs, j) for j in idx]


def shadowed_and_redundant(analysis: FirewallAnalysis) -> list[Finding]:
    sp = analysis.space
    comp = analysis.compiled
    findings: list[Finding] = []
    traffic = analysis.traffic()
    for cs in comp.stages:
        paths = comp.paths_of(cs)
        through = sp.false
        seen = sp.false  # the packets this stage sees
        for p in paths:
            through = through | (analysis.regions[p] & comp.others_accept(p, cs))
            seen = seen | analysis.regions[p]
        through = through & traffic
        seen = seen & traffic
        cover_cache: dict[Any, list[int]] = {}
        found: list[tuple[int, Finding]] = []
        candidates: list[int] = []  # not shadowed: redundant unless removing it changes the stage
        for i, cr in enumerate(cs.rules):
            rule = cr.rule
            if not rule.enabled or rule.implicit:
                continue
            covered = cs.covered_must[i] if cs.covered_must else None
            if covered is not None:
                mine = cr.may & seen
                shadowed = (mine & ~covered) == sp.false
            else:
                shadowed = (cs.eff[i] & seen) == sp.false
                mine = cr.may & seen if shadowed else None  # only shadowed rules read it
            if shadowed and mine == sp.false and _loopback_only(rule):
                continue  # local traffic on lo: never zone traffic, nothing to report
            if shadowed:
                cover = _cover(cs, i, mine, cover_cache) if mine != sp.false else []
                ref = rule_ref(rule, cs, i)
                found.append((i, _shadow_finding(analysis, cs, rule, ref, cover)))
            elif cs.exact:
                candidates.append(i)
        if candidates:
            found += _redundant(analysis, cs, candidates, through)
            found.sort(key=lambda f: f[0])
        findings += [f for _, f in found]
    return findings


def _redundant(
    analysis: FirewallAnalysis, cs: CompiledStage, candidates: list[int], through: Any
) -> list[tuple[int, Finding]]:
    """Of the ``candidates`` (rules of an exact stage that decide some packet), those whose
    removal changes nothing: one backward run from the last rule down to the first
    candidate builds the suffix accept set S[k] (accepted by rules k.. and the default);
    each candidate compares its effective set with S[i+1] when the run reaches it. Only
    the current suffix set is alive (a list of all of them held most of a large stage's
    BDD nodes at once). Findings come out last rule first."""
    sp = analysis.space
    out: list[tuple[int, Finding]] = []
    todo = set(candidates)
    s = sp.true if cs.default_accept else sp.false  # S[n]
    for k in range(len(cs.rules) - 1, candidates[0] - 1, -1):
        cr = cs.rules[k]
        if k in todo:  # s is S[k + 1]
            change = cs.eff[k] & (~s if cr.accept else s) & through
            if change == sp.false:
                takers = _takers(cs, k, sp)
                ref = rule_ref(cr.rule, cs, k)
                out.append((k, _redundant_finding(analysis, cs, cr.rule, ref, takers)))
        if cr.rule.enabled:
            s = sp.bdd.ite(cr.may, sp.true if cr.accept else sp.false, s)
    return out


def _loopback_only(rule: Rule) -> bool:
    """The rule names a loopback interface (``-i lo``): it is about local traffic."""
    return any(
        isinstance(e, Interfaces) and any(n in LOOPBACK for n in e.names) for e in walk(rule.match)
    )


def _takers(cs: CompiledStage, i: int, space: Any) -> list[dict[str, Any]]:
    """Up to MAX_COVER of the nearest later rules (within MAX_SCAN) that would take over."""
    eff = cs.eff[i]
    out: list[dict[str, Any]] = []
    for j in range(i + 1, min(len(cs.rules), i + 1 + MAX_SCAN)):
        if (cs.rules[j].may & eff) != space.false:
            out.append(rule_ref(cs.rules[j].rule, cs, j))
            if len(out) >= MAX_COVER:
                break
    return out


def _shadow_finding(
    analysis: FirewallAnalysis,
    cs: CompiledStage,
    rule: Rule,
    ref: dict[str, Any],
    cover: list[dict[str, Any]],
) -> Finding:
    by = (
        "; ".join(describe_rule(c) for c in cover)
        or "none: it matches no packet the topology routes through the device"
    )
    return Finding(
        kind="shadowed",
        rule="shadowed",
        message=f"{analysis.view.node.id}: {describe_rule(ref)} never decides a packet: earlier rules take every packet it matches ({by}).",
        message_ja=f"{analysis.view.node.id}: {describe_rule_ja(ref)} はどのパケットにも適用されない（前のルールがすべて先に一致する: {by}）。",
        severity="warning",
        evidence=tuple(x for x in (rule.origin.text,) if x),
        remedy="Delete the rule or move it above the rules that cover it.",
        remedy_ja="ルールを削除するか、覆っているルールより前に移動する。",
        location=stage_location(rule, cs),
        data={"device": analysis.view.node.id, "firewall_rule": ref, "covered_by": cover},
    )


def _redundant_finding(
    analysis: FirewallAnalysis,
    cs: CompiledStage,
    rule: Rule,
    ref: dict[str, Any],
    takers: list[dict[str, Any]],
) -> Finding:
    then = "; ".join(describe_rule(t) for t in takers) or f"the stage policy {cs.stage.default}"
    return Finding(
        kind="redundant",
        rule="redundant",
        message=f"{analysis.view.node.id}: {describe_rule(ref)} is redundant: without it the device permits exactly the same packets (later: {then}).",
        message_ja=f"{analysis.view.node.id}: {describe_rule_ja(ref)} は冗長である（削除しても許可される通信は変わらない。後続: {then}）。",
        severity="info",
        evidence=tuple(x for x in (rule.origin.text,) if x),
        location=stage_location(rule, cs),
        data={
            "device": analysis.view.node.id,
            "firewall_rule": ref,
            "decided_without_it_by": takers,
        },
    )


def shared_chain_summary(device: Device) -> dict[str, Any]:
    """Rules inside shared user chains (chains.py) decide through the rules that call
    them: permits and exposures include them; shadowed/redundant judge only the calling
    rules, so the summary says how many chain rules were not judged (empty when none)."""
    chains = device.shared_chains()
    if not chains:
        return {}
    return {
        "shared_chains": len(chains),
        "shared_chain_rules_not_judged": sum(len(c.rules) for c in chains),
    }


@gc_paused
def check_firewall(
    topology: Topology,
    ruleset: Device | Ruleset,
    device: str | None = None,
    *,
    shadow: bool = True,
    backend: str | None = None,
    order: str = "grouped",
) -> Report:
    """The full analysis of one export: the ``segverify firewall`` report."""
    t0 = time.perf_counter()
    analysis = build_analysis(topology, ruleset, device, backend=backend, order=order)
    return check_analysis(analysis, shadow=shadow, seconds_compile=time.perf_counter() - t0)


def check_analysis(
    analysis: FirewallAnalysis, *, shadow: bool = True, seconds_compile: float = 0.0
) -> Report:
    """The ``segverify firewall`` report of an analysis already built (callers that also
    want ``permitted_pairs`` of the same analysis compile the export once)."""
    topology = analysis.topology
    t1 = time.perf_counter()
    fs = forbidden_space(analysis)
    findings = group_by_pair(forbidden_permits(analysis, fs))
    findings += device_exposure(analysis)
    t2 = time.perf_counter()
    if shadow:
        findings += shadowed_and_redundant(analysis)
        findings += unused_objects(analysis.device, analysis.view.node.id)
    t3 = time.perf_counter()
    device_model = analysis.device
    warnings = ruleset_warnings(device_model)
    summary = summary_base(analysis)
    summary.update(shared_chain_summary(device_model))
    summary.update(
        {
            "forbidden_permits": sum(1 for f in findings if f.kind == "firewall-permit"),
            "device_exposures": sum(1 for f in findings if f.kind == "device-exposure"),
            "forbidden_permits_by_pair": pairs_line(findings),
            "shadowed": sum(1 for f in findings if f.kind == "shadowed"),
            "redundant": sum(1 for f in findings if f.kind == "redundant"),
            "unused_objects": sum(1 for f in findings if f.kind == "unused-object"),
            "exact": analysis.compiled.exact,
            "seconds_compile": round(seconds_compile, 3),
            "seconds_permits": round(t2 - t1, 3),
            "seconds_shadow": round(t3 - t2, 3),
        }
    )
    return Report(
        command="firewall",
        findings=tuple(findings),
        summary=summary,
        warnings=tuple(warnings),
        incomplete=device_model.incomplete,
        manual_items=topology.manual_items,
        inputs=(topology.source, device_model.source),
    )
