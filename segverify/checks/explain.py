"""Explain one flow: classification of both ends, the deciding rule, clauses and reason."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

from segverify.checks.policy import PolicyEvaluator
from segverify.topology.model import PROTO_NAMES, Topology

REASONS = {
    "intra-zone": ("both ends are in the same zone", "両端が同一領域にあります"),
    "same-tier": ("both zones are of the same tier", "両領域は同じ区分です"),
    "rule-not-enforced": (
        "the tier rule governing this pair is not part of this policy",
        "この組合せを規律する規則はこのポリシーの対象外です",
    ),
    "allow-rule": ("an allow rule covers the flow", "許可ルールに該当します"),
    "outside-municipality": (
        "neither end is in the municipality's zones",
        "両端とも団体内の領域ではありません",
    ),
    "no-allow-rule": (
        "cross-zone traffic with no allow rule covering it",
        "該当する許可ルールのない領域間通信です",
    ),
    "fqdn-not-allowed": (
        "only allow-listed FQDNs may pass, and no observed name is on the list",
        "許可リストのFQDNのみ通過できますが、観測された名前は許可リストにありません",
    ),
}


def explain_flow(
    topology: Topology,
    src: str,
    dst: str,
    proto: int,
    dport: int | None = None,
    names: Iterable[str] = (),
) -> dict[str, Any]:
    verdict = PolicyEvaluator(topology).evaluate(src, dst, proto, dport, tuple(names))
    reason_en, reason_ja = REASONS.get(verdict.reason, (verdict.reason, verdict.reason))
    rule = verdict.allow_rule
    tier = topology.policy.rules.get(verdict.rule) if verdict.rule else None
    return {
        "schema": "segverify/explain/1",
        "allowed": verdict.allowed,
        "decided_by": verdict.decided_by,
        "rule": verdict.rule,
        "rule_title": tier.title_en if tier else None,
        "rule_title_ja": tier.title_ja if tier else None,
        "clauses": list(verdict.clauses),
        "reason": verdict.reason,
        "reason_text": reason_en,
        "reason_text_ja": reason_ja,
        "src": asdict(verdict.src),
        "dst": asdict(verdict.dst),
        "proto": PROTO_NAMES.get(proto, str(proto)),
        "dport": dport,
        "names": list(names),
        "allow_rule": None
        if rule is None
        else {
            "id": rule.id,
            "origin": rule.origin,
            "justification": rule.justification,
            "justification_ja": rule.justification_ja or rule.justification,
            "location": str(rule.location) if rule.location else None,
        },
    }
