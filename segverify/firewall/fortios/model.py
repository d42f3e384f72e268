"""The FortiOS vendor model: objects as the configuration writes them, each with the
line that defines it. Filled by ``parse.py``, lowered by ``lower.py``."""

from __future__ import annotations

from dataclasses import dataclass, field

from segverify.topology.model import IPNetwork, PortRange


@dataclass
class Src:
    line: int
    text: str


@dataclass
class FgInterface:
    name: str
    src: Src
    vdom: str = "root"
    ip: IPNetwork | None = None  # the interface's own address (host) and prefix length
    allowaccess: tuple[str, ...] = ()


@dataclass
class FgZone:
    name: str
    src: Src
    interfaces: tuple[str, ...] = ()
    intrazone: str = "deny"
    intrazone_src: Src | None = None


@dataclass
class FgAddress:
    """``kind``: ipmask/iprange (exact), or fqdn/geography/wildcard/dynamic/mac/… (opaque)."""

    name: str
    src: Src
    family: int
    kind: str
    nets: tuple[IPNetwork, ...] = ()
    ranges: tuple[tuple[str, str], ...] = ()
    detail: str = ""  # for opaque kinds: the fqdn, country, …


@dataclass
class FgGroup:
    """An address group, service group or VIP group."""

    name: str
    src: Src
    members: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    family: int = 4


@dataclass
class FgServiceEntry:
    """One protocol alternative of a custom service: ``proto`` None = any protocol."""

    proto: int | None
    dports: tuple[PortRange, ...] = ()
    sports: tuple[PortRange, ...] = ()
    icmp_type: int | None = None
    icmp_code: int | None = None


@dataclass
class FgService:
    name: str
    src: Src
    entries: tuple[FgServiceEntry, ...] = ()
    dst_nets: tuple[IPNetwork, ...] = ()  # `set iprange` restricts the destination
    opaque: str = ""  # understood, not decidable from headers (fqdn, proxy protocols)


@dataclass
class FgVip:
    name: str
    src: Src
    extip: tuple[str, str]  # first, last
    mapped: tuple[str, str]
    extintf: str = "any"
    proto: int | None = None  # None: every protocol (no port forwarding)
    extports: tuple[PortRange, ...] = ()
    mappedport: PortRange | None = None
    family: int = 4
    src_filter: tuple[tuple[str, str], ...] = ()  # (first, last) source ranges; () = any
    services: tuple[str, ...] = ()  # service filter (names); () = any


@dataclass
class FgPolicy:
    id: str
    src: Src
    table: str = "policy"  # "policy6" (FortiOS before 6.4), "local-in", "local-in6"
    name: str = ""
    action: str = "deny"
    enabled: bool = True
    srcintf: tuple[str, ...] = ()
    dstintf: tuple[str, ...] = ()
    srcaddr: tuple[str, ...] = ()
    dstaddr: tuple[str, ...] = ()
    srcaddr6: tuple[str, ...] = ()
    dstaddr6: tuple[str, ...] = ()
    service: tuple[str, ...] = ()
    srcaddr_negate: bool = False
    dstaddr_negate: bool = False
    srcaddr6_negate: bool = False
    dstaddr6_negate: bool = False
    service_negate: bool = False
    schedule: str = "always"
    send_deny_packet: bool = False
    isdb_src: bool = False  # internet-service-src enable: replaces srcaddr
    isdb_dst: bool = False  # internet-service enable: replaces dstaddr and service
    # understood matches a header cannot decide: (opaque kind, text, line)
    opaque: list[tuple[str, str, int]] = field(default_factory=list)
    unknown: list[tuple[str, int]] = field(default_factory=list)  # settings not understood
    lines: dict[str, Src] = field(default_factory=dict)  # setting → where it is

    def lines_text(self, line: int) -> str:
        return next((s.text for s in self.lines.values() if s.line == line), "")


@dataclass
class FgVdom:
    name: str
    interfaces: dict[str, FgInterface] = field(default_factory=dict)
    zones: dict[str, FgZone] = field(default_factory=dict)
    addresses: dict[str, FgAddress] = field(default_factory=dict)
    addrgrps: dict[str, FgGroup] = field(default_factory=dict)
    addresses6: dict[str, FgAddress] = field(default_factory=dict)  # a namespace of its own
    addrgrps6: dict[str, FgGroup] = field(default_factory=dict)
    services: dict[str, FgService] = field(default_factory=dict)
    servicegrps: dict[str, FgGroup] = field(default_factory=dict)
    vips: dict[str, FgVip] = field(default_factory=dict)
    vipgrps: dict[str, FgGroup] = field(default_factory=dict)
    schedules: dict[str, Src] = field(default_factory=dict)
    policies: list[FgPolicy] = field(default_factory=list)  # in file order (after move)


@dataclass
class FgConfig:
    hostname: str
    vdoms: dict[str, FgVdom]
    interfaces: dict[str, FgInterface]  # global: every interface, in any VDOM
    warnings: list[tuple[int, str]] = field(default_factory=list)
    admin_ports: dict[str, int] = field(default_factory=dict)  # allowaccess → port
