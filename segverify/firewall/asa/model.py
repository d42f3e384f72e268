"""The Cisco ASA configuration as written (vendor model): objects, ACLs, bindings.

Filled by ``parse.py`` from ``show running-config``; lowered to the IR by ``lower.py``.
Names and entries are kept as the file spells them, each with its ``Location``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from segverify.topology.model import IPNetwork, Location


@dataclass
class AsaInterface:
    hardware: str
    location: Location
    nameif: str | None = None
    security_level: int | None = None
    level_location: Location | None = None
    addresses: list[IPNetwork] = field(default_factory=list)
    shutdown: bool = False
    management_only: bool = False


@dataclass(frozen=True)
class Member:
    """One line of an object or group: ``kind`` is "net", "range", "fqdn", "object",
    "group" (network); "service" (a ``ServiceEntry``), "object", "group" (service);
    "protocol", "group" (protocol); "icmp", "group" (icmp-type)."""

    kind: str
    value: object
    location: Location
    text: str


@dataclass(frozen=True)
class PortMatch:
    """``eq|neq|lt|gt P`` or ``range A B`` (as written) and its port ranges."""

    text: str
    ranges: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class ServiceEntry:
    """``service tcp source eq 1 destination range 80 90`` / ``service icmp echo 0``:
    ``protocol`` is a name ("tcp-udp", "ip") or number; icmp type/code for ICMP."""

    protocol: str
    source: PortMatch | None = None
    destination: PortMatch | None = None
    icmp_type: int | None = None
    icmp_code: int | None = None


@dataclass
class AsaObject:
    """``object network|service NAME`` or ``object-group network|service|protocol|icmp-type
    NAME [tcp|udp|tcp-udp]``; ``group`` tells which."""

    kind: str  # network, service, protocol, icmp-type
    name: str
    group: bool
    location: Location
    text: str
    members: list[Member] = field(default_factory=list)
    port_type: str | None = None  # typed service group: tcp, udp, tcp-udp


@dataclass(frozen=True)
class AddressSpec:
    """An ACL address operand: kind any/any4/any6/net/object/group/interface/opaque."""

    kind: str
    value: object = None
    text: str = ""


@dataclass
class AclEntry:
    acl: str
    line_no: int  # ASA "line N" (remarks count)
    action: str  # permit / deny
    location: Location
    text: str
    protocol: str  # ip/tcp/… name or number; "object" / "object-group" with ``protocol_ref``
    protocol_ref: str | None = None
    source: AddressSpec = AddressSpec("any")
    source_port: PortMatch | str | None = None  # PortMatch, or a port group name
    destination: AddressSpec = AddressSpec("any")
    destination_port: PortMatch | str | None = None
    icmp: tuple[int | None, int | None] | str | None = None  # (type, code) or icmp group
    time_range: str | None = None
    inactive: bool = False
    remark: str = ""
    opaque: tuple[tuple[str, str], ...] = ()  # (kind, text): user, security-group…


@dataclass(frozen=True)
class AccessGroup:
    acl: str
    direction: str  # in / out / global
    interface: str | None
    location: Location
    text: str


@dataclass(frozen=True)
class StaticNat:
    """A static destination-relevant NAT: packets arriving on ``mapped_if`` for the mapped
    addresses reach the real ones (object NAT, or twice NAT's destination part)."""

    real: tuple[str, object]  # ("object"/"group"/"inline", value)
    mapped: tuple[str, object]
    real_if: str
    mapped_if: str
    location: Location
    text: str
    service: tuple[str, int, int] | None = None  # protocol, real port, mapped port
    source_real: tuple[str, object] | None = None  # twice NAT: the source it applies to


@dataclass
class Management:
    """``ssh|telnet|http NET MASK IF`` and ``icmp permit|deny …`` to-the-box lines."""

    service: str  # ssh, telnet, http, icmp
    action: str
    network: IPNetwork | None
    interface: str
    location: Location
    text: str
    icmp_type: int | None = None


@dataclass
class AsaConfig:
    file: str
    hostname: str = "asa"
    interfaces: dict[str, AsaInterface] = field(default_factory=dict)  # by hardware name
    objects: dict[str, AsaObject] = field(default_factory=dict)  # "object network" etc.
    groups: dict[str, AsaObject] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)  # name → IP
    time_ranges: dict[str, Location] = field(default_factory=dict)
    acls: dict[str, list[AclEntry]] = field(default_factory=dict)
    standard_acls: set[str] = field(default_factory=set)
    access_groups: list[AccessGroup] = field(default_factory=list)
    nats: list[StaticNat] = field(default_factory=list)
    management: list[Management] = field(default_factory=list)
    http_port: int = 443
    same_inter: Location | None = None
    same_intra: Location | None = None
    warnings: list[tuple[Location, str]] = field(default_factory=list)

    def nameifs(self) -> dict[str, AsaInterface]:
        return {i.nameif: i for i in self.interfaces.values() if i.nameif}
