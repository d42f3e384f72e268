"""``RtxConfig`` → IR ``Device``.

One stage per ``ip IF secure filter in|out`` list (IPv4; ``ipv6 …`` lists an IPv6 stage),
and a pass-everything stage for each interface without an ``in`` list (so that what it lets
in is attributed to that missing list):
the filters are tried in the order the list names them (not by number); the first that
matches decides; a packet matching none is discarded. An interface and direction without a
list passes everything (no stage). ``pass`` accepts, ``reject`` discards, ``restrict``
passes only while the line is connected: an accept that *may* match followed by a discard.
``in`` lists also filter traffic to the router itself, ``out`` lists traffic it sends.
``established`` in the protocol field is TCP with ACK set. Dynamic filters pass the return
traffic (conntrack established/related, addresses reversed) of connections the static
list let through; they never pass a new connection by themselves. Static NAT
(``nat descriptor masquerade static`` / ``nat descriptor static``) is applied before the
``in`` filters (they name inner addresses).
"""

from __future__ import annotations

import ipaddress

from segverify.errors import InputError
from segverify.firewall.ir import (
    TCP_FLAGS,
    TRUE,
    Addresses,
    ConnState,
    DestNat,
    Device,
    Expr,
    Icmp,
    Interface,
    Interfaces,
    Opaque,
    Origin,
    Ports,
    Protocols,
    Rule,
    Scope,
    Stage,
    TcpFlags,
    all_of,
    any_of,
    at,
    negate,
)
from segverify.firewall.rtx.model import DynamicFilter, Filter, RtxConfig, SecureFilter
from segverify.firewall.rtx.names import rtx_tables
from segverify.i18n import Msg
from segverify.topology.model import Location, PortRange

_ICMP_ERROR = (3, 4, 5, 11, 12)
_ICMP_INFO = (0, 8, 13, 14, 15, 16, 17, 18)
_TCP_APPS = {"ftp", "www", "smtp", "pop3", "telnet", "ssh", "submission", "https", "imap",
             "imap3", "http", "ident", "nntp", "gopher", "finger", "ldap", "netmeeting", "tcp",
             "echo", "discard", "daytime", "chargen", "whois", "sunrpc", "ms-rpc", "rlogin",
             "rsh", "printer", "pptp", "irc"}  # fmt: skip
_UDP_APPS = {"tftp", "udp", "ntp", "snmp", "snmptrap", "syslog", "dhcps", "dhcpc", "ike", "sip"}


def _at(loc: Location, text: str, **names: str) -> Origin:
    return at(loc.file, loc.line, text, **names)


class _Lower:
    def __init__(self, cfg: RtxConfig) -> None:
        self.cfg = cfg

    def err(self, loc: Location, msg: str) -> InputError:
        return InputError(msg, loc.file, loc.line)

    # ------------------------------------------------------------------ fields

    def _ip(
        self, text: str, fam: int, loc: Location
    ) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
        try:
            ip = ipaddress.ip_address(text)
        except ValueError:
            raise self.err(loc, Msg("error.common.not_address", name=text)) from None
        if ip.version != fam:
            raise self.err(
                loc,
                Msg(
                    "error.firewall.rtx.lower.ipv_address_ipv_filter",
                    version=ip.version,
                    text=text,
                    family=fam,
                ),
            )
        return ip

    def address(self, text: str, field: str, fam: int, loc: Location) -> Expr:
        if text == "*":
            return TRUE
        parts = text.split(",")
        if len(parts) > 1:
            return any_of(*(self.address(p, field, fam, loc) for p in parts))
        o = _at(loc, text)
        low, high = (
            ("0.0.0.0", "255.255.255.255")
            if fam == 4
            else ("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")
        )
        if fam == 4 and "*" in text and "/" not in text:
            octets = text.split(".")
            stars = [i for i, x in enumerate(octets) if x == "*"]
            if len(octets) == 4 and stars == list(range(4 - len(stars), 4)):
                net = ".".join(octets[: 4 - len(stars)] + ["0"] * len(stars))
                return Addresses(
                    field, (ipaddress.ip_network(f"{net}/{8 * (4 - len(stars))}"),), (), o
                )
            return Opaque("other", f"address pattern {text}", o)
        if (
            "-" in text
            and not text.startswith("-")
            and not text.endswith("-")
            or text.startswith("-")
            or text.endswith("-")
        ):
            lo_s, _, hi_s = text.partition("-")
            lo, hi = self._ip(lo_s or low, fam, loc), self._ip(hi_s or high, fam, loc)
            if lo > hi:
                raise self.err(loc, Msg("error.firewall.rtx.lower.empty_address_range", text=text))
            return Addresses(field, (), ((lo, hi),), o)  # type: ignore[arg-type]
        if "/" in text:
            try:
                net = ipaddress.ip_network(text, strict=False)
            except ValueError:
                raise self.err(
                    loc, Msg("error.firewall.rtx.lower.not_address_prefix", text=text)
                ) from None
            return Addresses(field, (net,), (), o)
        if any(c.isalpha() for c in text) and ":" not in text:
            return Opaque("fqdn", text, o)
        return Addresses(field, (ipaddress.ip_network(self._ip(text, fam, loc)),), (), o)

    def protocol(self, text: str, loc: Location) -> tuple[Expr, bool]:
        """The protocol field; True when it is purely ICMP (ports are then type/code)."""
        if text in ("*", "ip"):
            return TRUE, False
        items = []
        icmp_only = True
        for p in text.split(","):
            o = _at(loc, p)
            if p == "established":
                items.append(
                    all_of(Protocols((6,)), TcpFlags(TCP_FLAGS["ack"], TCP_FLAGS["ack"], o))
                )
            elif p in ("tcpsyn", "tcpfin", "tcprst"):
                bit = TCP_FLAGS[p[3:]]
                items.append(all_of(Protocols((6,)), TcpFlags(bit, bit, o)))
            elif p.startswith("tcpflag"):
                neg = p.startswith("tcpflag!=")
                try:
                    val_s, mask_s = p.split("=", 1)[1].split("/")
                    val, mask = int(val_s, 0), int(mask_s, 0)
                except ValueError:
                    raise self.err(
                        loc, Msg("error.firewall.rtx.lower.bad_tcpflag", value=p)
                    ) from None
                flags = TcpFlags(mask & 0xFF, val & mask & 0xFF, o)
                items.append(all_of(Protocols((6,)), negate(flags) if neg else flags))
            elif p in ("icmp-error", "icmp-info"):
                types = _ICMP_ERROR if p == "icmp-error" else _ICMP_INFO
                items.append(all_of(Protocols((1,)), any_of(*(Icmp(t, None) for t in types))))
                continue
            else:
                n = int(p) if p.isdigit() else rtx_tables()["protocols"].get(p)
                if n is None or n > 255:
                    raise self.err(loc, Msg("error.common.unknown_protocol", name=p))
                items.append(Protocols((n,)))
                if n in (1, 58):
                    continue
            icmp_only = False
        return any_of(*items), icmp_only

    def ports(self, text: str, field: str, loc: Location) -> Expr:
        if text == "*":
            return TRUE
        ranges: list[PortRange] = []
        for p in text.split(","):
            if "-" in p:
                lo_s, _, hi_s = p.partition("-")
                lo = self._port1(lo_s, loc) if lo_s else 0
                hi = self._port1(hi_s, loc) if hi_s else 65535
                if lo > hi:
                    raise self.err(loc, Msg("error.firewall.rtx.lower.empty_port_range", value=p))
                ranges.append(PortRange(lo, hi))
            else:
                ranges += [PortRange(x, x) for x in self._ports(p, loc)]
        return Ports(field, tuple(ranges), _at(loc, text))

    def _ports(self, word: str, loc: Location) -> list[int]:
        if word.isdigit() and int(word) <= 65535:
            return [int(word)]
        ports = rtx_tables()["ports"].get(word)
        if ports is None:
            raise self.err(loc, Msg("error.firewall.asa.parse.unknown_port", word=word))
        return [int(x) for x in ports]

    def _port1(self, word: str, loc: Location) -> int:
        ps = self._ports(word, loc)
        if len(ps) != 1:
            raise self.err(
                loc, Msg("error.firewall.rtx.lower.several_ports_cannot_bound_range", word=word)
            )
        return ps[0]

    def icmp(self, sport: str, dport: str, loc: Location) -> Expr:
        if sport == "*" and dport == "*":
            return TRUE
        types = [int(t) for t in sport.split(",")] if sport != "*" else [None]
        codes = [int(c) for c in dport.split(",")] if dport != "*" else [None]
        return any_of(*(Icmp(t, c, _at(loc, f"{sport} {dport}")) for t in types for c in codes))

    def match(self, f: Filter) -> Expr:
        loc = f.location
        proto, icmp_only = self.protocol(f.protocol, loc)
        if icmp_only:
            rest = self.icmp(f.source_port, f.destination_port, loc)
        else:
            rest = all_of(
                self.ports(f.source_port, "sport", loc),
                self.ports(f.destination_port, "dport", loc),
            )
        return all_of(
            self.address(f.source, "src", f.family, loc),
            self.address(f.destination, "dst", f.family, loc),
            proto,
            rest,
        )

    # ------------------------------------------------------------------ stages

    def rules(self, sf: SecureFilter, dev: Device) -> list[Rule]:
        out: list[Rule] = []
        for num in sf.static:
            f = self.cfg.filters.get((sf.family, num))
            if f is None:
                dev.warn(
                    sf.location,
                    Msg(
                        "warn.firewall.rtx.lower.filter_listed_but_not_defined",
                        kind="ip" if sf.family == 4 else "ipv6",
                        num=num,
                    ),
                )
                continue
            m = self.match(f)
            origin = Origin(f.location, f.text, "filter", str(num), "", (sf.location,), sf.text)
            if f.action == "pass":
                out.append(Rule("accept", m, origin))
            elif f.action == "reject":
                out.append(Rule("drop", m, origin))
            else:
                line_up = Opaque(
                    "other", "restrict: passes only while the line is connected", origin
                )
                out.append(Rule("accept", all_of(m, line_up), origin))
                out.append(Rule("drop", m, origin))
        return out

    def return_rules(self, sf: SecureFilter, dev: Device) -> list[Rule]:
        """Rules for the opposite direction: the replies of dynamic-filter connections."""
        out = []
        for num in sf.dynamic:
            d = self.cfg.dynamic.get((sf.family, num))
            if d is None:
                dev.warn(
                    sf.location,
                    Msg("warn.firewall.rtx.lower.ip_filter_dynamic_listed_but", num=num),
                )
                continue
            out.append(
                Rule(
                    "accept",
                    self.reply(d),
                    Origin(
                        d.location, d.text, "filter dynamic", str(num), "", (sf.location,), sf.text
                    ),
                )
            )
        return out

    def reply(self, d: DynamicFilter) -> Expr:
        loc = d.location
        if d.protocol in _TCP_APPS:
            proto: Expr = Protocols((6,))
        elif d.protocol in _UDP_APPS:
            proto = Protocols((17,))
        elif d.protocol in ("domain", "dns"):
            proto = Protocols((6, 17))
        else:
            proto = TRUE  # "*", "filter …" lists and other applications: any protocol
        return all_of(
            ConnState(("established", "related")),
            self.address(d.destination, "src", d.family, loc),
            self.address(d.source, "dst", d.family, loc),
            proto,
        )

    def device(self) -> Device:
        cfg = self.cfg
        dev = Device(name=cfg.model, vendor="yamaha-rtx", source=cfg.file)
        for loc, msg in cfg.warnings:
            dev.warn(loc, msg)
        for name, addrs in cfg.interfaces.items():
            loc = cfg.interface_locations[name]
            dev.interfaces[name] = Interface(
                name, addresses=tuple(addrs), origin=_at(loc, name, kind="interface", name=name)
            )
        for f in cfg.filters.values():  # every definition must be valid, listed or not
            self.match(f)
        self.nat(dev)
        lists = {(s.family, s.interface, s.direction): s for s in cfg.secure}
        replies: dict[tuple[int, str, str], list[Rule]] = {}
        for key, sf in lists.items():
            opposite = (key[0], key[1], "out" if key[2] == "in" else "in")
            replies.setdefault(opposite, []).extend(self.return_rules(sf, dev))
        families = (4, 6) if any(k[0] == 6 for k in lists) else (4,)
        for name in dev.interfaces:
            for fam in families:
                if (fam, name, "in") in lists:
                    continue
                # stated, so that what enters here unfiltered is attributed to something
                text = f"no '{'ip' if fam == 4 else 'ipv6'} {name} secure filter in': every packet passes"
                o = _at(cfg.interface_locations[name], text, kind="secure filter", name=name)
                scope = Scope(
                    paths=("forward", "input"),
                    hook="forward",
                    interface=name,
                    direction="in",
                    family=fam,
                )
                dev.stages.append(
                    Stage(
                        f"{'ip' if fam == 4 else 'ipv6'} {name} secure filter in (none)",
                        (),
                        "accept",
                        scope,
                        origin=o,
                    )
                )
        for direction in ("in", "out"):
            for key, sf in lists.items():
                if key[2] != direction:
                    continue
                rules = replies.get(key, []) + self.rules(sf, dev)
                paths = ("forward", "input") if direction == "in" else ("forward", "output")
                scope = Scope(
                    paths=paths,
                    hook="forward",
                    interface=sf.interface,
                    direction=direction,
                    family=sf.family,
                )
                name = (
                    f"{'ip' if sf.family == 4 else 'ipv6'} {sf.interface} secure filter {direction}"
                )
                dev.stages.append(
                    Stage(
                        name,
                        tuple(rules),
                        "drop",
                        scope,
                        origin=_at(sf.location, sf.text, kind="secure filter", name=sf.interface),
                    )
                )
        return dev

    def nat(self, dev: Device) -> None:
        for n in self.cfg.nat_static:
            ifaces = self.cfg.nat_interfaces.get(n.descriptor)
            if not ifaces:
                continue  # a descriptor bound to no interface translates nothing
            o = _at(n.location, n.text, kind="nat descriptor", name=n.descriptor)
            parts: list[Expr] = [Interfaces("in", tuple(ifaces))]
            if n.outer is not None:
                parts.append(self.address(n.outer, "dst", 4, n.location))
            if n.protocol is not None:
                proto, _ = self.protocol(n.protocol, n.location)
                parts.append(proto)
            if n.outer_port is not None:
                parts.append(Ports("dport", (PortRange(n.outer_port, n.outer_port),)))
            inner = str(self._ip(n.inner, 4, n.location))
            dev.dnat.append(DestNat(all_of(*parts), inner, n.inner_port, o))


def lower_rtx(cfg: RtxConfig) -> Device:
    return _Lower(cfg).device()
