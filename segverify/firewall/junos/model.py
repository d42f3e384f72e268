"""The Juniper SRX configuration as written (vendor model): zones, address books,
applications, security policies, firewall filters, destination NAT."""

from __future__ import annotations

from dataclasses import dataclass, field

from segverify.topology.model import IPNetwork, Location


@dataclass
class Address:
    """An address-book entry: ``value`` kind "prefix" / "range" / "dns" / "wildcard"."""

    book: str
    name: str
    kind: str
    value: object
    location: Location
    text: str


@dataclass
class AddressSet:
    book: str
    name: str
    location: Location
    text: str
    members: list[tuple[str, str, Location]] = field(
        default_factory=list
    )  # ("address"|"address-set", name, loc)


@dataclass
class AddressBook:
    name: str
    addresses: dict[str, Address] = field(default_factory=dict)
    sets: dict[str, AddressSet] = field(default_factory=dict)
    zones: list[str] = field(default_factory=list)  # attach zone


@dataclass
class AppTerm:
    """One term of an application (the application itself when it has no terms)."""

    name: str
    location: Location
    protocol: str | None = None
    source_port: str | None = None
    destination_port: str | None = None
    icmp_type: str | None = None
    icmp_code: str | None = None
    opaque: list[str] = field(default_factory=list)  # rpc-program-number, uuid, alg…


@dataclass
class Application:
    name: str
    location: Location
    text: str
    terms: dict[str, AppTerm] = field(default_factory=dict)  # "" = the application's own fields


@dataclass
class ApplicationSet:
    name: str
    location: Location
    text: str
    members: list[tuple[str, str, Location]] = field(
        default_factory=list
    )  # ("application"|"application-set", name)


@dataclass
class Policy:
    """A security policy; ``from_zone``/``to_zone`` None for global policies without them."""

    name: str
    context: str  # "from-zone A to-zone B" or "global"
    location: Location
    text: str
    from_zones: list[str] = field(default_factory=list)
    to_zones: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    destinations: list[str] = field(default_factory=list)
    applications: list[str] = field(default_factory=list)
    source_excluded: bool = False
    destination_excluded: bool = False
    action: str | None = None  # permit / deny / reject
    scheduler: str | None = None
    opaque: list[tuple[str, str]] = field(default_factory=list)  # (kind, text)
    inactive: bool = False
    lines: list[int] = field(default_factory=list)


@dataclass
class Term:
    name: str
    location: Location
    text: str
    conditions: list[tuple[str, str, Location]] = field(default_factory=list)  # (key, value, loc)
    actions: list[tuple[str, Location]] = field(default_factory=list)


@dataclass
class Filter:
    family: str
    name: str
    location: Location
    terms: dict[str, Term] = field(default_factory=dict)


@dataclass
class DnatRule:
    rule_set: str
    name: str
    location: Location
    text: str
    from_kind: str = ""  # zone / interface / routing-instance
    from_names: list[str] = field(default_factory=list)
    destinations: list[IPNetwork] = field(default_factory=list)
    ports: list[tuple[int, int]] = field(default_factory=list)
    protocols: list[str] = field(default_factory=list)
    sources: list[IPNetwork] = field(default_factory=list)
    destination_names: list[tuple[str, Location]] = field(default_factory=list)
    pool: str | None = None
    static_prefix: IPNetwork | None = None
    static_prefix_name: tuple[str, Location] | None = None
    off: bool = False


@dataclass
class HostInbound:
    """``host-inbound-traffic system-services|protocols NAME [except]`` of a zone or of
    one interface within it (an interface's own list replaces the zone's)."""

    zone: str
    interface: str | None
    kind: str  # system-services / protocols
    name: str
    excepted: bool
    location: Location
    text: str


@dataclass
class JunosConfig:
    file: str
    hostname: str = "srx"
    interfaces: dict[str, list[IPNetwork]] = field(
        default_factory=dict
    )  # "ge-0/0/0.0" → own addresses
    interface_locations: dict[str, Location] = field(default_factory=dict)
    zones: dict[str, list[str]] = field(default_factory=dict)
    zone_locations: dict[str, Location] = field(default_factory=dict)
    books: dict[str, AddressBook] = field(default_factory=dict)  # "global", "zone:<Z>", named
    applications: dict[str, Application] = field(default_factory=dict)
    application_sets: dict[str, ApplicationSet] = field(default_factory=dict)
    policies: list[Policy] = field(default_factory=list)  # zone-pair policies in file order
    global_policies: list[Policy] = field(default_factory=list)
    default_policy: str = "deny-all"
    default_location: Location | None = None
    schedulers: dict[str, Location] = field(default_factory=dict)
    filters: dict[tuple[str, str], Filter] = field(default_factory=dict)
    filter_bindings: list[tuple[str, str, str, str, Location]] = field(
        default_factory=list
    )  # iface, family, dir, filter
    prefix_lists: dict[str, list[IPNetwork]] = field(default_factory=dict)
    dnat_pools: dict[str, tuple[IPNetwork, int | None, Location]] = field(default_factory=dict)
    dnat_rules: list[DnatRule] = field(default_factory=list)
    host_inbound: list[HostInbound] = field(default_factory=list)
    warnings: list[tuple[Location, str]] = field(default_factory=list)
