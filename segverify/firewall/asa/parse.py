"""``show running-config`` of a Cisco ASA (8.3 and later) → ``AsaConfig``.

Top-level commands are read with their indented child lines. Commands that do not change
which packets the device forwards or accepts (routing, logging, AAA…) are listed in
data/firewall_cisco_asa.yaml ``not_filtering``; any other command this module does not
understand is recorded as a warning with its line (the analysis is then incomplete).
What the ASA itself would reject (a bad address, an unknown port name) is an InputError.
"""

from __future__ import annotations

import ipaddress
import re

from segverify.errors import InputError
from segverify.firewall.asa.model import (
    AccessGroup,
    AclEntry,
    AddressSpec,
    AsaConfig,
    AsaInterface,
    AsaObject,
    Management,
    Member,
    PortMatch,
    ServiceEntry,
    StaticNat,
)
from segverify.firewall.asa.names import icmp_type, port_number, protocol_number, tables
from segverify.i18n import Msg
from segverify.topology.model import IPNetwork, Location

_TRAILING_COMMENT = re.compile(r"\s+!.*$")
_PORT_PROTOCOLS = {"tcp", "udp", "tcp-udp", "sctp", "6", "17", "132"}
_LOG_LEVELS = {
    "emergencies", "alerts", "critical", "errors", "warnings", "notifications",
    "informational", "debugging", "0", "1", "2", "3", "4", "5", "6", "7",
}  # fmt: skip
_OPAQUE_PREFIX = {"user": "user", "user-group": "user", "object-group-user": "user"}
_PRE83 = {"static", "global", "conduit", "outbound", "apply", "nat-control", "alias"}
_MGMT_SETTINGS = {"version", "timeout", "key-exchange", "cipher", "scopy", "stricthostkeycheck",
                  "stack", "server", "redirect", "authentication-certificate", "password"}  # fmt: skip


class _Lines:
    """The file's lines with 1-based numbers; helpers for errors and warnings."""

    def __init__(self, text: str, file: str) -> None:
        self.file = file
        self.lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")

    def loc(self, n: int) -> Location:
        return Location(self.file, n)

    def error(self, n: int, msg: str) -> InputError:
        return InputError(msg, self.file, n)


def _ip(
    word: str, names: dict[str, str], lines: _Lines, n: int
) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    try:
        return ipaddress.ip_address(names.get(word, word))
    except ValueError:
        raise lines.error(
            n, Msg("error.firewall.asa.parse.not_ip_address_name", word=word)
        ) from None


def _net(addr: str, mask: str | None, names: dict[str, str], lines: _Lines, n: int) -> IPNetwork:
    try:
        if mask is None:
            return ipaddress.ip_network(names.get(addr, addr), strict=False)
        return ipaddress.ip_network(f"{names.get(addr, addr)}/{mask}", strict=False)
    except ValueError:
        spec = f"{addr} {mask}" if mask else addr
        raise lines.error(n, Msg("error.firewall.asa.parse.not_address_mask", spec=spec)) from None


def _port(word: str, lines: _Lines, n: int) -> int:
    p = port_number(word)
    if p is None:
        raise lines.error(n, Msg("error.firewall.asa.parse.unknown_port", word=word))
    return p


def _port_match(toks: list[str], i: int, lines: _Lines, n: int) -> tuple[PortMatch | None, int]:
    """``eq|neq|lt|gt P`` / ``range A B`` at ``toks[i]``, else (None, i)."""
    if i >= len(toks):
        return None, i
    op = toks[i]
    if op in ("eq", "neq", "lt", "gt") and i + 1 < len(toks):
        p = _port(toks[i + 1], lines, n)
        ranges = {
            "eq": ((p, p),),
            "neq": tuple(r for r in ((0, p - 1), (p + 1, 65535)) if r[0] <= r[1]),
            "lt": ((0, p - 1),) if p > 0 else (),
            "gt": ((p + 1, 65535),) if p < 65535 else (),
        }[op]
        return PortMatch(f"{op} {toks[i + 1]}", ranges), i + 2
    if op == "range" and i + 2 < len(toks):
        lo, hi = _port(toks[i + 1], lines, n), _port(toks[i + 2], lines, n)
        if lo > hi:
            raise lines.error(n, Msg("error.firewall.asa.parse.port_range_empty", lo=lo, hi=hi))
        return PortMatch(f"range {toks[i + 1]} {toks[i + 2]}", ((lo, hi),)), i + 3
    return None, i


def _service_entry(toks: list[str], lines: _Lines, n: int) -> ServiceEntry:
    """The words after ``service`` / ``service-object``."""
    if not toks:
        raise lines.error(n, Msg("error.firewall.asa.parse.service_without_protocol"))
    proto = toks[0]
    if proto in ("icmp", "icmp6", "1", "58"):
        v6 = proto in ("icmp6", "58")
        t = c = None
        if len(toks) > 1:
            t = icmp_type(toks[1], v6)
            if t is None:
                raise lines.error(
                    n, Msg("error.firewall.asa.parse.unknown_icmp_type", name=toks[1])
                )
        if len(toks) > 2:
            if not toks[2].isdigit():
                raise lines.error(
                    n, Msg("error.firewall.asa.parse.icmp_code_must_number", code=toks[2])
                )
            c = int(toks[2])
        return ServiceEntry(proto, icmp_type=t, icmp_code=c)
    if proto not in ("ip", "tcp-udp") and protocol_number(proto) is None:
        raise lines.error(n, Msg("error.common.unknown_protocol", name=proto))
    src = dst = None
    i = 1
    if proto in _PORT_PROTOCOLS:
        if i < len(toks) and toks[i] == "source":
            src, i = _port_match(toks, i + 1, lines, n)
            if src is None:
                raise lines.error(n, Msg("error.firewall.asa.parse.source_without_port_operator"))
        if i < len(toks) and toks[i] == "destination":
            i += 1
        dst, i = _port_match(toks, i, lines, n)
    if i < len(toks):
        raise lines.error(
            n, Msg("error.firewall.asa.parse.unexpected_service", word=" ".join(toks[i:]))
        )
    return ServiceEntry(proto, src, dst)


class _Parser:
    def __init__(self, text: str, file: str) -> None:
        self.L = _Lines(text, file)
        self.cfg = AsaConfig(file)
        self.acl_lines: dict[str, int] = {}
        self.pending_remark: dict[str, str] = {}

    def warn(self, n: int, msg: str) -> None:
        self.cfg.warnings.append((self.L.loc(n), msg))

    def run(self) -> AsaConfig:
        lines = self.L.lines
        i = 0
        while i < len(lines):
            raw = lines[i].rstrip()
            n = i + 1
            i += 1
            if not raw.strip() or raw.lstrip().startswith("!"):
                continue
            children: list[tuple[int, str]] = []
            while i < len(lines) and (lines[i][:1] in (" ", "\t") or self._blank_in_block(i)):
                if lines[i].strip() and not lines[i].strip().startswith("!"):
                    children.append((i + 1, lines[i].strip()))
                i += 1
            if raw[:1] in (" ", "\t"):
                self.warn(
                    n, Msg("warn.firewall.asa.parse.indented_line_outside_block", line=raw.strip())
                )
                continue
            self.command(n, raw, children)
        return self.cfg

    def _blank_in_block(self, i: int) -> bool:
        """A blank line between two indented lines of one block."""
        lines = self.L.lines
        if lines[i].strip():
            return False
        j = i
        while j < len(lines) and not lines[j].strip():
            j += 1
        return j < len(lines) and lines[j][:1] in (" ", "\t")

    def command(self, n: int, line: str, children: list[tuple[int, str]]) -> None:
        toks = line.split()
        head = toks[0]
        if head == "interface":
            self.interface(n, toks, children)
        elif head == "object" and len(toks) >= 3:
            self.object(n, line, toks, children)
        elif head == "object-group" and len(toks) >= 3:
            self.object_group(n, line, toks, children)
        elif head == "access-list" and len(toks) >= 3:
            self.access_list(n, line, toks)
        elif head == "access-group":
            self.access_group(n, line, toks)
        elif head == "same-security-traffic" and toks[1:2] == ["permit"] and len(toks) == 3:
            if toks[2] == "inter-interface":
                self.cfg.same_inter = self.L.loc(n)
            elif toks[2] == "intra-interface":
                self.cfg.same_intra = self.L.loc(n)
            else:
                self.warn(n, Msg("warn.common.not_understood", line=line.strip()))
        elif head == "time-range" and len(toks) == 2:
            self.cfg.time_ranges[toks[1]] = self.L.loc(n)
        elif head == "name" and len(toks) >= 3:
            self.cfg.names[toks[2]] = toks[1]
        elif head == "hostname" and len(toks) == 2:
            self.cfg.hostname = toks[1]
        elif head == "nat" and len(toks) >= 2:
            self.twice_nat(n, line, toks)
        elif head in ("ssh", "telnet", "http", "icmp"):
            self.management(n, line, toks)
        elif head in _PRE83:
            self.warn(n, Msg("warn.firewall.asa.parse.pre_8_3_command_not", line=line.strip()))
        elif head == "ipv6" and toks[1:2] == ["access-list"]:
            self.warn(n, Msg("warn.firewall.asa.parse.ipv6_access_list_pre_9", line=line.strip()))
        elif head in tables()["not_filtering"]:
            return
        else:
            self.warn(n, Msg("warn.common.not_understood", line=line.strip()))
            for cn, _ in children:
                self.warn(cn, Msg("warn.firewall.asa.parse.inside_block_not_understood_line", n=n))

    # ------------------------------------------------------------------ interfaces

    def interface(self, n: int, toks: list[str], children: list[tuple[int, str]]) -> None:
        if len(toks) < 2:
            raise self.L.error(n, Msg("error.firewall.asa.parse.interface_without_name"))
        itf = AsaInterface(" ".join(toks[1:]), self.L.loc(n))
        self.cfg.interfaces[itf.hardware] = itf
        for cn, text in children:
            c = text.split()
            if c[0] == "nameif" and len(c) == 2:
                itf.nameif = c[1]
            elif c[0] == "security-level" and len(c) == 2 and c[1].isdigit():
                if not 0 <= int(c[1]) <= 100:
                    raise self.L.error(
                        cn, Msg("error.firewall.asa.parse.security_level_not_0_100", level=c[1])
                    )
                itf.security_level, itf.level_location = int(c[1]), self.L.loc(cn)
            elif c[:2] == ["ip", "address"] and len(c) >= 4 and c[2] not in ("dhcp", "pppoe"):
                _net(c[2], c[3], {}, self.L, cn)  # the mask must be valid too
                itf.addresses.append(ipaddress.ip_network(_ip(c[2], {}, self.L, cn)))
            elif c[:2] == ["ipv6", "address"] and len(c) >= 3 and "/" in c[2]:
                _net(c[2], None, {}, self.L, cn)
                itf.addresses.append(ipaddress.ip_network(_ip(c[2].split("/")[0], {}, self.L, cn)))
            elif c == ["shutdown"]:
                itf.shutdown = True
            elif c == ["management-only"]:
                itf.management_only = True
            # every other interface setting (speed, description, vlan, ospf…) does not filter

    # ------------------------------------------------------------------ objects

    def object(self, n: int, line: str, toks: list[str], children: list[tuple[int, str]]) -> None:
        kind, name = toks[1], toks[2]
        if kind not in ("network", "service") or len(toks) != 3:
            self.warn(n, Msg("warn.common.not_understood", line=line.strip()))
            return
        obj = self.cfg.objects.get(name)
        if obj is None or obj.kind != kind:
            if name in self.cfg.objects or name in self.cfg.groups:
                raise self.L.error(
                    n, Msg("error.firewall.asa.parse.object_name_already_used", name=name)
                )
            obj = AsaObject(kind, name, False, self.L.loc(n), line.strip())
            self.cfg.objects[name] = obj
        for cn, text in children:
            text = _TRAILING_COMMENT.sub("", text)
            c = text.split()
            if c[0] == "description":
                continue
            if kind == "network":
                if c[0] == "nat":
                    self.object_nat(cn, text, c, name)
                    continue
                obj.members[:] = [m for m in obj.members if m.kind == "nat"]
                obj.members.append(self.network_value(cn, text, c))
            else:
                if c[0] != "service":
                    raise self.L.error(cn, Msg("error.firewall.asa.parse.not_service", text=text))
                obj.members[:] = [
                    Member("service", _service_entry(c[1:], self.L, cn), self.L.loc(cn), text)
                ]

    def network_value(self, cn: int, text: str, c: list[str]) -> Member:
        names = self.cfg.names
        if c[0] == "host" and len(c) == 2:
            ip = _ip(c[1], names, self.L, cn)
            return Member("net", ipaddress.ip_network(ip), self.L.loc(cn), text)
        if c[0] == "subnet" and len(c) in (2, 3):
            return Member(
                "net",
                _net(c[1], c[2] if len(c) == 3 else None, names, self.L, cn),
                self.L.loc(cn),
                text,
            )
        if c[0] == "range" and len(c) == 3:
            lo, hi = _ip(c[1], names, self.L, cn), _ip(c[2], names, self.L, cn)
            if lo.version != hi.version or lo > hi:
                raise self.L.error(cn, Msg("error.firewall.asa.parse.bad_range", lo=c[1], hi=c[2]))
            return Member("range", (lo, hi), self.L.loc(cn), text)
        if c[0] == "fqdn" and len(c) >= 2:
            return Member("fqdn", c[-1], self.L.loc(cn), text)
        raise self.L.error(cn, Msg("error.firewall.asa.parse.not_network_object_value", text=text))

    def object_group(
        self, n: int, line: str, toks: list[str], children: list[tuple[int, str]]
    ) -> None:
        kind, name = toks[1], toks[2]
        if kind not in ("network", "service", "protocol", "icmp-type"):
            self.warn(n, Msg("warn.common.not_understood", line=line.strip()))
            for cn, _ in children:
                self.warn(cn, Msg("warn.firewall.asa.parse.inside_block_not_understood_line", n=n))
            return
        port_type = None
        if len(toks) == 4 and kind == "service" and toks[3] in ("tcp", "udp", "tcp-udp"):
            port_type = toks[3]
        elif len(toks) != 3:
            raise self.L.error(n, Msg("error.common.unexpected", word=" ".join(toks[3:])))
        if name in self.cfg.objects or (
            name in self.cfg.groups and self.cfg.groups[name].kind != kind
        ):
            raise self.L.error(
                n, Msg("error.firewall.asa.parse.object_group_name_already_used", name=name)
            )
        grp = self.cfg.groups.setdefault(
            name, AsaObject(kind, name, True, self.L.loc(n), line.strip(), port_type=port_type)
        )
        for cn, text in children:
            text = _TRAILING_COMMENT.sub("", text)
            c = text.split()
            loc = self.L.loc(cn)
            if c[0] == "description":
                continue
            if c[0] == "group-object" and len(c) == 2:
                grp.members.append(Member("group", c[1], loc, text))
            elif kind == "network" and c[0] == "network-object" and len(c) >= 2:
                if c[1] == "object" and len(c) == 3:
                    grp.members.append(Member("object", c[2], loc, text))
                elif c[1] == "host" and len(c) == 3:
                    grp.members.append(self.network_value(cn, text, ["host", c[2]]))
                elif len(c) in (2, 3):
                    grp.members.append(
                        Member(
                            "net",
                            _net(c[1], c[2] if len(c) == 3 else None, self.cfg.names, self.L, cn),
                            loc,
                            text,
                        )
                    )
                else:
                    raise self.L.error(
                        cn, Msg("error.firewall.asa.parse.not_network_object", text=text)
                    )
            elif kind == "service" and c[0] == "port-object" and port_type is not None:
                pm, j = _port_match(c, 1, self.L, cn)
                if pm is None or j != len(c):
                    raise self.L.error(
                        cn, Msg("error.firewall.asa.parse.not_port_object", text=text)
                    )
                grp.members.append(Member("port", pm, loc, text))
            elif kind == "service" and c[0] == "service-object" and port_type is None:
                if c[1:2] == ["object"] and len(c) == 3:
                    grp.members.append(Member("object", c[2], loc, text))
                else:
                    grp.members.append(
                        Member("service", _service_entry(c[1:], self.L, cn), loc, text)
                    )
            elif kind == "protocol" and c[0] == "protocol-object" and len(c) == 2:
                if c[1] != "ip" and protocol_number(c[1]) is None:
                    raise self.L.error(cn, Msg("error.common.unknown_protocol", name=c[1]))
                grp.members.append(Member("protocol", c[1], loc, text))
            elif kind == "icmp-type" and c[0] == "icmp-object" and len(c) == 2:
                t = icmp_type(c[1])
                if t is None:
                    raise self.L.error(
                        cn, Msg("error.firewall.asa.parse.unknown_icmp_type", name=c[1])
                    )
                grp.members.append(Member("icmp", t, loc, text))
            else:
                raise self.L.error(
                    cn, Msg("error.firewall.asa.parse.not_valid_object_group", kind=kind, text=text)
                )

    # ------------------------------------------------------------------ NAT

    def object_nat(self, n: int, text: str, c: list[str], obj: str) -> None:
        m = re.match(r"\(([^,()]+),([^,()]+)\)$", c[1]) if len(c) > 1 else None
        real_if, mapped_if = (m.group(1), m.group(2)) if m else ("any", "any")
        if m is not None:
            c = [c[0], *c[2:]]
        if len(c) < 2 or c[1] not in ("static", "dynamic"):
            raise self.L.error(
                n, Msg("error.firewall.asa.parse.nat_must_static_dynamic", text=text)
            )
        if c[1] == "dynamic":
            return  # source translation: ASA ACLs match real addresses, nothing to rewrite
        if len(c) < 3:
            raise self.L.error(n, Msg("error.firewall.asa.parse.static_nat_without_mapped_address"))
        mapped = c[2]
        rest = c[3:]
        service = None
        if "service" in rest:
            k = rest.index("service")
            if len(rest) < k + 4 or rest[k + 1] not in ("tcp", "udp", "sctp"):
                raise self.L.error(n, Msg("error.firewall.asa.parse.bad_nat_service", text=text))
            service = (rest[k + 1], _port(rest[k + 2], self.L, n), _port(rest[k + 3], self.L, n))
        kind = "ref"
        if mapped == "interface":
            kind = "interface"
        elif mapped not in self.cfg.objects and mapped not in self.cfg.groups:
            try:
                ipaddress.ip_network(mapped, strict=False)
                kind = "inline"
            except ValueError:
                raise self.L.error(
                    n, Msg("error.firewall.asa.parse.network_object_not_defined", name=mapped)
                ) from None
        self.cfg.nats.append(
            StaticNat(
                ("ref", obj), (kind, mapped), real_if, mapped_if, self.L.loc(n), text, service
            )
        )

    def twice_nat(self, n: int, line: str, toks: list[str]) -> None:
        i = 1
        real_if = mapped_if = "any"
        m = re.match(r"\(([^,()]+),([^,()]+)\)$", toks[1])
        if m:
            real_if, mapped_if = m.group(1), m.group(2)
            i = 2
        while i < len(toks) and toks[i] in ("after-auto", "after-object", "line"):
            i += 2 if toks[i] == "line" else 1
        if toks[i : i + 1] != ["source"] or len(toks) < i + 4:
            raise self.L.error(
                n, Msg("error.firewall.asa.parse.nat_without_source_clause", line=line.strip())
            )
        kind, src_real, src_mapped = toks[i + 1], toks[i + 2], toks[i + 3]
        if kind not in ("static", "dynamic"):
            raise self.L.error(
                n, Msg("error.firewall.asa.parse.nat_source_must_static_dynamic", line=line.strip())
            )
        rest = toks[i + 4 :]
        if "inactive" in rest:
            return
        if "service" in rest:
            self.warn(n, Msg("warn.firewall.asa.parse.twice_nat_service_translation_not"))
        d_real = None
        if "destination" in rest:
            k = rest.index("destination")
            if len(rest) < k + 4 or rest[k + 1] != "static":
                raise self.L.error(
                    n, Msg("error.firewall.asa.parse.bad_nat_destination_clause", line=line.strip())
                )
            d_mapped, d_real = rest[k + 2], rest[k + 3]
            if d_mapped != d_real:
                # from the real source, entering on real_if, to d_mapped → d_real
                self.cfg.nats.append(
                    StaticNat(
                        ("ref", d_real), ("ref", d_mapped), mapped_if, real_if,
                        self.L.loc(n), line.strip(), source_real=("ref", src_real),
                    )
                )  # fmt: skip
        if kind == "static" and src_real != src_mapped:
            # static source NAT is bidirectional: to the mapped source, entering on
            # mapped_if (from the real destination when one is given), reaches the real one
            self.cfg.nats.append(
                StaticNat(
                    ("ref", src_real), ("ref", src_mapped), real_if, mapped_if,
                    self.L.loc(n), line.strip(),
                    source_real=("ref", d_real) if d_real else None,
                )
            )  # fmt: skip

    # ------------------------------------------------------------------ ACLs

    def access_list(self, n: int, line: str, toks: list[str]) -> None:
        name = toks[1]
        no = self.acl_lines.get(name, 0) + 1
        i = 2
        if toks[i] == "line" and i + 1 < len(toks) and toks[i + 1].isdigit():
            i += 2
        kw = toks[i]
        if kw == "remark":
            self.acl_lines[name] = no
            self.pending_remark[name] = line.split("remark", 1)[1].strip()
            self.cfg.acls.setdefault(name, [])
            return
        if kw == "standard":
            self.cfg.standard_acls.add(name)
            return
        if kw in ("ethertype", "webtype", "rename"):
            self.warn(
                n, Msg("warn.firewall.asa.parse.access_list_not_modelled", kw=kw, line=line.strip())
            )
            return
        if kw == "extended":
            i += 1
        if i >= len(toks) or toks[i] not in ("permit", "deny"):
            raise self.L.error(
                n, Msg("error.firewall.asa.parse.access_list_entry_must_permit", line=line.strip())
            )
        self.acl_lines[name] = no
        e = AclEntry(name, no, toks[i], self.L.loc(n), line.strip(), "ip")
        e.remark = self.pending_remark.pop(name, "")
        i += 1
        i = self._acl_body(e, toks, i, n)
        self.cfg.acls.setdefault(name, []).append(e)

    def _need(self, toks: list[str], i: int, n: int, what: str) -> str:
        if i >= len(toks):
            raise self.L.error(
                n, Msg("error.firewall.asa.parse.access_list_entry_ends_before", what=what)
            )
        return toks[i]

    def _acl_body(self, e: AclEntry, toks: list[str], i: int, n: int) -> int:
        p = self._need(toks, i, n, "protocol")
        if p in ("object", "object-group"):
            e.protocol, e.protocol_ref = p, self._need(toks, i + 1, n, "protocol object")
            i += 2
        else:
            if p != "ip" and protocol_number(p) is None:
                raise self.L.error(n, Msg("error.common.unknown_protocol", name=p))
            e.protocol = p
            i += 1
        opaque: list[tuple[str, str]] = []
        i = self._opaque_prefix(toks, i, opaque)
        e.source, i = self._address(toks, i, n, "source")
        ports = self._ports_allowed(e)
        if ports:
            e.source_port, i = self._port_operand(toks, i, n)
        i = self._opaque_prefix(toks, i, opaque)
        e.destination, i = self._address(toks, i, n, "destination")
        if ports:
            e.destination_port, i = self._port_operand(toks, i, n)
        elif e.protocol in ("icmp", "icmp6", "1", "58") and i < len(toks):
            i = self._icmp_operand(e, toks, i, n)
        while i < len(toks):
            t = toks[i]
            if t == "log":
                i += 1
                if i < len(toks) and toks[i] in _LOG_LEVELS | {"disable", "default"}:
                    i += 1
                if i + 1 < len(toks) and toks[i] == "interval":
                    i += 2
            elif t == "time-range" and i + 1 < len(toks):
                e.time_range = toks[i + 1]
                i += 2
            elif t == "inactive":
                e.inactive = True
                i += 1
            else:
                raise self.L.error(
                    n,
                    Msg(
                        "error.firewall.asa.parse.unexpected_access_list_entry",
                        word=" ".join(toks[i:]),
                    ),
                )
        e.opaque = tuple(opaque)
        return i

    def _opaque_prefix(self, toks: list[str], i: int, out: list[tuple[str, str]]) -> int:
        while i + 1 < len(toks):
            t = toks[i]
            if t in _OPAQUE_PREFIX:
                out.append(("user", f"{t} {toks[i + 1]}"))
                i += 2
            elif t == "security-group" and i + 2 < len(toks):
                out.append(("other", f"security-group {toks[i + 1]} {toks[i + 2]}"))
                i += 3
            elif t == "object-group-security":
                out.append(("other", f"object-group-security {toks[i + 1]}"))
                i += 2
            else:
                break
        return i

    def _ports_allowed(self, e: AclEntry) -> bool:
        if e.protocol == "object-group" and e.protocol_ref in self.cfg.groups:
            return self.cfg.groups[e.protocol_ref].kind == "protocol"
        return e.protocol in _PORT_PROTOCOLS

    def _address(self, toks: list[str], i: int, n: int, what: str) -> tuple[AddressSpec, int]:
        t = self._need(toks, i, n, what)
        if t in ("any", "any4", "any6"):
            return AddressSpec(t, text=t), i + 1
        if t == "host":
            ip = _ip(self._need(toks, i + 1, n, what), self.cfg.names, self.L, n)
            return AddressSpec("net", ipaddress.ip_network(ip), f"host {toks[i + 1]}"), i + 2
        if t in ("object", "object-group", "interface"):
            ref = self._need(toks, i + 1, n, what)
            kind = {"object": "object", "object-group": "group", "interface": "interface"}[t]
            return AddressSpec(kind, ref, f"{t} {ref}"), i + 2
        if "/" in t:
            return AddressSpec("net", _net(t, None, self.cfg.names, self.L, n), t), i + 1
        mask = self._need(toks, i + 1, n, f"{what} mask")
        return AddressSpec("net", _net(t, mask, self.cfg.names, self.L, n), f"{t} {mask}"), i + 2

    def _port_operand(self, toks: list[str], i: int, n: int) -> tuple[PortMatch | str | None, int]:
        pm, j = _port_match(toks, i, self.L, n)
        if pm is not None:
            return pm, j
        if i + 1 < len(toks) and toks[i] == "object-group":
            g = self.cfg.groups.get(toks[i + 1])
            if g is not None and g.kind == "service":
                return toks[i + 1], i + 2
        return None, i

    def _icmp_operand(self, e: AclEntry, toks: list[str], i: int, n: int) -> int:
        t = toks[i]
        if t in ("log", "time-range", "inactive"):
            return i
        if t == "object-group" and i + 1 < len(toks):
            e.icmp = toks[i + 1]
            return i + 2
        ty = icmp_type(t, e.protocol in ("icmp6", "58"))
        if ty is None:
            raise self.L.error(n, Msg("error.firewall.asa.parse.unknown_icmp_type", name=t))
        code = None
        if i + 1 < len(toks) and toks[i + 1].isdigit():
            code = int(toks[i + 1])
            i += 1
        e.icmp = (ty, code)
        return i + 1

    def access_group(self, n: int, line: str, toks: list[str]) -> None:
        if len(toks) == 3 and toks[2] == "global":
            self.cfg.access_groups.append(
                AccessGroup(toks[1], "global", None, self.L.loc(n), line.strip())
            )
            return
        if len(toks) >= 5 and toks[2] in ("in", "out") and toks[3] == "interface":
            if toks[5:] == ["control-plane"]:
                self.warn(
                    n,
                    Msg(
                        "warn.firewall.asa.parse.control_plane_access_group_not", line=line.strip()
                    ),
                )
                return
            if toks[5:] not in ([], ["per-user-override"]):
                raise self.L.error(n, Msg("error.common.unexpected", word=" ".join(toks[5:])))
            self.cfg.access_groups.append(
                AccessGroup(toks[1], toks[2], toks[4], self.L.loc(n), line.strip())
            )
            return
        raise self.L.error(
            n, Msg("error.firewall.asa.parse.not_access_group_binding", line=line.strip())
        )

    # ------------------------------------------------------------------ to the box

    def management(self, n: int, line: str, toks: list[str]) -> None:
        head = toks[0]
        if len(toks) >= 2 and toks[1] in _MGMT_SETTINGS:
            if head == "http" and toks[1:3] == ["server", "enable"] and len(toks) == 4:
                self.cfg.http_port = _port(toks[3], self.L, n)
            return
        if head == "icmp":
            if toks[1] not in ("permit", "deny"):
                return  # icmp unreachable rate-limit …
            rest = toks[2:]
            if len(rest) < 2:
                raise self.L.error(
                    n, Msg("error.firewall.asa.parse.incomplete_icmp_rule", line=line.strip())
                )
            iface = rest[-1]
            body = rest[:-1]
            if body[0] == "any":
                net, body = None, body[1:]
            elif body[0] == "host":
                net, body = ipaddress.ip_network(_ip(body[1], self.cfg.names, self.L, n)), body[2:]
            elif "/" in body[0]:
                net, body = _net(body[0], None, self.cfg.names, self.L, n), body[1:]
            else:
                net, body = _net(body[0], body[1], self.cfg.names, self.L, n), body[2:]
            ty = None
            if body:
                ty = icmp_type(body[0])
                if ty is None or len(body) > 1:
                    raise self.L.error(
                        n, Msg("error.firewall.asa.parse.bad_icmp_type", line=line.strip())
                    )
            self.cfg.management.append(
                Management("icmp", toks[1], net, iface, self.L.loc(n), line.strip(), ty)
            )
            return
        if len(toks) == 4:
            net = _net(toks[1], toks[2], self.cfg.names, self.L, n)
        elif len(toks) == 3 and "/" in toks[1]:
            net = _net(toks[1], None, self.cfg.names, self.L, n)
        else:
            self.warn(n, Msg("warn.common.not_understood", line=line.strip()))
            return
        self.cfg.management.append(
            Management(head, "permit", net, toks[-1], self.L.loc(n), line.strip())
        )


def parse_asa_config(text: str, file: str = "<string>") -> AsaConfig:
    """Read an ASA running configuration into the vendor model."""
    return _Parser(text, file).run()
