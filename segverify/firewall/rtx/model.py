"""The YAMAHA RTX configuration as written (vendor model): ``ip filter`` definitions,
``ip filter dynamic`` definitions and the per-interface ``secure filter`` lists."""

from __future__ import annotations

from dataclasses import dataclass, field

from segverify.topology.model import IPNetwork, Location


@dataclass(frozen=True)
class Filter:
    """``ip filter N ACTION SRC DST PROTO SPORT DPORT`` (``ipv6 filter`` when family 6)."""

    family: int
    number: int
    action: str  # pass / reject / restrict (the -log/-nolog suffix removed)
    source: str
    destination: str
    protocol: str
    source_port: str
    destination_port: str
    location: Location
    text: str


@dataclass(frozen=True)
class DynamicFilter:
    """``ip filter dynamic N SRC DST PROTO|filter …``: passes the return traffic of
    connections that a static filter let out."""

    family: int
    number: int
    source: str
    destination: str
    protocol: str
    location: Location
    text: str


@dataclass(frozen=True)
class SecureFilter:
    """``ip IF secure filter in|out N… [dynamic D…]`` in the order written."""

    family: int
    interface: str
    direction: str
    static: tuple[int, ...]
    dynamic: tuple[int, ...]
    location: Location
    text: str


@dataclass(frozen=True)
class StaticNat:
    """``nat descriptor masquerade static ID N INNER PROTO [OUTER=]INNER_PORT`` or
    ``nat descriptor static ID N OUTER=INNER``: traffic to the outer side reaches INNER."""

    descriptor: str
    inner: str
    outer: str | None
    protocol: str | None
    outer_port: int | None
    inner_port: int | None
    location: Location
    text: str


@dataclass
class RtxConfig:
    file: str
    model: str = "rtx"
    interfaces: dict[str, list[IPNetwork]] = field(default_factory=dict)
    interface_locations: dict[str, Location] = field(default_factory=dict)
    filters: dict[tuple[int, int], Filter] = field(default_factory=dict)
    dynamic: dict[tuple[int, int], DynamicFilter] = field(default_factory=dict)
    secure: list[SecureFilter] = field(default_factory=list)
    nat_interfaces: dict[str, list[str]] = field(default_factory=dict)  # descriptor → interfaces
    nat_static: list[StaticNat] = field(default_factory=list)
    warnings: list[tuple[Location, str]] = field(default_factory=list)
