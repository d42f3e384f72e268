"""Unused objects: address, group, service (…) objects the configuration defines and no
enabled rule or NAT rule uses (matched by kind and name on the atoms' provenance)."""

from __future__ import annotations

from segverify.findings.model import Finding
from segverify.firewall.ir import Device, names_in


def unused_objects(device: Device, node: str) -> list[Finding]:
    used: set[tuple[str, str]] = set()
    exprs = [r.match for r in device.rules if r.enabled] + [n.match for n in device.dnat]
    for e in exprs:
        for o in names_in(e):
            used.add((o.kind, o.name or o.id))
    out = []
    for obj in device.objects:
        if (obj.kind, obj.name) in used:
            continue
        loc = obj.origin.location
        out.append(
            Finding(
                kind="unused-object",
                rule="unused-object",
                message=f"{node}: {obj.kind} {obj.name!r} is defined but no rule uses it.",
                message_ja=f"{node}: {obj.kind} {obj.name!r} は定義されているが、どのルールも使用していない。",
                severity="info",
                evidence=tuple(x for x in (obj.origin.text,) if x),
                remedy="Delete the object, or check that the rule meant to use it does.",
                remedy_ja="オブジェクトを削除するか、使うはずのルールが参照しているか確認する。",
                location=loc,
                data={"device": node, "object_kind": obj.kind, "object": obj.name},
            )
        )
    return out
