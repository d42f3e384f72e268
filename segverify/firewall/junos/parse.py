"""Junos ``set`` statements (from either syntax, setlines.py) → ``JunosConfig``.

Statements that do not change which packets the device forwards or accepts (routing,
system, logging, IKE…) are skipped by their first words (``_NOT_FILTERING``); any other
statement this module does not understand is a warning with its line.
"""

from __future__ import annotations

import ipaddress

from segverify.errors import InputError
from segverify.firewall.junos.model import (
    Address,
    AddressBook,
    AddressSet,
    Application,
    ApplicationSet,
    AppTerm,
    DnatRule,
    Filter,
    HostInbound,
    JunosConfig,
    Policy,
    Term,
)
from segverify.firewall.junos.setlines import SetLine, set_lines
from segverify.i18n import Msg
from segverify.topology.model import IPNetwork, Location

_NOT_FILTERING = {
    ("version",), ("chassis",), ("snmp",), ("routing-options",), ("protocols",),
    ("class-of-service",), ("event-options",), ("access",), ("forwarding-options",),
    ("vlans",), ("poe",), ("ethernet-switching-options",), ("routing-instances",),
    ("bridge-domains",), ("switch-options",), ("services",), ("multi-chassis",),
    ("snmp",), ("access-profile",), ("virtual-chassis",), ("fabric",),
    ("security", "ike"), ("security", "ipsec"), ("security", "screen"), ("security", "log"),
    ("security", "flow"), ("security", "alg"), ("security", "pki"), ("security", "idp"),
    ("security", "ssh-known-hosts"), ("security", "authentication-key-chains"),
    ("security", "utm"), ("security", "application-tracking"), ("security", "user-identification"),
    ("security", "nat", "source"), ("security", "nat", "proxy-arp"), ("security", "nat", "proxy-ndp"),
    ("security", "certificates"), ("security", "key-chain"), ("security", "dynamic-address"), ("security", "gprs"),
    ("security", "zones", "functional-zone"), ("security", "policies", "policy-rematch"),
    ("security", "policies", "traceoptions"), ("security", "policies", "pre-id-default-policy"),
    ("security", "address-book-global"), ("security", "group-vpn"), ("security", "dynamic-vpn"),
    ("policy-options", "policy-statement"), ("policy-options", "community"),
    ("policy-options", "as-path"), ("policy-options", "as-path-group"), ("policy-options", "condition"),
    ("firewall", "policer"), ("firewall", "three-color-policer"), ("firewall", "family", "inet", "dialer-filter"),
    ("applications", "application-set", "description"),
}  # fmt: skip
_ZONE_IGNORED = {
    "tcp-rst",
    "screen",
    "description",
    "application-tracking",
    "enable-reverse-reroute",
    "source-identity-log",
}
_APP_FIELDS = {
    "protocol",
    "source-port",
    "destination-port",
    "icmp-type",
    "icmp-code",
    "icmp6-type",
    "icmp6-code",
}
_APP_IGNORED = {
    "description",
    "inactivity-timeout",
    "application-protocol",
    "alg",
    "do-not-translate-A-query-to-AAAA-query",
}
_TERM_NONTERMINAL = {"count", "log", "syslog", "sample", "policer", "forwarding-class", "loss-priority",
                     "three-color-policer", "port-mirror", "dscp", "traffic-class", "service-accounting"}  # fmt: skip


def _net(text: str, sl: SetLine, file: str) -> IPNetwork:
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise InputError(
            Msg("error.firewall.junos.parse.not_address_prefix", text=text), file, sl.line
        ) from None


class _Parser:
    def __init__(self, text: str, file: str) -> None:
        self.file = file
        self.lines = set_lines(text, file)
        self.cfg = JunosConfig(file)
        self.policies: dict[tuple[str, str], Policy] = {}
        self.dnat: dict[tuple[str, str], DnatRule] = {}
        self.rule_sets: dict[str, tuple[str, list[str]]] = {}
        self.logical_systems: set[str] = set()

    def loc(self, sl: SetLine) -> Location:
        return Location(self.file, sl.line)

    def warn(self, sl: SetLine, msg: str) -> None:
        self.cfg.warnings.append((self.loc(sl), msg))

    def _expand_groups(self, lines: list[SetLine]) -> list[SetLine]:
        """``set apply-groups G`` at the top: the statements of ``set groups G …`` apply as
        if written at the top (after the configuration's own). Groups applied deeper in the
        hierarchy and wildcard (``<…>``) groups are reported, not expanded."""
        applied = [
            sl.words[1] for sl in lines if len(sl.words) == 2 and sl.words[0] == "apply-groups"
        ]
        out = list(lines)
        for sl in lines:
            w = sl.words
            if "apply-groups" in w[1:] and w[0] != "groups":
                self.warn(
                    sl, Msg("warn.firewall.junos.parse.apply_groups_below_top_level", text=sl.text)
                )
            if len(w) > 2 and w[0] == "groups" and w[1] in applied:
                rest = w[2:]
                if any(x.startswith("<") for x in rest):
                    self.warn(
                        sl,
                        Msg(
                            "warn.firewall.junos.parse.wildcard_group_statement_not_expanded",
                            text=sl.text,
                        ),
                    )
                    continue
                inactive = None if sl.inactive_at is None else max(0, sl.inactive_at - 2)
                out.append(SetLine(rest, sl.line, sl.text, inactive))
        return out

    def run(self) -> JunosConfig:
        self.lines = self._expand_groups(self.lines)
        for sl in self.lines:
            w = sl.words
            if not w:
                continue
            if w[0] == "__unsupported__":
                self.warn(sl, Msg("warn.firewall.junos.parse.command_not_applied", text=sl.text))
                continue
            if sl.inactive_at is not None and not self._policy_line(w):
                continue  # a deactivated statement has no effect
            self.statement(sl, w)
        for (rs, _), rule in self.dnat.items():
            kind, names = self.rule_sets.get(rs, ("", []))
            rule.from_kind, rule.from_names = kind, names
        self.cfg.dnat_rules = list(self.dnat.values())
        return self.cfg

    @staticmethod
    def _policy_line(w: tuple[str, ...]) -> bool:
        return w[:2] == ("security", "policies") and len(w) > 2 and w[2] in ("from-zone", "global")

    def statement(self, sl: SetLine, w: tuple[str, ...]) -> None:
        for k in (1, 2, 3, 4):
            if w[:k] in _NOT_FILTERING:
                return
        head = w[0]
        if w[:2] == ("system", "host-name") and len(w) == 3:
            self.cfg.hostname = w[2]
        elif head == "system":
            return
        elif head in ("groups", "apply-groups"):
            return  # expanded in _expand_groups
        elif head in ("logical-systems", "tenants"):
            name = w[1] if len(w) > 1 else ""
            if name not in self.logical_systems:
                self.logical_systems.add(name)
                self.warn(
                    sl,
                    Msg(
                        "warn.firewall.junos.parse.its_own_zones_policies_are", head=head, name=name
                    ),
                )
        elif head == "interfaces":
            self.interface(sl, w)
        elif w[:3] == ("security", "zones", "security-zone") and len(w) >= 5:
            self.zone(sl, w)
        elif w[:2] == ("security", "address-book") and len(w) >= 4:
            self.book(sl, w[2], w[3:])
        elif w[:2] == ("security", "policies"):
            self.policy(sl, w)
        elif head == "applications":
            self.application(sl, w)
        elif head == "firewall":
            self.filter(sl, w)
        elif w[:2] == ("policy-options", "prefix-list") and len(w) >= 3:
            if len(w) == 4 and w[3] != "apply-path":
                self.cfg.prefix_lists.setdefault(w[2], []).append(_net(w[3], sl, self.file))
            elif len(w) == 3:
                self.cfg.prefix_lists.setdefault(w[2], [])
            else:
                self.warn(sl, Msg("warn.firewall.junos.parse.prefix_list_not_modelled", name=w[3]))
        elif head == "policy-options":
            return
        elif w[:3] in (("security", "nat", "destination"), ("security", "nat", "static")):
            self.nat(sl, w)
        elif w[:3] == ("security", "forwarding-options", "family") and "packet-based" in w:
            self.warn(
                sl, Msg("warn.firewall.junos.parse.packet_based_forwarding_security_policies")
            )
        elif w[:2] == ("security", "forwarding-options"):
            return
        else:
            self.warn(sl, Msg("warn.common.not_understood", line=sl.text))

    # ------------------------------------------------------------------ interfaces, zones

    def interface(self, sl: SetLine, w: tuple[str, ...]) -> None:
        if len(w) < 3:
            return
        if w[2] == "unit" and len(w) >= 6 and w[4] == "family":
            name = f"{w[1]}.{w[3]}"
            self.cfg.interface_locations.setdefault(name, self.loc(sl))
            self.cfg.interfaces.setdefault(name, [])
            fam = w[5]
            if len(w) >= 8 and w[6] == "address":
                addr = w[7].split("/")[0]
                try:
                    ip = ipaddress.ip_address(addr)
                except ValueError:
                    raise InputError(
                        Msg("error.common.not_address", name=w[7]), self.file, sl.line
                    ) from None
                host = ipaddress.ip_network(ip)
                if host not in self.cfg.interfaces[name]:
                    self.cfg.interfaces[name].append(host)
            elif (
                len(w) >= 9
                and w[6] == "filter"
                and w[7] in ("input", "output", "input-list", "output-list")
            ):
                direction = "in" if w[7].startswith("input") else "out"
                self.cfg.filter_bindings.append((name, fam, direction, w[8], self.loc(sl)))
        elif w[2] == "unit" and len(w) >= 4:
            name = f"{w[1]}.{w[3]}"
            self.cfg.interface_locations.setdefault(name, self.loc(sl))
            self.cfg.interfaces.setdefault(name, [])

    def zone(self, sl: SetLine, w: tuple[str, ...]) -> None:
        z = w[3]
        self.cfg.zones.setdefault(z, [])
        self.cfg.zone_locations.setdefault(z, self.loc(sl))
        rest = w[4:]
        if rest[0] == "interfaces" and len(rest) >= 2:
            itf = rest[1]
            if itf not in self.cfg.zones[z]:
                self.cfg.zones[z].append(itf)
            if len(rest) > 2:
                if rest[2] == "host-inbound-traffic" and len(rest) >= 5:
                    self.host_inbound(sl, z, itf, rest[3:])
                else:
                    self.warn(sl, Msg("warn.common.not_understood", line=sl.text))
        elif rest[0] == "address-book" and len(rest) >= 2:
            self.book(sl, f"zone:{z}", rest[1:], zone=z)
        elif rest[0] == "host-inbound-traffic" and len(rest) >= 3:
            self.host_inbound(sl, z, None, rest[1:])
        elif rest[0] in _ZONE_IGNORED:
            return
        else:
            self.warn(sl, Msg("warn.common.not_understood", line=sl.text))

    def host_inbound(self, sl: SetLine, zone: str, itf: str | None, rest: tuple[str, ...]) -> None:
        if rest[0] not in ("system-services", "protocols") or len(rest) < 2:
            self.warn(sl, Msg("warn.common.not_understood", line=sl.text))
            return
        excepted = rest[2:] == ("except",)
        self.cfg.host_inbound.append(
            HostInbound(zone, itf, rest[0], rest[1], excepted, self.loc(sl), sl.text)
        )

    def book(self, sl: SetLine, book: str, rest: tuple[str, ...], zone: str | None = None) -> None:
        b = self.cfg.books.setdefault(book, AddressBook(book, zones=[zone] if zone else []))
        kind = rest[0]
        if kind == "attach" and rest[1:2] == ("zone",) and len(rest) == 3:
            b.zones.append(rest[2])
        elif kind == "description":
            return
        elif kind == "address" and len(rest) >= 3:
            name, val = rest[1], rest[2:]
            if val[0] == "description":
                return
            if val[0] == "range-address" and len(val) == 4 and val[2] == "to":
                lo, hi = _net(val[1], sl, self.file), _net(val[3], sl, self.file)
                if lo.version != hi.version or lo.network_address > hi.network_address:
                    raise InputError(
                        Msg("error.firewall.junos.parse.range_empty", lo=val[1], hi=val[3]),
                        self.file,
                        sl.line,
                    )
                value: object = (lo.network_address, hi.network_address)
                k = "range"
            elif val[0] == "dns-name" and len(val) >= 2:
                value, k = val[1], "dns"
            elif val[0] == "wildcard-address" and len(val) == 2:
                value, k = val[1], "wildcard"
            elif len(val) == 1:
                value, k = _net(val[0], sl, self.file), "prefix"
            else:
                self.warn(sl, Msg("warn.common.not_understood", line=sl.text))
                return
            b.addresses[name] = Address(book, name, k, value, self.loc(sl), sl.text)
        elif kind == "address-set" and len(rest) >= 3:
            s = b.sets.setdefault(rest[1], AddressSet(book, rest[1], self.loc(sl), sl.text))
            if rest[2] in ("address", "address-set") and len(rest) == 4:
                s.members.append((rest[2], rest[3], self.loc(sl)))
            elif rest[2] != "description":
                self.warn(sl, Msg("warn.common.not_understood", line=sl.text))
        else:
            self.warn(sl, Msg("warn.common.not_understood", line=sl.text))

    # ------------------------------------------------------------------ policies

    def policy(self, sl: SetLine, w: tuple[str, ...]) -> None:
        if len(w) == 4 and w[2] == "default-policy" and w[3] in ("permit-all", "deny-all"):
            self.cfg.default_policy = w[3]
            self.cfg.default_location = self.loc(sl)
            return
        if len(w) >= 8 and w[2] == "from-zone" and w[4] == "to-zone" and w[6] == "policy":
            ctx, name, rest, plen = f"from-zone {w[3]} to-zone {w[5]}", w[7], w[8:], 8
        elif len(w) >= 5 and w[2] == "global" and w[3] == "policy":
            ctx, name, rest, plen = "global", w[4], w[5:], 5
        else:
            self.warn(sl, Msg("warn.common.not_understood", line=sl.text))
            return
        key = (ctx, name)
        p = self.policies.get(key)
        if p is None:
            p = Policy(
                name,
                ctx,
                Location(self.file, sl.line_of(plen)),
                f"{'set security policies ' + ctx if ctx != 'global' else 'set security policies global'} policy {name}",
            )
            if ctx != "global":
                p.from_zones, p.to_zones = [w[3]], [w[5]]
                self.cfg.policies.append(p)
            else:
                self.cfg.global_policies.append(p)
            self.policies[key] = p
        p.lines.append(sl.line)
        if sl.inactive_at is not None:
            if sl.inactive_at <= plen:
                p.inactive = True
            else:
                return  # one deactivated statement inside the policy
        if not rest:
            return
        if rest[0] == "match" and len(rest) >= 2:
            m = rest[1:]
            k = m[0]
            if k in ("source-address", "destination-address", "application") and len(m) == 2:
                {
                    "source-address": p.sources,
                    "destination-address": p.destinations,
                    "application": p.applications,
                }[k].append(m[1])
            elif k == "source-address-excluded" and len(m) == 1:
                p.source_excluded = True
            elif k == "destination-address-excluded" and len(m) == 1:
                p.destination_excluded = True
            elif k in ("from-zone", "to-zone") and len(m) == 2 and ctx == "global":
                (p.from_zones if k == "from-zone" else p.to_zones).append(m[1])
            elif k in ("source-identity", "source-end-user-profile") and len(m) == 2:
                if m[1] != "any":
                    p.opaque.append(("user", f"{k} {m[1]}"))
            elif k == "dynamic-application" and len(m) == 2:
                if m[1] not in ("any", "none"):
                    p.opaque.append(("application", f"dynamic-application {m[1]}"))
            elif k == "url-category" and len(m) == 2:
                if m[1] not in ("any", "none"):
                    p.opaque.append(("url-category", m[1]))
            else:
                p.opaque.append(("unknown", sl.text))
                self.warn(
                    sl,
                    Msg("warn.firewall.junos.parse.policy_match_not_understood", text=" ".join(m)),
                )
        elif rest[0] == "then" and len(rest) >= 2:
            a = rest[1]
            if a in ("permit", "deny", "reject"):
                if p.action is not None and p.action != a:
                    raise InputError(
                        Msg(
                            "error.firewall.junos.parse.policy_has_two_actions",
                            name=name,
                            action=p.action,
                            action2=a,
                        ),
                        self.file,
                        sl.line,
                    )
                p.action = a
            elif a in ("log", "count"):
                return
            else:
                p.opaque.append(("unknown", sl.text))
                self.warn(
                    sl,
                    Msg(
                        "warn.firewall.junos.parse.policy_action_not_understood",
                        text=" ".join(rest[1:]),
                    ),
                )
        elif rest[0] == "scheduler-name" and len(rest) == 2:
            p.scheduler = rest[1]
        elif rest[0] == "description":
            return
        else:
            p.opaque.append(("unknown", sl.text))
            self.warn(sl, Msg("warn.common.not_understood", line=sl.text))

    # ------------------------------------------------------------------ applications

    def application(self, sl: SetLine, w: tuple[str, ...]) -> None:
        if len(w) >= 4 and w[1] == "application":
            a = self.cfg.applications.setdefault(
                w[2], Application(w[2], self.loc(sl), f"set applications application {w[2]}")
            )
            rest = w[3:]
            term = ""
            if rest[0] == "term" and len(rest) >= 3:
                term, rest = rest[1], rest[2:]
                if rest[0] == "alg":
                    rest = rest[2:]
            t = a.terms.setdefault(term, AppTerm(term, self.loc(sl)))
            while rest:  # one statement may carry several "key value" pairs
                key = rest[0]
                if key in _APP_FIELDS and len(rest) >= 2:
                    setattr(t, key.replace("-", "_").replace("icmp6", "icmp"), rest[1])
                elif key in _APP_IGNORED and len(rest) >= 2:
                    pass
                elif key in ("rpc-program-number", "uuid", "ether-type") and len(rest) >= 2:
                    t.opaque.append(f"{key} {rest[1]}")
                else:
                    t.opaque.append(f"unknown {' '.join(rest)}")
                    self.warn(
                        sl,
                        Msg(
                            "warn.firewall.junos.parse.application_attribute_not_understood",
                            text=" ".join(rest),
                        ),
                    )
                    break
                rest = rest[2:]
        elif len(w) >= 4 and w[1] == "application-set":
            s = self.cfg.application_sets.setdefault(
                w[2], ApplicationSet(w[2], self.loc(sl), f"set applications application-set {w[2]}")
            )
            if w[3] in ("application", "application-set") and len(w) == 5:
                s.members.append((w[3], w[4], self.loc(sl)))
            elif w[3] != "description":
                self.warn(sl, Msg("warn.common.not_understood", line=sl.text))
        else:
            self.warn(sl, Msg("warn.common.not_understood", line=sl.text))

    # ------------------------------------------------------------------ firewall filters

    def filter(self, sl: SetLine, w: tuple[str, ...]) -> None:
        if len(w) >= 3 and w[1] == "filter":
            fam, rest = "inet", w[2:]
        elif len(w) >= 5 and w[1] == "family" and w[3] == "filter":
            fam, rest = w[2], w[4:]
        else:
            self.warn(sl, Msg("warn.common.not_understood", line=sl.text))
            return
        name = rest[0]
        f = self.cfg.filters.setdefault((fam, name), Filter(fam, name, self.loc(sl)))
        rest = rest[1:]
        if not rest or rest[0] in (
            "interface-specific",
            "physical-interface-filter",
            "description",
        ):
            return
        if rest[0] != "term" or len(rest) < 2:
            self.warn(sl, Msg("warn.common.not_understood", line=sl.text))
            return
        t = f.terms.setdefault(
            rest[1], Term(rest[1], self.loc(sl), f"firewall filter {name} term {rest[1]}")
        )
        rest = rest[2:]
        if not rest:
            return
        if rest[0] == "from" and len(rest) >= 2:
            t.conditions.append((rest[1], " ".join(rest[2:]), self.loc(sl)))
        elif rest[0] == "then" and len(rest) >= 2:
            t.actions.append((" ".join(rest[1:]), self.loc(sl)))
        else:
            self.warn(sl, Msg("warn.common.not_understood", line=sl.text))

    # ------------------------------------------------------------------ NAT

    def nat(self, sl: SetLine, w: tuple[str, ...]) -> None:
        kind, rest = w[2], w[3:]
        if kind == "destination" and rest[:1] == ("pool",) and len(rest) >= 4:
            name = rest[1]
            if rest[2] == "address" and len(rest) == 4:
                old = self.cfg.dnat_pools.get(name)
                self.cfg.dnat_pools[name] = (
                    _net(rest[3], sl, self.file),
                    old[1] if old else None,
                    self.loc(sl),
                )
            elif rest[2] == "address" and len(rest) == 6 and rest[4] == "port":
                self.cfg.dnat_pools[name] = (
                    _net(rest[3], sl, self.file),
                    int(rest[5]),
                    self.loc(sl),
                )
            elif rest[2] in ("description", "routing-instance"):
                return
            else:
                self.warn(
                    sl,
                    Msg(
                        "warn.firewall.junos.parse.destination_nat_pool_not_understood",
                        text=sl.text,
                    ),
                )
            return
        if rest[:1] != ("rule-set",) or len(rest) < 3:
            if rest[:1] not in (("traceoptions",),):
                self.warn(sl, Msg("warn.common.not_understood", line=sl.text))
            return
        rs = f"{kind}:{rest[1]}"
        if rest[2] == "from" and len(rest) >= 5:
            k, names = self.rule_sets.get(rs, (rest[3], []))
            self.rule_sets[rs] = (rest[3], names + [rest[4]])
            return
        if rest[2] == "description":
            return
        if rest[2] != "rule" or len(rest) < 5:
            self.warn(sl, Msg("warn.common.not_understood", line=sl.text))
            return
        r = self.dnat.setdefault((rs, rest[3]), DnatRule(rs, rest[3], self.loc(sl), sl.text))
        body = rest[4:]
        if body[0] == "match" and len(body) >= 3:
            k, v = body[1], body[2:]
            if k == "destination-address" and len(v) == 1:
                r.destinations.append(_net(v[0], sl, self.file))
            elif k == "destination-address-name" and len(v) == 1:
                r.destination_names.append((v[0], self.loc(sl)))
            elif k == "source-address" and len(v) == 1:
                r.sources.append(_net(v[0], sl, self.file))
            elif k == "destination-port" and v[0].isdigit():
                hi = v[2] if len(v) == 3 and v[1] == "to" else v[0]
                r.ports.append((int(v[0]), int(hi)))
            elif k == "protocol" and len(v) == 1:
                r.protocols.append(v[0])
            else:
                self.warn(
                    sl,
                    Msg("warn.firewall.junos.parse.nat_match_not_understood", text=" ".join(body)),
                )
        elif body[0] == "then" and len(body) >= 2:
            if body[1:] == ("destination-nat", "off") or body[1:] == ("static-nat", "off"):
                r.off = True
            elif body[1:3] == ("destination-nat", "pool") and len(body) == 4:
                r.pool = body[3]
            elif body[1:3] == ("static-nat", "prefix") and len(body) == 4:
                r.static_prefix = _net(body[3], sl, self.file)
            elif body[1:2] == ("static-nat",) and "routing-instance" in body[2:4]:
                return  # the routing instance of the translated address: not a filter
            elif body[1:3] == ("static-nat", "prefix-name") and len(body) == 4:
                r.static_prefix_name = (body[3], self.loc(sl))
            elif body[1] in ("rule-session-count-alarm",):
                return
            else:
                self.warn(
                    sl,
                    Msg("warn.firewall.junos.parse.nat_action_not_understood", text=" ".join(body)),
                )
        elif body[0] == "description":
            return
        else:
            self.warn(sl, Msg("warn.common.not_understood", line=sl.text))


def parse_junos_config(text: str, file: str = "<string>") -> JunosConfig:
    """Read a Junos configuration (hierarchical or ``display set``) into the vendor model."""
    return _Parser(text, file).run()
