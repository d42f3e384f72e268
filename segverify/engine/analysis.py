"""One firewall against one topology: header space, compiled ruleset, policy and traffic space.

A packet is handled by one hook: ``input`` when its destination is one of the device's own
addresses, ``output`` when its source is (and the destination is not), else ``forward``.
Zone-pair traffic spaces bind the interfaces to the addresses (see ``engine.device``).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from segverify.engine.compile import CompiledRuleset, compile_ruleset
from segverify.engine.device import DeviceView, device_view, pick_device
from segverify.engine.policy import PolicySpace
from segverify.engine.space import OTHER_IFACE, HeaderSpace, Packet
from segverify.firewall.model import UNKNOWN_ACTION, Rule, Ruleset
from segverify.topology.model import Topology


@dataclass(frozen=True)
class StageDecision:
    stage: str
    hook: str
    action: str  # accept | drop | reject
    rule: Rule | None  # None: the stage's default action decided
    index: int | None
    certain: bool  # False when an unknown match could change the outcome


@dataclass(frozen=True)
class Decision:
    packet: Packet
    path: str  # forward, input or output
    action: str  # the device's verdict: accept, or the first refusing stage's action
    stages: tuple[StageDecision, ...]
    deciding: StageDecision | None  # the refusing stage, else the last accepting one
    certain: bool


@dataclass
class FirewallAnalysis:
    topology: Topology
    ruleset: Ruleset
    view: DeviceView
    space: HeaderSpace
    compiled: CompiledRuleset
    policy: PolicySpace
    regions: dict[str, Any] = field(default_factory=dict)  # hook → packets it handles
    family_mask: Any = None
    families: tuple[int, ...] = (4, 6)
    _cache: dict[str, Any] = field(default_factory=dict)

    # ---- traffic spaces ---------------------------------------------------------------------

    def ifaces(self, fname: str, names: tuple[str, ...]) -> Any:
        sp = self.space
        u = sp.false
        for n in names:
            u = u | sp.iface(fname, n)
        return u

    def pair_space(self, a: str, b: str, hook: str | None = None) -> Any:
        """Packets from zone ``a`` addresses to zone ``b`` addresses as they reach the device
        (any conntrack state), restricted to one hook or all of them."""
        sp = self.space
        pol = self.policy
        base = pol.zone_src[a] & pol.zone_dst[b] & self.family_mask & sp.ct_domain()
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
        """Every packet the device lets through (any hook)."""
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
        ins = self.view.zone_ifaces[za] if hook != "output" else (OTHER_IFACE,)
        outs = self.view.zone_ifaces[zb] if hook != "input" else (OTHER_IFACE,)
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
        sp = self.space
        hook = self.hook_of(pkt.src, pkt.dst)
        assign = sp.assignment(pkt)

        def holds(u: Any) -> bool:
            return sp.holds(u, assign)

        decisions: list[StageDecision] = []
        for cs in self.compiled.paths[hook]:
            if not holds(cs.family):
                continue
            chosen: StageDecision | None = None
            certain = True
            for cr in cs.rules:
                if holds(cr.must):
                    known = certain and cr.rule.action != UNKNOWN_ACTION
                    chosen = StageDecision(
                        cs.stage.name, cs.stage.hook, cr.rule.action, cr.rule, cr.index, known
                    )
                    break
                if holds(cr.may):
                    certain = False  # an unknown match decides whether this rule applies
            if chosen is None:
                chosen = StageDecision(
                    cs.stage.name, cs.stage.hook, cs.stage.default_action, None, None, certain
                )
            decisions.append(chosen)
        refusing = next((d for d in decisions if d.action != "accept"), None)
        action = refusing.action if refusing else "accept"
        deciding = refusing or (decisions[-1] if decisions else None)
        certain = all(d.certain for d in decisions)
        return Decision(pkt, hook, action, tuple(decisions), deciding, certain)


def interface_names(view: DeviceView, *rulesets: Ruleset) -> set[str]:
    """Every interface name the header space needs: the device's and any a rule names."""
    names = set(view.interfaces)
    for ruleset in rulesets:
        names |= set(ruleset.interfaces)
        for stage in ruleset.stages:
            for rule in stage.rules:
                for group in (rule.in_interfaces, rule.out_interfaces):
                    names |= {n for n in group or () if not n.endswith(("+", "*"))}
    return names


def build_analysis(
    topology: Topology,
    ruleset: Ruleset,
    device: str | None = None,
    backend: str | None = None,
    order: str = "grouped",
    space: HeaderSpace | None = None,
) -> FirewallAnalysis:
    if device is None and ruleset.device in topology.nodes:
        device = ruleset.device
    view = device_view(topology, pick_device(topology, device), ruleset.interfaces)
    sp = space or HeaderSpace(interface_names(view, ruleset), backend=backend, order=order)
    compiled = compile_ruleset(sp, ruleset, view.zone_iface_names())
    policy = PolicySpace(sp, topology)
    own_dst = sp.addresses("dst", view.own)
    own_src = sp.addresses("src", view.own)
    regions = {"forward": ~own_dst & ~own_src, "input": own_dst, "output": own_src & ~own_dst}
    families = tuple(sorted(compiled.families())) or (4, 6)
    mask = sp.false
    for v in families:
        mask = mask | sp.version(v)
    return FirewallAnalysis(topology, ruleset, view, sp, compiled, policy, regions, mask, families)
