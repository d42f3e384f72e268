"""``JunosConfig`` → IR ``Device``.

Transit traffic (path ``forward``), stages in order:

1. each interface's input firewall filter (stateless, first matching term, implicit discard);
2. ``security-policies``: an interface in no security zone passes nothing; then the
   zone-pair policies (``from-zone A to-zone B``, in configuration order; only the pair
   of the packet's zones can match), then the global policies, then ``default-policy``
   (deny-all unless configured). Addresses are looked up in the zone's address book
   (zone-level or attached) before the global one; applications among the configured ones
   before the predefined ``junos-*`` (data/firewall_junos_applications.yaml);
3. each interface's output firewall filter.

Traffic to the device itself (path ``input``): input filters, policies to the
``junos-host`` zone, then ``host-inbound-traffic`` of the arriving interface (its own list
replaces its zone's). Destination NAT (``security nat destination``/``static``) happens
before the policy lookup, so policies match the translated address. Firewall filters are
evaluated here after that translation too (a filter naming a pre-NAT address is not
modelled exactly).
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from segverify.errors import InputError
from segverify.firewall.ir import (
    FALSE,
    TCP_FLAGS,
    TRUE,
    Addresses,
    DestNat,
    Device,
    Expr,
    Icmp,
    Interface,
    Interfaces,
    ObjectDef,
    Opaque,
    Origin,
    Ports,
    Protocols,
    Rule,
    Scope,
    Stage,
    TcpFlags,
    VendorZone,
    Zones,
    all_of,
    any_of,
    at,
    named,
    negate,
)
from segverify.firewall.junos.model import AddressBook, AppTerm, Filter, JunosConfig, Policy, Term
from segverify.i18n import Msg
from segverify.topology.model import IPNetwork, Location, PortRange

MAX_DEPTH = 32
HOST_ZONE = "junos-host"


@lru_cache(maxsize=1)
def junos_tables() -> dict[str, Any]:
    text = (
        resources.files("segverify.data")
        .joinpath("firewall_junos_applications.yaml")
        .read_text("utf-8")
    )
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def _at(loc: Location, text: str, **names: str) -> Origin:
    return at(loc.file, loc.line, text, **names)


def _proto(word: str) -> int | None:
    if word.isdigit():
        return int(word) if int(word) <= 255 else None
    return junos_tables()["protocols"].get(word)


def _port(word: str) -> int | None:
    if word.isdigit():
        return int(word) if int(word) <= 65535 else None
    return junos_tables()["ports"].get(word)


def _port_range(text: str) -> PortRange | None:
    lo_s, _, hi_s = text.partition("-")
    lo, hi = _port(lo_s), _port(hi_s or lo_s)
    if lo is None or hi is None or lo > hi:
        return None
    return PortRange(lo, hi)


def _icmp_type(word: str) -> int | None:
    if word.isdigit():
        return int(word)
    return junos_tables()["icmp_types"].get(word)


def _predefined_term(spec: str) -> Expr:
    """``tcp/80``, ``udp/5190-5193``, ``icmp/8``, ``icmp6/1/3``, ``47``, ``tcp``."""
    parts = spec.split("/")
    proto = _proto(parts[0])
    assert proto is not None, spec
    if proto in (1, 58):
        t = int(parts[1]) if len(parts) > 1 else None
        c = int(parts[2]) if len(parts) > 2 else None
        return all_of(Protocols((proto,)), Icmp(t, c)) if t is not None else Protocols((proto,))
    if len(parts) > 1:
        pr = _port_range(parts[1])
        assert pr is not None, spec
        return all_of(Protocols((proto,)), Ports("dport", (pr,)))
    return Protocols((proto,))


_HOST_SERVICES: dict[str, tuple[str, ...]] = {
    "ssh": ("tcp/22",), "telnet": ("tcp/23",), "http": ("tcp/80",), "https": ("tcp/443",),
    "ping": ("icmp/8", "icmp6/128"), "traceroute": ("udp/33434-33523", "icmp/8"),
    "snmp": ("udp/161",), "snmp-trap": ("udp/162",), "ntp": ("udp/123",),
    "dns": ("udp/53", "tcp/53"), "dhcp": ("udp/67",), "dhcpv6": ("udp/547",),
    "ike": ("udp/500", "udp/4500"), "netconf": ("tcp/830",), "xnm-clear-text": ("tcp/3221",),
    "xnm-ssl": ("tcp/3220",), "ftp": ("tcp/21",), "tftp": ("udp/69",), "finger": ("tcp/79",),
    "rlogin": ("tcp/513",), "rsh": ("tcp/514",), "ident-reset": ("tcp/113",),
    "bootp": ("udp/67",), "r2cp": ("udp/28672",), "sip": ("udp/5060", "tcp/5060"),
    "reverse-ssh": ("tcp/22",), "reverse-telnet": ("tcp/23",),
    # protocols
    "bgp": ("tcp/179",), "ospf": ("89",), "ospf3": ("89",), "rip": ("udp/520",),
    "ripng": ("udp/521",), "pim": ("103",), "vrrp": ("112",), "ldp": ("tcp/646", "udp/646"),
    "bfd": ("udp/3784-3785",), "igmp": ("2",), "rsvp": ("46",), "msdp": ("tcp/639",),
    "router-discovery": ("icmp/10",), "nhrp": ("54",), "sap": ("udp/9875",),
}  # fmt: skip


class _Lower:
    def __init__(self, cfg: JunosConfig) -> None:
        self.cfg = cfg
        self.cache: dict[tuple[str, ...], Expr] = {}
        self.books_cache: dict[tuple[str, str], list[AddressBook]] = {}

    def err(self, loc: Location, msg: str) -> InputError:
        return InputError(msg, loc.file, loc.line)

    # ------------------------------------------------------------------ addresses

    def _books_for(self, zone: str | None) -> list[AddressBook]:
        key = ("books", zone or "")
        cached = self.books_cache.get(key)
        if cached is None:
            cached = [b for b in self.cfg.books.values() if zone is not None and zone in b.zones]
            if "global" in self.cfg.books:
                cached.append(self.cfg.books["global"])
            self.books_cache[key] = cached
        return cached

    def address(self, name: str, field: str, zone: str | None, loc: Location) -> Expr:
        if name == "any":
            return TRUE
        if name in ("any-ipv4", "any-ipv6"):
            net = ipaddress.ip_network("0.0.0.0/0" if name == "any-ipv4" else "::/0")
            return Addresses(field, (net,), (), _at(loc, name, kind="address", name=name))
        for b in self._books_for(zone):
            if name in b.addresses or name in b.sets:
                return self._book_entry(b, name, field, ())
        where = (
            f"zone {zone!r}'s address book or the global one" if zone else "the global address book"
        )
        raise self.err(
            loc, Msg("error.firewall.junos.lower.address_not_defined_2", name=name, where=where)
        )

    def _book_entry(self, b: AddressBook, name: str, field: str, stack: tuple[str, ...]) -> Expr:
        key = ("addr", b.name, name, field)
        if key in self.cache:
            return self.cache[key]
        if name in b.addresses:
            a = b.addresses[name]
            o = _at(a.location, a.text, kind="address", name=name, context=f"address-book {b.name}")
            if a.kind == "prefix":
                e: Expr = Addresses(field, (a.value,), (), o)  # type: ignore[arg-type]
            elif a.kind == "range":
                e = Addresses(field, (), (a.value,), o)  # type: ignore[arg-type]
            elif a.kind == "dns":
                e = Opaque("fqdn", str(a.value), o)
            else:
                nets = _wildcard(str(a.value))
                e = (
                    Addresses(field, tuple(nets), (), o)
                    if nets is not None
                    else Opaque("other", f"wildcard-address {a.value}", o)
                )
        elif name in b.sets:
            s = b.sets[name]
            if name in stack or len(stack) > MAX_DEPTH:
                raise self.err(
                    s.location,
                    Msg("error.firewall.junos.lower.address_set_contains_itself", name=name),
                )
            members = []
            for kind, member, mloc in s.members:
                if member not in b.addresses and member not in b.sets:
                    raise self.err(
                        mloc,
                        Msg(
                            "error.firewall.junos.lower.not_defined_address_book",
                            kind=kind,
                            member=member,
                            book=b.name,
                        ),
                    )
                members.append(self._book_entry(b, member, field, stack + (name,)))
            e = named(
                any_of(*members),
                _at(
                    s.location,
                    s.text,
                    kind="address-set",
                    name=name,
                    context=f"address-book {b.name}",
                ),
            )
        else:
            raise self.err(
                Location(self.cfg.file, 0),
                Msg("error.firewall.junos.lower.address_not_defined", name=name),
            )
        self.cache[key] = e
        return e

    # ------------------------------------------------------------------ applications

    def application(self, name: str, loc: Location, stack: tuple[str, ...] = ()) -> Expr:
        if name == "any":
            return TRUE
        key = ("app", name)
        if key in self.cache:
            return self.cache[key]
        if name in stack or len(stack) > MAX_DEPTH:
            raise self.err(
                loc, Msg("error.firewall.junos.lower.application_set_contains_itself", name=name)
            )
        t = junos_tables()
        if name in self.cfg.applications:
            a = self.cfg.applications[name]
            terms = [self._term(tm, name) for _, tm in sorted(a.terms.items()) if _has_fields(tm)]
            if not terms:
                raise self.err(
                    a.location,
                    Msg(
                        "error.firewall.junos.lower.application_matches_nothing_no_protocol",
                        name=name,
                    ),
                )
            e = named(any_of(*terms), _at(a.location, a.text, kind="application", name=name))
        elif name in self.cfg.application_sets:
            s = self.cfg.application_sets[name]
            e = named(
                any_of(*(self.application(m, mloc, stack + (name,)) for _, m, mloc in s.members)),
                _at(s.location, s.text, kind="application-set", name=name),
            )
        elif name in t["applications"]:
            o = Origin(text=name, kind="application", name=name, context="predefined")
            e = named(any_of(*(_predefined_term(s) for s in t["applications"][name])), o)
        elif name in t["rpc"]:
            o = Origin(text=name, kind="application", name=name, context="predefined")
            ports = any_of(*(_predefined_term(s) for s in t["rpc"][name]))
            e = named(all_of(ports, Opaque("application", f"{name} (RPC program/UUID)", o)), o)
        elif name in t["sets"]:
            o = Origin(text=name, kind="application-set", name=name, context="predefined")
            e = named(
                any_of(*(self.application(m, loc, stack + (name,)) for m in t["sets"][name])), o
            )
        elif name.startswith("junos-"):
            o = _at(loc, name, kind="application", name=name)
            e = Opaque("unknown", f"predefined application {name} (not in segverify's table)", o)
        else:
            raise self.err(
                loc, Msg("error.firewall.junos.lower.application_not_defined", name=name)
            )
        self.cache[key] = e
        return e

    def _term(self, tm: AppTerm, app: str) -> Expr:
        loc = tm.location
        parts: list[Expr] = []
        proto = None
        if tm.protocol is not None:
            proto = _proto(tm.protocol)
            if proto is None:
                raise self.err(
                    loc,
                    Msg(
                        "error.firewall.junos.lower.application_unknown_protocol",
                        app=app,
                        proto=tm.protocol,
                    ),
                )
            parts.append(Protocols((proto,)))
        for field, val in (("sport", tm.source_port), ("dport", tm.destination_port)):
            if val is not None:
                pr = _port_range(val)
                if pr is None:
                    raise self.err(
                        loc,
                        Msg("error.firewall.junos.lower.application_bad_port", app=app, port=val),
                    )
                parts.append(Ports(field, (pr,)))
        if tm.icmp_type is not None or tm.icmp_code is not None:
            ty = _icmp_type(tm.icmp_type) if tm.icmp_type is not None else None
            if tm.icmp_type is not None and ty is None:
                raise self.err(
                    loc,
                    Msg(
                        "error.firewall.junos.lower.application_unknown_icmp_type",
                        app=app,
                        icmp_type=tm.icmp_type,
                    ),
                )
            code = (
                int(tm.icmp_code) if tm.icmp_code is not None and tm.icmp_code.isdigit() else None
            )
            parts.append(Icmp(ty, code))
        for text in tm.opaque:
            kind = "unknown" if text.startswith("unknown ") else "application"
            parts.append(Opaque(kind, text, _at(loc, text)))
        o = _at(loc, f"application {app} term {tm.name}" if tm.name else f"application {app}")
        return named(all_of(*parts), o) if tm.name else all_of(*parts)

    # ------------------------------------------------------------------ policies

    def _zone_check(self, zone: str, loc: Location) -> None:
        if zone != HOST_ZONE and zone not in self.cfg.zones:
            raise self.err(
                loc,
                Msg(
                    "error.firewall.junos.lower.security_zone_not_defined_known",
                    zone=zone,
                    known=", ".join(self.cfg.zones) or "none",
                ),
            )

    def policy_rule(self, p: Policy, with_from: bool = True, with_to: bool = True) -> Rule:
        loc = p.location
        for z in p.from_zones + p.to_zones:
            self._zone_check(z, loc)
        if p.action is None:
            raise self.err(
                loc,
                Msg(
                    "error.firewall.junos.lower.policy_has_no_then_permit",
                    name=p.name,
                    context=p.context,
                ),
            )
        if not p.sources or not p.destinations or not p.applications:
            missing = [
                k
                for k, v in (
                    ("source-address", p.sources),
                    ("destination-address", p.destinations),
                    ("application", p.applications),
                )
                if not v
            ]
            raise self.err(
                loc,
                Msg(
                    "error.firewall.junos.lower.policy_has_no_match",
                    name=p.name,
                    context=p.context,
                    missing=", ".join(missing),
                ),
            )
        parts: list[Expr] = []
        if with_from and p.from_zones:
            parts.append(Zones("in", tuple(p.from_zones)))
        if with_to and p.to_zones:
            parts.append(Zones("out", tuple(p.to_zones)))
        src_zone = p.from_zones[0] if len(p.from_zones) == 1 and p.context != "global" else None
        dst_zone = p.to_zones[0] if len(p.to_zones) == 1 and p.context != "global" else None
        src = any_of(*(self.address(n, "src", src_zone, loc) for n in p.sources))
        dst = any_of(*(self.address(n, "dst", dst_zone, loc) for n in p.destinations))
        parts.append(negate(src) if p.source_excluded else src)
        parts.append(negate(dst) if p.destination_excluded else dst)
        parts.append(any_of(*(self.application(n, loc) for n in p.applications)))
        if p.scheduler is not None:
            sl = loc
            parts.append(
                Opaque(
                    "schedule",
                    p.scheduler,
                    _at(sl, f"scheduler-name {p.scheduler}", kind="scheduler", name=p.scheduler),
                )
            )
        for kind, text in p.opaque:
            parts.append(Opaque(kind, text, _at(loc, text)))
        action = {"permit": "accept", "deny": "drop", "reject": "reject"}[p.action]
        origin = Origin(loc, p.text, "policy", "", p.name, (), p.context)
        return Rule(action, all_of(*parts), origin, enabled=not p.inactive)

    # ------------------------------------------------------------------ filters

    def _filter_cond(self, key: str, value: str, loc: Location, fam: str) -> tuple[Expr, bool]:
        """One ``from`` condition → (expression, is an ``except``)."""
        words = value.split()
        exc = words[-1:] == ["except"]
        if exc:
            words = words[:-1]
        v = words[0] if words else ""
        o = _at(loc, f"from {key} {value}")
        if key in ("source-address", "destination-address", "address"):
            try:
                nets: tuple[IPNetwork, ...] = (ipaddress.ip_network(v, strict=False),)
            except ValueError:
                wild = _wildcard(v)  # address/wildcard-mask, e.g. 10.0.0.1/255.0.255.0
                if wild is None:
                    raise self.err(loc, Msg("error.common.not_address", name=v)) from None
                nets = tuple(wild)
            if key == "address":
                return any_of(Addresses("src", nets, (), o), Addresses("dst", nets, (), o)), exc
            return Addresses("src" if key.startswith("source") else "dst", nets, (), o), exc
        if key in ("source-prefix-list", "destination-prefix-list", "prefix-list"):
            if v not in self.cfg.prefix_lists:
                raise self.err(
                    loc, Msg("error.firewall.junos.lower.prefix_list_not_defined", name=v)
                )
            nets = tuple(self.cfg.prefix_lists[v])
            po = _at(loc, f"from {key} {value}", kind="prefix-list", name=v)
            if key == "prefix-list":
                return any_of(Addresses("src", nets, (), po), Addresses("dst", nets, (), po)), exc
            return Addresses("src" if key.startswith("source") else "dst", nets, (), po), exc
        if key in ("protocol", "next-header", "payload-protocol"):
            n = _proto(v)
            if n is None:
                raise self.err(loc, Msg("error.common.unknown_protocol", name=v))
            return Protocols((n,)), exc
        if key in ("source-port", "destination-port", "port"):
            pr = _port_range(v)
            if pr is None:
                raise self.err(loc, Msg("error.firewall.names.bad_port", text=v))
            if key == "port":
                return any_of(Ports("sport", (pr,)), Ports("dport", (pr,))), exc
            return Ports("sport" if key.startswith("source") else "dport", (pr,)), exc
        if key in ("icmp-type", "icmp-code"):
            n = _icmp_type(v) if key == "icmp-type" else (int(v) if v.isdigit() else None)
            if n is None:
                raise self.err(loc, Msg("error.firewall.junos.lower.unknown", what=key, value=v))
            return (Icmp(n, None) if key == "icmp-type" else Icmp(None, n)), exc
        if key == "tcp-established" and not words:
            ack, rst = TCP_FLAGS["ack"], TCP_FLAGS["rst"]
            return any_of(TcpFlags(ack, ack, o), TcpFlags(rst, rst, o)), False
        if key == "tcp-initial" and not words:
            return TcpFlags(TCP_FLAGS["syn"] | TCP_FLAGS["ack"], TCP_FLAGS["syn"], o), False
        return Opaque("other", f"{key} {value}".strip(), o), exc

    def _filter_rules(self, f: Filter) -> list[Rule]:
        rules = []
        for t in f.terms.values():
            action = self._term_action(t)
            if action is None:
                continue  # "next term": no decision here
            by_key: dict[str, tuple[list[Expr], list[Expr]]] = {}
            for key, value, loc in t.conditions:
                e, exc = self._filter_cond(key, value, loc, f.family)
                inc, excl = by_key.setdefault(key, ([], []))
                (excl if exc else inc).append(e)
            parts = []
            for inc, excl in by_key.values():
                parts.append(
                    all_of(any_of(*inc) if inc else TRUE, negate(any_of(*excl)) if excl else TRUE)
                )
            origin = Origin(
                t.location,
                t.text,
                "term",
                "",
                t.name,
                (),
                f"firewall family {f.family} filter {f.name}",
            )
            rules.append(Rule(action, all_of(*parts), origin))
        return rules

    @staticmethod
    def _term_action(t: Term) -> str | None:
        for text, _ in t.actions:
            word = text.split()[0]
            if text == "next term":
                return None
            if word == "accept" or word == "routing-instance":
                return "accept"
            if word == "discard":
                return "drop"
            if word == "reject":
                return "reject"
        return "accept"  # only non-terminating actions (count, log…) or none: accept

    # ------------------------------------------------------------------ NAT

    def _named_prefix(self, name: str, loc: Location) -> IPNetwork:
        """A NAT rule's address-book name: a prefix address of the global book."""
        book = self.cfg.books.get("global")
        a = book.addresses.get(name) if book else None
        if a is None:
            raise self.err(
                loc, Msg("error.firewall.junos.lower.address_not_defined_global_address", name=name)
            )
        if a.kind != "prefix":
            raise self.err(
                loc, Msg("error.firewall.junos.lower.address_not_prefix_nat_needs", name=name)
            )
        return a.value  # type: ignore[return-value]

    def dnat(self, dev: Device) -> None:
        for r in self.cfg.dnat_rules:
            if r.off:
                continue
            r.destinations += [self._named_prefix(n, loc) for n, loc in r.destination_names]
            r.destination_names = []
            if r.static_prefix_name is not None:
                r.static_prefix = self._named_prefix(*r.static_prefix_name)
                r.static_prefix_name = None
            o = _at(r.location, r.text, kind="nat rule", name=r.name, context=r.rule_set)
            parts: list[Expr] = []
            if r.from_kind == "zone":
                for z in r.from_names:
                    self._zone_check(z, r.location)
                parts.append(Zones("in", tuple(r.from_names)))
            elif r.from_kind == "interface":
                parts.append(Interfaces("in", tuple(r.from_names)))
            elif r.from_kind:
                parts.append(Opaque("other", f"from {r.from_kind} {' '.join(r.from_names)}", o))
            if r.sources:
                parts.append(Addresses("src", tuple(r.sources), (), o))
            if r.protocols:
                parts.append(Protocols(tuple(_proto(p) or 0 for p in r.protocols)))
            if r.ports:
                parts.append(Ports("dport", tuple(PortRange(lo, hi) for lo, hi in r.ports)))
            if r.pool is not None:
                pool = self.cfg.dnat_pools.get(r.pool)
                if pool is None:
                    raise self.err(
                        r.location,
                        Msg(
                            "error.firewall.junos.lower.destination_nat_pool_not_defined",
                            pool=r.pool,
                        ),
                    )
                net, port, _ = pool
                if net.num_addresses != 1:
                    dev.warn(
                        r.location,
                        Msg(
                            "warn.firewall.junos.lower.destination_nat_pool_more_than", pool=r.pool
                        ),
                    )
                    continue
                dst = Addresses("dst", tuple(r.destinations), (), o) if r.destinations else TRUE
                dev.dnat.append(DestNat(all_of(*parts, dst), str(net.network_address), port, o))
            elif r.static_prefix is not None:
                if (
                    len(r.destinations) != 1
                    or r.destinations[0].num_addresses != r.static_prefix.num_addresses
                    or r.static_prefix.num_addresses > 256
                ):
                    dev.warn(
                        r.location,
                        Msg("warn.firewall.junos.lower.static_nat_between_prefixes_different"),
                    )
                    continue
                for m, real in zip(r.destinations[0], r.static_prefix, strict=True):
                    hit = Addresses("dst", (ipaddress.ip_network(m),), (), o)
                    dev.dnat.append(DestNat(all_of(*parts, hit), str(real), None, o))
            else:
                dev.warn(
                    r.location, Msg("warn.firewall.junos.lower.nat_rule_has_no_action", name=r.name)
                )

    # ------------------------------------------------------------------ device

    def device(self) -> Device:
        cfg = self.cfg
        dev = Device(name=cfg.hostname, vendor="juniper-srx", source=cfg.file)
        for loc, msg in cfg.warnings:
            dev.warn(loc, msg)
        names = list(cfg.interfaces)
        for members in cfg.zones.values():
            names += [m for m in members if m not in names]
        for n in names:
            loc = cfg.interface_locations.get(n)
            o = (
                _at(loc, f"interfaces {n}", kind="interface", name=n)
                if loc
                else Origin(kind="interface", name=n)
            )
            dev.interfaces[n] = Interface(n, addresses=tuple(cfg.interfaces.get(n, ())), origin=o)
        for z, members in cfg.zones.items():
            zl = cfg.zone_locations[z]
            dev.zones[z] = VendorZone(
                z, tuple(members), _at(zl, f"security-zone {z}", kind="security-zone", name=z)
            )
        self._objects(dev)
        self.dnat(dev)
        dev.stages += self._filter_stages("in")
        dev.stages.append(self._policy_stage(dev))
        dev.stages += self._filter_stages("out")
        dev.stages += self._host_stages(dev)
        return dev

    def _objects(self, dev: Device) -> None:
        for b in self.cfg.books.values():
            for a in b.addresses.values():
                dev.objects.append(ObjectDef("address", a.name, _at(a.location, a.text)))
            for s in b.sets.values():
                dev.objects.append(ObjectDef("address-set", s.name, _at(s.location, s.text)))
        for a in self.cfg.applications.values():
            dev.objects.append(ObjectDef("application", a.name, _at(a.location, a.text)))
        for s in self.cfg.application_sets.values():
            dev.objects.append(ObjectDef("application-set", s.name, _at(s.location, s.text)))

    def _policy_stage(self, dev: Device) -> Stage:
        cfg = self.cfg
        rules: list[Rule] = []
        zoned = {i for members in cfg.zones.values() for i in members}
        unzoned = tuple(n for n in dev.interfaces if n not in zoned)
        if unzoned:  # the null zone: an interface in no security zone passes nothing
            text = f"interfaces in no security zone (null zone): {', '.join(unzoned)}"
            null = Origin(text=text, kind="null-zone")
            rules.append(Rule("drop", Interfaces("in", unzoned), null, implicit=True))
            rules.append(Rule("drop", Interfaces("out", unzoned), null, implicit=True))
        for p in cfg.policies:
            if HOST_ZONE in p.to_zones or HOST_ZONE in p.from_zones:
                self.policy_rule(p)  # checked; applied on the input/output paths
                continue
            rules.append(self.policy_rule(p))
        for p in cfg.global_policies:
            rules.append(self.policy_rule(p))
        default = "accept" if cfg.default_policy == "permit-all" else "drop"
        loc = cfg.default_location
        o = (
            _at(loc, f"default-policy {cfg.default_policy}", kind="default-policy")
            if loc
            else Origin(text="default-policy deny-all (default)", kind="default-policy")
        )
        return Stage("security-policies", tuple(rules), default, Scope(), origin=o)

    def _filter_stages(self, direction: str) -> list[Stage]:
        out = []
        for iface, fam, d, name, loc in self.cfg.filter_bindings:
            if d != direction:
                continue
            f = self.cfg.filters.get((fam, name))
            if f is None:
                raise self.err(
                    loc,
                    Msg(
                        "error.firewall.junos.lower.firewall_filter_family_not_defined",
                        name=name,
                        family=fam,
                    ),
                )
            if fam not in ("inet", "inet6"):
                continue  # other families (mpls, ethernet-switching) do not filter IP
            paths = ("forward", "input") if direction == "in" else ("forward",)
            scope = Scope(
                paths=paths,
                hook="forward",
                interface=iface,
                direction=direction,
                family=4 if fam == "inet" else 6,
            )
            out.append(
                Stage(
                    f"filter {name} {'input' if direction == 'in' else 'output'} {iface}",
                    tuple(self._filter_rules(f)),
                    "drop",
                    scope,
                    origin=_at(loc, f"filter {name}", kind="filter", name=name),
                )
            )
        return out

    def _host_stages(self, dev: Device) -> list[Stage]:
        cfg = self.cfg
        stages = []
        to_host = [
            self.policy_rule(p, with_to=False) for p in cfg.policies if HOST_ZONE in p.to_zones
        ]
        if to_host:
            stages.append(
                Stage(
                    "policies to junos-host",
                    tuple(to_host),
                    "accept",
                    Scope(paths=("input",), hook="input"),
                )
            )
        from_host = [
            self.policy_rule(p, with_from=False) for p in cfg.policies if HOST_ZONE in p.from_zones
        ]
        if from_host:
            stages.append(
                Stage(
                    "policies from junos-host",
                    tuple(from_host),
                    "accept",
                    Scope(paths=("output",), hook="output"),
                )
            )
        rules: list[Rule] = []
        for zone, members in cfg.zones.items():
            for itf in members:
                for kind in ("system-services", "protocols"):
                    own = [
                        h
                        for h in cfg.host_inbound
                        if h.zone == zone and h.interface == itf and h.kind == kind
                    ]
                    entries = own or [
                        h
                        for h in cfg.host_inbound
                        if h.zone == zone and h.interface is None and h.kind == kind
                    ]
                    for h in sorted(entries, key=lambda h: not h.excepted):
                        rules.append(self._host_rule(dev, h, itf))
        stages.append(
            Stage(
                "host-inbound-traffic", tuple(rules), "drop", Scope(paths=("input",), hook="input")
            )
        )
        return stages

    def _host_rule(self, dev: Device, h: Any, itf: str) -> Rule:
        o = _at(
            h.location,
            h.text,
            kind=f"host-inbound {h.kind}",
            name=h.name,
            context=f"security-zone {h.zone}",
        )
        if h.name in ("all", "any-service"):
            svc: Expr = TRUE
        elif h.name in _HOST_SERVICES:
            svc = any_of(*(_predefined_term(s) for s in _HOST_SERVICES[h.name]))
        else:
            svc = Opaque("unknown", f"host-inbound-traffic {h.kind} {h.name}", o)
            dev.warn(
                h.location,
                Msg(
                    "warn.firewall.junos.lower.host_inbound_traffic_not_modelled",
                    kind=h.kind,
                    name=h.name,
                ),
            )
        return Rule("drop" if h.excepted else "accept", all_of(Interfaces("in", (itf,)), svc), o)


def _has_fields(tm: AppTerm) -> bool:
    return any(
        v is not None
        for v in (tm.protocol, tm.source_port, tm.destination_port, tm.icmp_type, tm.icmp_code)
    ) or bool(tm.opaque)


def _wildcard(text: str) -> list[IPNetwork] | None:
    """``10.0.0.1/255.0.255.0`` → the prefixes it covers (None when over 256)."""
    try:
        addr_s, mask_s = text.split("/")
        addr, mask = ipaddress.ip_address(addr_s), ipaddress.ip_address(mask_s)
    except ValueError:
        return None
    bits = addr.max_prefixlen
    m = int(mask)
    trailing = 0
    while trailing < bits and not (m >> trailing) & 1:
        trailing += 1
    holes = [i for i in range(trailing, bits) if not (m >> i) & 1]
    if len(holes) > 8:
        return None
    base = int(addr) & m
    out = []
    for k in range(1 << len(holes)):
        v = base
        for j, i in enumerate(holes):
            if (k >> j) & 1:
                v |= 1 << i
        out.append(ipaddress.ip_network((v, bits - trailing)))
    return out


def lower_junos(cfg: JunosConfig) -> Device:
    return _Lower(cfg).device()


__all__ = ["FALSE", "lower_junos"]
