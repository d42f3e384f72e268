"""``segverify diff`` over a whole network: old and new exports of several firewalls.

Per zone pair, over the topology's paths (see network.py), on one BDD header space holding
both sets of devices:

- ``network-diff`` with ``change: permitted`` (error): forbidden NEW connections some path
  carries after the change and no path carried before, with the permitting rule on each
  device of the new path;
- ``network-diff`` with ``change: blocked`` (warning): traffic the policy's allow rules
  sanction that some path carried before and none carries after (the change that breaks
  the sanitiser's mail), with the device and rule that now stop it.

A node given only on one side keeps the same export on both.
"""

from __future__ import annotations

import time
from typing import Any

from segverify.checks.firewall_common import ruleset_warnings, zone_label
from segverify.checks.network import (
    Hop,
    Network,
    describe_ref,
    ref_location,
    sent_and_received,
    shared_space,
    step_ref,
    zone_paths,
)
from segverify.findings.model import Finding, Report
from segverify.firewall.ir import Device
from segverify.topology.model import Topology


def diff_network(
    topology: Topology,
    old: dict[str, Device],
    new: dict[str, Device],
    *,
    backend: str | None = None,
) -> Report:
    t0 = time.perf_counter()
    nodes = list(dict.fromkeys([*old, *new]))
    old_full = {n: old.get(n) or new[n] for n in nodes}
    new_full = {n: new.get(n) or old[n] for n in nodes}
    space, (old_b, new_b) = shared_space(topology, old_full, new_full, backend=backend)
    before = Network(topology, old_b, space=space)
    after = Network(topology, new_b, space=space)
    sp = space
    findings: list[Finding] = []
    unverified: list[str] = []
    for a in topology.zones:
        for b in topology.zones:
            if a == b:
                continue
            pp = after.policy.pair(a, b)
            forbidden = pp.forbidden & after.new
            sanctioned = pp.sanctioned & after.new if pp.tier_rule and pp.allow_rules else sp.false
            if forbidden == sp.false and sanctioned == sp.false:
                continue
            was_u = now_u = was_l = now_l = routed = sp.false
            paths = []
            for hops in zone_paths(topology, a, b):
                if not hops:
                    continue
                missing = sorted({h.node for h in hops if h.node not in after.analyses})
                if missing:
                    unverified.append(
                        f"{a} → {b} via {' → '.join(h.node for h in hops)} (no export for {', '.join(missing)})"
                    )
                    continue
                paths.append(hops)
                was_u = was_u | before.through(hops, True)
                now_u = now_u | after.through(hops, True)
                was_l = was_l | before.through(hops, False)
                now_l = now_l | after.through(hops, False)
                routed = routed | after.transit(hops)
            newly = forbidden & now_u & ~was_u
            if newly != sp.false:
                findings.append(_permitted(after, topology, pp, a, b, paths, newly))
            broken = sanctioned & routed & was_l & ~now_l
            if broken != sp.false:
                findings.append(_blocked(after, topology, pp, a, b, paths, broken))
    t1 = time.perf_counter()
    warnings = [
        w
        for net in (before, after)
        for an in net.analyses.values()
        for w in ruleset_warnings(an.device)
    ]
    incomplete = bool(unverified) or any(
        an.device.incomplete for net in (before, after) for an in net.analyses.values()
    )
    summary: dict[str, Any] = {
        "old": {n: d.source for n, d in old_full.items()},
        "new": {n: d.source for n, d in new_full.items()},
        "newly_permitted": sum(1 for f in findings if f.data.get("change") == "permitted"),
        "newly_blocked": sum(1 for f in findings if f.data.get("change") == "blocked"),
        "unverified_paths": sorted(set(unverified)),
        "backend": sp.backend,
        "seconds": round(t1 - t0, 3),
    }
    return Report(
        command="diff",
        findings=tuple(findings),
        summary=summary,
        warnings=tuple(warnings),
        incomplete=incomplete,
        manual_items=topology.manual_items,
        inputs=(
            topology.source,
            *(d.source for d in old_full.values()),
            *(d.source for d in new_full.values()),
        ),
    )


def _path_rules(
    net: Network, hops: tuple[Hop, ...], at_hops: list[Any], accept: bool
) -> list[dict[str, Any]]:
    """The deciding rule on each hop, for the packet as it reaches that hop."""
    out = []
    for h, example in zip(hops, at_hops, strict=False):
        v = net.decide(h, example)
        if accept or v.possible != {"accept"}:
            out.append(
                {
                    "device": h.node,
                    "in_interface": h.iif,
                    "out_interface": h.oif,
                    "firewall_rule": step_ref(v, accept),
                }
            )
            if not accept:
                break
    return out


def _chain(items: list[dict[str, Any]]) -> str:
    return "; ".join(
        f"{p['device']} {p['in_interface']}→{p['out_interface']}: {describe_ref(p['firewall_rule'])}"
        for p in items
    )


def _permitted(
    net: Network,
    topology: Topology,
    pp: Any,
    a: str,
    b: str,
    paths: list[tuple[Hop, ...]],
    newly: Any,
) -> Finding:
    hops, chain = paths[0], None
    for h in paths:
        x = newly & net.through(h, True)
        if x != net.space.false:
            hops, chain = h, net.walk_back(h, x)
            break
    assert chain is not None
    example = sent_and_received(chain)
    path = _path_rules(net, hops, chain, True)
    rule = pp.tier_rule or "default-deny"
    return Finding(
        kind="network-diff",
        rule=rule,
        message=f"{a} → {b}: newly permitted end to end, and the policy forbids it ({rule}), e.g. {example.describe()}. Permitted by: {_chain(path)}.",
        message_ja=(
            f"{zone_label(topology, a, 'ja')} → {zone_label(topology, b, 'ja')}: 変更後、ポリシーで禁止されている通信が"
            f"経路全体で新たに許可される（{rule}）。例: {example.describe()}。許可しているルール: {_chain(path)}。"
        ),
        severity="error",
        clauses=pp.clauses,
        evidence=tuple(
            p["firewall_rule"].get("text", "") for p in path if p["firewall_rule"].get("text")
        ),
        location=ref_location(path[0]["firewall_rule"]) if path else None,
        data={
            "change": "permitted",
            "forbidden": True,
            "src_zone": a,
            "dst_zone": b,
            "path": path,
            "example": example.as_dict(),
        },
    )


def _blocked(
    net: Network,
    topology: Topology,
    pp: Any,
    a: str,
    b: str,
    paths: list[tuple[Hop, ...]],
    broken: Any,
) -> Finding:
    example = net.space.example(broken)
    assert example is not None
    stops = [s for hops in paths for s in _path_rules(net, hops, [example] * len(hops), False)]
    allow = ", ".join(r.id for r in pp.allow_rules)
    return Finding(
        kind="network-diff",
        rule=allow,
        message=f"{a} → {b}: traffic the policy allows ({allow}) is newly blocked on every path, e.g. {example.describe()}. Stopped by: {_chain(stops)}.",
        message_ja=(
            f"{zone_label(topology, a, 'ja')} → {zone_label(topology, b, 'ja')}: ポリシーで許可された通信（{allow}）が"
            f"変更後どの経路でも遮断される。例: {example.describe()}。遮断しているルール: {_chain(stops)}。"
        ),
        severity="warning",
        clauses=pp.clauses,
        evidence=tuple(
            s["firewall_rule"].get("text", "") for s in stops if s["firewall_rule"].get("text")
        ),
        location=ref_location(stops[0]["firewall_rule"]) if stops else None,
        data={
            "change": "blocked",
            "forbidden": False,
            "src_zone": a,
            "dst_zone": b,
            "stopped_by": stops,
            "example": example.as_dict(),
            "allow_rules": [r.id for r in pp.allow_rules],
        },  # fmt: skip
    )


__all__ = ["diff_network"]
