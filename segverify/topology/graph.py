"""The topology as a networkx graph: zones and nodes are vertices; a node is joined to every
zone it has an interface in, and declared links add further edges.

Vertex ids are ``zone:<id>`` and ``node:<id>`` so a zone and a node never collide.
"""

from __future__ import annotations

import json
from typing import Any

import networkx as nx

from segverify.topology.model import Topology


def zone_v(zone_id: str) -> str:
    return f"zone:{zone_id}"


def node_v(node_id: str) -> str:
    return f"node:{node_id}"


def vertex(topology: Topology, ident: str) -> str:
    return zone_v(ident) if ident in topology.zones else node_v(ident)


def label(v: str) -> str:
    """``zone:lgwan`` → ``lgwan``; the evidence paths users read."""
    return v.split(":", 1)[1]


def build_graph(topology: Topology) -> nx.Graph:
    g = nx.Graph(name=topology.name, model=topology.policy.model)
    for z in topology.zones.values():
        g.add_node(
            zone_v(z.id),
            kind="zone",
            id=z.id,
            tier=z.tier,
            name=z.name,
            prefixes=" ".join(str(p) for p in z.prefixes),
            vlans=" ".join(str(v) for v in z.vlans),
        )
    for n in topology.nodes.values():
        g.add_node(
            node_v(n.id),
            kind="node",
            id=n.id,
            role=n.role,
            name=n.name,
            zones=" ".join(n.zones),
            addresses=" ".join(str(a) for a in n.addresses),
        )
        for iface in n.interfaces:
            g.add_edge(node_v(n.id), zone_v(iface.zone), kind="interface", interface=iface.name)
    for link in topology.links:
        g.add_edge(vertex(topology, link.a), vertex(topology, link.b), kind="link", name=link.name)
    return g


def export_graph(g: nx.Graph, fmt: str) -> str:
    if fmt == "graphml":
        return "\n".join(nx.generate_graphml(g)) + "\n"
    if fmt == "json":
        data: dict[str, Any] = nx.node_link_data(g, edges="links")
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    raise ValueError(f"unknown graph format {fmt!r}")
