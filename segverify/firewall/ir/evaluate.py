"""The one concrete evaluator: a packet through a ``Device`` → a ``Verdict``.

Slow and simple on purpose: it is the reference reading of the model (device.py), used by
``--test-flow``, ``explain``, the lab and as the oracle for the BDD engine in tests.
Three-valued: a rule whose match is MAY (an opaque atom) adds its action to the possible
outcomes and evaluation goes on, so the verdict says what may happen and why.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

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
    iface_matches,
)
from segverify.firewall.ir.device import (
    ACTIONS,
    UNKNOWN_ACTION,
    DestNat,
    Device,
    Rule,
    Stage,
)
from segverify.firewall.ir.expr import (
    And,
    Chain,
    ChainVerdict,
    Const,
    Expr,
    Named,
    Not,
    Or,
    opaque_atoms,
)
from segverify.firewall.ir.packet import Packet

MAY = None  # the third truth value
Tri = bool | None


@dataclass(frozen=True)
class Step:
    """One decision on the way: ``rule`` (None: the stage default) gave ``action``;
    ``may`` when the rule only may match (opaque atoms)."""

    stage: Stage
    rule: Rule | None
    action: str
    may: bool = False


@dataclass(frozen=True)
class Verdict:
    possible: frozenset[str]  # actions that may happen to the packet
    steps: tuple[Step, ...]
    opaque: tuple[Opaque, ...] = ()  # the atoms that made some step "may"
    packet: Packet | None = None  # the packet the policy saw (after translation)
    nat: DestNat | None = None

    @property
    def certain(self) -> bool:
        return len(self.possible) == 1

    @property
    def action(self) -> str:
        """The action when certain, else "unknown"."""
        return next(iter(self.possible)) if self.certain else UNKNOWN_ACTION

    @property
    def may_accept(self) -> bool:
        return "accept" in self.possible

    @property
    def deciding(self) -> Step | None:
        """The last certain step (the rule or default that decided), if any."""
        for s in reversed(self.steps):
            if not s.may:
                return s
        return None


@dataclass
class _Ctx:
    device: Device
    pkt: Packet
    src: ipaddress.IPv4Address | ipaddress.IPv6Address = field(init=False)
    dst: ipaddress.IPv4Address | ipaddress.IPv6Address = field(init=False)
    # user chain → its possible outcomes for this packet (each chain runs once)
    chains: dict[int, frozenset[str]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.src = ipaddress.ip_address(self.pkt.src)
        self.dst = ipaddress.ip_address(self.pkt.dst)


def _in_addresses(a: Addresses, ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return any(ip.version == n.version and ip in n for n in a.nets) or any(
        ip.version == lo.version and int(lo) <= int(ip) <= int(hi) for lo, hi in a.ranges
    )


def _zone_members(device: Device, names: tuple[str, ...]) -> set[str]:
    out: set[str] = set()
    for n in names:
        z = device.zones.get(n)
        if z is not None:
            out.update(z.interfaces)
    return out


def _atom(e: Expr, c: _Ctx) -> bool:
    p = c.pkt
    if isinstance(e, Addresses):
        return _in_addresses(e, c.src if e.field == "src" else c.dst)
    if isinstance(e, Protocols):
        return p.proto in e.numbers
    if isinstance(e, Ports):
        port = p.sport if e.field == "sport" else p.dport
        return p.has_ports and any(r.lo <= port <= r.hi for r in e.ranges)
    if isinstance(e, Icmp):
        return (
            p.is_icmp
            and (e.type is None or e.type == p.icmp_type)
            and (e.code is None or e.code == p.icmp_code)
        )
    if isinstance(e, ConnState):
        return p.ct_state in e.states
    if isinstance(e, TcpFlags):
        return p.proto == 6 and (p.tcp_flags & e.mask) == e.value
    if isinstance(e, Interfaces):
        name = p.iif if e.side == "in" else p.oif
        return bool(name) and any(iface_matches(n, name) for n in e.names)
    if isinstance(e, Zones):
        name = p.iif if e.side == "in" else p.oif
        return bool(name) and name in _zone_members(c.device, e.names)
    if isinstance(e, Family):
        return p.family == e.version
    raise TypeError(f"not a match atom: {e!r}")


def _match(e: Expr, c: _Ctx) -> Tri:
    if isinstance(e, Const):
        return e.value
    if isinstance(e, And):
        out: Tri = True
        for it in e.items:
            v = _match(it, c)
            if v is False:
                return False
            if v is MAY:
                out = MAY
        return out
    if isinstance(e, Or):
        out = False
        for it in e.items:
            v = _match(it, c)
            if v is True:
                return True
            if v is MAY:
                out = MAY
        return out
    if isinstance(e, Not):
        v = _match(e.item, c)
        return MAY if v is MAY else not v
    if isinstance(e, Named):
        return _match(e.item, c)
    if isinstance(e, Opaque):
        return MAY
    if isinstance(e, ChainVerdict):
        outcomes = _run_chain(e.chain, c)
        if e.outcome not in outcomes:
            return False
        return True if len(outcomes) == 1 else MAY
    return _atom(e, c)


def _run_chain(chain: Chain, c: _Ctx) -> frozenset[str]:
    """The possible outcomes (``CHAIN_OUTCOMES``) of a user chain for the packet: the
    verdicts it may give and ``return`` when the packet may come back to the caller."""
    hit = c.chains.get(id(chain))
    if hit is not None:
        return hit
    outs: set[str] = set()
    done = False
    for rule in chain.rules:
        if not rule.enabled:
            continue
        m = _match(rule.match, c)
        if m is False:
            continue
        if rule.action in ("jump", "goto"):
            assert rule.target is not None
            sub = _run_chain(rule.target, c)
            back = "return" in sub
            outs |= sub if rule.action == "goto" else sub - {"return"}
            done = m is True and (rule.action == "goto" or not back)
        else:  # a verdict or return
            outs.add(rule.action)
            done = m is True
        if done:
            break
    if not done:
        outs.add("return")
    out = frozenset(outs)
    c.chains[id(chain)] = out
    return out


def match(expr: Expr, device: Device, pkt: Packet) -> Tri:
    """True, False or ``None`` (may match) for one packet."""
    return _match(expr, _Ctx(device, pkt))


def stage_applies(device: Device, stage: Stage, pkt: Packet, path: str) -> bool:
    sc = stage.scope
    if path not in sc.paths:
        return False
    if sc.family is not None and sc.family != pkt.family:
        return False
    if sc.interface is not None:
        iface = pkt.iif if sc.direction == "in" else pkt.oif
        if iface != sc.interface:
            return False
    if sc.from_zones is not None and device.vendor_zone_of(pkt.iif) not in sc.from_zones:
        return False
    return sc.to_zones is None or device.vendor_zone_of(pkt.oif) in sc.to_zones


def _stage_default(device: Device, stage: Stage, pkt: Packet) -> str:
    if stage.intrazone_default is not None and pkt.iif and pkt.oif:
        zi, zo = device.vendor_zone_of(pkt.iif), device.vendor_zone_of(pkt.oif)
        if zi is not None and zi == zo:
            return stage.intrazone_default
    return stage.default


def _run_stage(c: _Ctx, stage: Stage, steps: list[Step], opaque: list[Opaque]) -> set[str]:
    possible: set[str] = set()
    for rule in stage.rules:
        if not rule.enabled:
            continue
        m = _match(rule.match, c)
        if m is False:
            continue
        acts = set(ACTIONS) if rule.action == UNKNOWN_ACTION else {rule.action}
        possible |= acts
        certain = m is True and rule.action != UNKNOWN_ACTION
        steps.append(Step(stage, rule, rule.action, may=not certain))
        if m is MAY:
            opaque.extend(a for a in rule.opaque if a not in opaque)
        if certain or m is True:
            return possible
    default = _stage_default(c.device, stage, c.pkt)
    possible.add(default)
    steps.append(Step(stage, None, default))
    return possible


def _policy(
    device: Device, pkt: Packet, path: str, steps: list[Step], opaque: list[Opaque]
) -> set[str]:
    c = _Ctx(device, pkt)
    outcomes: set[str] = set()
    for stage in device.stages:
        if not stage_applies(device, stage, pkt, path):
            continue
        possible = _run_stage(c, stage, steps, opaque)
        outcomes |= possible - {"accept"}
        if "accept" not in possible:
            return outcomes
    outcomes.add("accept")
    return outcomes


def _translate(
    device: Device, pkt: Packet, path: str
) -> tuple[list[tuple[Packet, DestNat | None]], list[Opaque]]:
    """The packets the policy may see: translated by the first matching DNAT rule; both
    the translated and the untranslated packet when a rule only may match."""
    if path == "output" or not device.dnat:
        return [(pkt, None)], []
    c = _Ctx(device, pkt)
    out: list[tuple[Packet, DestNat | None]] = []
    opaque: list[Opaque] = []
    for nat in device.dnat:
        m = _match(nat.match, c)
        if m is False:
            continue
        out.append((pkt.with_dst(nat.to_address, nat.to_port), nat))
        if m is True:
            return out, opaque
        opaque.extend(a for a in _opaque_of(nat.match) if a not in opaque)
    out.append((pkt, None))
    return out, opaque


def _opaque_of(expr: Expr) -> list[Opaque]:
    return list(opaque_atoms(expr))


def evaluate(device: Device, pkt: Packet, path: str = "forward") -> Verdict:
    """What the device does with ``pkt`` on ``path`` ("forward", "input", "output")."""
    candidates, opaque = _translate(device, pkt, path)
    possible: set[str] = set()
    steps: list[Step] = []
    seen = candidates[0][0]
    nat = candidates[0][1]
    for translated, rule in candidates:
        policy_pkt = translated
        if rule is not None and device.policy_addresses == "original":
            policy_pkt = pkt
        possible |= _policy(device, policy_pkt, path, steps, opaque)
    return Verdict(frozenset(possible), tuple(steps), tuple(opaque), seen, nat)
