"""FortiOS vendor model → the vendor-independent device model (``segverify.firewall.ir``).

Semantics (FortiOS 6.x/7.x):

- policies are evaluated in table order (after ``move``), not by policy id; the first
  match decides; what no policy matches is dropped (the implicit deny, policy 0);
- ``status disable`` policies are kept as evidence and never match;
- ``all``/``ALL`` are ordinary objects (whatever the configuration defines them as);
- ``srcaddr-negate``/``dstaddr-negate``/``service-negate`` invert their field;
- a schedule other than ``always``, internet services, users/groups, applications and
  FQDN/geography addresses cannot be decided from headers: the policy *may* match;
- a VIP in ``dstaddr`` matches the VIP's external address (and port); the packet is
  forwarded to the mapped address (``Device.dnat``, policies see the original address);
  with port forwarding the policy's service is matched against the mapped port; a VIP
  no enabled policy uses translates nothing;
- a zone with ``intrazone allow`` passes traffic between its member interfaces when no
  policy decides it (a deny policy for the zone still blocks);
- each VDOM is its own policy table over its own interfaces;
- ``allowaccess`` on an interface admits those management services to that interface's
  address (a ``local-in`` stage on the input path); ``local-in-policy`` deny entries
  come before it (accept entries open nothing allowaccess does not).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import replace

from segverify.errors import InputError
from segverify.firewall.fortios.model import FgConfig, FgPolicy, FgVdom, FgVip
from segverify.firewall.fortios.parse import read_fortios
from segverify.firewall.ir import (
    FALSE,
    TRUE,
    Addresses,
    And,
    DestNat,
    Device,
    Expr,
    Family,
    Icmp,
    Interface,
    Interfaces,
    Named,
    Not,
    ObjectDef,
    Opaque,
    Or,
    Origin,
    Ports,
    Protocols,
    Rule,
    Scope,
    Stage,
    VendorZone,
    Zones,
    all_of,
    any_of,
    named,
    negate,
)
from segverify.i18n import Msg
from segverify.topology.model import Location, PortRange

MAX_GROUP_DEPTH = 16
MAX_VIP_EXPANSION = 256

# allowaccess keyword → (protocol, port) the FortiGate then accepts on the interface address
ADMIN_ACCESS = {
    "ping": (1, None),
    "https": (6, 443),
    "http": (6, 80),
    "ssh": (6, 22),
    "telnet": (6, 23),
    "snmp": (17, 161),
    "fgfm": (6, 541),
    "radius-acct": (17, 1813),
    "probe-response": (17, 8008),
    "capwap": (17, 5246),
    "ftm": (6, 4433),
    "fabric": (6, 8013),
    "speed-test": (6, 5201),
}


class _Vdom:
    """Lowers one VDOM's objects, each once, and its policies."""

    def __init__(self, cfg: FgConfig, v: FgVdom, file: str, multi: bool) -> None:
        self.cfg, self.v, self.file, self.multi = cfg, v, file, multi
        self.cache: dict[tuple[str, str, str], Expr] = {}
        self.context = f"vdom {v.name}" if multi else "firewall policy"
        self.vdom_used = tuple(sorted(used_interfaces(cfg, v, multi)))

    def _o(self, line: int, text: str, kind: str, name: str = "", id: str = "") -> Origin:
        return Origin(Location(self.file, line), text, kind, id, name, (), self.context)

    def zone_name(self, z: str) -> str:
        return f"{self.v.name}:{z}" if self.multi else z

    # -- addresses ------------------------------------------------------------------
    def address(self, name: str, field: str, line: int, depth: int = 0, family: int = 4) -> Expr:
        key = ("addr", name, field, family)
        if key in self.cache:
            return self.cache[key]
        if depth > MAX_GROUP_DEPTH:
            raise InputError(
                Msg("error.common.address_group_nests_too_deep", name=name), self.file, line
            )
        v = self.v
        addresses = v.addresses if family == 4 else v.addresses6
        groups = v.addrgrps if family == 4 else v.addrgrps6
        if name in addresses:
            a = addresses[name]
            kind = "address" if a.family == 4 else "address6"
            o = self._o(a.src.line, a.src.text, kind, name)
            if a.kind == "ipmask":
                e: Expr = Addresses(field, a.nets, (), o)
            elif a.kind == "iprange":
                lo, hi = (ipaddress.ip_address(x) for x in a.ranges[0])
                e = Addresses(field, (), ((lo, hi),), o)
            elif a.kind == "fqdn":
                e = Opaque("fqdn", f"{name} = {a.detail}", o)
            elif a.kind == "geography":
                e = Opaque("geo", f"{name} = country {a.detail}", o)
            else:
                e = Opaque("other", f"{name} = {a.kind} address {a.detail}".rstrip(), o)
        elif name in groups:
            g = groups[name]
            kind = "addrgrp" if g.family == 4 else "addrgrp6"
            members = any_of(
                *(self.address(m, field, g.src.line, depth + 1, family) for m in g.members)
            )
            if g.exclude:
                excl = any_of(
                    *(self.address(m, field, g.src.line, depth + 1, family) for m in g.exclude)
                )
                members = all_of(members, negate(excl))
            e = named(members, self._o(g.src.line, g.src.text, kind, name))
        elif family == 4 and field == "dst" and name in v.vips:
            e = self.vip_match(v.vips[name])
        elif family == 4 and field == "dst" and name in v.vipgrps:
            g = v.vipgrps[name]
            members = any_of(*(self.address(m, field, g.src.line, depth + 1) for m in g.members))
            e = named(members, self._o(g.src.line, g.src.text, "vipgrp", name))
        else:
            what = "address" if family == 4 else "IPv6 address"
            raise InputError(
                Msg("error.firewall.fortios.lower.not_defined", what=what, name=name),
                self.file,
                line,
            )
        self.cache[key] = e
        return e

    def vips_of(self, name: str) -> list[FgVip]:
        """The VIPs a dstaddr name stands for (a VIP or a VIP group), else []."""
        if name in self.v.vips and name not in self.v.addresses:
            return [self.v.vips[name]]
        if name in self.v.vipgrps and name not in self.v.addrgrps:
            return [self.v.vips[m] for m in self.v.vipgrps[name].members if m in self.v.vips]
        return []

    def vip_filters(self, vip: FgVip) -> list[Expr]:
        """``src-filter`` and the ``service`` filter: the VIP applies only to those."""
        out: list[Expr] = []
        if vip.src_filter:
            rs = tuple(
                (ipaddress.ip_address(a), ipaddress.ip_address(b)) for a, b in vip.src_filter
            )
            out.append(Addresses("src", (), rs))
        if vip.services:
            out.append(any_of(*(self.service(n, vip.src.line) for n in vip.services)))
        return out

    def vip_match(self, vip: FgVip) -> Expr:
        o = self._o(vip.src.line, vip.src.text, "vip", vip.name)
        lo, hi = (ipaddress.ip_address(x) for x in vip.extip)
        parts: list[Expr] = [Addresses("dst", (), ((lo, hi),), o)]
        parts += self.vip_filters(vip)
        if vip.extintf != "any":
            parts.append(self.intf_side("in", (vip.extintf,), vip.src.line))
        if vip.proto is not None:
            parts.append(Protocols((vip.proto,)))
            if vip.extports:
                parts.append(Ports("dport", vip.extports))
        return named(all_of(*parts), o)

    def dnat(self, vip: FgVip) -> list[DestNat]:
        o = self._o(vip.src.line, vip.src.text, "vip", vip.name)
        lo, hi = (ipaddress.ip_address(x) for x in vip.extip)
        mlo, mhi = (ipaddress.ip_address(x) for x in vip.mapped)
        n_ext, n_map = int(hi) - int(lo) + 1, int(mhi) - int(mlo) + 1
        extra: list[Expr] = self.vip_filters(vip)
        if vip.extintf != "any":
            extra.append(self.intf_side("in", (vip.extintf,), vip.src.line))
        if vip.proto is not None:
            extra.append(Protocols((vip.proto,)))
        to_port: int | None = None
        port_parts: list[tuple[Expr, int | None]] = [(TRUE, None)]
        if vip.extports and vip.mappedport is not None:
            ext = vip.extports[0]
            mp = vip.mappedport
            if ext.lo == mp.lo and ext.hi == mp.hi:
                port_parts = [(Ports("dport", (ext,)), None)]
            elif ext.hi - ext.lo + 1 <= MAX_VIP_EXPANSION:
                port_parts = [
                    (
                        Ports("dport", (PortRange(p, p),)),
                        mp.lo + (p - ext.lo) if mp.hi > mp.lo else mp.lo,
                    )
                    for p in range(ext.lo, ext.hi + 1)
                ]
            else:
                raise InputError(
                    Msg("error.firewall.fortios.lower.vip_port_range_too_large", name=vip.name),
                    self.file,
                    vip.src.line,
                )
        out: list[DestNat] = []
        if n_ext > 1 and n_map not in (1, n_ext):
            raise InputError(
                Msg(
                    "error.firewall.fortios.lower.vip_external_mapped_ranges_differ", name=vip.name
                ),
                self.file,
                vip.src.line,
            )
        if n_ext > MAX_VIP_EXPANSION and n_map > 1:
            raise InputError(
                Msg("error.firewall.fortios.lower.vip_range_too_large_model", name=vip.name),
                self.file,
                vip.src.line,
            )
        for i in range(n_ext):
            ext_ip = lo + i
            to = mlo + (i if n_map > 1 else 0)
            for pm, to_port in port_parts:
                match = all_of(Addresses("dst", (ipaddress.ip_network(ext_ip),)), *extra, pm)
                out.append(DestNat(match, str(to), to_port, o))
        return out

    # -- services -------------------------------------------------------------------
    def service(self, name: str, line: int, depth: int = 0) -> Expr:
        key = ("svc", name, "")
        if key in self.cache:
            return self.cache[key]
        if depth > MAX_GROUP_DEPTH:
            raise InputError(
                Msg("error.common.service_group_nests_too_deep", name=name), self.file, line
            )
        v = self.v
        if name in v.services:
            s = v.services[name]
            o = self._o(s.src.line, s.src.text, "service", name)
            alts: list[Expr] = []
            for en in s.entries:
                if en.proto in (1, 58):
                    alts.append(all_of(Protocols((en.proto,)), Icmp(en.icmp_type, en.icmp_code)))
                elif en.proto is None:
                    alts.append(TRUE)
                else:
                    alts.append(
                        all_of(
                            Protocols((en.proto,)),
                            Ports("dport", en.dports) if en.dports else TRUE,
                            Ports("sport", en.sports) if en.sports else TRUE,
                        )
                    )
            body = any_of(*alts)
            if s.dst_nets:
                body = all_of(body, Addresses("dst", s.dst_nets))
            if s.opaque:
                body = all_of(body if alts else TRUE, Opaque("other", f"{name}: {s.opaque}", o))
            e = named(body, o)
        elif name in v.servicegrps:
            g = v.servicegrps[name]
            e = named(
                any_of(*(self.service(m, g.src.line, depth + 1) for m in g.members)),
                self._o(g.src.line, g.src.text, "service-group", name),
            )
        else:
            raise InputError(Msg("error.common.service_not_defined", name=name), self.file, line)
        self.cache[key] = e
        return e

    # -- interfaces -----------------------------------------------------------------
    def intf_side(self, side: str, names: tuple[str, ...], line: int) -> Expr:
        if "any" in names:
            if self.multi:  # this VDOM's interfaces only
                return Interfaces(side, self.vdom_used or tuple(sorted(self.v.interfaces)))
            return TRUE
        zones, ifaces = [], []
        for n in names:
            if n in self.v.zones:
                zones.append(self.zone_name(n))
            elif n in self.v.interfaces:
                ifaces.append(n)
            else:
                known = sorted(set(self.v.zones) | set(self.v.interfaces))
                raise InputError(
                    Msg(
                        "error.firewall.fortios.lower.interface_zone_not_defined_known",
                        name=n,
                        known=", ".join(known) or "none",
                    ),
                    self.file,
                    line,
                )
        parts: list[Expr] = []
        if zones:
            parts.append(Zones(side, tuple(zones)))
        if ifaces:
            parts.append(Interfaces(side, tuple(ifaces)))
        return any_of(*parts)

    # -- policies -------------------------------------------------------------------
    def _addr_side(self, p: FgPolicy, field: str) -> Expr:
        v4 = getattr(p, f"{field}addr")
        v6 = getattr(p, f"{field}addr6")
        line = p.lines.get(f"{field}addr", p.lines.get(f"{field}addr6", p.src)).line
        parts: list[Expr] = []
        negs = {4: getattr(p, f"{field}addr_negate"), 6: getattr(p, f"{field}addr6_negate")}
        if p.table in ("policy6", "local-in6"):
            negs[6] = negs[4]
        if not v4 and not v6:  # replaced by an internet service (an opaque atom)
            return TRUE
        for fam, names in ((4, v4), (6, v6)):
            if not names:
                continue
            neg = negs[fam]
            e = any_of(*(self.address(n, field, line, 0, fam) for n in names))
            parts.append(all_of(Family(fam), negate(e)) if neg else e)
        return any_of(*parts)

    def policy(self, p: FgPolicy, warn: Callable[[int, str], None]) -> Rule:
        f = self.file
        local_in = p.table.startswith("local-in")
        kind = "local-in-policy" if local_in else "policy"
        origin = self._o(p.src.line, _summary(p), kind, p.name, p.id)
        missing = [k for k in ("srcintf", "dstintf") if not getattr(p, k)]
        if local_in:
            missing = ["intf"] if not p.srcintf else []
        if not (p.service or p.isdb_dst):
            missing.append("service")
        if not (p.srcaddr or p.srcaddr6 or p.isdb_src):
            missing.append("srcaddr")
        if not (p.dstaddr or p.dstaddr6 or p.isdb_dst):
            missing.append("dstaddr")
        if missing:
            warn(
                p.src.line,
                Msg(
                    "warn.firewall.fortios.lower.policy_has_no_fortigate_cannot",
                    policy=p.id,
                    missing=", ".join(missing),
                ),
            )
            return Rule(self.action(p), FALSE, origin, p.enabled)
        parts: list[Expr] = [
            self.intf_side("in", p.srcintf, p.lines["intf" if local_in else "srcintf"].line),
            TRUE if local_in else self.intf_side("out", p.dstintf, p.lines["dstintf"].line),
            self._addr_side(p, "src"),
        ]
        svc: Expr = TRUE
        if p.service:
            svc = any_of(*(self.service(n, p.lines["service"].line) for n in p.service))
            svc = negate(svc) if p.service_negate else svc
        forwarded = [v for n in p.dstaddr for v in self.vips_of(n) if v.extports]
        if forwarded and not p.dstaddr_negate:
            # port-forwarding VIPs: the policy's service is matched against the mapped
            # port (Fortinet KB 262988), while the policy sees the external address
            plain = [n for n in p.dstaddr if not self.vips_of(n)]
            line = p.lines["dstaddr"].line
            branches = [
                all_of(any_of(*(self.address(n, "dst", line) for n in plain)), svc)
                if plain
                else FALSE
            ]
            if p.dstaddr6:
                branches.append(all_of(self._addr_side(replace(p, dstaddr=()), "dst"), svc))
            for n in p.dstaddr:
                for v in self.vips_of(n):
                    branches.append(all_of(self.vip_match(v), _service_on_mapped_port(svc, v)))
            parts.append(any_of(*branches))
        else:
            parts += [self._addr_side(p, "dst"), svc]
        if p.schedule != "always":
            s = p.lines["schedule"]
            if p.schedule not in self.v.schedules:
                raise InputError(
                    Msg("error.firewall.fortios.lower.schedule_not_defined", name=p.schedule),
                    f,
                    s.line,
                )
            d = self.v.schedules[p.schedule]
            parts.append(
                Opaque("schedule", p.schedule, self._o(d.line, d.text, "schedule", p.schedule))
            )
        for kind, what, line in p.opaque:
            parts.append(Opaque(kind, what, self._o(line, p.lines_text(line), "setting")))
        for what, line in p.unknown:
            parts.append(Opaque("unknown", what, self._o(line, what, "setting")))
        return Rule(self.action(p), all_of(*parts), origin, p.enabled)

    @staticmethod
    def action(p: FgPolicy) -> str:
        if p.action in ("accept", "ipsec"):
            return "accept"
        return "reject" if p.send_deny_packet else "drop"

    def intrazone_rules(self) -> list[Rule]:
        out = []
        for z in self.v.zones.values():
            if z.intrazone != "allow" or len(z.interfaces) < 2:
                continue
            src = z.intrazone_src or z.src
            pairs = [
                all_of(Interfaces("in", (a,)), Interfaces("out", (b,)))
                for a in z.interfaces
                for b in z.interfaces
                if a != b
            ]
            o = Origin(
                Location(self.file, src.line), src.text, "zone", "", z.name, (), "intrazone allow"
            )
            out.append(Rule("accept", any_of(*pairs), o))
        return out


def _summary(p: FgPolicy) -> str:
    """One line for the policy block: ``edit 12: srcintf … dstintf … action accept``."""
    bits = [f"edit {p.id}:"]
    for key in ("srcintf", "dstintf", "srcaddr", "dstaddr", "srcaddr6", "dstaddr6", "service"):
        vals = getattr(p, key)
        if vals:
            shown = "intf" if key == "srcintf" and p.table.startswith("local-in") else key
            bits.append(f"{shown} {' '.join(vals)}")
    if p.schedule != "always":
        bits.append(f"schedule {p.schedule}")
    bits.append(f"action {p.action}")
    if not p.enabled:
        bits.append("status disable")
    return " ".join(bits)


def _local_in(cfg: FgConfig, file: str) -> Stage:
    rules = []
    for i in cfg.interfaces.values():
        if not i.allowaccess or i.ip is None:
            continue
        o = Origin(
            Location(file, i.src.line), i.src.text, "interface", "", i.name, (), "allowaccess"
        )
        svcs: list[Expr] = []
        for a in i.allowaccess:
            proto, port = ADMIN_ACCESS.get(a, (None, None))
            port = cfg.admin_ports.get(a, port)
            if proto is None:
                svcs.append(Opaque("other", f"allowaccess {a}", o))
            elif proto == 1:
                svcs.append(all_of(Protocols((1,)), Icmp(8, None)))
            else:
                svcs.append(all_of(Protocols((proto,)), Ports("dport", (PortRange(port, port),))))
        match = all_of(Interfaces("in", (i.name,)), Addresses("dst", (i.ip,)), any_of(*svcs))
        rules.append(Rule("accept", match, o))
    # with no allowaccess the FortiGate answers no management service on any interface
    return Stage("local-in", tuple(rules), "drop", Scope(paths=("input",), hook="input"))


def _service_on_mapped_port(svc: Expr, vip: FgVip) -> Expr:
    """``svc`` evaluated on the port the VIP maps the destination port to, written as a
    condition on the external port the policy sees."""
    ext = vip.extports[0]
    mapped = vip.mappedport or ext
    one_to_one = mapped.hi - mapped.lo == ext.hi - ext.lo

    def ranges(rs: tuple[PortRange, ...]) -> tuple[PortRange, ...]:
        if not one_to_one:  # every external port maps to mapped.lo
            return (ext,) if any(r.lo <= mapped.lo <= r.hi for r in rs) else ()
        shift = ext.lo - mapped.lo
        out = []
        for r in rs:
            lo, hi = max(r.lo + shift, ext.lo), min(r.hi + shift, ext.hi)
            if lo <= hi:
                out.append(PortRange(lo, hi))
        return tuple(out)

    def walk(e: Expr) -> Expr:
        if isinstance(e, Ports) and e.field == "dport":
            rs = ranges(e.ranges)
            return Ports("dport", rs, e.origin) if rs else FALSE
        if isinstance(e, And):
            return all_of(*(walk(i) for i in e.items))
        if isinstance(e, Or):
            return any_of(*(walk(i) for i in e.items))
        if isinstance(e, Not):
            return negate(walk(e.item))
        if isinstance(e, Named):
            return Named(walk(e.item), e.origin)
        return e

    o = Origin(None, vip.src.text, "port-map", "", f"{vip.name} {ext}->{mapped}", (), "mapped port")
    return named(walk(svc), o) if svc != TRUE else TRUE


def used_interfaces(cfg: FgConfig, v: FgVdom, multi: bool) -> set[str]:
    """The VDOM's interfaces that something refers to: a policy (directly or through a
    zone), a zone with intrazone allow, a VIP's extintf, or allowaccess on an addressed
    interface. Only these are put in the model (and need a topology binding): an
    interface nothing refers to passes no traffic and accepts no management."""
    used: set[str] = set()

    def add(name: str) -> None:
        if name in v.zones:
            used.update(v.zones[name].interfaces)
        elif name in v.interfaces:
            used.add(name)

    for p in v.policies:
        for n in (*p.srcintf, *p.dstintf):
            if n == "any" and multi:  # "any" stands for every interface of the VDOM
                used.update(v.interfaces)
            add(n)
    for z in v.zones.values():
        if z.intrazone == "allow" and len(z.interfaces) > 1:
            used.update(z.interfaces)
    for vip in v.vips.values():
        add(vip.extintf)
    for name, i in v.interfaces.items():
        if i.allowaccess and i.ip is not None:
            used.add(name)
    return used


def lower_fortios(cfg: FgConfig, file: str) -> Device:
    dev = Device(name=cfg.hostname or "fortigate", vendor="fortios", source=file)
    for line, msg in cfg.warnings:
        dev.warn(Location(file, line), msg)
    used: set[str] = set()
    for v in cfg.vdoms.values():
        used |= used_interfaces(cfg, v, len(cfg.vdoms) > 1)
    for name, i in cfg.interfaces.items():
        if name not in used:
            continue
        o = Origin(Location(file, i.src.line), i.src.text, "interface", "", name)
        dev.interfaces[name] = Interface(name, None, (i.ip,) if i.ip else (), False, o)
    multi = len(cfg.vdoms) > 1
    rules: list[Rule] = []
    rules6: list[Rule] = []
    local_rules: list[Rule] = []
    has_policy6 = False
    for v in cfg.vdoms.values():
        lv = _Vdom(cfg, v, file, multi)
        member_of: dict[str, str] = {}
        for z in v.zones.values():
            if z.name in cfg.interfaces:
                raise InputError(
                    Msg("error.firewall.fortios.lower.zone_has_name_interface", name=z.name),
                    file,
                    z.src.line,
                )
            for m in z.interfaces:
                if m not in cfg.interfaces:
                    raise InputError(
                        Msg(
                            "error.firewall.fortios.lower.zone_interface_not_defined",
                            zone=z.name,
                            name=m,
                        ),
                        file,
                        z.src.line,
                    )
                if member_of.setdefault(m, z.name) != z.name:
                    raise InputError(
                        Msg(
                            "error.firewall.fortios.lower.interface_zones",
                            name=m,
                            zone=member_of[m],
                            zone2=z.name,
                        ),
                        file,
                        z.src.line,
                    )
            if not set(z.interfaces) & used:
                continue  # nothing refers to the zone or its members
            zn = lv.zone_name(z.name)
            dev.zones[zn] = VendorZone(
                zn, z.interfaces, Origin(Location(file, z.src.line), z.src.text, "zone", "", z.name)
            )
        applied = {
            vip.name for p in v.policies if p.enabled for n in p.dstaddr for vip in lv.vips_of(n)
        }
        for vip in v.vips.values():  # a VIP translates only when a policy uses it
            if vip.name in applied:
                dev.dnat.extend(lv.dnat(vip))
        for p in v.policies:
            rule = lv.policy(p, lambda line, msg: dev.warn(Location(file, line), msg))
            if p.table == "policy6":
                has_policy6 = True
                rules6.append(rule)
            elif p.table.startswith("local-in"):
                local_rules.append(rule)
            else:
                rules.append(rule)
        rules.extend(lv.intrazone_rules())
        for kind, table in (
            ("address", v.addresses),
            ("address6", v.addresses6),
            ("addrgrp", v.addrgrps),
            ("addrgrp6", v.addrgrps6),
            ("service", v.services),
            ("service-group", v.servicegrps),
            ("vip", v.vips),
            ("vipgrp", v.vipgrps),
        ):
            for name, obj in table.items():
                s = obj.src
                dev.objects.append(
                    ObjectDef(
                        kind,
                        name,
                        Origin(Location(file, s.line), s.text, kind, "", name, (), lv.context),
                    )
                )
        for name, s in v.schedules.items():
            dev.objects.append(
                ObjectDef(
                    "schedule", name, Origin(Location(file, s.line), s.text, "schedule", "", name)
                )
            )
    if dev.dnat:
        dev.policy_addresses = "original"
    implicit = Origin(None, "implicit deny (policy 0)", "policy", "0", "implicit deny")
    dev.stages.append(
        Stage(
            "policy", tuple(rules), "drop", Scope(family=4 if has_policy6 else None), None, implicit
        )
    )
    if has_policy6:
        dev.stages.append(Stage("policy6", tuple(rules6), "drop", Scope(family=6), None, implicit))
    if local_rules:  # deny entries drop; accept and no match go on to allowaccess
        dev.stages.append(
            Stage(
                "local-in-policy",
                tuple(local_rules),
                "accept",
                Scope(paths=("input",), hook="input"),
            )
        )
    dev.stages.append(_local_in(cfg, file))
    return dev


def parse_fortios(text: str, file: str = "<string>") -> Device:
    """Parse a FortiOS configuration into the device model."""
    return lower_fortios(read_fortios(text, file), file)
