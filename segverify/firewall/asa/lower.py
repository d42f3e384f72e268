"""``AsaConfig`` → IR ``Device`` (the one place ASA semantics are encoded).

Stages, in order, for transit traffic (path ``forward``):

1. One inbound stage per interface: its ``access-group … in`` ACL followed by the
   ``global`` ACL's entries (interface rules first, then global, then the implicit deny).
   No entry can open what the ASA never forwards, so every permitting entry also requires
   the egress not to be an interface of the same security level (unless
   ``same-security-traffic permit inter-interface``), the ingress itself (unless
   ``… intra-interface``) or a management-only interface.
   With neither ACL, the security levels decide: the packet may leave by an interface of
   a lower (or, when permitted, equal) level. A management-only interface passes nothing.
2. One outbound stage per ``access-group … out``, with its implicit deny.

Traffic to the device itself (path ``input``) is what ``ssh``/``telnet``/``http``/``icmp``
allow, to the address of the interface the packet arrives on; ACLs do not filter it.
Post-8.3 ACLs match real addresses: static NAT is a destination translation applied before
the policy (``policy_addresses="translated"``).
"""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from functools import lru_cache

from segverify.errors import InputError
from segverify.firewall.asa.model import (
    AccessGroup,
    AclEntry,
    AddressSpec,
    AsaConfig,
    AsaObject,
    Member,
    PortMatch,
    ServiceEntry,
    StaticNat,
)
from segverify.firewall.asa.names import icmp_type, protocol_number
from segverify.firewall.ir import (
    FALSE,
    TRUE,
    Addresses,
    DestNat,
    Device,
    Expr,
    Icmp,
    Interface,
    Interfaces,
    Named,
    ObjectDef,
    Opaque,
    Origin,
    Ports,
    Protocols,
    Rule,
    Scope,
    Stage,
    all_of,
    any_of,
    at,
    named,
    negate,
)
from segverify.i18n import Msg
from segverify.topology.model import Location, PortRange

MAX_DEPTH = 32
ANY4 = ipaddress.ip_network("0.0.0.0/0")
ANY6 = ipaddress.ip_network("::/0")


def _at(loc: Location, text: str, **names: str) -> Origin:
    return at(loc.file, loc.line, text, **names)


def _ranges(pm: PortMatch) -> tuple[PortRange, ...]:
    return tuple(PortRange(lo, hi) for lo, hi in pm.ranges)


def _ports(field: str, pm: PortMatch) -> Expr:
    return Ports(field, _ranges(pm)) if pm.ranges else FALSE


@lru_cache(maxsize=512)
def _protocols(word: str) -> Expr:
    if word == "ip":
        return TRUE
    if word == "tcp-udp":
        return Protocols((6, 17))
    n = protocol_number(word)
    assert n is not None  # the parser checked
    return Protocols((n,))


@lru_cache(maxsize=4096)
def service_expr(s: ServiceEntry) -> Expr:
    """One ``service …`` / ``service-object …`` entry as a match expression."""
    if s.protocol in ("icmp", "icmp6", "1", "58"):
        proto = Protocols((58,) if s.protocol in ("icmp6", "58") else (1,))
        if s.icmp_type is None:
            return proto
        return all_of(proto, Icmp(s.icmp_type, s.icmp_code))
    parts = [_protocols(s.protocol)]
    if s.source is not None:
        parts.append(_ports("sport", s.source))
    if s.destination is not None:
        parts.append(_ports("dport", s.destination))
    return all_of(*parts)


class _Lower:
    def __init__(self, cfg: AsaConfig) -> None:
        self.cfg = cfg
        self.cache: dict[tuple[str, ...], Expr] = {}
        self.nameifs = cfg.nameifs()

    def err(self, loc: Location, msg: str) -> InputError:
        return InputError(msg, loc.file, loc.line)

    # ------------------------------------------------------------------ addresses

    def _member_addr(self, m: Member, field: str, grp: str, stack: tuple[str, ...]) -> Expr:
        if m.kind == "net":
            return Addresses(field, (m.value,), (), _at(m.location, m.text))  # type: ignore[arg-type]
        if m.kind == "range":
            return Addresses(field, (), (m.value,), _at(m.location, m.text))  # type: ignore[arg-type]
        if m.kind == "fqdn":
            return Opaque("fqdn", str(m.value), _at(m.location, m.text))
        if m.kind == "object":
            return self.net_object(str(m.value), field, m.location)
        if m.kind == "group":
            return self.net_group(str(m.value), field, m.location, stack + (grp,))
        raise self.err(m.location, Msg("error.firewall.asa.lower.not_network_member", text=m.text))

    def net_object(self, name: str, field: str, used_at: Location) -> Expr:
        key = ("netobj", name, field)
        if key in self.cache:
            return self.cache[key]
        obj = self.cfg.objects.get(name)
        if obj is None or obj.kind != "network":
            raise self.err(
                used_at, Msg("error.firewall.asa.parse.network_object_not_defined", name=name)
            )
        values = [m for m in obj.members if m.kind != "nat"]
        if not values:
            raise self.err(
                obj.location,
                Msg("error.firewall.asa.lower.object_network_has_no_address", name=name),
            )
        m = values[-1]
        o = _at(obj.location, obj.text, kind="object network", name=name)
        if m.kind == "net":
            e: Expr = Addresses(field, (m.value,), (), o)  # type: ignore[arg-type]
        elif m.kind == "range":
            e = Addresses(field, (), (m.value,), o)  # type: ignore[arg-type]
        else:
            e = Opaque("fqdn", str(m.value), o)
        self.cache[key] = e
        return e

    def _group(self, name: str, kind: str, used_at: Location, stack: tuple[str, ...]) -> AsaObject:
        g = self.cfg.groups.get(name)
        if g is None or g.kind != kind:
            raise self.err(
                used_at,
                Msg("error.firewall.asa.lower.object_group_not_defined", kind=kind, name=name),
            )
        if name in stack:
            raise self.err(
                g.location,
                Msg(
                    "error.firewall.asa.lower.object_group_contains_itself",
                    name=name,
                    stack=" > ".join(stack),
                ),
            )
        if len(stack) > MAX_DEPTH:
            raise self.err(
                g.location,
                Msg(
                    "error.firewall.asa.lower.object_group_nested_deeper_than",
                    name=name,
                    limit=MAX_DEPTH,
                ),
            )
        return g

    def net_group(
        self, name: str, field: str, used_at: Location, stack: tuple[str, ...] = ()
    ) -> Expr:
        key = ("netgrp", name, field)
        if key in self.cache:
            return self.cache[key]
        g = self._group(name, "network", used_at, stack)
        members = [self._member_addr(m, field, name, stack) for m in g.members]
        e = named(any_of(*members), _at(g.location, g.text, kind="object-group network", name=name))
        self.cache[key] = e
        return e

    def address(self, spec: AddressSpec, field: str, loc: Location) -> Expr:
        if spec.kind == "any":
            return TRUE
        if spec.kind in ("any4", "any6"):
            net = ANY4 if spec.kind == "any4" else ANY6
            return Addresses(field, (net,), (), _at(loc, spec.text, kind=spec.kind))
        if spec.kind == "net":
            return Addresses(field, (spec.value,), (), _at(loc, spec.text))  # type: ignore[arg-type]
        if spec.kind == "object":
            return self.net_object(str(spec.value), field, loc)
        if spec.kind == "group":
            return self.net_group(str(spec.value), field, loc)
        if spec.kind == "interface":
            itf = self.nameifs.get(str(spec.value))
            if itf is None:
                raise self.err(
                    loc, Msg("error.firewall.asa.lower.interface_has_no_nameif", name=spec.value)
                )
            return Addresses(
                field,
                tuple(itf.addresses),
                (),
                _at(loc, spec.text, kind="interface", name=str(spec.value)),
            )
        raise self.err(loc, Msg("error.firewall.asa.lower.address_not_understood", text=spec.text))

    # ------------------------------------------------------------------ services

    def svc_object(self, name: str, used_at: Location) -> Expr:
        key = ("svcobj", name)
        if key in self.cache:
            return self.cache[key]
        obj = self.cfg.objects.get(name)
        if obj is None or obj.kind != "service":
            e = self._builtin_service(name)
            if e is None:
                raise self.err(
                    used_at, Msg("error.firewall.asa.lower.service_object_not_defined", name=name)
                )
            return e
        if not obj.members:
            raise self.err(
                obj.location,
                Msg("error.firewall.asa.lower.object_service_has_no_service", name=name),
            )
        entry = obj.members[-1].value
        assert isinstance(entry, ServiceEntry)
        e = named(
            service_expr(entry), _at(obj.location, obj.text, kind="object service", name=name)
        )
        self.cache[key] = e
        return e

    @staticmethod
    def _builtin_service(name: str) -> Expr | None:
        """Protocol keywords (``object icmp``, ``object ospf``) and ``icmp-<type>`` work
        as service objects on the ASA without a definition."""
        if name == "ip":
            return TRUE
        n = protocol_number(name)
        if n is not None and not name.isdigit():
            return Protocols((n,))
        if name.startswith("icmp-"):
            t = icmp_type(name[5:])
            if t is not None:
                return all_of(Protocols((1,)), Icmp(t, None))
        return None

    def svc_group(self, name: str, used_at: Location, stack: tuple[str, ...] = ()) -> Expr:
        """A service group in the protocol position: the services it lists."""
        key = ("svcgrp", name)
        if key in self.cache:
            return self.cache[key]
        g = self._group(name, "service", used_at, stack)
        o = _at(g.location, g.text, kind="object-group service", name=name)
        if g.port_type is not None:
            proto = _protocols(g.port_type)
            e = named(all_of(proto, self.port_group(name, "dport", used_at, stack)), o)
            self.cache[key] = e
            return e
        members: list[Expr] = []
        for m in g.members:
            if m.kind == "service":
                assert isinstance(m.value, ServiceEntry)
                members.append(named(service_expr(m.value), _at(m.location, m.text)))
            elif m.kind == "object":
                members.append(self.svc_object(str(m.value), m.location))
            elif m.kind == "group":
                members.append(self.svc_group(str(m.value), m.location, stack + (name,)))
            else:
                raise self.err(
                    m.location, Msg("error.firewall.asa.lower.not_valid_service_group", text=m.text)
                )
        e = named(any_of(*members), o)
        self.cache[key] = e
        return e

    def port_group(
        self, name: str, field: str, used_at: Location, stack: tuple[str, ...] = ()
    ) -> Expr:
        """A ``tcp``/``udp``/``tcp-udp`` service group used as a port operand."""
        key = ("portgrp", name, field)
        if key in self.cache:
            return self.cache[key]
        g = self._group(name, "service", used_at, stack)
        if g.port_type is None:
            raise self.err(
                used_at, Msg("error.firewall.asa.lower.object_group_service_has_no", name=name)
            )
        members: list[Expr] = []
        for m in g.members:
            if m.kind == "port":
                assert isinstance(m.value, PortMatch)
                pe = _ports(field, m.value)
                members.append(named(pe, _at(m.location, m.text)) if pe != FALSE else FALSE)
            elif m.kind == "group":
                members.append(self.port_group(str(m.value), field, m.location, stack + (name,)))
        e = named(any_of(*members), _at(g.location, g.text, kind="object-group service", name=name))
        self.cache[key] = e
        return e

    def proto_group(self, name: str, used_at: Location, stack: tuple[str, ...] = ()) -> Expr:
        key = ("protogrp", name)
        if key in self.cache:
            return self.cache[key]
        g = self._group(name, "protocol", used_at, stack)
        members: list[Expr] = []
        for m in g.members:
            if m.kind == "protocol":
                members.append(_protocols(str(m.value)))
            else:
                members.append(self.proto_group(str(m.value), m.location, stack + (name,)))
        e = named(
            any_of(*members), _at(g.location, g.text, kind="object-group protocol", name=name)
        )
        self.cache[key] = e
        return e

    def icmp_group(self, name: str, used_at: Location, stack: tuple[str, ...] = ()) -> Expr:
        key = ("icmpgrp", name)
        if key in self.cache:
            return self.cache[key]
        g = self._group(name, "icmp-type", used_at, stack)
        members: list[Expr] = []
        for m in g.members:
            if m.kind == "icmp":
                members.append(Icmp(int(m.value), None, _at(m.location, m.text)))  # type: ignore[call-overload]
            else:
                members.append(self.icmp_group(str(m.value), m.location, stack + (name,)))
        e = named(
            any_of(*members), _at(g.location, g.text, kind="object-group icmp-type", name=name)
        )
        self.cache[key] = e
        return e

    # ------------------------------------------------------------------ ACL entries

    def entry(self, e: AclEntry, binding: AccessGroup) -> Rule:
        loc = e.location
        if e.protocol == "object":
            proto = self.svc_object(str(e.protocol_ref), loc)
        elif e.protocol == "object-group":
            g = self.cfg.groups.get(str(e.protocol_ref))
            if g is not None and g.kind == "protocol":
                proto = self.proto_group(g.name, loc)
            else:
                proto = self.svc_group(str(e.protocol_ref), loc)
        else:
            proto = _protocols(e.protocol)
            if e.protocol in ("icmp", "icmp6", "1", "58") and e.icmp is not None:
                if isinstance(e.icmp, str):
                    proto = all_of(proto, self.icmp_group(e.icmp, loc))
                else:
                    proto = all_of(proto, Icmp(e.icmp[0], e.icmp[1]))
        parts = [proto, self.address(e.source, "src", loc)]
        for field, op in (("sport", e.source_port), ("dport", e.destination_port)):
            if isinstance(op, PortMatch):
                parts.append(_ports(field, op))
            elif isinstance(op, str):
                parts.append(self.port_group(op, field, loc))
        parts.append(self.address(e.destination, "dst", loc))
        if e.time_range is not None:
            tr = self.cfg.time_ranges.get(e.time_range)
            if tr is None:
                raise self.err(
                    loc, Msg("error.firewall.asa.lower.time_range_not_defined", name=e.time_range)
                )
            parts.append(
                Opaque(
                    "schedule",
                    e.time_range,
                    _at(tr, f"time-range {e.time_range}", kind="time-range", name=e.time_range),
                )
            )
        for kind, text in e.opaque:
            parts.append(Opaque(kind, text, _at(loc, e.text)))
        ctx = (
            binding.text if binding.direction != "global" else f"access-group {binding.acl} global"
        )
        origin = Origin(loc, e.text, "access-list", str(e.line_no), e.acl, (binding.location,), ctx)
        action = "accept" if e.action == "permit" else "drop"
        return Rule(action, all_of(*parts), origin, enabled=not e.inactive, comment=e.remark)

    def acl_rules(self, binding: AccessGroup) -> list[Rule]:
        if binding.acl not in self.cfg.acls:
            if binding.acl in self.cfg.standard_acls:
                raise self.err(
                    binding.location,
                    Msg("error.firewall.asa.lower.access_list_standard_acl", name=binding.acl),
                )
            raise self.err(
                binding.location,
                Msg("error.firewall.asa.lower.access_list_not_defined", name=binding.acl),
            )
        return [self.entry(e, binding) for e in self.cfg.acls[binding.acl]]

    # ------------------------------------------------------------------ NAT

    def _nat_side(self, ref: tuple[str, object], field: str, loc: Location) -> Expr:
        kind, value = ref
        name = str(value)
        if kind == "inline":
            try:
                net = ipaddress.ip_network(name, strict=False)
            except ValueError:
                raise self.err(loc, Msg("error.common.not_address", name=name)) from None
            return Addresses(field, (net,), (), _at(loc, name))
        if name == "any":
            return TRUE
        if name in self.cfg.objects:
            return self.net_object(name, field, loc)
        return self.net_group(name, field, loc)

    @staticmethod
    def _hosts(e: Expr) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address] | None:
        """The addresses of a NAT operand in order (None: not a finite small list)."""
        if isinstance(e, Addresses) and len(e.nets) + len(e.ranges) == 1:
            if e.nets:
                net = e.nets[0]
                return list(net) if net.num_addresses <= 256 else None
            lo, hi = e.ranges[0]
            if int(hi) - int(lo) < 256:
                return [ipaddress.ip_address(int(lo) + k) for k in range(int(hi) - int(lo) + 1)]
        return None

    def dnat(self, dev: Device) -> None:
        for nat in self.cfg.nats:
            o = _at(nat.location, nat.text, kind="nat")
            if nat.mapped[0] == "interface":
                itf = self.nameifs.get(nat.mapped_if)
                if itf is None:
                    raise self.err(
                        nat.location,
                        Msg(
                            "error.firewall.asa.lower.nat_interface_has_no_nameif",
                            name=nat.mapped_if,
                        ),
                    )
                mapped: Expr = Addresses("dst", tuple(itf.addresses), (), o)
            else:
                mapped = self._nat_side(nat.mapped, "dst", nat.location)
            real = self._nat_side(nat.real, "dst", nat.location)
            base = []
            if nat.mapped_if != "any":
                if nat.mapped_if not in self.nameifs:
                    raise self.err(
                        nat.location,
                        Msg(
                            "error.firewall.asa.lower.nat_interface_has_no_nameif",
                            name=nat.mapped_if,
                        ),
                    )
                base.append(Interfaces("in", (nat.mapped_if,)))
            if nat.source_real is not None:
                base.append(self._nat_side(nat.source_real, "src", nat.location))
            to_port = None
            if nat.service is not None:
                proto, real_port, mapped_port = nat.service
                base += [
                    Protocols((protocol_number(proto) or 0,)),
                    Ports("dport", (PortRange(mapped_port, mapped_port),)),
                ]
                to_port = real_port
            self._add_nat(dev, nat, base, mapped, real, to_port, o)

    def _add_nat(
        self,
        dev: Device,
        nat: StaticNat,
        base: list[Expr],
        mapped: Expr,
        real: Expr,
        to_port: int | None,
        o: Origin,
    ) -> None:
        reals = self._hosts(_unnamed(real))
        if reals is None:
            dev.warn(
                nat.location,
                Msg("warn.firewall.asa.lower.static_nat_more_than_256"),
            )
            return
        maps = self._hosts(_unnamed(mapped))
        if maps is None:
            if len(reals) == 1:  # many mapped → one real
                dev.dnat.append(DestNat(all_of(*base, mapped), str(reals[0]), to_port, o))
                return
            dev.warn(nat.location, Msg("warn.firewall.asa.lower.static_nat_between_address_groups"))
            return
        if len(maps) == 1 and len(reals) == 1:
            dev.dnat.append(DestNat(all_of(*base, mapped), str(reals[0]), to_port, o))
            return
        if len(maps) != len(reals):
            dev.warn(
                nat.location,
                Msg(
                    "warn.firewall.asa.lower.static_nat_maps_addresses_not",
                    mapped=len(maps),
                    real=len(reals),
                ),
            )
            return
        for m, r in zip(maps, reals, strict=True):
            hit = Addresses("dst", (ipaddress.ip_network(m),), (), o)
            dev.dnat.append(DestNat(all_of(*base, hit), str(r), to_port, o))

    # ------------------------------------------------------------------ device

    def device(self) -> Device:
        cfg = self.cfg
        dev = Device(name=cfg.hostname, vendor="cisco-asa", source=cfg.file)
        for loc, msg in cfg.warnings:
            dev.warn(loc, msg)
        levels: dict[str, int] = {}
        for itf in cfg.interfaces.values():
            if not itf.nameif:
                continue
            dev.interfaces[itf.nameif] = Interface(
                itf.nameif,
                addresses=tuple(itf.addresses),
                origin=_at(
                    itf.location, f"interface {itf.hardware}", kind="interface", name=itf.hardware
                ),
            )
            levels[itf.nameif] = (
                itf.security_level
                if itf.security_level is not None
                else (100 if itf.nameif == "inside" else 0)
            )
        self._objects(dev)
        bindings = self._bindings()
        self.dnat(dev)
        glob = bindings.get(("global", None))
        for name in dev.interfaces:
            dev.stages.append(self._inbound(name, bindings.get(("in", name)), glob, levels))
        for name in dev.interfaces:
            b = bindings.get(("out", name))
            if b is not None:
                dev.stages.append(
                    Stage(
                        f"access-group {b.acl} out interface {name}",
                        tuple(self.acl_rules(b)),
                        "drop",
                        Scope(interface=name, direction="out"),
                        origin=_at(b.location, b.text, kind="access-group", name=b.acl),
                    )
                )
        dev.stages.append(self._management(dev))
        bound = {b.acl for b in bindings.values()}
        for acl, entries in self.cfg.acls.items():
            if acl not in bound and entries:  # the device checks every entry's references
                probe = AccessGroup(acl, "global", None, entries[0].location, "")
                for e in entries:
                    self.entry(e, probe)
        return dev

    def _objects(self, dev: Device) -> None:
        for o in self.cfg.objects.values():
            dev.objects.append(ObjectDef(f"object {o.kind}", o.name, _at(o.location, o.text)))
        for g in self.cfg.groups.values():
            dev.objects.append(ObjectDef(f"object-group {g.kind}", g.name, _at(g.location, g.text)))
        for name, loc in self.cfg.time_ranges.items():
            dev.objects.append(ObjectDef("time-range", name, _at(loc, f"time-range {name}")))

    def _bindings(self) -> dict[tuple[str, str | None], AccessGroup]:
        out: dict[tuple[str, str | None], AccessGroup] = {}
        for b in self.cfg.access_groups:
            if b.interface is not None and b.interface not in self.nameifs:
                raise self.err(
                    b.location,
                    Msg(
                        "error.firewall.asa.lower.access_group_names_interface_which",
                        name=b.interface,
                        known=", ".join(self.nameifs) or "none",
                    ),
                )
            key = (b.direction, b.interface)
            if b.acl not in self.cfg.acls:
                self.acl_rules(b)  # raises the right error
            out[key] = b  # a later binding replaces an earlier one, as on the device
        return out

    def _blocked(self, name: str, levels: dict[str, int]) -> tuple[str, ...]:
        """Egress interfaces no ACL can open from ``name``: same level without
        ``same-security-traffic permit inter-interface``, itself without ``… intra-interface``,
        and management-only interfaces."""
        lvl = levels[name]
        out = []
        for other, lv in levels.items():
            if (
                self.nameifs[other].management_only
                or other == name
                and self.cfg.same_intra is None
                or other != name
                and lv == lvl
                and self.cfg.same_inter is None
            ):
                out.append(other)
        return tuple(out)

    def _inbound(
        self, name: str, acl: AccessGroup | None, glob: AccessGroup | None, levels: dict[str, int]
    ) -> Stage:
        scope = Scope(interface=name, direction="in")
        itf = self.nameifs[name]
        lvl = levels[name]
        where = itf.level_location or itf.location
        if itf.management_only:
            o = _at(
                itf.location,
                f"interface {itf.hardware} management-only: no transit traffic",
                kind="management-only",
                name=name,
            )
            return Stage(f"management-only {name}", (), "drop", scope, origin=o)
        blocked = self._blocked(name, levels)
        if acl is not None or glob is not None:
            rules: list[Rule] = []
            title = []
            if acl is not None:
                rules += self.acl_rules(acl)
                title.append(f"access-group {acl.acl} in interface {name}")
            if glob is not None:
                rules += self.acl_rules(glob)
                title.append(f"access-group {glob.acl} global")
            if blocked:  # what no ACL can open: no entry of this stage permits it
                text = f"security-level {lvl} ({name}): no traffic to {', '.join(blocked)} (same level, same interface or management-only)"
                guard = named(
                    negate(Interfaces("out", blocked)),
                    _at(where, text, kind="security-level", name=name),
                )
                rules = [
                    replace(r, match=all_of(r.match, guard)) if r.action == "accept" else r
                    for r in rules
                ]
            b = acl or glob
            assert b is not None
            return Stage(
                " + ".join(title),
                tuple(rules),
                "drop",
                scope,
                origin=_at(b.location, b.text, kind="access-group", name=b.acl),
            )
        allowed = tuple(n for n, lv in levels.items() if lv <= lvl and n not in blocked)
        o = _at(
            where,
            f"security-level {lvl} ({name}), no access-group in: to {', '.join(allowed) or 'nothing'}",
            kind="security-level",
            name=name,
        )
        rules = [Rule("accept", Interfaces("out", allowed), o, implicit=True)] if allowed else []
        return Stage(f"security-level {name}", tuple(rules), "drop", scope, origin=o)

    def _management(self, dev: Device) -> Stage:
        rules: list[Rule] = []
        ports = {"ssh": 22, "telnet": 23, "http": self.cfg.http_port}
        icmp_ifaces: list[str] = []
        icmp_lines: dict[str, int] = {}
        for m in self.cfg.management:
            if m.service == "icmp":
                icmp_lines[m.interface] = icmp_lines.get(m.interface, 0) + 1
        for m in self.cfg.management:
            if m.interface not in self.nameifs:
                raise self.err(
                    m.location,
                    Msg(
                        "error.firewall.asa.lower.names_interface_which_no_interface",
                        service=m.service,
                        name=m.interface,
                    ),
                )
            own = Addresses("dst", tuple(self.nameifs[m.interface].addresses))
            src = Addresses("src", (m.network,)) if m.network is not None else TRUE
            o = _at(m.location, m.text, kind=m.service, name=m.interface)
            if m.service == "icmp":
                svc = (
                    Protocols((1,))
                    if m.icmp_type is None
                    else all_of(Protocols((1,)), Icmp(m.icmp_type, None))
                )
                if m.interface not in icmp_ifaces:
                    icmp_ifaces.append(m.interface)
            else:
                svc = all_of(
                    Protocols((6,)),
                    Ports("dport", (PortRange(ports[m.service], ports[m.service]),)),
                )
            action = "accept" if m.action == "permit" else "drop"
            # the only `icmp deny … IF` line of an interface: deleting it brings back the
            # built-in "ICMP to the interface permitted", which the stage default (drop)
            # does not show: never report it redundant
            sole_deny = m.service == "icmp" and action == "drop" and icmp_lines[m.interface] == 1
            match = all_of(Interfaces("in", (m.interface,)), src, own, svc)
            rules.append(Rule(action, match, o, implicit=sole_deny))
        for name, itf in self.nameifs.items():
            if name in icmp_ifaces:
                continue  # its icmp rules decide; then the implicit deny (the stage default)
            o = _at(
                itf.location,
                f"ICMP to interface {name} (default: permitted)",
                kind="icmp",
                name=name,
            )
            v4 = tuple(a for a in itf.addresses if a.version == 4)
            v6 = tuple(a for a in itf.addresses if a.version == 6)
            own_icmp = any_of(
                all_of(Addresses("dst", v4), Protocols((1,))) if v4 else FALSE,
                all_of(Addresses("dst", v6), Protocols((58,))) if v6 else FALSE,
            )
            rules.append(
                Rule("accept", all_of(Interfaces("in", (name,)), own_icmp), o, implicit=True)
            )
        return Stage("to-the-box", tuple(rules), "drop", Scope(paths=("input",), hook="input"))


def _unnamed(e: Expr) -> Expr:
    while isinstance(e, Named):
        e = e.item
    return e


def lower_asa(cfg: AsaConfig) -> Device:
    """The IR device for a parsed ASA configuration."""
    return _Lower(cfg).device()
