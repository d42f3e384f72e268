"""Allow rules from the topology file judged against the model (the tier contract).

* R1 exceptions (anything touching the My Number zone) must be pinned to specific hosts
  on both ends and to specific ports.
* Each (from tier → to tier) the rule spans is looked up in the model's contract:
  ``forbidden`` pairs may have no rule, ``pinned`` pairs need pinned hosts and ports,
  ``gateway`` pairs need one end to be a gateway node and services within the contract.
"""

from __future__ import annotations

from segverify.checks.selectors import is_pinned, ports_pinned, selector_nodes, selector_zones
from segverify.findings.model import Finding
from segverify.topology.model import AllowRule, Contract, ServiceSpec, Topology


def _covered(spec: ServiceSpec, allowed: tuple[ServiceSpec, ...]) -> bool:
    for a in allowed:
        if a.proto is not None and a.proto != spec.proto:
            continue
        if not a.ports:
            return True
        if spec.ports and all(
            any(x.lo <= r.lo and r.hi <= x.hi for x in a.ports) for r in spec.ports
        ):
            return True
    return False


def _finding(
    topology: Topology, rule: AllowRule, rule_id: str, en: str, ja: str, remedy: str, remedy_ja: str
) -> Finding:
    tr = topology.policy.rules.get(rule_id)
    clauses = (tr.clauses + tr.guideline) if tr else ()
    return Finding(
        kind="allow-rule",
        rule=rule_id,
        message=f"allow rule {rule.id}: {en}",
        message_ja=f"許可ルール {rule.id}: {ja}",
        clauses=clauses,
        evidence=(rule.src.describe(), rule.dst.describe(), ",".join(rule.service_names)),
        remedy=remedy,
        remedy_ja=remedy_ja,
        location=rule.location,
        data={"allow_rule": rule.id, "model": topology.policy.model},
    )


def check_allow_rules(topology: Topology) -> list[Finding]:
    findings: list[Finding] = []
    policy = topology.policy
    for rule in policy.allow:
        if rule.origin != "file":
            continue
        src_tiers = sorted({z.tier for z in selector_zones(topology, rule.src)})
        dst_tiers = sorted({z.tier for z in selector_zones(topology, rule.dst)})
        reported: set[str] = set()
        for st in src_tiers:
            for dt in dst_tiers:
                if st == dt:
                    continue
                rule_id = policy.rule_for(st, dt) or "default-deny"
                if rule_id in policy.rules and not policy.rules[rule_id].enforced:
                    continue
                contract = policy.contract_for(st, dt)
                problem = _judge(topology, rule, contract, st, dt)
                if problem and rule_id not in reported:
                    reported.add(rule_id)
                    findings.append(_finding(topology, rule, rule_id, *problem))
    return findings


def _judge(
    topology: Topology, rule: AllowRule, contract: Contract | None, st: str, dt: str
) -> tuple[str, str, str, str] | None:
    model = topology.policy.model
    if contract is None or contract.kind == "open":
        return None
    if contract.kind == "forbidden":
        return (
            f"permits {st} → {dt}, which the {model} model forbids",
            f"{model} モデルで禁止されている {st} → {dt} の通信を許可しています",
            "remove the rule, or route the traffic through the gateway the model provides",
            "ルールを削除するか、モデルが定める経路（無害化・画面転送・セキュリティクラウド）を経由させてください",
        )
    if contract.kind in ("pinned", "pinned-dst"):
        ends_pinned = is_pinned(topology, rule.dst) and (
            contract.kind == "pinned-dst" or is_pinned(topology, rule.src)
        )
        if not ends_pinned and contract.kind == "pinned-dst":
            return (
                f"{st} → {dt} access is not pinned to specific destination servers",
                f"{st} → {dt} の通信が特定の宛先サーバに限定されていません",
                "name the exact servers (node or /32, /128 prefix) it may reach",
                "接続先サーバ（ノードまたは /32・/128）を特定してください",
            )
        if not ends_pinned:
            return (
                f"{st} → {dt} exception is not pinned to specific hosts on both ends",
                f"{st} → {dt} の例外が両端とも特定のホストに限定されていません",
                "name the exact hosts (node or /32, /128 prefix) on both ends",
                "両端のホスト（ノードまたは /32・/128）を特定してください",
            )
        if not ports_pinned(rule):
            return (
                f"{st} → {dt} exception is not pinned to specific ports",
                f"{st} → {dt} の例外がポートを特定していません",
                "name the protocol and the few ports the exchange needs",
                "必要なプロトコルとポートを特定してください",
            )
        return None
    # gateway
    ends = selector_nodes(topology, rule.src) + selector_nodes(topology, rule.dst)
    if not any(n.role in contract.roles for n in ends):
        roles = ", ".join(contract.roles)
        return (
            f"permits {st} → {dt} without a gateway ({roles}) on either end",
            f"{st} → {dt} の通信を中継装置（{roles}）を介さずに許可しています",
            f"point the rule at a {roles} node",
            f"{roles} のノードを宛先（または送信元）にしてください",
        )
    bad = [s for s in rule.services if not _covered(s, contract.services)]
    if bad:
        names = ", ".join(contract.service_names)
        return (
            f"permits services beyond what the model allows for {st} → {dt} (allowed: {names})",
            f"{st} → {dt} でモデルが認める範囲（{names}）を超えるサービスを許可しています",
            f"restrict the services to {names}",
            f"サービスを {names} に限定してください",
        )
    return None
