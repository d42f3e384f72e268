"""Where a firewall sits in the topology: its interfaces, own addresses, and which zones'
addresses can arrive on (or leave through) each interface.

The zones *behind* an interface are the zones reachable from the interface's zone in the
topology graph without crossing this firewall, moving only through zones, declared links
and other routing nodes (firewalls, local-breakout gateways). A zone reachable through no
interface is *unpinned*: per the topology its traffic never reaches this device, so no
zone pair with it is analysed here, and the report names it (link it in the topology to
have it analysed). Forwarded packets leave through a different interface than they came
in on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx

from segverify.errors import InputError
from segverify.i18n import Msg
from segverify.topology.graph import build_graph, node_v, zone_v
from segverify.topology.model import IPNetwork, Node, Topology

ROUTING_ROLES = ("firewall", "lbo-gateway")


@dataclass(frozen=True)
class DeviceView:
    node: Node
    iface_zone: dict[str, str]  # interface name → zone id
    own: tuple[IPNetwork, ...]  # the device's own addresses (hosts)
    zone_ifaces: dict[str, tuple[str, ...]]  # zone id → interfaces its addresses use
    behind: dict[str, tuple[str, ...]] = field(default_factory=dict)  # interface → zones

    @property
    def unpinned(self) -> tuple[str, ...]:
        """Zones behind no interface of the device (not analysed for it)."""
        return tuple(z for z, i in self.zone_ifaces.items() if not i)

    @property
    def interfaces(self) -> tuple[str, ...]:
        return tuple(self.iface_zone)

    def zone_iface_names(self) -> dict[str, tuple[str, ...]]:
        """Zone → the device interfaces *in* that zone (what a rule's zone match means)."""
        out: dict[str, tuple[str, ...]] = {}
        for name, zone in self.iface_zone.items():
            out[zone] = (*out.get(zone, ()), name)
        return out


def pick_device(topology: Topology, device: str | None) -> Node:
    firewalls = topology.firewalls
    if device is None:
        if len(firewalls) == 1:
            return next(iter(firewalls.values()))
        names = ", ".join(sorted(firewalls)) or "none"
        raise InputError(
            Msg(
                "error.engine.device.topology_has_firewalls_choose_one",
                count=len(firewalls),
                names=names,
            ),
            topology.source,
        )
    if device not in topology.nodes:
        raise InputError(
            Msg(
                "error.engine.device.no_node_topology_firewalls",
                device=device,
                firewalls=", ".join(sorted(firewalls)),
            ),
            topology.source,
        )
    node = topology.nodes[device]
    if len(node.zones) < 2:
        raise InputError(
            Msg("error.engine.device.node_has_interfaces_fewer_than", device=device),
            topology.source,
        )
    return node


def device_view(
    topology: Topology, node: Node, extra_ifaces: dict[str, str] | None = None
) -> DeviceView:
    iface_zone = {i.name: i.zone for i in node.interfaces if i.name}
    for name, zone in (extra_ifaces or {}).items():
        if zone in topology.zones:
            iface_zone.setdefault(name, zone)
    g = build_graph(topology)
    me = node_v(node.id)
    passable = {
        v
        for v, d in g.nodes(data=True)
        if d.get("kind") == "zone" or (d.get("role") in ROUTING_ROLES and v != me)
    }
    # nodes appearing in declared links route too (a link names what carries traffic)
    for link in topology.links:
        for end in (link.a, link.b):
            if end in topology.nodes and end != node.id:
                passable.add(node_v(end))
    sub = g.subgraph(passable)
    behind: dict[str, set[str]] = {}
    for name, zone in iface_zone.items():
        reach = (
            nx.node_connected_component(sub, zone_v(zone))
            if zone_v(zone) in sub
            else {zone_v(zone)}
        )
        behind[name] = {g.nodes[v]["id"] for v in reach if g.nodes[v].get("kind") == "zone"}
    zone_ifaces: dict[str, tuple[str, ...]] = {}
    for zone in topology.zones:
        zone_ifaces[zone] = tuple(n for n in iface_zone if zone in behind[n])
    own = tuple(a for i in node.interfaces for a in i.addresses)
    order = list(topology.zones)
    behind_t = {n: tuple(sorted(z, key=order.index)) for n, z in behind.items()}
    return DeviceView(node, iface_zone, own, zone_ifaces, behind_t)
