"""PAN-OS vendor model → the vendor-independent device model.

Semantics (PAN-OS 9–11):

- rules in order: Panorama pre-rules (shared, then device group), local rules, Panorama
  post-rules (device group, then shared); the first match decides; then the default
  rules: ``intrazone-default`` allow, ``interzone-default`` deny, unless overridden
  under ``default-security-rules``;
- ``rule-type``: ``universal`` (default) matches any zone pair of from × to;
  ``intrazone`` only traffic staying in one zone; ``interzone`` only traffic between
  different zones;
- ``negate-source``/``negate-destination`` invert the field; ``disabled yes`` rules
  never match;
- address groups: static (members) exact; dynamic (tag filter) *may match*; external
  dynamic lists, regions (countries), FQDN and wildcard objects *may match*;
- App-ID: an application other than ``any`` cannot be decided from headers. An allow
  rule naming applications *may permit* on the rule's ports (with
  ``application-default``: the apps' default ports when ``apps.py`` knows them all, any
  port otherwise); a deny rule naming applications *may not block*. Users, URL
  categories, HIP profiles and schedules likewise *may match*;
- destination NAT rules are applied first; security rules match the original
  (pre-NAT) addresses and the post-NAT destination zone (``policy_addresses="original"``).
"""

from __future__ import annotations

import ipaddress
import socket

from segverify.errors import InputError
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
    ObjectDef,
    Opaque,
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
from segverify.firewall.paloalto.apps import APP_DEFAULT_PORTS
from segverify.firewall.paloalto.read import PanConfig, PanNat, PanRule, read_paloalto
from segverify.firewall.paloalto.read import Scope as ObjScope
from segverify.firewall.paloalto.tree import Node
from segverify.i18n import Msg
from segverify.topology.model import Location, PortRange

MAX_DEPTH = 16
# object keys read here or that do not change what the object matches
OBJECT_KEYS = {
    "address": frozenset(
        {"ip-netmask", "ip-range", "fqdn", "ip-wildcard", "description", "tag", "disable-override"}
    ),
    "address-group": frozenset({"static", "dynamic", "description", "tag", "disable-override"}),
    "service": frozenset({"protocol", "description", "tag", "disable-override"}),
    "service-group": frozenset({"members", "tag", "disable-override"}),
}
PROTOCOL_KEYS = frozenset({"port", "source-port", "override"})
PROTOCOLS = {"tcp": 6, "udp": 17, "sctp": 132}
PREDEFINED_SERVICES = {
    "service-http": ((6, "80,8080"),),
    "service-https": ((6, "443"),),
}
ACTIONS = {
    "allow": "accept",
    "deny": "drop",
    "drop": "drop",
    "reset-client": "reject",
    "reset-server": "reject",
    "reset-both": "reject",
}
RULE_KEYS_IRRELEVANT = frozenset(
    [
        "description",
        "tag",
        "log-setting",
        "log-start",
        "log-end",
        "profile-setting",
        "option",
        "group-tag",
        "uuid",
        "qos",
        "icmp-unreachable",
        "rule-type",
        "from",
        "to",
        "source",
        "destination",
        "negate-source",
        "negate-destination",
        "source-user",
        "application",
        "service",
        "category",
        "action",
        "disabled",
        "schedule",
        "source-hip",
        "destination-hip",
        "hip-profiles",
        "target",
        "negate-target",
        "disable-inspect",
        "source-imei",
        "source-imsi",
        "source-nw-slice",
        "audit-comment",
    ]
)


def _ports(spec: str, file: str, line: int) -> tuple[PortRange, ...]:
    out = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        lo, _, hi = part.partition("-")
        try:
            a, b = int(lo), int(hi or lo)
        except ValueError:
            raise InputError(
                Msg("error.firewall.paloalto.lower.invalid_port", part=part), file, line
            ) from None
        if not (0 <= a <= 65535 and 0 <= b <= 65535):
            raise InputError(
                Msg("error.firewall.paloalto.lower.port_out_range", part=part), file, line
            )
        out.append(PortRange(min(a, b), max(a, b)))
    return tuple(out)


def _fast_v4(text: str) -> ipaddress.IPv4Network | None:
    """``a.b.c.d`` or ``a.b.c.d/len`` without ipaddress's string parsing (the common case)."""
    addr, _, plen_s = text.partition("/")
    parts = addr.split(".")
    if len(parts) != 4 or not all(p.isdigit() and (p == "0" or p[0] != "0") for p in parts):
        return None  # let ipaddress judge (and reject octal-looking or short forms)
    try:
        a = int.from_bytes(socket.inet_aton(addr), "big")
        plen = int(plen_s) if plen_s else 32
    except (OSError, ValueError):
        return None
    if not 0 <= plen <= 32:
        return None
    mask = (0xFFFFFFFF << (32 - plen)) & 0xFFFFFFFF
    return ipaddress.IPv4Network((a & mask, plen))


def _literal_address(text: str, field: str) -> Expr | None:
    net = _fast_v4(text) if "-" not in text else None
    if net is not None:
        return Addresses(field, (net,))
    try:
        if "-" in text:
            lo, hi = (ipaddress.ip_address(x) for x in text.split("-", 1))
            return Addresses(field, (), ((lo, hi),))
        return Addresses(field, (ipaddress.ip_network(text, strict=False),))
    except ValueError:
        return None


class _Lower:
    def __init__(self, cfg: PanConfig, file: str) -> None:
        self.cfg, self.file = cfg, file
        self.cache: dict[tuple, Expr] = {}
        self.multi = len(cfg.vsys) > 1
        self.warnings: list[tuple[int, str]] = []
        self._scope_keys: dict[int, tuple[tuple[ObjScope, ...], tuple[str, ...]]] = {}

    def warn(self, line: int, msg: str) -> None:
        if (line, msg) not in self.warnings:
            self.warnings.append((line, msg))

    def check_keys(self, kind: str, name: str, n: Node) -> None:
        for key, c in n.children.items():
            if kind in OBJECT_KEYS and key not in OBJECT_KEYS[kind]:
                self.warn(
                    c.line,
                    Msg(
                        "warn.firewall.paloalto.lower.not_understood",
                        kind=kind,
                        name=name,
                        key_=key,
                    ),
                )

    def _o(self, n: Node, kind: str, name: str = "", id: str = "", context: str = "") -> Origin:
        return Origin(Location(self.file, n.line), n.text, kind, id, name, (), context)

    def _skey(self, scopes: tuple[ObjScope, ...]) -> tuple[str, ...]:
        """A hashable key for a lookup chain (the same tuple object serves many rules)."""
        got = self._scope_keys.get(id(scopes))
        if got is None or got[0] is not scopes:
            got = (scopes, tuple(s.name for s in scopes))
            self._scope_keys[id(scopes)] = got
        return got[1]

    def _find(
        self, scopes: tuple[ObjScope, ...], kinds: tuple[str, ...], name: str
    ) -> tuple[str, Node] | None:
        for sc in scopes:
            node = sc.node
            if node is None:
                continue
            for k in kinds:
                t = node.children.get(k)
                if t is not None:
                    hit = t.children.get(name)
                    if hit is not None:
                        return k, hit
        return None

    # -- addresses ------------------------------------------------------------------
    def address(
        self, name: str, field: str, scopes: tuple[ObjScope, ...], line: int, depth: int = 0
    ) -> Expr:
        key = ("addr", name, field, self._skey(scopes))
        if key in self.cache:
            return self.cache[key]
        if depth > MAX_DEPTH:
            raise InputError(
                Msg("error.common.address_group_nests_too_deep", name=name), self.file, line
            )
        found = self._find(scopes, ("address", "address-group", "external-list", "region"), name)
        if found is None:
            lit = _literal_address(name, field)
            if lit is not None:
                return lit
            if len(name) == 2 and name.isalpha() and name.isupper():  # predefined region
                return Opaque("geo", f"region {name}")
            raise InputError(
                Msg("error.firewall.paloalto.lower.address_not_defined", name=name), self.file, line
            )
        kind, n = found
        self.check_keys(kind, name, n)
        if kind == "address":
            o = self._o(n, "address", name)
            if n.child("ip-netmask") is not None:
                v = n.value("ip-netmask")
                e = _literal_address(v, field)
                if e is None or "-" in v:
                    raise InputError(
                        Msg(
                            "error.firewall.paloalto.lower.address_invalid_ip_netmask",
                            name=name,
                            value=v,
                        ),
                        self.file,
                        n.line,
                    )
                e = Addresses(field, e.nets, (), o)
            elif n.child("ip-range") is not None:
                v = n.value("ip-range")
                e = _literal_address(v, field) if "-" in v else None
                if e is None:
                    raise InputError(
                        Msg(
                            "error.firewall.paloalto.lower.address_invalid_ip_range",
                            name=name,
                            value=v,
                        ),
                        self.file,
                        n.line,
                    )
                e = Addresses(field, (), e.ranges, o)
            elif n.child("fqdn") is not None:
                e = Opaque("fqdn", f"{name} = {n.value('fqdn')}", o)
            elif n.child("ip-wildcard") is not None:
                e = Opaque("other", f"{name} = wildcard {n.value('ip-wildcard')}", o)
            else:
                raise InputError(
                    Msg("error.firewall.paloalto.lower.address_has_no_value", name=name),
                    self.file,
                    n.line,
                )
        elif kind == "address-group":
            o = self._o(n, "address-group", name)
            if n.child("dynamic") is not None:
                e = Opaque(
                    "other", f"dynamic address group {name}: {n.value('dynamic', 'filter')}", o
                )
            else:
                members = n.names("static") if n.child("static") is not None else n.values
                e = named(
                    any_of(*(self.address(m, field, scopes, n.line, depth + 1) for m in members)), o
                )
        elif kind == "external-list":
            e = Opaque("other", f"external dynamic list {name}", self._o(n, "external-list", name))
        else:
            e = Opaque("geo", f"region {name}", self._o(n, "region", name))
        self.cache[key] = e
        return e

    def addr_field(self, rule: Node, key: str, field: str, scopes, neg: bool) -> Expr:
        names = rule.names(key)
        if not names or names == ["any"]:
            return TRUE
        line = rule.child(key).line
        e = any_of(*(self.address(n, field, scopes, line) for n in names))
        return negate(e) if neg else e

    # -- services -------------------------------------------------------------------
    def _entries(self, entries: tuple[tuple[int, str], ...], line: int) -> Expr:
        alts = []
        for proto, ports in entries:
            if proto == 1:
                alts.append(all_of(Protocols((1,)), Icmp()))
            elif ports:
                alts.append(
                    all_of(Protocols((proto,)), Ports("dport", _ports(ports, self.file, line)))
                )
            else:
                alts.append(Protocols((proto,)))
        return any_of(*alts)

    def service(self, name: str, scopes, line: int, depth: int = 0) -> Expr:
        key = ("svc", name, self._skey(scopes))
        if key in self.cache:
            return self.cache[key]
        if depth > MAX_DEPTH:
            raise InputError(
                Msg("error.common.service_group_nests_too_deep", name=name), self.file, line
            )
        found = self._find(scopes, ("service", "service-group"), name)
        if found is None:
            if name in PREDEFINED_SERVICES:
                e = named(
                    self._entries(PREDEFINED_SERVICES[name], line),
                    Origin(None, name, "service", "", name),
                )
                self.cache[key] = e
                return e
            raise InputError(Msg("error.common.service_not_defined", name=name), self.file, line)
        kind, n = found
        self.check_keys(kind, name, n)
        if kind == "service":
            proto_node = n.child("protocol")
            alts = []
            for pname, pn in proto_node.children.items() if proto_node is not None else []:
                if pname not in PROTOCOLS:
                    raise InputError(
                        Msg(
                            "error.firewall.paloalto.lower.service_unknown_protocol",
                            name=name,
                            proto=pname,
                        ),
                        self.file,
                        pn.line,
                    )
                for key, c in pn.children.items():
                    if key not in PROTOCOL_KEYS:
                        self.warn(
                            c.line,
                            Msg(
                                "warn.firewall.paloalto.lower.service_not_understood",
                                name=name,
                                key_=key,
                            ),
                        )
                parts: list[Expr] = [Protocols((PROTOCOLS[pname],))]
                if pn.child("port") is not None:
                    parts.append(
                        Ports("dport", _ports(",".join(pn.names("port")), self.file, pn.line))
                    )
                if pn.child("source-port") is not None:
                    parts.append(
                        Ports(
                            "sport", _ports(",".join(pn.names("source-port")), self.file, pn.line)
                        )
                    )
                alts.append(all_of(*parts))
            if not alts:
                raise InputError(
                    Msg("error.firewall.paloalto.lower.service_has_no_protocol", name=name),
                    self.file,
                    n.line,
                )
            e = named(any_of(*alts), self._o(n, "service", name))
        else:
            members = n.names("members") if n.child("members") is not None else n.values
            e = named(
                any_of(*(self.service(m, scopes, n.line, depth + 1) for m in members)),
                self._o(n, "service-group", name),
            )
        self.cache[key] = e
        return e

    def _apps(self, names: list[str], scopes) -> list[str]:
        """Application names with application groups expanded (filters stay names)."""
        out: list[str] = []
        for a in names:
            found = self._find(scopes, ("application-group",), a)
            if found is not None:
                _, n = found
                out.extend(self._apps(n.names("members") or n.values, scopes))
            else:
                out.append(a)
        return out

    def service_field(self, r: PanRule, o: Origin) -> Expr:
        n = r.node
        names = n.names("service") or ["any"]
        apps = n.names("application") or ["any"]
        line = n.child("service").line if n.child("service") is not None else n.line
        parts = []
        for s in names:
            if s == "any":
                return TRUE
            if s == "application-default":
                expanded = self._apps(apps, r.scopes)
                if apps == ["any"] or not all(a in APP_DEFAULT_PORTS for a in expanded):
                    parts.append(
                        Opaque("application", f"application-default ports of {', '.join(apps)}", o)
                    )
                else:
                    for a in expanded:
                        parts.append(
                            named(
                                self._entries(APP_DEFAULT_PORTS[a], line),
                                Origin(None, a, "application", "", a),
                            )
                        )
            else:
                parts.append(self.service(s, r.scopes, line))
        return any_of(*parts)

    # -- zones ----------------------------------------------------------------------
    def zone(self, vsys: str, z: str) -> str:
        return f"{vsys}:{z}" if self.multi else z

    def zones_field(self, r: PanRule, key: str, side: str) -> tuple[Expr, list[str]]:
        names = r.node.names(key)
        if not names or names == ["any"]:
            return TRUE, []
        known = self.cfg.vsys[r.vsys].zones if r.vsys in self.cfg.vsys else {}
        all_known = {z for v in self.cfg.vsys.values() for z in v.zones}
        for z in names:
            if z not in known and all_known:
                raise InputError(
                    Msg(
                        "error.firewall.paloalto.lower.zone_not_defined_known",
                        zone=z,
                        known=", ".join(sorted(known)) or "none",
                    ),
                    self.file,
                    r.node.child(key).line,
                )
        zs = [self.zone(r.vsys, z) for z in names]
        return Zones(side, tuple(zs)), zs

    # -- rules ----------------------------------------------------------------------
    def rule(self, r: PanRule) -> Rule:
        n = r.node
        context = {"pre": "pre-rulebase", "post": "post-rulebase"}.get(r.section, "rulebase")
        if self.multi:
            context = f"{r.vsys} {context}"
        o = Origin(
            Location(self.file, n.line), _summary(r.name, n), "rule", "", r.name, (), context
        )
        action_word = n.value("action", default="allow")
        if action_word not in ACTIONS:
            raise InputError(
                Msg(
                    "error.firewall.paloalto.lower.rule_unknown_action",
                    rule=r.name,
                    action=action_word,
                ),
                self.file,
                n.line,
            )
        zin, zin_names = self.zones_field(r, "from", "in")
        zout, _ = self.zones_field(r, "to", "out")
        parts: list[Expr] = [zin, zout]
        rtype = n.value("rule-type", default="universal")
        if rtype in ("intrazone", "interzone"):
            vz = (
                [self.zone(r.vsys, z) for z in self.cfg.vsys.get(r.vsys, None).zones]
                if r.vsys in self.cfg.vsys
                else []
            )
            scope = zin_names or vz
            same = any_of(*(all_of(Zones("in", (z,)), Zones("out", (z,))) for z in scope))
            parts.append(same if rtype == "intrazone" else negate(same))
        elif rtype != "universal":
            raise InputError(
                Msg(
                    "error.firewall.paloalto.lower.rule_unknown_rule_type", rule=r.name, rtype=rtype
                ),
                self.file,
                n.line,
            )
        parts.append(
            self.addr_field(n, "source", "src", r.scopes, n.value("negate-source") == "yes")
        )
        parts.append(
            self.addr_field(
                n, "destination", "dst", r.scopes, n.value("negate-destination") == "yes"
            )
        )
        parts.append(self.service_field(r, o))
        apps = n.names("application")
        if apps and apps != ["any"]:
            parts.append(
                Opaque(
                    "application", ", ".join(apps), self._o(n.child("application"), "application")
                )
            )
        for key, kind in (
            ("source-user", "user"),
            ("category", "url-category"),
            ("source-hip", "user"),
            ("destination-hip", "user"),
            ("hip-profiles", "user"),
        ):
            vals = n.names(key)
            if vals and vals != ["any"]:
                parts.append(Opaque(kind, f"{key} {', '.join(vals)}", self._o(n.child(key), kind)))
        if n.child("schedule") is not None:
            parts.append(
                Opaque("schedule", n.value("schedule"), self._o(n.child("schedule"), "schedule"))
            )
        if n.child("target") is not None and (
            n.child("target").children or n.child("target").values
        ):
            t = n.child("target")
            if t.child("devices") is not None or t.values:
                parts.append(
                    Opaque("other", "applies only to the target devices", self._o(t, "target"))
                )
        for key, c in n.children.items():
            if key not in RULE_KEYS_IRRELEVANT:
                parts.append(Opaque("unknown", c.text or key, self._o(c, "setting")))
        if self.multi and r.vsys in self.cfg.vsys:
            mine = tuple(self.zone(r.vsys, z) for z in self.cfg.vsys[r.vsys].zones)
            parts += [Zones("in", mine), Zones("out", mine)]
        enabled = n.value("disabled") != "yes"
        return Rule(ACTIONS[action_word], all_of(*parts), o, enabled)

    def nat(self, r: PanNat) -> DestNat | None:
        n = r.node
        dt = n.child("destination-translation") or n.child("dynamic-destination-translation")
        if dt is None or n.value("disabled") == "yes":
            return None
        o = self._o(n, "nat-rule", r.name)
        to_name = dt.value("translated-address")
        to_addr = None
        if to_name:
            found = self._find(r.scopes, ("address",), to_name)
            text = found[1].value("ip-netmask") if found else to_name
            try:
                net = ipaddress.ip_network(text, strict=False)
            except ValueError:
                if found is None:
                    raise InputError(
                        Msg(
                            "error.firewall.paloalto.lower.nat_rule_address_not_defined",
                            rule=r.name,
                            name=to_name,
                        ),
                        self.file,
                        dt.line,
                    ) from None
                net = None
            if net is None or net.num_addresses != 1:
                self.warn(
                    dt.line,
                    Msg(
                        "warn.firewall.paloalto.lower.nat_rule_translation_pool_not",
                        rule=r.name,
                        name=to_name,
                    ),
                )
                return None
            to_addr = str(net.network_address)
        port = dt.value("translated-port")
        zin, _ = self.zones_field(PanRule(r.name, n, "local", r.vsys, r.scopes), "from", "in")
        svc = n.value("service", default="any")
        parts = [
            zin,
            self.addr_field(n, "source", "src", r.scopes, False),
            self.addr_field(n, "destination", "dst", r.scopes, False),
            TRUE if svc == "any" else self.service(svc, r.scopes, n.line),
        ]
        return DestNat(all_of(*parts), to_addr, int(port) if port.isdigit() else None, o)


# interface management profile service → (protocol, port); ping is ICMP echo
MGMT_SERVICES = {
    "ping": (1, None),
    "ssh": (6, 22),
    "telnet": (6, 23),
    "http": (6, 80),
    "https": (6, 443),
    "snmp": (17, 161),
    "http-ocsp": (6, 6080),
    "response-pages": (6, 6080),
    "userid-service": (6, 5007),
    "userid-syslog-listener-ssl": (6, 6514),
    "userid-syslog-listener-udp": (17, 514),
}


def _mgmt_stage(cfg: PanConfig, dev: Device, file: str) -> Stage:
    """Traffic to the firewall's own interface addresses: what each interface's
    management profile admits (PAN-OS answers nothing else on a dataplane interface)."""
    rules = []
    for name, (n, _) in cfg.interfaces.items():
        pname = n.value("layer3", "interface-management-profile") or n.value(
            "interface-management-profile"
        )
        own = dev.interfaces[name].addresses if name in dev.interfaces else ()
        if not pname or not own:
            continue
        prof = cfg.mgmt_profiles.get(pname)
        if prof is None:
            raise InputError(
                Msg(
                    "error.firewall.paloalto.lower.interface_management_profile_not_defined",
                    name=pname,
                ),
                file,
                n.line,
            )
        o = Origin(Location(file, prof.line), prof.text, "interface-management-profile", "", pname)
        alts: list[Expr] = []
        for svc, (proto, port) in MGMT_SERVICES.items():
            if prof.value(svc) != "yes":
                continue
            if proto == 1:
                alts.append(all_of(Protocols((1,)), Icmp(8, None)))
            else:
                alts.append(all_of(Protocols((proto,)), Ports("dport", (PortRange(port, port),))))
        permitted = prof.names("permitted-ip")
        src = (
            any_of(*(_literal_address(p, "src") or FALSE for p in permitted)) if permitted else TRUE
        )
        match = all_of(Interfaces("in", (name,)), Addresses("dst", own), src, any_of(*alts))
        rules.append(Rule("accept", match, o))
    return Stage("management", tuple(rules), "drop", Scope(paths=("input",), hook="input"))


def _summary(name: str, n: Node) -> str:
    """One line for a rule: ``rule 'x': from trust to untrust … action allow``."""
    bits = [f"rule '{name}':"]
    for key in ("from", "to", "source", "destination", "application", "service", "action"):
        vals = n.names(key)
        if vals:
            bits.append(f"{key} {' '.join(vals)}")
    for key in ("negate-source", "negate-destination", "disabled"):
        if n.value(key) == "yes":
            bits.append(f"{key} yes")
    if n.value("rule-type"):
        bits.append(f"rule-type {n.value('rule-type')}")
    return " ".join(bits)


def _default_action(cfg: PanConfig, which: str, fallback: str) -> tuple[str, Origin | None]:
    n = cfg.defaults.get(which)
    if n is None or n.child("action") is None:
        return fallback, None
    word = n.value("action")
    if word not in ACTIONS:
        raise InputError(
            Msg("error.firewall.paloalto.lower.unknown_action", which=which, action=word),
            "",
            n.line,
        )
    return ACTIONS[word], Origin(Location("", n.line), n.text, "rule", "", which)


def lower_paloalto(cfg: PanConfig, file: str) -> Device:
    dev = Device(name=cfg.hostname or "panos", vendor="paloalto", source=file)
    for line, msg in cfg.warnings:
        dev.warn(Location(file, line), msg)
    in_zones = {
        m
        for v in cfg.vsys.values()
        for zn in v.zones.values()
        for kind, members in ((zn.child("network") or Node("", 0)).children.items())
        for m in members.values + list(members.children)
    }
    for name, (n, addrs) in cfg.interfaces.items():
        managed = n.value("layer3", "interface-management-profile") or n.value(
            "interface-management-profile"
        )
        if name not in in_zones and not managed:
            continue  # in no zone and no management profile: it passes nothing
        own = []
        for a in addrs:
            try:
                own.append(ipaddress.ip_network(ipaddress.ip_interface(a).ip))
            except ValueError:
                continue  # an address object name: its value is not the interface's own
        dev.interfaces[name] = Interface(
            name,
            None,
            tuple(own),
            name.startswith("loopback"),
            Origin(Location(file, n.line), n.text, "interface", "", name),
        )
    low = _Lower(cfg, file)
    for v in cfg.vsys.values():
        for z, zn in v.zones.items():
            members: list[str] = []
            net = zn.child("network")
            for kind in net.children if net is not None else {}:
                if kind in ("layer3", "layer2", "virtual-wire", "tap", "tunnel"):
                    members += net.names(kind)
            for m in members:
                if m not in dev.interfaces:
                    dev.interfaces[m] = Interface(
                        m, origin=Origin(Location(file, zn.line), zn.text, "interface", "", m)
                    )
            if not members:
                continue  # an empty zone matches no packet (and must not be bound by name)
            name = low.zone(v.name, z)
            dev.zones[name] = VendorZone(
                name, tuple(members), Origin(Location(file, zn.line), zn.text, "zone", "", z)
            )
    for scope_node in [v.node for v in cfg.vsys.values()] + [cfg.shared, cfg.panorama]:
        if scope_node is not None:
            for kind in ("address", "address-group", "service", "service-group"):
                t = scope_node.child(kind)
                for oname, on in t.children.items() if t is not None else []:
                    dev.objects.append(
                        ObjectDef(
                            kind, oname, Origin(Location(file, on.line), on.text, kind, "", oname)
                        )
                    )
    rules = [low.rule(r) for r in cfg.rules]
    for nr in cfg.nat:
        d = low.nat(nr)
        if d is not None:
            dev.dnat.append(d)
    for line, msg in low.warnings:
        dev.warn(Location(file, line), msg)
    if dev.dnat:
        dev.policy_addresses = "original"
    inter, _ = _default_action(cfg, "interzone-default", "drop")
    intra, _ = _default_action(cfg, "intrazone-default", "accept")
    origin = Origin(None, "default security rules", "rule", "", "interzone-default")
    dev.stages.append(Stage("security", tuple(rules), inter, Scope(), intra, origin))
    dev.stages.append(_mgmt_stage(cfg, dev, file))
    return dev


def parse_paloalto(text: str, file: str = "<string>") -> Device:
    """Parse a PAN-OS configuration (XML, set or brace form) into the device model."""
    try:
        cfg = read_paloalto(text)
    except Exception as exc:  # expat errors carry line numbers
        import xml.parsers.expat

        if isinstance(exc, xml.parsers.expat.ExpatError):
            raise InputError(
                Msg(
                    "error.firewall.paloalto.lower.not_well_formed_xml",
                    reason=xml.parsers.expat.ErrorString(exc.code),
                ),
                file,
                exc.lineno,
            ) from None
        raise
    return lower_paloalto(cfg, file)
