"""The normalised topology model: zones, nodes, links and the directional policy.

Everything after the YAML loader reads only these dataclasses. Addresses are
``ipaddress`` networks (a host is a /32 or /128). The ``internet`` tier is the default
zone for any address no declared prefix covers.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

INTERNAL_TIERS = ("mynumber", "lgwan", "inet")
EXTERNAL_TIERS = ("lgwan-wan", "security-cloud", "internet", "gov-cloud", "juki-net")
TIERS = INTERNAL_TIERS + EXTERNAL_TIERS
ROLES = (
    "terminal",
    "server",
    "sanitiser",
    "screen-transfer",
    "proxy",
    "mail-relay",
    "dns",
    "lbo-gateway",
    "firewall",
)
MODELS = ("alpha", "alpha-prime", "beta", "beta-prime", "two-tier")
RULE_IDS = ("R1", "R2", "R3", "R4", "R5")
DEFAULT_ZONE_ID = "internet"

# IANA protocol numbers for the names the policy accepts.
PROTO_NUMBERS = {"icmp": 1, "tcp": 6, "udp": 17, "gre": 47, "esp": 50, "icmpv6": 58, "sctp": 132}
PROTO_NAMES = {v: k for k, v in PROTO_NUMBERS.items()}


@dataclass(frozen=True)
class Location:
    """Where a value came from: file, 1-based line and column."""

    file: str
    line: int
    column: int = 1

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Zone:
    id: str
    tier: str
    prefixes: tuple[IPNetwork, ...] = ()
    vlans: tuple[int, ...] = ()
    name: str = ""
    implicit: bool = False  # the default internet zone added when the file declares none
    location: Location | None = None


@dataclass(frozen=True)
class Interface:
    name: str
    zone: str
    addresses: tuple[IPNetwork, ...] = ()
    # other names a firewall export uses for this interface (``port1``, ``ethernet1/1``,
    # ``outside``): `segverify firewall` maps them here, as ``--interface-map`` does
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Node:
    """A host, server or appliance. Multi-zone nodes (firewalls, sanitisers) have interfaces."""

    id: str
    role: str
    interfaces: tuple[Interface, ...]
    mac: str | None = None
    name: str = ""
    location: Location | None = None

    @property
    def zones(self) -> tuple[str, ...]:
        seen: list[str] = []
        for iface in self.interfaces:
            if iface.zone not in seen:
                seen.append(iface.zone)
        return tuple(seen)

    @property
    def zone(self) -> str:
        """The first zone (the only one for single-zone nodes)."""
        return self.interfaces[0].zone

    @property
    def addresses(self) -> tuple[IPNetwork, ...]:
        return tuple(a for iface in self.interfaces for a in iface.addresses)

    @property
    def multi_zone(self) -> bool:
        return len(self.zones) > 1


@dataclass(frozen=True)
class Link:
    a: str
    b: str
    name: str = ""
    location: Location | None = None


@dataclass(frozen=True)
class PortRange:
    lo: int
    hi: int

    def __str__(self) -> str:
        return str(self.lo) if self.lo == self.hi else f"{self.lo}-{self.hi}"

    def contains(self, port: int) -> bool:
        return self.lo <= port <= self.hi


@dataclass(frozen=True)
class ServiceSpec:
    """One protocol with destination port ranges. ``proto`` None means any protocol;
    empty ``ports`` means any port (or not applicable)."""

    proto: int | None
    ports: tuple[PortRange, ...] = ()
    name: str = ""

    def matches(self, proto: int, dport: int | None) -> bool:
        if self.proto is not None and self.proto != proto:
            return False
        if not self.ports:
            return True
        return dport is not None and any(r.contains(dport) for r in self.ports)

    @property
    def proto_name(self) -> str:
        if self.proto is None:
            return "any"
        return PROTO_NAMES.get(self.proto, str(self.proto))

    @property
    def any_port(self) -> bool:
        return self.proto is None or (self.proto in (6, 17, 132) and not self.ports)


@dataclass(frozen=True)
class Selector:
    """An allow-rule endpoint: a zone, a tier, a node, a role, a prefix, or a combination
    (all given fields must hold)."""

    zone: str | None = None
    tier: str | None = None
    node: str | None = None
    role: str | None = None
    prefixes: tuple[IPNetwork, ...] = ()

    def describe(self) -> str:
        parts = []
        for key in ("zone", "tier", "node", "role"):
            value = getattr(self, key)
            if value:
                parts.append(f"{key}={value}")
        if self.prefixes:
            parts.append("prefix=" + ",".join(str(p) for p in self.prefixes))
        return " ".join(parts) or "any"


@dataclass(frozen=True)
class AllowRule:
    """A directional allow rule: traffic initiated from ``src`` to ``dst`` on ``services``."""

    id: str
    src: Selector
    dst: Selector
    services: tuple[ServiceSpec, ...]
    service_names: tuple[str, ...] = ()
    rule: str | None = None  # the tier rule (R1..R5) this rule is an exception to
    via: tuple[str, ...] = ()  # nodes that carry it (firewalls, gateways)
    fqdns: tuple[str, ...] = ()
    fqdn_required: bool = False
    justification: str = ""
    justification_ja: str = ""
    clauses: tuple[str, ...] = ()
    origin: str = "file"  # "file" or "model"
    location: Location | None = None


@dataclass(frozen=True)
class TierRule:
    id: str
    title_en: str
    title_ja: str
    guideline: tuple[str, ...]
    clauses: tuple[str, ...]  # the municipality's own clause references
    enforced: bool


@dataclass(frozen=True)
class Contract:
    """How the model judges allow rules between two tiers (see data/models.yaml)."""

    src_tier: str
    dst_tier: str
    kind: str  # open | pinned | gateway | forbidden
    roles: tuple[str, ...] = ()
    services: tuple[ServiceSpec, ...] = ()
    service_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class Policy:
    model: str
    rules: dict[str, TierRule]
    allow: tuple[AllowRule, ...]
    contracts: tuple[Contract, ...]
    pair_rules: tuple[tuple[str, str, str], ...]  # (tier a, tier b or "*", rule id)
    fqdn_allow: tuple[str, ...] = ()

    def rule_for(self, src_tier: str, dst_tier: str) -> str | None:
        """The tier rule (R1..R5) governing traffic between two tiers, if any."""
        for a, b, rule in self.pair_rules:
            if (a == src_tier and b in ("*", dst_tier)) or (a == dst_tier and b in ("*", src_tier)):
                return rule
        return None

    def contract_for(self, src_tier: str, dst_tier: str) -> Contract | None:
        for c in self.contracts:
            if c.src_tier in ("*", src_tier) and c.dst_tier in ("*", dst_tier):
                return c
        return None


@dataclass(frozen=True)
class Topology:
    name: str
    source: str
    zones: dict[str, Zone]
    nodes: dict[str, Node]
    links: tuple[Link, ...]
    policy: Policy
    organisation: str = ""
    prefecture: str = ""
    manual_items: tuple[str, ...] = field(default=())

    @property
    def firewalls(self) -> dict[str, Node]:
        return {k: n for k, n in self.nodes.items() if n.role == "firewall"}

    def zones_of_tier(self, tier: str) -> list[Zone]:
        return [z for z in self.zones.values() if z.tier == tier]

    @property
    def default_zone(self) -> Zone:
        """The zone unclassified addresses fall into (tier ``internet``)."""
        for zone in self.zones.values():
            if zone.tier == "internet":
                return zone
        raise LookupError("topology has no internet zone")  # the loader always adds one
