"""Match atoms: the leaves of a rule's match expression.

*Header atoms* are decided exactly by a packet's headers (addresses, protocol, ports,
ICMP type/code, connection state, TCP flags, interfaces, vendor zones, IP family). An
``Opaque`` atom is something a header cannot decide (a schedule, an application, a user,
a URL category, a rate limit, a firewall mark, an FQDN object, a line the parser did not
understand): it evaluates to *may match*. See ``expr.py`` for how that propagates.

Atoms are frozen and hashable; the engine caches their encodings, so build one atom per
vendor object and reuse it in every rule that names the object.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from segverify.firewall.ir.provenance import NO_ORIGIN, Origin
from segverify.topology.model import IPNetwork, PortRange

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

CT_STATES = ("new", "established", "related", "invalid", "untracked")
PORT_PROTOCOLS = (6, 17, 33, 132, 136)  # tcp, udp, dccp, sctp, udplite
ICMP_PROTOCOLS = (1, 58)
TCP_FLAGS = {"fin": 0x01, "syn": 0x02, "rst": 0x04, "psh": 0x08, "ack": 0x10, "urg": 0x20}
TCP_FLAGS.update({"ece": 0x40, "cwr": 0x80})

OPAQUE_KINDS = (
    "unknown",  # not understood by the parser: makes the analysis incomplete
    "schedule",
    "application",
    "user",
    "url-category",
    "fqdn",
    "geo",
    "limit",
    "mark",
    "other",  # understood, not decidable from headers (give a descriptive text)
)


@dataclass(frozen=True)
class Family:
    """IP version 4 or 6."""

    version: int
    origin: Origin = NO_ORIGIN


@dataclass(frozen=True)
class Addresses:
    """``field`` ("src" or "dst") lies in the union of ``nets`` and inclusive ``ranges``.

    Both families may be mixed; a packet of a family with no entry does not match. Negate
    with ``Not``. ``origin`` names the address object or group (kind "address"/"addrgrp").
    An empty union matches nothing (a vendor group with no members)."""

    field: str
    nets: tuple[IPNetwork, ...] = ()
    ranges: tuple[tuple[IPAddress, IPAddress], ...] = ()
    origin: Origin = NO_ORIGIN


@dataclass(frozen=True)
class Protocols:
    """The IP protocol (IPv6: upper-layer protocol) is one of ``numbers``."""

    numbers: tuple[int, ...]
    origin: Origin = NO_ORIGIN


@dataclass(frozen=True)
class Ports:
    """``field`` ("sport"/"dport") of a port-carrying protocol lies in ``ranges``.
    Packets of protocols without ports do not match (so ``Not(Ports)`` matches them)."""

    field: str
    ranges: tuple[PortRange, ...]
    origin: Origin = NO_ORIGIN


@dataclass(frozen=True)
class Icmp:
    """ICMP (protocol 1 or 58) with ``type`` (None: any) and ``code`` (None: any)."""

    type: int | None = None
    code: int | None = None
    origin: Origin = NO_ORIGIN


@dataclass(frozen=True)
class ConnState:
    """Connection-tracking state is one of ``states`` (subset of ``CT_STATES``). A vendor
    stateful policy evaluates only ``new``; it needs no atom."""

    states: tuple[str, ...]
    origin: Origin = NO_ORIGIN


@dataclass(frozen=True)
class TcpFlags:
    """TCP and ``flags & mask == value`` (bits as in ``TCP_FLAGS``; ``--syn`` is
    mask SYN|RST|ACK|FIN, value SYN). Packets of other protocols do not match."""

    mask: int
    value: int
    origin: Origin = NO_ORIGIN


@dataclass(frozen=True)
class Interfaces:
    """The packet's input (``side="in"``) or output (``"out"``) interface is one of
    ``names``; a trailing ``*`` is a prefix wildcard (iptables ``eth+``). Names are the
    device's own; the topology binding checks every one is known."""

    side: str
    names: tuple[str, ...]
    origin: Origin = NO_ORIGIN


@dataclass(frozen=True)
class Zones:
    """The input/output interface belongs to one of the vendor zones ``names``
    (``Device.zones``). FortiGate interface names in policies may also be zone names."""

    side: str
    names: tuple[str, ...]
    origin: Origin = NO_ORIGIN


@dataclass(frozen=True)
class Opaque:
    """Not decidable from a packet header: always *may match*.

    ``kind`` is one of ``OPAQUE_KINDS``; ``text`` the construct as written. Only kind
    "unknown" makes the analysis incomplete; the others are understood constructs whose
    effect depends on something outside the headers. For forbidden-permit checks an
    accept rule that may match may permit, and a deny rule that may match may not block.
    """

    kind: str
    text: str
    origin: Origin = NO_ORIGIN


Atom = Family | Addresses | Protocols | Ports | Icmp | ConnState | TcpFlags | Interfaces | Zones
HEADER_ATOMS = (Family, Addresses, Protocols, Ports, Icmp, ConnState, TcpFlags, Interfaces, Zones)


def iface_matches(pattern: str, name: str) -> bool:
    """Interface name pattern: exact, or ``prefix*``."""
    if pattern.endswith("*"):
        return name.startswith(pattern[:-1])
    return name == pattern
