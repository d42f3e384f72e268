"""A deterministic text rendering of a ``Device`` (golden files ``*.ir.ref``, debugging)."""

from __future__ import annotations

from segverify.firewall.ir.atoms import (
    Addresses,
    ConnState,
    Family,
    Icmp,
    Interfaces,
    Opaque,
    Ports,
    Protocols,
    TcpFlags,
    Zones,
)
from segverify.firewall.ir.device import Device, Rule, Stage
from segverify.firewall.ir.expr import (
    And,
    Chain,
    ChainVerdict,
    Const,
    Expr,
    Named,
    Not,
    Or,
    chains_in,
)
from segverify.firewall.ir.provenance import Origin


def _origin(o: Origin) -> str:
    parts = []
    if o.location is not None:
        parts.append(f"{o.location.file.rsplit('/', 1)[-1]}:{o.location.line}")
    label = o.label()
    if label:
        parts.append(label)
    if o.context:
        parts.append(f"[{o.context}]")
    return " ".join(parts)


def _named(text: str, o: Origin) -> str:
    label = o.label()
    return f"{label}={text}" if label else text


def render_expr(e: Expr) -> str:
    if isinstance(e, Const):
        return "any" if e.value else "none"
    if isinstance(e, And):
        return "(" + " and ".join(render_expr(i) for i in e.items) + ")"
    if isinstance(e, Or):
        return "(" + " or ".join(render_expr(i) for i in e.items) + ")"
    if isinstance(e, Not):
        return "not " + render_expr(e.item)
    if isinstance(e, Named):
        return _named(render_expr(e.item), e.origin)
    if isinstance(e, Addresses):
        items = [str(n) for n in e.nets] + [f"{lo}-{hi}" for lo, hi in e.ranges]
        return _named(f"{e.field}{{{','.join(items)}}}", e.origin)
    if isinstance(e, Protocols):
        return _named(f"proto{{{','.join(map(str, e.numbers))}}}", e.origin)
    if isinstance(e, Ports):
        return _named(f"{e.field}{{{','.join(str(r) for r in e.ranges)}}}", e.origin)
    if isinstance(e, Icmp):
        t = "*" if e.type is None else str(e.type)
        c = "*" if e.code is None else str(e.code)
        return _named(f"icmp{{{t}/{c}}}", e.origin)
    if isinstance(e, ConnState):
        return _named(f"ct{{{','.join(e.states)}}}", e.origin)
    if isinstance(e, TcpFlags):
        return _named(f"tcpflags{{{e.mask:#04x}={e.value:#04x}}}", e.origin)
    if isinstance(e, Interfaces):
        return _named(f"{e.side}if{{{','.join(e.names)}}}", e.origin)
    if isinstance(e, Zones):
        return _named(f"{e.side}zone{{{','.join(e.names)}}}", e.origin)
    if isinstance(e, Family):
        return f"ipv{e.version}"
    if isinstance(e, Opaque):
        return _named(f"opaque:{e.kind}{{{e.text}}}", e.origin)
    if isinstance(e, ChainVerdict):
        return f"chain:{e.chain.name}->{e.outcome}"
    raise TypeError(f"not an expression: {e!r}")


def _rule(i: int, r: Rule) -> str:
    off = "" if r.enabled else " (disabled)"
    act = f"{r.action} {r.target.name}" if r.target is not None else r.action
    return f"  {i} {_origin(r.origin)}: {act}{off} if {render_expr(r.match)}"


def _chain(c: Chain) -> list[str]:
    return [f"chain {c.name!r}"] + [_rule(i, r) for i, r in enumerate(c.rules, 1)]


def _stage(s: Stage) -> list[str]:
    sc = s.scope
    bits = [f"stage {s.name!r} {sc.kind} paths={','.join(sc.paths)} hook={sc.hook}"]
    if sc.priority:
        bits.append(f"priority={sc.priority}")
    if sc.family:
        bits.append(f"ipv{sc.family}")
    if sc.interface is not None:
        bits.append(f"interface={sc.interface}/{sc.direction}")
    if sc.from_zones is not None:
        bits.append(f"from={','.join(sc.from_zones)}")
    if sc.to_zones is not None:
        bits.append(f"to={','.join(sc.to_zones)}")
    bits.append(f"default={s.default}")
    if s.intrazone_default is not None:
        bits.append(f"intrazone={s.intrazone_default}")
    return [" ".join(bits)] + [_rule(i, r) for i, r in enumerate(s.rules, 1)]


def dump_device(dev: Device) -> str:
    """Stable text for golden files (file names without directories)."""
    out = [f"device {dev.name} vendor {dev.vendor} policy-addresses {dev.policy_addresses}"]
    for name, i in sorted(dev.interfaces.items()):
        addrs = ",".join(str(a) for a in i.addresses)
        out.append(f"interface {name} zone={i.zone or '-'} addresses={addrs or '-'}")
    for name, z in sorted(dev.zones.items()):
        out.append(f"zone {name}: {' '.join(z.interfaces) or '-'}")
    for n in dev.dnat:
        to = f"{n.to_address or '='}:{n.to_port if n.to_port is not None else '='}"
        out.append(f"dnat {_origin(n.origin)}: {render_expr(n.match)} -> {to}")
    for o in dev.objects:
        out.append(f"object {o.kind} {o.name!r} {_origin(o.origin)}")
    for s in dev.stages:
        out.extend(_stage(s))
    chains: dict[int, Chain] = {}
    for r in dev.rules:
        for c in chains_in(r.match):
            chains.setdefault(id(c), c)
    for c in chains.values():
        out.extend(_chain(c))
    for loc, msg in dev.warnings:
        where = f"{loc.file.rsplit('/', 1)[-1]}:{loc.line}" if loc else "-"
        out.append(f"warning {where}: {msg}")
    return "\n".join(out) + "\n"
