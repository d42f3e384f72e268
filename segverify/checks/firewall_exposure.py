"""Device exposure: new connections the firewall accepts *to itself*, per source zone.

Traffic to the device's own addresses is never a zone crossing (it ends at the device),
so it is not judged by R1–R5. It is its own finding: "fw-inet accepts new connections to
itself from zone internet on tcp/22, tcp/443". Management reachable from an
internet-facing zone is an error; exposure to other zones is a warning to review.
"""

from __future__ import annotations

from typing import Any

from segverify.checks.firewall_common import rule_ref, zone_label
from segverify.engine.analysis import FirewallAnalysis
from segverify.engine.space import OTHER_IFACE
from segverify.findings.model import Finding
from segverify.topology.model import Location

MANAGEMENT = {
    6: (22, 23, 80, 443, 830, 3389, 4443, 5900, 8080, 8443, 10443),
    17: (161,),
}
SEVERE_TIERS = ("internet",)
MAX_RULES = 5
MAX_PORTS = 12


def _ports(analysis: FirewallAnalysis, u: Any, proto: int) -> tuple[bool, list[int], int]:
    """(every port, some listed ports, how many ports) of the destination ports in ``u``."""
    sp = analysis.space
    x = u & sp.protos((proto,))
    if x == sp.false:
        return False, [], 0
    keep = set(sp.fields["dport"].vars)
    others = [v for f in sp.fields.values() for v in f.vars if v not in keep]
    proj = sp.bdd.exist(others, x)
    count = int(sp.bdd.count(proj, nvars=16))
    if proj == sp.true:
        return True, [], 65536
    listed = [p for p in MANAGEMENT.get(proto, ()) if sp.holds_value(proj, "dport", p)]
    if len(listed) < MAX_PORTS:
        ex = sp.example(x)
        if ex is not None and ex.dport not in listed:
            listed.append(ex.dport)
    return False, sorted(listed)[:MAX_PORTS], count


def _describe(proto: str, every: bool, ports: list[int], count: int) -> str:
    if every:
        return f"{proto}/any port"
    shown = ", ".join(f"{proto}/{p}" for p in ports)
    more = count - len(ports)
    return shown + (f" (+{more} more)" if more > 0 else "")


def device_exposure(analysis: FirewallAnalysis) -> list[Finding]:
    sp = analysis.space
    comp = analysis.compiled
    region = analysis.regions["input"]
    if region == sp.false:
        return []
    new = sp.ct(["new"]) & (~sp.protos((6,)) | sp.tcp_flags(0x17, 0x02))
    permitted = region & comp.permit_upper["input"] & new & analysis.family_mask
    lower = region & comp.permit_lower["input"]
    findings: list[Finding] = []
    node = analysis.view.node.id
    for zone in analysis.topology.zones:
        ifs = analysis.view.zone_ifaces.get(zone, ())
        if not ifs:
            continue
        space = (
            analysis.policy.zone_src[zone]
            & analysis.ifaces("iif", ifs)
            & sp.iface("oif", OTHER_IFACE)
        )
        x = permitted & space
        if x == sp.false:
            continue
        parts: list[str] = []
        severe_ports = False
        for proto, name in ((6, "tcp"), (17, "udp")):
            every, ports, count = _ports(analysis, x, proto)
            if count:
                parts.append(_describe(name, every, ports, count))
                mg = set(MANAGEMENT.get(proto, ()))
                severe_ports |= every or bool(mg & set(ports))
        other = x & ~sp.protos((6, 17))
        if other != sp.false:
            ex = sp.example(other)
            parts.append("icmp" if ex is not None and ex.proto in (1, 58) else "other protocols")
        tier = analysis.topology.zones[zone].tier
        severe = tier in SEVERE_TIERS and severe_ports
        rules = []
        for cs in comp.paths["input"]:
            for cr, eff in zip(cs.rules, cs.eff, strict=False):
                if cr.may_accept and (eff & x) != sp.false:
                    rules.append(rule_ref(cr.rule, cs, cr.index))
            if cs.default_accept and (cs.default_eff & x) != sp.false:
                rules.append(rule_ref(None, cs))
        rules = rules[:MAX_RULES]
        example = sp.example(x)
        assert example is not None
        certain = (x & lower) != sp.false
        what = "; ".join(parts)
        by = (
            "; ".join(
                f"{r.get('file')}:{r.get('line')}"
                if r.get("line")
                else f"policy {r['action']} of {r.get('stage')}"
                for r in rules
            )
            or "no stage filters traffic to the device"
        )
        may_en = "" if certain else " (may: depends on a condition headers cannot decide)"
        may_ja = "" if certain else "（ヘッダで判定できない条件次第）"
        findings.append(
            Finding(
                kind="device-exposure",
                rule="device-exposure",
                message=(
                    f"{node} accepts new connections to itself from zone {zone} on {what}"
                    f"{may_en} (by {by}), e.g. {example.describe()}."
                ),
                message_ja=(
                    f"{node} は {zone_label(analysis.topology, zone, 'ja')} から自身への新規接続を"
                    f" {what} で受け付ける{may_ja}（{by}）。例: {example.describe()}。"
                ),
                severity="error" if severe else "warning",
                remedy=(
                    "Allow management only from the management segment; drop new connections "
                    "to the device from other zones."
                ),
                remedy_ja="管理通信は管理用セグメントからのみ許可し、他のゾーンから機器自身への新規接続は拒否する。",
                location=(
                    Location(rules[0]["file"], rules[0]["line"])
                    if rules and rules[0].get("file") and rules[0].get("line")
                    else None
                ),
                data={
                    "device": node,
                    "src_zone": zone,
                    "services": what,
                    "firewall_rule": rules[0] if rules else {},
                    "rules": rules,
                    "example": example.as_dict(),
                    "certain": certain,
                    "internet_facing": tier in SEVERE_TIERS,
                },
            )
        )
    return findings
