"""The lab plan: which namespaces, interfaces and addresses a topology becomes.

Pure data, no system calls: ``plan_lab(topology)`` is deterministic, so ``lab up`` and the
tests agree on every address without reading the kernel.

Layout (IPv4 only):

* one firewall namespace with one interface per zone. A topology with exactly one firewall
  node keeps that node's interface names; several firewalls are collapsed into one lab
  firewall whose interfaces are named after the zones (``lgwan``, ``inet``…);
* one switch namespace holding one bridge per zone (the zone's LAN segment);
* one namespace per node (servers, host groups, gateways; multi-zone nodes such as the
  sanitiser get one interface per zone) and one generic ``<zone>-host`` per zone.

Every host address is a /32 whose only route is the firewall (``onlink``), so *all* traffic,
intra-zone included, crosses the firewall namespace and is seen by the capture there.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from segverify.checks.policy import AddressIndex
from segverify.topology.model import Topology

IPv4 = ipaddress.IPv4Address

# Address pool for zones that declare no IPv4 prefix (the default internet zone): TEST-NETs
# and the benchmarking range only, never anything routable.
LAB_POOL = (
    ipaddress.IPv4Network("198.51.100.0/24"),
    ipaddress.IPv4Network("192.0.2.0/24"),
    ipaddress.IPv4Network("198.19.254.0/24"),
)
SAFE_NETS = (
    ipaddress.IPv4Network("198.18.0.0/15"),
    ipaddress.IPv4Network("192.0.2.0/24"),
    ipaddress.IPv4Network("198.51.100.0/24"),
    ipaddress.IPv4Network("203.0.113.0/24"),
)
IFNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,15}$")
HOST_OFFSET = 100  # generic zone hosts start at .100 of the zone prefix when it is big enough
MAX_CANDIDATES = 4096


def is_safe(address: IPv4) -> bool:
    """True for addresses the lab may use (198.18.0.0/15 and the TEST-NETs)."""
    return any(address in net for net in SAFE_NETS)


def ifname(text: str) -> str:
    """A valid Linux interface name for ``text`` (≤15 characters)."""
    clean = re.sub(r"[^A-Za-z0-9_.-]", "-", text) or "if"
    if len(clean) <= 15:
        return clean
    digest = hashlib.sha1(text.encode()).hexdigest()[:4]
    return f"{clean[:10]}-{digest}"


@dataclass(frozen=True)
class FwIface:
    name: str  # interface name inside the firewall namespace
    zone: str
    address: IPv4  # the zone's gateway address (a /32 on the interface)
    bridge: str  # the bridge for this zone in the switch namespace


@dataclass(frozen=True)
class HostIface:
    name: str  # interface name inside the host namespace
    zone: str
    address: IPv4
    gateway: IPv4


@dataclass(frozen=True)
class LabHost:
    id: str
    node: str | None  # topology node id; None for a generic zone host
    role: str
    interfaces: tuple[HostIface, ...]

    @property
    def zone(self) -> str:
        return self.interfaces[0].zone

    @property
    def address(self) -> IPv4:
        return self.interfaces[0].address

    def address_in(self, zone: str | None) -> IPv4:
        """The host's address in ``zone`` (its first address when None)."""
        if zone is None:
            return self.address
        for iface in self.interfaces:
            if iface.zone == zone:
                return iface.address
        raise KeyError(zone)


@dataclass(frozen=True)
class LabPlan:
    topology: str
    source: str
    firewall: str  # node id of the firewall kept, or "lab-fw" when collapsed
    collapsed: tuple[str, ...]  # firewall nodes merged into the lab firewall
    fw_interfaces: tuple[FwIface, ...]
    hosts: tuple[LabHost, ...]
    skipped: tuple[str, ...] = ()  # what could not be placed (no IPv4 address…)

    def host(self, host_id: str) -> LabHost:
        for h in self.hosts:
            if h.id == host_id:
                return h
        raise KeyError(host_id)

    def fw_iface(self, zone: str) -> FwIface:
        for f in self.fw_interfaces:
            if f.zone == zone:
                return f
        raise KeyError(zone)

    def host_for_address(self, address: str) -> LabHost | None:
        ip = ipaddress.ip_address(address)
        for h in self.hosts:
            if any(i.address == ip for i in h.interfaces):
                return h
        return None

    @property
    def interface_zones(self) -> dict[str, str]:
        return {f.name: f.zone for f in self.fw_interfaces}


def _v4(networks: tuple) -> list[ipaddress.IPv4Network]:
    return [n for n in networks if isinstance(n, ipaddress.IPv4Network)]


def _first_host(net: ipaddress.IPv4Network, used: set[IPv4]) -> IPv4 | None:
    if net.prefixlen == 32:
        return net.network_address
    for i, ip in enumerate(net.hosts()):
        if i >= MAX_CANDIDATES:
            break
        if ip not in used:
            return ip
    return None


def plan_lab(topology: Topology) -> LabPlan:
    """Lay out ``topology`` as namespaces, bridges and addresses (IPv4)."""
    index = AddressIndex(topology)
    firewalls = topology.firewalls
    skipped: list[str] = []
    used: set[IPv4] = set()
    for node in topology.nodes.values():
        for a in _v4(node.addresses):
            if a.prefixlen == 32:
                used.add(a.network_address)

    # lab subnets for zones without an IPv4 prefix
    declared = [p for z in topology.zones.values() for p in _v4(z.prefixes)]
    declared += [
        a for n in topology.nodes.values() if n.role != "firewall" for a in _v4(n.addresses)
    ]
    free_pool = [p for p in LAB_POOL if not any(p.overlaps(d) for d in declared)]
    zone_nets: dict[str, list[ipaddress.IPv4Network]] = {}
    for zone in topology.zones.values():
        nets = _v4(zone.prefixes)
        if not nets and zone.id == topology.default_zone.id and free_pool:
            nets = [free_pool.pop(0)]
        zone_nets[zone.id] = nets

    # firewall interface names and addresses
    single = next(iter(firewalls.values())) if len(firewalls) == 1 else None
    fw_ifaces: list[FwIface] = []
    taken_names: set[str] = set()
    for n, zone in enumerate(topology.zones.values()):
        name = ""
        address: IPv4 | None = None
        if single is not None:
            for iface in single.interfaces:
                if iface.zone == zone.id and IFNAME_RE.match(iface.name) and iface.name != "lo":
                    name = iface.name
                    break
        for fw in firewalls.values():
            for iface in fw.interfaces:
                v4 = _v4(iface.addresses)
                if iface.zone == zone.id and v4 and address is None:
                    address = v4[0].network_address
        if address is None:
            address = _pick(zone_nets[zone.id], lambda ip: ip not in used, low=True)
        if address is None:
            skipped.append(f"zone {zone.id}: no IPv4 prefix for a firewall interface")
            continue
        used.add(address)
        name = name or ifname(zone.id)
        while name in taken_names:
            name = ifname(f"{name}{n}")
        taken_names.add(name)
        fw_ifaces.append(FwIface(name, zone.id, address, f"br{n}"))
    gateways = {f.zone: f.address for f in fw_ifaces}

    hosts: list[LabHost] = []
    host_ids: set[str] = set()

    def unique(hid: str) -> str:
        base, k = hid, 2
        while hid in host_ids:
            hid, k = f"{base}-{k}", k + 1
        host_ids.add(hid)
        return hid

    for node in topology.nodes.values():
        if node.role == "firewall":
            continue
        ifaces: list[HostIface] = []
        for i, iface in enumerate(node.interfaces):
            v4 = _v4(iface.addresses)
            if not v4 or iface.zone not in gateways:
                continue
            address = _first_host(v4[0], used - {v4[0].network_address})
            if address is None:
                continue
            used.add(address)
            name = iface.name if iface.name and IFNAME_RE.match(iface.name) else f"eth{i}"
            if name == "lo":
                name = f"eth{i}"
            ifaces.append(HostIface(name, iface.zone, address, gateways[iface.zone]))
        if not ifaces:
            skipped.append(f"node {node.id}: no IPv4 address")
            continue
        hosts.append(LabHost(unique(node.id), node.id, node.role, tuple(ifaces)))

    for zone in topology.zones.values():
        if zone.id not in gateways:
            continue

        def generic(ip: IPv4, zid: str = zone.id) -> bool:
            ep = index.classify(ip)
            return ip not in used and ep.zone == zid and ep.node is None

        address = _pick(zone_nets[zone.id], generic)
        if address is None:
            skipped.append(f"zone {zone.id}: no free address for a generic host")
            continue
        used.add(address)
        hosts.append(
            LabHost(
                unique(f"{zone.id}-host"),
                None,
                "terminal",
                (HostIface("eth0", zone.id, address, gateways[zone.id]),),
            )
        )

    # endpoints that allow rules pin to one address (e.g. a Juki-net server) get a host too
    for rule in topology.policy.allow:
        for sel in (rule.src, rule.dst):
            for prefix in _v4(sel.prefixes):
                ip = prefix.network_address
                if prefix.prefixlen != 32 or ip in used:
                    continue
                ep = index.classify(ip)
                if ep.zone not in gateways:
                    continue
                used.add(ip)
                hid = unique(f"{ep.zone}-{str(ip).replace('.', '-')}")
                iface = HostIface("eth0", ep.zone, ip, gateways[ep.zone])
                hosts.append(LabHost(hid, ep.node, ep.role or "server", (iface,)))

    unsafe = {h.id for h in hosts for i in h.interfaces if not is_safe(i.address)}
    skipped += [f"host {hid}: address outside the lab ranges" for hid in sorted(unsafe)]
    hosts = [h for h in hosts if h.id not in unsafe]
    fw_unsafe = [f for f in fw_ifaces if not is_safe(f.address)]
    for f in fw_unsafe:
        skipped.append(f"zone {f.zone}: firewall address {f.address} is outside the lab ranges")
    fw_ifaces = [f for f in fw_ifaces if is_safe(f.address)]

    return LabPlan(
        topology=topology.name,
        source=topology.source,
        firewall=single.id if single is not None else "lab-fw",
        collapsed=tuple(firewalls) if single is None else (),
        fw_interfaces=tuple(fw_ifaces),
        hosts=tuple(hosts),
        skipped=tuple(skipped),
    )


def _pick(
    nets: list[ipaddress.IPv4Network], ok: Callable[[IPv4], bool], low: bool = False
) -> IPv4 | None:
    """The first candidate address of ``nets`` that ``ok`` accepts (from .1 when ``low``)."""
    for net in nets:
        for ip in _candidates(net, low):
            if ok(ip):
                return ip
    return None


def _candidates(net: ipaddress.IPv4Network, low: bool = False) -> Iterator[IPv4]:
    """Host addresses of ``net``: from offset .100 upwards, then the low ones (or from .1)."""
    if net.prefixlen >= 31:
        yield net.network_address
        return
    total = min(net.num_addresses - 2, MAX_CANDIDATES)
    start = HOST_OFFSET if total > HOST_OFFSET + 10 and not low else 1
    base = int(net.network_address)
    for i in list(range(start, total + 1)) + list(range(1, start)):
        yield ipaddress.IPv4Address(base + i)
