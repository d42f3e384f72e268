"""The vendor-independent device model (``Device``): what every firewall parser produces
and the only thing checks and the engine read.

A device has interfaces (its own names; each bound to a topology zone by the topology or
``--interface-map``), vendor zones (name → member interfaces), optional destination
translation applied before its policy, and an ordered list of policy ``Stage`` s.

**Evaluation** (``evaluate.py`` is the reference; the BDD engine compiles the same):

1. A packet is on one *path*: ``forward`` (through the device), ``input`` (to one of its
   own addresses) or ``output`` (from them), with an input and/or output interface.
2. Destination NAT (``Device.dnat``, first match in order) rewrites the destination.
   The policy then matches the translated destination, or the original one when
   ``Device.policy_addresses == "original"`` (PAN-OS pre-NAT addresses, FortiGate VIP
   objects); the topology judges the translated one.
3. ``Device.stages`` are taken **in list order**; a stage whose ``Scope`` does not apply
   to the packet is skipped. In an applying stage the first enabled rule whose match is
   true decides; no match → the stage default (``intrazone_default`` instead when the
   packet's input and output interfaces are in the same vendor zone). ``accept`` passes
   the packet on to the next applying stage; ``drop``/``reject`` end it. A packet that
   every applying stage accepted (or that no stage applies to) is forwarded: a vendor
   with an implicit deny gives its stage ``default="drop"``.
4. An opaque atom makes a match *MAY* (expr.py). A MAY rule adds its action to the
   possible outcomes and evaluation continues with the next rule, so a verdict is a set
   of possible actions; ``unknown`` (NFQUEUE, an unsupported target) may be anything.
5. A rule may call a user chain through a ``ChainVerdict`` atom (expr.py): netfilter
   rulesets whose jumps would copy a chain too often are lowered that way (one stage
   rule per outcome of the called chain) instead of inlined. Inside a ``Chain``, rules
   also have the actions ``return`` (back to the caller), ``jump`` (run ``target``; a
   packet it returns goes on with the next rule) and ``goto`` (run ``target``; a packet
   it returns goes back to this chain's caller). A packet reaching a chain's end returns.

Netfilter maps onto this directly: one stage per base chain, ``Scope(paths, hook,
priority)``, stages ordered by hook then priority (``NETFILTER_HOOKS``). A zone-based
vendor uses one ``global`` stage whose rules carry ``Zones`` atoms, or stages scoped to a
zone pair; an interface-ACL vendor uses ``Scope(interface=…, direction="in"/"out")``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from segverify.errors import InputError
from segverify.firewall.ir.atoms import Opaque
from segverify.firewall.ir.expr import TRUE, Chain, Expr, chains_in, opaque_atoms
from segverify.firewall.ir.provenance import NO_ORIGIN, Origin
from segverify.i18n import Msg
from segverify.topology.model import IPNetwork, Location

ACTIONS = ("accept", "drop", "reject")
UNKNOWN_ACTION = "unknown"
RULE_ACTIONS = ACTIONS + (UNKNOWN_ACTION,)
CHAIN_ACTIONS = RULE_ACTIONS + ("return", "jump", "goto")  # rules of a user ``Chain`` only
PATHS = ("forward", "input", "output")
NETFILTER_HOOKS = ("prerouting", "input", "forward", "output", "postrouting")
HOOK_PATHS = {
    "prerouting": ("forward", "input"),
    "input": ("input",),
    "forward": ("forward",),
    "output": ("output",),
    "postrouting": ("forward", "output"),
}


@dataclass(frozen=True)
class Interface:
    """One interface of the device. ``zone`` is the topology zone (None until bound);
    ``addresses`` the device's own addresses on it (hosts or connected prefixes)."""

    name: str
    zone: str | None = None
    addresses: tuple[IPNetwork, ...] = ()
    loopback: bool = False
    origin: Origin = NO_ORIGIN


@dataclass(frozen=True)
class VendorZone:
    """A vendor zone (FortiGate zone, PAN-OS/SRX security zone, ASA nameif when policies
    name interfaces): a name and its member interfaces."""

    name: str
    interfaces: tuple[str, ...]
    origin: Origin = NO_ORIGIN


@dataclass(frozen=True)
class Scope:
    """Which packets a stage sees.

    ``paths``: the packet paths it applies to. ``hook``/``priority``: the netfilter hook
    and priority (informational for vendors: "forward"/"input"). ``interface`` with
    ``direction`` ("in"/"out"): only packets entering/leaving that interface (interface
    ACLs). ``from_zones``/``to_zones``: only packets whose input/output interface is in
    one of these vendor zones (zone-pair policy sections); None = any. ``family``: only
    IPv4 (4) or IPv6 (6) packets; the other family passes the stage untouched."""

    paths: tuple[str, ...] = ("forward",)
    hook: str = "forward"
    priority: int = 0
    interface: str | None = None
    direction: str | None = None
    from_zones: tuple[str, ...] | None = None
    to_zones: tuple[str, ...] | None = None
    family: int | None = None

    @property
    def kind(self) -> str:
        if self.interface is not None:
            return "interface"
        if self.from_zones is not None or self.to_zones is not None:
            return "zone-pair"
        return "global"


@dataclass(frozen=True)
class Rule:
    """``action`` (``RULE_ACTIONS``) when ``match`` holds. ``origin`` names the line, the
    vendor policy id/name and context; disabled rules are kept as evidence only."""

    action: str
    match: Expr = TRUE
    origin: Origin = NO_ORIGIN
    enabled: bool = True
    comment: str = ""
    # a vendor built-in behaviour modelled as a rule (ASA security levels and default ICMP
    # to the box, SRX null zone), or a line whose deletion changes a built-in default the
    # model does not show as a rule (ASA's only `icmp deny … IF` of an interface): never
    # reported shadowed or redundant
    implicit: bool = False
    # the called chain of a ``jump``/``goto`` rule (inside a user ``Chain`` only)
    target: Chain | None = None

    @property
    def opaque(self) -> tuple[Opaque, ...]:
        return opaque_atoms(self.match)

    @property
    def exact(self) -> bool:
        return self.action != UNKNOWN_ACTION and not self.opaque


@dataclass(frozen=True)
class Stage:
    """An ordered first-match list (a base chain, an ACL, a rulebase, a zone-pair section)."""

    name: str
    rules: tuple[Rule, ...]
    default: str  # accept / drop / reject for packets no rule matches
    scope: Scope = Scope()
    intrazone_default: str | None = None  # when in and out interface share a vendor zone
    origin: Origin = NO_ORIGIN


@dataclass(frozen=True)
class DestNat:
    """Destination translation applied before the policy (first match wins).

    Packets matching ``match`` get destination ``to_address`` (None: unchanged) and
    destination port ``to_port`` (None: unchanged; only port-carrying protocols)."""

    match: Expr
    to_address: str | None = None
    to_port: int | None = None
    origin: Origin = NO_ORIGIN


@dataclass(frozen=True)
class ObjectDef:
    """A named object the configuration defines (address, group, service, schedule…),
    for the unused-objects check: used when some rule's expression carries an origin
    with the same ``kind`` and ``name``."""

    kind: str
    name: str
    origin: Origin = NO_ORIGIN


@dataclass
class Device:
    """One firewall as the vendor configures it, in vendor-independent terms."""

    name: str
    vendor: str
    source: str
    stages: list[Stage] = field(default_factory=list)
    interfaces: dict[str, Interface] = field(default_factory=dict)
    zones: dict[str, VendorZone] = field(default_factory=dict)
    dnat: list[DestNat] = field(default_factory=list)
    policy_addresses: str = "translated"  # or "original": what rules' dst atoms match
    objects: list[ObjectDef] = field(default_factory=list)
    warnings: list[tuple[Location | None, str]] = field(default_factory=list)

    def warn(self, location: Location | None, message: str) -> None:
        """Record a construct the device accepts and segverify does not model."""
        self.warnings.append((location, message))

    @property
    def rules(self) -> list[Rule]:
        return [r for s in self.stages for r in s.rules]

    def shared_chains(self) -> tuple[Chain, ...]:
        """The user chains the stage rules call (``ChainVerdict``), each once."""
        out: dict[int, Chain] = {}
        for r in self.rules:
            for c in chains_in(r.match):
                out.setdefault(id(c), c)
        return tuple(out.values())

    @property
    def unknown_atoms(self) -> list[Opaque]:
        return [a for r in self.rules if r.enabled for a in r.opaque if a.kind == "unknown"]

    @property
    def incomplete(self) -> bool:
        """Part of the configuration was not understood: warnings, unknown atoms or
        unknown actions. Opaque atoms of other kinds are understood (findings say "may")."""
        return bool(self.warnings) or any(
            r.enabled and (r.action == UNKNOWN_ACTION or any(a.kind == "unknown" for a in r.opaque))
            for r in self.rules
        )

    def shared_interfaces(self) -> dict[str, tuple[str, ...]]:
        """Interfaces that are members of more than one vendor zone → those zones. No
        vendor allows that (an interface is in at most one zone); bound devices never have
        one (``bind_device`` and ``compile_device`` refuse it)."""
        seen: dict[str, list[str]] = {}
        for z in self.zones.values():
            for i in dict.fromkeys(z.interfaces):
                seen.setdefault(i, []).append(z.name)
        return {i: tuple(zs) for i, zs in seen.items() if len(zs) > 1}

    def check_zones(self) -> None:
        """Raise ``InputError`` when an interface is in two vendor zones."""
        shared = self.shared_interfaces()
        if shared:
            what = "; ".join(f"{i} in {', '.join(zs)}" for i, zs in sorted(shared.items()))
            raise InputError(
                Msg("error.firewall.ir.device.interface_more_than_one_vendor", what=what),
                self.source,
            )

    def vendor_zone_of(self, interface: str) -> str | None:
        for z in self.zones.values():
            if interface in z.interfaces:
                return z.name
        return None

    def interface_zones(self) -> dict[str, str]:
        """Interface → topology zone, for the interfaces that are bound."""
        return {n: i.zone for n, i in self.interfaces.items() if i.zone is not None}
