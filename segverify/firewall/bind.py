"""Binding a ``Device`` to the topology: interface names → the firewall node's interfaces
and zones, with an optional rename map (``--interface-map port1=eth0,…``).

Every interface the export names must be an interface of the node (after the map), the
loopback, or a wildcard pattern; anything else is an input error naming the unknown
interfaces and the known ones: a rule on an unmapped interface would silently match
nothing and hide what it permits. Vendor zones named like a topology zone and given no
members (the CSV's ``in_zone``/``out_zone``) get the node's interfaces in that zone.
"""

from __future__ import annotations

from dataclasses import replace

from segverify.errors import InputError
from segverify.firewall.ir import (
    And,
    Chain,
    ChainVerdict,
    Device,
    Expr,
    Interface,
    Interfaces,
    Named,
    Not,
    Or,
    Scope,
    VendorZone,
    iface_matches,
)
from segverify.i18n import Msg
from segverify.topology.model import Node, Topology

LOOPBACK = ("lo",)


def parse_interface_map(text: str | None) -> dict[str, str]:
    """``port1=eth0,port2=eth1`` → {"port1": "eth0", …}."""
    out: dict[str, str] = {}
    if not text:
        return out
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        name, sep, target = item.partition("=")
        if not sep or not name.strip() or not target.strip():
            raise InputError(Msg("error.firewall.bind.interface_map_not_name_topology", item=item))
        if name.strip() in out:
            raise InputError(
                Msg("error.firewall.bind.interface_map_mapped_twice", name=name.strip())
            )
        out[name.strip()] = target.strip()
    return out


def _rename_expr(e: Expr, m: dict[str, str], chains: dict[int, Chain] | None = None) -> Expr:
    """``e`` with interface names mapped; called user chains are renamed once each
    (``chains``: old chain id → renamed chain, so shared chains stay shared)."""
    chains = {} if chains is None else chains
    if isinstance(e, Interfaces):
        names = tuple(m.get(n, n) for n in e.names)
        return e if names == e.names else replace(e, names=names)
    if isinstance(e, And | Or):
        items = tuple(_rename_expr(i, m, chains) for i in e.items)
        return e if items == e.items else type(e)(items)
    if isinstance(e, Not):
        return Not(_rename_expr(e.item, m, chains))
    if isinstance(e, Named):
        return Named(_rename_expr(e.item, m, chains), e.origin)
    if isinstance(e, ChainVerdict):
        return ChainVerdict(_rename_chain(e.chain, m, chains), e.outcome)
    return e


def _rename_chain(c: Chain, m: dict[str, str], chains: dict[int, Chain]) -> Chain:
    hit = chains.get(id(c))
    if hit is None:
        rules = tuple(
            replace(
                r,
                match=_rename_expr(r.match, m, chains),
                target=None if r.target is None else _rename_chain(r.target, m, chains),
            )
            for r in c.rules
        )
        hit = chains[id(c)] = replace(c, rules=rules)
    return hit


def rename_interfaces(device: Device, m: dict[str, str]) -> Device:
    """The device with interface names replaced by ``m`` everywhere."""
    if not m:
        return device
    stages = []
    chains: dict[int, Chain] = {}
    for s in device.stages:
        rules = tuple(replace(r, match=_rename_expr(r.match, m, chains)) for r in s.rules)
        sc: Scope = s.scope
        if sc.interface is not None:
            sc = replace(sc, interface=m.get(sc.interface, sc.interface))
        stages.append(replace(s, rules=rules, scope=sc))
    out = replace(device)
    out.stages = stages
    out.dnat = [replace(n, match=_rename_expr(n.match, m)) for n in device.dnat]
    out.interfaces = {
        m.get(k, k): replace(v, name=m.get(k, k)) for k, v in device.interfaces.items()
    }
    out.zones = {
        k: replace(z, interfaces=tuple(m.get(i, i) for i in z.interfaces))
        for k, z in device.zones.items()
    }
    out.warnings = list(device.warnings)
    return out


def firewall_node(topology: Topology, device: str | None) -> Node:
    fws = topology.firewalls
    if device:
        node = topology.nodes.get(device)
        if node is None:
            raise InputError(
                Msg(
                    "error.firewall.bind.device_not_node_topology",
                    device=device,
                    topology=topology.name,
                ),
                topology.source,
            )
        if node.role != "firewall":
            raise InputError(
                Msg(
                    "error.firewall.bind.node_has_role_not_firewall", device=device, role=node.role
                ),
                topology.source,
            )
        return node
    if len(fws) == 1:
        return next(iter(fws.values()))
    if not fws:
        raise InputError(
            Msg("error.firewall.bind.topology_has_no_firewall_node", topology=topology.name),
            topology.source,
        )
    raise InputError(
        Msg(
            "error.firewall.bind.topology_has_firewalls_give_device",
            topology=topology.name,
            count=len(fws),
            names=", ".join(sorted(fws)),
        ),
        topology.source,
    )


def _named_interfaces(device: Device) -> list[str]:
    from segverify.firewall.ir import walk

    names: dict[str, None] = dict.fromkeys(device.interfaces)
    for s in device.stages:
        if s.scope.interface is not None:
            names.setdefault(s.scope.interface, None)
        for r in s.rules:
            for e in walk(r.match):
                if isinstance(e, Interfaces):
                    for n in e.names:
                        names.setdefault(n, None)
    for z in device.zones.values():
        for n in z.interfaces:
            names.setdefault(n, None)
    return list(names)


def _with_aliases(node: Node, m: dict[str, str], topology: Topology) -> dict[str, str]:
    """``--interface-map`` plus the node's interface ``aliases`` from the topology; the two
    may agree but never disagree (which one the user meant cannot be guessed)."""
    out = dict(m)
    for i in node.interfaces:
        for alias in i.aliases:
            if alias == i.name:
                continue
            if out.setdefault(alias, i.name) != i.name:
                raise InputError(
                    f"--interface-map maps {alias!r} to {out[alias]!r}, the topology's "
                    f"aliases of {node.id} to {i.name!r}",
                    topology.source,
                    key="error.alias_conflict",
                    params={"name": alias, "cli": out[alias], "node": node.id, "iface": i.name},
                )
    return out


def bind_device(
    device: Device,
    topology: Topology,
    node_id: str | None = None,
    interface_map: dict[str, str] | None = None,
) -> Device:
    """The device with its interfaces bound to the topology firewall node's zones."""
    if node_id and device.name and device.vendor == "csv" and device.name != node_id:
        raise InputError(
            Msg("error.common.export_device_not", device=device.name, node=node_id), device.source
        )
    node = firewall_node(
        topology, node_id or (device.name if device.name in topology.nodes else None)
    )
    if device.vendor == "csv" and device.name and device.name != node.id:
        raise InputError(
            Msg("error.common.export_device_topology_firewall", device=device.name, node=node.id),
            device.source,
        )
    known = {i.name: i for i in node.interfaces if i.name}
    m = _with_aliases(node, dict(interface_map or {}), topology)
    bad_targets = sorted(t for t in m.values() if t not in known)
    if bad_targets:
        raise InputError(
            Msg(
                "error.firewall.bind.interface_map_names_not_interfaces",
                bad=", ".join(bad_targets),
                node=node.id,
                known=", ".join(sorted(known)) or "none",
            ),
            topology.source,
        )
    dev = rename_interfaces(device, m)
    unknown: list[str] = []
    for n in _named_interfaces(dev):
        if n in known or n in LOOPBACK:
            continue
        if n.endswith("*"):
            if not any(iface_matches(n, k) for k in known):
                dev.warn(
                    None,
                    Msg(
                        "warn.firewall.bind.interface_pattern_matches_no_interface",
                        pattern=n,
                        node=node.id,
                    ),
                )
            continue
        unknown.append(n)
    if unknown:
        raise InputError(
            Msg(
                "error.firewall.bind.interfaces_export_are_not_interfaces",
                unknown=", ".join(sorted(unknown)),
                node=node.id,
                known=", ".join(sorted(known)) or "none",
            ),
            device.source,
        )
    interfaces: dict[str, Interface] = {}
    for name, i in known.items():
        old = dev.interfaces.get(name)
        interfaces[name] = replace(
            old or Interface(name),
            zone=i.zone,
            addresses=(old.addresses if old else ()) or i.addresses,
        )
    for n in LOOPBACK:
        if n in dev.interfaces or n in _named_interfaces(dev):
            interfaces[n] = Interface(n, loopback=True)
    dev.interfaces = interfaces
    for zname, z in list(dev.zones.items()):
        if not z.interfaces and zname in topology.zones:
            dev.zones[zname] = VendorZone(
                zname, tuple(n for n, i in known.items() if i.zone == zname), z.origin
            )
    dev.check_zones()
    dev.name = node.id
    return dev
