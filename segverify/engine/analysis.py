"""One firewall against one topology: header space, compiled device, policy and traffic space.

A packet is handled on one path: ``input`` when its destination is one of the device's own
addresses, ``output`` when its source is (and the destination is not), else ``forward``.
Zone-pair traffic spaces bind the interfaces to the addresses (see ``engine.device``).
Concrete packets are decided by the one evaluator (``segverify.firewall.ir.evaluate``).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from segverify.engine.compile import CompiledRuleset, compile_device
from segverify.engine.device import DeviceView, device_view, pick_device
from segverify.engine.policy import PolicySpace
from segverify.engine.space import ICMP_PROTOS, OTHER_IFACE, HeaderSpace, Packet
from segverify.firewall import ir
from segverify.firewall.bind import bind_device
from segverify.firewall.ir import Device, Rule, walk
from segverify.firewall.model import Ruleset
from segverify.firewall.ruleset_ir import lower_ruleset
from segverify.topology.model import Topology


@dataclass(frozen=True)
class StageDecision:
    stage: str
    hook: str
    action: str  # accept | drop | reject | unknown
    rule: Rule | None  # None: the stage's default action decided
    index: int | None
    certain: bool  # False when an opaque atom could change the outcome


@dataclass(frozen=True)
class Decision:
    packet: Packet
    path: str  # forward, input or output
    action: str  # the device's verdict: accept, drop, reject, or unknown when not certain
    stages: tuple[StageDecision, ...]
    deciding: StageDecision | None  # the refusing stage, else the last accepting one
    certain: bool
    possible: frozenset[str] = frozenset()
    opaque: tuple[ir.Opaque, ...] = ()


def to_ir_packet(p: Packet) -> ir.Packet:
    icmp = p.proto in ICMP_PROTOS
    return ir.Packet(
        p.src,
        p.dst,
        p.proto,
        p.sport,
        p.dport if not icmp else 0,
        (p.dport >> 8) if icmp else 8,
        (p.dport & 0xFF) if icmp else 0,
        p.tcp_flags,
        p.ct_state,
        "" if p.in_interface == OTHER_IFACE else p.in_interface,
        "" if p.out_interface == OTHER_IFACE else p.out_interface,
    )


@dataclass
class FirewallAnalysis:
    topology: Topology
    device: Device
    view: DeviceView
    space: HeaderSpace
    compiled: CompiledRuleset
    policy: PolicySpace
    regions: dict[str, Any] = field(default_factory=dict)  # path → packets it handles
    family_mask: Any = None
    families: tuple[int, ...] = (4, 6)
    _cache: dict[str, Any] = field(default_factory=dict)

    @property
    def ruleset(self) -> Device:
        """The analysed device (name kept for callers of the first API)."""
        return self.device

    # ---- traffic spaces ---------------------------------------------------------------------

    def ifaces(self, fname: str, names: tuple[str, ...]) -> Any:
        sp = self.space
        u = sp.false
        for n in names:
            u = u | sp.iface(fname, n)
        return u

    def pair_space(self, a: str, b: str, hook: str | None = None) -> Any:
        """Packets from zone ``a`` addresses to zone ``b`` addresses as they reach the device
        (any conntrack state), restricted to one path or all of them."""
        sp = self.space
        pol = self.policy
        base = (
            pol.zone_src[a] & pol.zone_dst[b] & pol.same_family & self.family_mask & sp.ct_domain()
        )
        if base == sp.false:
            return base
        ia, ib = self.view.zone_ifaces[a], self.view.zone_ifaces[b]
        out = sp.false
        if hook in (None, "forward"):
            pairs = sp.false
            for i in ia:
                for j in ib:
                    if i != j:
                        pairs = pairs | (sp.iface("iif", i) & sp.iface("oif", j))
            out = out | (self.regions["forward"] & pairs)
        if hook in (None, "input"):
            out = out | (
                self.regions["input"] & self.ifaces("iif", ia) & sp.iface("oif", OTHER_IFACE)
            )
        if hook in (None, "output"):
            out = out | (
                self.regions["output"] & self.ifaces("oif", ib) & sp.iface("iif", OTHER_IFACE)
            )
        return base & out

    def traffic(self) -> Any:
        """Every packet (any state) the topology routes to, through or from the device."""
        if "_traffic" not in self._cache:
            u = self.space.false
            for a in self.topology.zones:
                for b in self.topology.zones:
                    u = u | self.pair_space(a, b)
            self._cache["_traffic"] = u
        return self._cache["_traffic"]

    def permitted(self, upper: bool = True) -> Any:
        """Every packet the device lets through (any path)."""
        perm = self.compiled.permit_upper if upper else self.compiled.permit_lower
        u = self.space.false
        for hook, region in self.regions.items():
            u = u | (region & perm[hook])
        return u

    # ---- concrete packets -------------------------------------------------------------------

    def hook_of(self, src: str, dst: str) -> str:
        s, d = ipaddress.ip_address(src), ipaddress.ip_address(dst)
        if any(d in n for n in self.view.own if n.version == d.version):
            return "input"
        if any(s in n for n in self.view.own if n.version == s.version):
            return "output"
        return "forward"

    def packets_for(
        self,
        src: str,
        dst: str,
        proto: int,
        dport: int = 0,
        sport: int = 49152,
        ct_state: str = "new",
    ) -> list[Packet]:
        """The packet as it can reach the device: one per plausible interface pair."""
        hook = self.hook_of(src, dst)
        za = self.policy.index.classify(src).zone
        zb = self.policy.index.classify(dst).zone
        every = self.view.interfaces  # an unpinned zone: asked explicitly, try every interface
        ins = (self.view.zone_ifaces[za] or every) if hook != "output" else (OTHER_IFACE,)
        outs = (self.view.zone_ifaces[zb] or every) if hook != "input" else (OTHER_IFACE,)
        out = []
        for i in ins:
            for j in outs:
                if hook == "forward" and i == j:
                    continue
                out.append(Packet(src, dst, proto, sport, dport, ct_state, i, j))
        if not out:  # both zones only behind one interface: a hairpin
            i = ins[0]
            out.append(Packet(src, dst, proto, sport, dport, ct_state, i, i))
        return out

    def decide(self, pkt: Packet) -> Decision:
        """The device's verdict on one packet, by the concrete evaluator."""
        path = self.hook_of(pkt.src, pkt.dst)
        v = ir.evaluate(self.device, to_ir_packet(pkt), path)
        decisions: list[StageDecision] = []
        for s in v.steps:
            index = s.stage.rules.index(s.rule) if s.rule is not None else None
            decisions.append(
                StageDecision(s.stage.name, s.stage.scope.hook, s.action, s.rule, index, not s.may)
            )
        certain = v.certain
        action = v.action
        refusing = next((d for d in decisions if d.certain and d.action != "accept"), None)
        deciding = refusing or next((d for d in reversed(decisions) if d.certain), None)
        return Decision(
            pkt, path, action, tuple(decisions), deciding, certain, v.possible, v.opaque
        )


def interface_names(view: DeviceView, *devices: Device) -> set[str]:
    """Every interface name the header space needs: the device's and any a rule names."""
    names = set(view.interfaces)
    for dev in devices:
        names |= set(dev.interfaces)
        for stage in dev.stages:
            for rule in stage.rules:
                for e in walk(rule.match):
                    if isinstance(e, ir.Interfaces):
                        names |= {n for n in e.names if not n.endswith(("+", "*"))}
    return names


def as_device(topology: Topology, source: Device | Ruleset, device: str | None = None) -> Device:
    """A bound ``Device`` from a device or a (netfilter-shaped) ``Ruleset``."""
    dev = lower_ruleset(source) if isinstance(source, Ruleset) else source
    if all(i.zone is not None or i.loopback for i in dev.interfaces.values()) and (
        dev.name in topology.nodes and (device is None or device == dev.name)
    ):
        return dev  # already bound
    return bind_device(dev, topology, device)


def build_analysis(
    topology: Topology,
    source: Device | Ruleset,
    device: str | None = None,
    backend: str | None = None,
    order: str = "grouped",
    space: HeaderSpace | None = None,
) -> FirewallAnalysis:
    dev = as_device(topology, source, device)
    view = device_view(topology, pick_device(topology, dev.name))
    sp = space or HeaderSpace(interface_names(view, dev), backend=backend, order=order)
    compiled = compile_device(sp, dev)
    policy = PolicySpace(sp, topology)
    own_dst = sp.addresses("dst", view.own)
    own_src = sp.addresses("src", view.own)
    regions = {"forward": ~own_dst & ~own_src, "input": own_dst, "output": own_src & ~own_dst}
    families = tuple(sorted(compiled.families())) or (4, 6)
    mask = sp.false
    for v in families:
        mask = mask | sp.version(v)
    return FirewallAnalysis(topology, dev, view, sp, compiled, policy, regions, mask, families)
