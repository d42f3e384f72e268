"""``--test-flow SRC,DST,PROTO,DPORT``: which rule (in which stage) decides one packet, with
the policy verdict beside it."""

from __future__ import annotations

import ipaddress
from typing import Any

from segverify.checks.firewall_common import (
    describe_rule,
    describe_rule_ja,
    rule_ref,
    ruleset_warnings,
    summary_base,
)
from segverify.checks.policy import PolicyEvaluator
from segverify.engine.analysis import Decision, FirewallAnalysis, build_analysis
from segverify.errors import InputError
from segverify.findings.model import Finding, Report
from segverify.firewall.ir import Device
from segverify.firewall.model import Ruleset
from segverify.firewall.names import PROTOCOLS
from segverify.i18n import Msg
from segverify.topology.model import Location, Topology


def parse_flow(text: str) -> tuple[str, str, int, int]:
    """``SRC,DST,PROTO[,DPORT]``; for ICMP, DPORT is the type (default 8, echo request)."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) not in (3, 4):
        raise InputError(Msg("error.checks.firewall_flow.test_flow_expected_src_dst", text=text))
    try:
        src, dst = str(ipaddress.ip_address(parts[0])), str(ipaddress.ip_address(parts[1]))
    except ValueError as exc:
        raise InputError(
            Msg("error.checks.firewall_flow.test_flow", text=text, reason=exc)
        ) from None
    if ipaddress.ip_address(src).version != ipaddress.ip_address(dst).version:
        raise InputError(
            Msg("error.checks.firewall_flow.test_flow_source_destination_are", text=text)
        )
    name = parts[2].lower()
    proto = int(name) if name.isdigit() else PROTOCOLS.get(name)
    if proto is None or not 0 <= proto <= 255:
        raise InputError(
            Msg("error.checks.firewall_flow.test_flow_unknown_protocol", text=text, proto=parts[2])
        )
    port = 0
    if len(parts) == 4 and parts[3]:
        if not parts[3].isdigit() or int(parts[3]) > 65535:
            raise InputError(
                Msg("error.checks.firewall_flow.test_flow_bad_port", text=text, port=parts[3])
            )
        port = int(parts[3])
    elif proto in (1, 58):
        port = 8 if proto == 1 else 128
    if proto in (1, 58):
        if port > 255:
            raise InputError(Msg("error.checks.firewall_flow.test_flow_icmp_type_must", text=text))
        port = port << 8
    return src, dst, proto, port


def decide_flow(
    analysis: FirewallAnalysis, src: str, dst: str, proto: int, dport: int
) -> list[Decision]:
    """One decision per plausible interface pair of the packet (usually one)."""
    return [analysis.decide(p) for p in analysis.packets_for(src, dst, proto, dport)]


def _ref(analysis: FirewallAnalysis, d: Decision) -> dict[str, Any]:
    sd = d.deciding
    if sd is None:
        return {
            "action": "accept",
            "default": True,
            "stage": "(no stage: nothing filters this path)",
        }
    cs = next(
        s
        for s in analysis.compiled.stages
        if s.stage.name == sd.stage and s.stage.scope.hook == sd.hook
    )
    return rule_ref(sd.rule, cs, sd.index)


def flow_report(
    topology: Topology,
    ruleset: Device | Ruleset,
    flow: str,
    device: str | None = None,
    backend: str | None = None,
) -> Report:
    src, dst, proto, dport = parse_flow(flow)
    analysis = build_analysis(topology, ruleset, device, backend=backend)
    verdict = PolicyEvaluator(topology).evaluate(
        src, dst, proto, dport if proto in (6, 17, 33, 132, 136) else None
    )
    findings = []
    for d in decide_flow(analysis, src, dst, proto, dport):
        ref = _ref(analysis, d)
        permitted = d.action == "accept"
        bad = permitted and not verdict.allowed
        pol_en = "allowed" if verdict.allowed else "forbidden"
        pol_ja = "許可" if verdict.allowed else "禁止"
        maybe = "" if d.certain else " (depends on an unrecognised match)"
        via = f"{d.packet.in_interface}→{d.packet.out_interface}"
        loc = Location(ref["file"], ref["line"]) if ref.get("file") and ref.get("line") else None
        findings.append(
            Finding(
                kind="test-flow",
                rule=verdict.rule or verdict.decided_by if bad else "test-flow",
                message=(
                    f"{analysis.view.node.id}: {d.packet.describe()} ({via}, {d.path}): {d.action} by "
                    f"{describe_rule(ref)}{maybe}; policy: {pol_en} ({verdict.decided_by})."
                ),
                message_ja=(
                    f"{analysis.view.node.id}: {d.packet.describe()}（{via}、{d.path}）: {describe_rule_ja(ref)} により "
                    f"{d.action}{'（未対応の条件次第）' if not d.certain else ''}。ポリシー: {pol_ja}（{verdict.decided_by}）。"
                ),
                severity="error" if bad else "info",
                clauses=verdict.clauses if bad else (),
                location=loc,
                data={
                    "device": analysis.view.node.id,
                    "packet": d.packet.as_dict(),
                    "path": d.path,
                    "action": d.action,
                    "certain": d.certain,
                    "firewall_rule": ref,
                    "stages": [
                        {"stage": s.stage, "hook": s.hook, "action": s.action, "index": s.index}
                        for s in d.stages
                    ],
                    "policy": {
                        "allowed": verdict.allowed,
                        "decided_by": verdict.decided_by,
                        "rule": verdict.rule,
                        "src_zone": verdict.src.zone,
                        "dst_zone": verdict.dst.zone,
                    },
                },
            )
        )
    summary = summary_base(analysis)
    summary["flow"] = flow
    return Report(
        command="firewall",
        findings=tuple(findings),
        summary=summary,
        warnings=tuple(ruleset_warnings(analysis.device)),
        incomplete=analysis.device.incomplete or any(not f.data["certain"] for f in findings),
        inputs=(topology.source, analysis.device.source),
    )
