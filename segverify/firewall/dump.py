"""A stable, normalised text dump of a ``Ruleset`` (golden files, ``--debug``).

One line per stage and per rule; file names are shown without their directory so the
dump does not depend on where the export lies.
"""

from __future__ import annotations

import os

from segverify.firewall.model import AddressSet, PortSet, Rule, Ruleset
from segverify.topology.model import PROTO_NAMES, Location


def _loc(loc: Location | None) -> str:
    if loc is None:
        return "-"
    col = f":{loc.column}" if loc.column != 1 else ""
    return f"{os.path.basename(loc.file)}:{loc.line}{col}"


def fmt_addresses(a: AddressSet) -> str:
    items = [str(p) for p in a.prefixes] + [f"{lo}-{hi}" for lo, hi in a.ranges]
    text = ",".join(items) if items else "(empty)"
    if a.name:
        text = f"@{a.name}[{text}]"
    return ("!" if a.negated else "") + text


def fmt_ports(p: PortSet) -> str:
    return ("!" if p.negated else "") + ",".join(str(r) for r in p.ranges)


def fmt_ifaces(names: tuple[str, ...] | None, exc: tuple[str, ...], negated: bool) -> str:
    parts = []
    if names is not None:
        parts.append(("!" if negated else "") + ",".join(names))
    if exc:
        parts.append("!" + ",".join(exc))
    return "&".join(parts)


def fmt_rule(r: Rule) -> str:
    parts = [r.action]
    if not r.enabled:
        parts.append("disabled")
    if r.family is not None:
        parts.append(f"ipv{r.family}")
    for side in ("in", "out"):
        names = getattr(r, f"{side}_interfaces")
        exc = getattr(r, f"{side}_interfaces_except")
        if names is not None or exc:
            parts.append(
                f"{side}=" + fmt_ifaces(names, exc, getattr(r, f"{side}_interfaces_negated"))
            )
        zones = getattr(r, f"{side}_zones")
        if zones is not None:
            parts.append(f"{side}_zones=" + (",".join(zones) or "(none)"))
    if r.src is not None:
        parts.append("src=" + fmt_addresses(r.src))
    if r.dst is not None:
        parts.append("dst=" + fmt_addresses(r.dst))
    if r.protocols is not None:
        names = ",".join(PROTO_NAMES.get(p, str(p)) for p in r.protocols)
        parts.append("proto=" + ("!" if r.protocols_negated else "") + (names or "(none)"))
    if r.sports is not None:
        parts.append("sport=" + fmt_ports(r.sports))
    if r.dports is not None:
        parts.append("dport=" + fmt_ports(r.dports))
    if r.icmp_types is not None:
        parts.append(
            "icmp_type=" + ("!" if r.icmp_types_negated else "") + ",".join(map(str, r.icmp_types))
        )
    if r.icmp_code is not None:
        parts.append(f"icmp_code={r.icmp_code}")
    if r.ct_states is not None:
        parts.append("ct=" + ",".join(r.ct_states))
    if r.tcp_flags is not None:
        parts.append(f"tcp_flags={r.tcp_flags[0]:#04x}/{r.tcp_flags[1]:#04x}")
    for u in r.unknown:
        parts.append(f"unknown[{u.text}]" if u.kind == "unknown" else f"{u.kind}[{u.text}]")
    if r.call is not None:
        parts.append(f"call={r.call.chain}->{r.call.outcome}")
    if r.name:
        parts.append(f"name={r.name!r}")
    if r.comment:
        parts.append(f"comment={r.comment!r}")
    meta = f"at {_loc(r.location)}"
    if r.chain:
        meta += f" chain={r.chain}"
    if r.via:
        meta += " via=" + ",".join(_loc(v) for v in r.via)
    return " ".join(parts) + " ; " + meta


def dump(ruleset: Ruleset) -> str:
    lines = [
        f"ruleset device={ruleset.device or '-'} vendor={ruleset.vendor} "
        f"source={os.path.basename(ruleset.source)}"
    ]
    for name in sorted(ruleset.interfaces):
        lines.append(f"interface {name} zone={ruleset.interfaces[name]}")
    for s in ruleset.stages:
        fam = f"ipv{s.family}" if s.family is not None else "any"
        lines.append(
            f"stage {s.name} hook={s.hook} priority={s.priority} family={fam} "
            f"default={s.default_action} rules={len(s.rules)}"
        )
        for i, r in enumerate(s.rules, 1):
            lines.append(f"  {i} {fmt_rule(r)}")
    for loc, msg in ruleset.warnings:
        lines.append(f"warning {_loc(loc)}: {msg}")
    lines.append(f"incomplete={'yes' if ruleset.incomplete else 'no'}")
    return "\n".join(lines) + "\n"
