"""The whole network in one run: several firewall exports, each bound to its node.

For every pair of zones the topology's paths connect through routing nodes (firewalls,
local-breakout gateways), the packets that cross a path are those *every* device on it
lets through, from the interface facing the previous zone to the one facing the next.
Computed exactly on one shared BDD header space: each device's permitted forward set,
restricted to that interface pair with the interface bits then quantified away, is
intersected along the path.

- ``network-permit`` (error): a forbidden zone pair some path lets through end to end, with
  one example packet and the rule that permits it on each device (a leak that needs several
  devices to line up is found here even when no single device is wrong on its own terms).
- ``network-blocked`` (warning): packets of a pair the policy explicitly allows (its allow
  rules) that no path carries, with the device and rule that stop the example on each path
  (a change that breaks a sanctioned flow, such as mail to the sanitiser).

Paths through a firewall without an export are not judged: they are listed in the summary
and the report is incomplete. Destination NAT is followed from device to device: each device
sees the packet as the previous one sent it on (translated), and the policy judges it where
it finally goes; examples give the address it was sent to and the one it reached.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

import networkx as nx

from segverify.checks.firewall_common import not_analysed, ruleset_warnings, zone_label
from segverify.checks.firewall_may import may_text, opaque_behind
from segverify.engine.analysis import (
    FirewallAnalysis,
    as_device,
    build_analysis,
    interface_names,
    to_ir_packet,
)
from segverify.engine.device import ROUTING_ROLES, device_view
from segverify.engine.space import HeaderSpace, Packet
from segverify.errors import InputError
from segverify.findings.model import Finding, Report
from segverify.firewall import ir
from segverify.firewall.ir import Device, Opaque
from segverify.i18n import Msg
from segverify.topology.graph import build_graph, zone_v
from segverify.topology.model import Location, Topology

MAX_PATH = 8  # vertices on a zone path (zones and routing nodes)


@dataclass(frozen=True)
class Hop:
    node: str
    in_zone: str
    out_zone: str
    iif: str
    oif: str

    def label(self) -> str:
        return f"{self.node} ({self.iif}→{self.oif})"


def zone_paths(topology: Topology, a: str, b: str) -> list[tuple[Hop, ...]]:
    """Simple paths from zone ``a`` to zone ``b`` through zones, links and routing nodes,
    as the routing nodes they cross (an empty tuple: a path without any)."""
    g = build_graph(topology)
    passable = {
        v
        for v, d in g.nodes(data=True)
        if d.get("kind") == "zone" or d.get("role") in ROUTING_ROLES
    }
    sub = g.subgraph(passable)
    if zone_v(a) not in sub or zone_v(b) not in sub:
        return []
    out: list[tuple[Hop, ...]] = []
    for path in nx.all_simple_paths(sub, zone_v(a), zone_v(b), cutoff=MAX_PATH):
        hops: list[Hop] = []
        for k, v in enumerate(path):
            d = g.nodes[v]
            if d.get("kind") != "node":
                continue
            prev, nxt = g.nodes[path[k - 1]], g.nodes[path[k + 1]]
            node = topology.nodes[d["id"]]
            iif = next((i.name for i in node.interfaces if i.zone == prev.get("id")), None)
            oif = next((i.name for i in node.interfaces if i.zone == nxt.get("id")), None)
            if iif is None or oif is None or iif == oif:
                break  # node to node without a zone between: not a forwarding hop here
            hops.append(Hop(node.id, prev["id"], nxt["id"], iif, oif))
        else:
            out.append(tuple(hops))
    return out


def shared_space(
    topology: Topology, *device_sets: dict[str, Device], backend: str | None = None
) -> tuple[HeaderSpace, list[dict[str, Device]]]:
    """One header space for every device of every set, and the sets bound to their nodes."""
    names: set[str] = set()
    bound_sets: list[dict[str, Device]] = []
    for devices in device_sets:
        bound = {node: as_device(topology, dev, node) for node, dev in devices.items()}
        for node, dev in bound.items():
            names |= interface_names(device_view(topology, topology.nodes[node]), dev)
        bound_sets.append(bound)
    return HeaderSpace(names, backend=backend), bound_sets


class Network:
    def __init__(
        self,
        topology: Topology,
        devices: dict[str, Device],
        backend: str | None = None,
        space: HeaderSpace | None = None,
    ) -> None:
        self.topology = topology
        if space is None:
            space, (devices,) = shared_space(topology, devices, backend=backend)
        self.space = space
        self.analyses: dict[str, FirewallAnalysis] = {
            node: build_analysis(topology, dev, node, space=space) for node, dev in devices.items()
        }
        first = next(iter(self.analyses.values()))
        self.policy = first.policy
        sp = self.space
        self.new = sp.ct(["new"]) & (~sp.protos((6,)) | sp.tcp_flags(0x17, 0x02))
        # interface bits are per device; so is the DNAT bit (how a packet arrived there)
        self.iface_vars = (
            set(sp.fields["iif"].vars) | set(sp.fields["oif"].vars) | set(sp.fields["nat"].vars)
        )
        self._path_cache: dict[tuple[tuple[Hop, ...], bool], list[Any]] = {}

    def transit(self, hops: tuple[Hop, ...]) -> Any:
        """Packets to or from no device of the path (what a path forwards at all), of the
        families every device's export filters."""
        u = self.space.true
        for h in hops:
            an = self.analyses[h.node]
            u = u & an.regions["forward"] & an.family_mask
        return u

    def _at_hop(self, hop: Hop, u: Any) -> Any:
        """``u`` as it arrives at the hop, entering on ``iif`` and routed out of ``oif``, of
        an address family the device's export filters (an IPv4-only export says nothing of
        IPv6: not judged, and the summary's ``not_analysed`` says so)."""
        sp = self.space
        an = self.analyses[hop.node]
        u = u & an.family_mask  # families its export filters
        return u & sp.iface("iif", hop.iif) & sp.iface("oif", hop.oif)

    def step(self, hop: Hop, arriving: Any, upper: bool) -> Any:
        """The packets of ``arriving`` (as the previous hop sent them on) that the hop's
        device lets through, as they leave it: its destination NAT applied, so the next
        device sees the translated packet. Interface and NAT bits are removed."""
        an = self.analyses[hop.node]
        out = an.compiled.carry(self._at_hop(hop, arriving), "forward", upper)
        # forwarded once translated: a port forward of the device's own address is transit
        return self.space.bdd.exist(self.iface_vars, out & an.regions["forward"])

    def step_back(self, hop: Hop, arriving: Any, leaving: Any, upper: bool) -> Any:
        """The packets of ``arriving`` that ``step`` sends on into ``leaving`` (its
        pre-image; interface and NAT bits removed)."""
        an = self.analyses[hop.node]
        pre = an.compiled.carry_back(
            self._at_hop(hop, arriving), "forward", upper, leaving & an.regions["forward"]
        )
        return self.space.bdd.exist(self.iface_vars, pre)

    def arrivals(self, hops: tuple[Hop, ...], upper: bool) -> list[Any]:
        """What reaches each hop of the path (the first: anything) and, last, what leaves
        the path: the packets every device in turn lets through, destination NAT followed
        from device to device."""
        key = (hops, upper)
        if key not in self._path_cache:
            sets = [self.space.true]
            for h in hops:
                sets.append(self.step(h, sets[-1], upper))
            self._path_cache[key] = sets
        return self._path_cache[key]

    def through(self, hops: tuple[Hop, ...], upper: bool) -> Any:
        """Packets that leave the last hop, having been sent into the first one."""
        return self.arrivals(hops, upper)[-1]

    def walk_back(self, hops: tuple[Hop, ...], leaving: Any, upper: bool = True) -> list[Packet]:
        """One example for a set of packets leaving the path: the packet as it arrives at
        each hop, first hop first (they differ where a device translates the destination);
        the last entry is the packet as it leaves the path."""
        sp = self.space
        arriving = self.arrivals(hops, upper)
        want = [leaving]  # want[k]: what may arrive at hop k, walked back from the end
        for k in range(len(hops) - 1, -1, -1):
            want.insert(0, self.step_back(hops[k], arriving[k], want[0], upper))
        pkt = sp.example(want[0])
        assert pkt is not None
        out: list[Packet] = []
        for k, h in enumerate(hops):
            out.append(pkt)
            here = sp.bdd.exist(self.iface_vars, sp.packet_cube(pkt))
            nxt = sp.example(self.step(h, here, upper) & want[k + 1])
            assert nxt is not None  # pkt lies in the pre-image of want[k + 1]
            pkt = nxt
        out.append(pkt)
        return out

    def decide(self, hop: Hop, pkt: Packet) -> ir.Verdict:
        at_hop = Packet(
            pkt.src,
            pkt.dst,
            pkt.proto,
            pkt.sport,
            pkt.dport,
            pkt.ct_state,
            hop.iif,
            hop.oif,
            pkt.tcp_flags,
        )
        return ir.evaluate(self.analyses[hop.node].device, to_ir_packet(at_hop), "forward")


def step_ref(v: ir.Verdict, want_accept: bool) -> dict[str, Any]:
    """The rule (or stage default) that accepted / refused the packet on a device."""
    steps = [s for s in v.steps if (s.action == "accept") == want_accept]
    if not steps:
        return {}
    s = steps[-1] if want_accept else steps[0]
    if s.rule is None:
        loc = s.stage.origin.location
        return {"stage": s.stage.name, "action": s.action, "default": True,
                "file": loc.file if loc else None, "line": loc.line if loc else None}  # fmt: skip
    o = s.rule.origin
    ref = {"stage": s.stage.name, "action": s.action, "text": o.text, "label": o.label(),
           "file": o.location.file if o.location else None, "line": o.location.line if o.location else None}  # fmt: skip
    return ref


def describe_ref(ref: dict[str, Any]) -> str:
    if not ref:
        return "?"
    where = f" ({ref['file']}:{ref['line']})" if ref.get("file") else ""
    if ref.get("default"):
        return f"default {ref['action']} of {ref['stage']}{where}"
    return f"{ref.get('label') or ref.get('stage')}{where}"


def check_network(
    topology: Topology, devices: dict[str, Device], *, backend: str | None = None
) -> Report:
    """Network-wide answers for several devices at once (see the module docstring)."""
    if not devices:
        raise InputError(Msg("error.checks.network.no_firewall_export_given_device"))
    t0 = time.perf_counter()
    net = Network(topology, devices, backend)
    sp = net.space
    findings: list[Finding] = []
    unverified: list[str] = []
    zones = list(topology.zones)
    for a in zones:
        for b in zones:
            if a == b:
                continue
            pp = net.policy.pair(a, b)
            forbidden = pp.forbidden & net.new
            sanctioned = pp.sanctioned & net.new if pp.tier_rule and pp.allow_rules else sp.false
            if forbidden == sp.false and sanctioned == sp.false:
                continue
            carried = sp.false
            routed = sp.false  # transit packets (not to or from a device itself) on a path
            judged = 0
            for hops in zone_paths(topology, a, b):
                if not hops:
                    continue  # no routing node: the structural check (topology check) covers it
                missing = sorted({h.node for h in hops if h.node not in net.analyses})
                if missing:
                    unverified.append(
                        f"{a} → {b} via {' → '.join(h.node for h in hops)} (no export for {', '.join(missing)})"
                    )
                    continue
                judged += 1
                routed = routed | net.transit(hops)
                upper = net.through(hops, True)
                carried = carried | net.through(hops, False)
                leak = forbidden & upper
                if leak != sp.false:
                    findings.append(_permit(net, topology, pp, a, b, hops, leak))
            if judged and sanctioned != sp.false:
                blocked = sanctioned & routed & ~carried
                if blocked != sp.false:
                    findings.append(_blocked(net, topology, pp, a, b, blocked))
    t1 = time.perf_counter()
    warnings = [w for an in net.analyses.values() for w in ruleset_warnings(an.device)]
    incomplete = bool(unverified) or any(an.device.incomplete for an in net.analyses.values())
    summary: dict[str, Any] = {
        "devices": {n: an.device.source for n, an in net.analyses.items()},
        "vendors": {n: an.device.vendor for n, an in net.analyses.items()},
        "network_permits": sum(1 for f in findings if f.kind == "network-permit"),
        "network_blocked": sum(1 for f in findings if f.kind == "network-blocked"),
        "unverified_paths": unverified,
        "not_analysed": "; ".join(
            f"{n}: {not_analysed(an)}"
            for n, an in net.analyses.items()
            if not_analysed(an) != "none"
        )
        or "none",
        "nat_devices": sorted(n for n, an in net.analyses.items() if an.device.dnat) or "none",
        "backend": sp.backend,
        "seconds": round(t1 - t0, 3),
    }
    return Report(
        command="firewall",
        findings=tuple(findings),
        summary=summary,
        warnings=tuple(warnings),
        incomplete=incomplete,
        manual_items=topology.manual_items,
        inputs=(topology.source, *(an.device.source for an in net.analyses.values())),
    )


def _permit(
    net: Network, topology: Topology, pp: Any, a: str, b: str, hops: tuple[Hop, ...], leak: Any
) -> Finding:
    sp = net.space
    lower = net.through(hops, False)
    certain = (leak & lower) != sp.false
    chain = net.walk_back(hops, leak)
    example = sent_and_received(chain)
    path = []
    for h, at_hop in zip(hops, chain, strict=False):
        v = net.decide(h, at_hop)
        path.append(
            {
                "device": h.node,
                "in_interface": h.iif,
                "out_interface": h.oif,
                "firewall_rule": step_ref(v, True),
            }
        )
    rule = pp.tier_rule or "default-deny"
    chain = "; ".join(
        f"{p['device']} {p['in_interface']}→{p['out_interface']}: {describe_ref(p['firewall_rule'])}"
        for p in path
    )
    may_en = may_ja = ""
    if not certain:
        atoms: list[Opaque] = []
        unknown = False
        for h in hops:
            at_hop = leak & sp.iface("iif", h.iif) & sp.iface("oif", h.oif)
            more, unk = opaque_behind(net.analyses[h.node].compiled, "forward", at_hop, None)
            atoms += [a for a in more if a not in atoms]
            unknown = unknown or unk
        may_en, may_ja = may_text(atoms, unknown)
    first = path[0]["firewall_rule"]
    return Finding(
        kind="network-permit",
        rule=rule,
        message=(
            f"{a} → {b}: every firewall on the path {' → '.join(h.label() for h in hops)} permits new "
            f"connections the policy forbids ({rule}){may_en}, e.g. {example.describe()}. Permitted by: {chain}."
        ),
        message_ja=(
            f"{zone_label(topology, a, 'ja')} → {zone_label(topology, b, 'ja')}: 経路上のすべてのファイアウォール"
            f"（{' → '.join(h.label() for h in hops)}）が、ポリシーで禁止されている新規通信を許可している（{rule}）{may_ja}。"
            f"例: {example.describe()}。許可しているルール: {chain}。"
        ),
        severity="error",
        clauses=pp.clauses,
        evidence=tuple(
            p["firewall_rule"].get("text", "") for p in path if p["firewall_rule"].get("text")
        ),
        remedy="Block the flow on at least one firewall of the path.",
        remedy_ja="経路上の少なくとも1台のファイアウォールで遮断する。",
        location=ref_location(first),
        data={
            "src_zone": a,
            "dst_zone": b,
            "path": path,
            "example": example.as_dict(),
            "certain": certain,
        },
    )


def _blocked(net: Network, topology: Topology, pp: Any, a: str, b: str, blocked: Any) -> Finding:
    sp = net.space
    example = sp.example(blocked)
    assert example is not None
    stops = []
    for hops in zone_paths(topology, a, b):
        if not hops or any(h.node not in net.analyses for h in hops):
            continue
        for h in hops:
            v = net.decide(h, example)
            if v.possible != {"accept"}:
                stops.append(
                    {
                        "device": h.node,
                        "in_interface": h.iif,
                        "out_interface": h.oif,
                        "firewall_rule": step_ref(v, False),
                    }
                )
                break
    allow = ", ".join(r.id for r in pp.allow_rules)
    chain = "; ".join(
        f"{s['device']} {s['in_interface']}→{s['out_interface']}: {describe_ref(s['firewall_rule'])}"
        for s in stops
    )
    return Finding(
        kind="network-blocked",
        rule=allow or (pp.tier_rule or ""),
        message=(
            f"{a} → {b}: traffic the policy allows ({allow}) crosses no path, e.g. {example.describe()}. "
            f"Stopped by: {chain or 'no path carries it'}."
        ),
        message_ja=(
            f"{zone_label(topology, a, 'ja')} → {zone_label(topology, b, 'ja')}: ポリシーで許可された通信（{allow}）が"
            f"どの経路でも通らない。例: {example.describe()}。遮断しているルール: {chain or 'なし'}。"
        ),
        severity="warning",
        clauses=pp.clauses,
        evidence=tuple(
            s["firewall_rule"].get("text", "") for s in stops if s["firewall_rule"].get("text")
        ),
        remedy="Permit the sanctioned flow on every firewall of its path.",
        remedy_ja="許可された通信を経路上のすべてのファイアウォールで許可する。",
        location=ref_location(stops[0]["firewall_rule"]) if stops else None,
        data={
            "src_zone": a,
            "dst_zone": b,
            "stopped_by": stops,
            "example": example.as_dict(),
            "allow_rules": [r.id for r in pp.allow_rules],
        },
    )


def sent_and_received(chain: list[Packet]) -> Packet:
    """The packet as it leaves the path, with the destination it was sent to when some
    device on the way translated it."""
    sent, got = chain[0], chain[-1]
    if (sent.dst, sent.dport) == (got.dst, got.dport):
        return replace(got, translated=False, original_dst=None, original_dport=None)
    return replace(got, translated=True, original_dst=sent.dst, original_dport=sent.dport)


def ref_location(ref: dict[str, Any]) -> Location | None:
    if ref.get("file") and ref.get("line"):
        return Location(ref["file"], ref["line"])
    return None


__all__ = ["Hop", "check_network", "shared_space", "zone_paths"]
