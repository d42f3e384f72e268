"""YAMAHA RTX ``show config`` → ``RtxConfig``.

``pp select N`` / ``tunnel select N`` open a block whose indented lines name the selected
interface as ``pp`` / ``tunnel``. A line that a terminal wrapped (``console columns``) is
joined to the line before it: a continuation is a line that does not start with a
command word. Comments start with ``#``.
"""

from __future__ import annotations

import ipaddress
import re

from segverify.errors import InputError
from segverify.firewall.rtx.model import DynamicFilter, Filter, RtxConfig, SecureFilter, StaticNat
from segverify.firewall.rtx.names import rtx_tables
from segverify.i18n import Msg
from segverify.topology.model import Location

_ACTIONS = {"pass", "reject", "restrict"}
_COMMAND = re.compile(r"^[a-z][a-z0-9-]*$")
_FILTER_LINE = re.compile(r"^ipv?6? (filter |\S+ secure filter )")
_WRAP_WIDTH = 79  # a line this long or longer was cut by the terminal mid-word


def _logical_lines(text: str) -> list[tuple[int, str, bool]]:
    """(first line number, text, indented) with wrapped continuations joined."""
    words = _command_words()
    out: list[tuple[int, str, bool]] = []
    for n, raw in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), 1):
        line = raw.rstrip()
        if not line.strip():
            continue
        stripped = line.lstrip()
        indented = line[:1] in (" ", "\t")
        first = stripped.split()[0]
        is_command = stripped.startswith("#") or (
            first in words and _COMMAND.match(first) is not None
        )
        if out and not is_command and _FILTER_LINE.match(out[-1][1].lstrip()):
            pn, prev, pind = out[-1]
            # cut by the terminal at its width: the rest follows character for character
            # (it may start with the space that separated two words); else a new word
            joined = prev + line if len(prev) >= _WRAP_WIDTH else prev + " " + stripped
            out[-1] = (pn, joined, pind)
            continue
        out.append((n, line, indented))
    return out


def _command_words() -> frozenset[str]:
    return frozenset(rtx_tables()["not_filtering"]) | {"ip", "ipv6", "nat", "pp", "tunnel", "no"}


class _Parser:
    def __init__(self, text: str, file: str) -> None:
        self.file = file
        self.text = text
        self.cfg = RtxConfig(file)
        self.selected: dict[str, str | None] = {"pp": None, "tunnel": None}

    def loc(self, n: int) -> Location:
        return Location(self.file, n)

    def warn(self, n: int, msg: str) -> None:
        self.cfg.warnings.append((self.loc(n), msg))

    def error(self, n: int, msg: str) -> InputError:
        return InputError(msg, self.file, n)

    def run(self) -> RtxConfig:
        for n, line, indented in _logical_lines(self.text):
            s = line.strip()
            if s.startswith("#"):
                m = re.match(r"#\s*(RTX\w+|NVR\w+|RT\w+|FWX\w+)\s+Rev\.", s)
                if m:
                    self.cfg.model = m.group(1)
                continue
            w = s.split()
            if not indented:
                # a top-level line ends a pp/tunnel block except its own select
                if w[:2] in (["pp", "select"], ["tunnel", "select"]):
                    pass
                else:
                    self.selected = {"pp": None, "tunnel": None}
            self.command(n, s, w)
        return self.cfg

    def iface(self, word: str, n: int) -> str:
        if word in ("pp", "tunnel"):
            sel = self.selected[word]
            if sel is None:
                raise self.error(
                    n, Msg("error.firewall.rtx.parse.used_outside_select_block", word=word)
                )
            return f"{word}{sel}"
        return word

    def command(self, n: int, s: str, w: list[str]) -> None:
        if w[:2] in (["pp", "select"], ["tunnel", "select"]) and len(w) == 3:
            self.selected[w[0]] = None if w[2] == "none" else w[2]
            return
        if w[0] in ("ip", "ipv6") and len(w) >= 2:
            fam = 4 if w[0] == "ip" else 6
            if w[1] == "filter" and len(w) >= 3:
                if w[2] == "dynamic":
                    self.dynamic(n, s, w, fam)
                elif w[2].isdigit():
                    self.static(n, s, w, fam)
                elif w[2] == "set":
                    self.warn(n, Msg("warn.firewall.rtx.parse.filter_set_not_modelled", line=s))
                # ip filter source-route / directed-broadcast: not part of the lists
                return
            if len(w) >= 5 and w[2] == "secure" and w[3] == "filter":
                self.secure(n, s, w, fam)
                return
            if len(w) >= 4 and w[2] == "address":
                self.address(n, w)
                return
            if len(w) >= 5 and w[2:4] == ["nat", "descriptor"]:
                itf = self.iface(w[1], n)
                for d in w[4:]:
                    self.cfg.nat_interfaces.setdefault(d, []).append(itf)
                return
            if w[1] == "policy":
                self.warn(n, Msg("warn.firewall.rtx.parse.ip_policy_filters_not_modelled", line=s))
                return
            return  # routes, mtu, proxyarp, intrusion detection…: not the filter lists
        if w[:2] == ["nat", "descriptor"] and len(w) >= 3:
            self.nat(n, s, w)
            return
        if w[0] in rtx_tables()["not_filtering"]:
            return
        self.warn(n, Msg("warn.common.not_understood", line=s))

    def address(self, n: int, w: list[str]) -> None:
        itf = self.iface(w[1], n)
        self.cfg.interface_locations.setdefault(itf, self.loc(n))
        addrs = self.cfg.interfaces.setdefault(itf, [])
        try:
            ip = ipaddress.ip_interface(w[3])
        except ValueError:
            return  # dhcp, ipcp, a prefix name: no fixed own address
        addrs.append(ipaddress.ip_network(ip.ip))

    def static(self, n: int, s: str, w: list[str], fam: int) -> None:
        if len(w) < 5:
            raise self.error(
                n, Msg("error.firewall.rtx.parse.ip_filter_needs_action_source", line=s)
            )
        num = int(w[2])
        action = w[3].removesuffix("-log").removesuffix("-nolog")
        if action not in _ACTIONS:
            raise self.error(n, Msg("error.firewall.rtx.parse.unknown_filter_action", action=w[3]))
        fields = w[4:9] + ["*"] * (5 - len(w[4:9]))
        if len(w) > 9:
            raise self.error(n, Msg("error.common.unexpected", word=" ".join(w[9:])))
        src, dst, proto, sport, dport = fields
        self.cfg.filters[(fam, num)] = Filter(
            fam, num, action, src, dst, proto, sport, dport, self.loc(n), s
        )

    def dynamic(self, n: int, s: str, w: list[str], fam: int) -> None:
        if len(w) < 7 or not w[3].isdigit():
            raise self.error(
                n, Msg("error.firewall.rtx.parse.ip_filter_dynamic_needs_number", line=s)
            )
        num = int(w[3])
        proto = w[6]
        if proto == "filter":
            proto = "filter " + " ".join(w[7:])
        self.cfg.dynamic[(fam, num)] = DynamicFilter(fam, num, w[4], w[5], proto, self.loc(n), s)

    def secure(self, n: int, s: str, w: list[str], fam: int) -> None:
        itf = self.iface(w[1], n)
        direction = w[4]
        if direction not in ("in", "out"):
            if direction == "name":
                self.warn(n, Msg("warn.firewall.rtx.parse.filter_set_name_not_modelled", line=s))
                return
            raise self.error(
                n, Msg("error.firewall.rtx.parse.secure_filter_direction_must_out", line=s)
            )
        static: list[int] = []
        dyn: list[int] = []
        target = static
        for word in w[5:]:
            if word == "dynamic":
                target = dyn
                continue
            if not word.isdigit():
                raise self.error(n, Msg("error.firewall.rtx.parse.not_filter_number", word=word))
            target.append(int(word))
        self.cfg.interfaces.setdefault(itf, [])
        self.cfg.interface_locations.setdefault(itf, self.loc(n))
        # a later line for the same interface and direction replaces the earlier one
        self.cfg.secure = [
            x
            for x in self.cfg.secure
            if (x.family, x.interface, x.direction) != (fam, itf, direction)
        ]
        self.cfg.secure.append(
            SecureFilter(fam, itf, direction, tuple(static), tuple(dyn), self.loc(n), s)
        )

    def nat(self, n: int, s: str, w: list[str]) -> None:
        if len(w) >= 8 and w[2:4] == ["masquerade", "static"]:
            desc, inner, proto = w[4], w[6], w[7]
            outer_port = inner_port = None
            if len(w) >= 9:
                spec = w[8]
                o, _, i = spec.partition("=")
                outer_port, inner_port = self._nat_port(o, n), self._nat_port(i or o, n)
            self.cfg.nat_static.append(
                StaticNat(desc, inner, None, proto, outer_port, inner_port, self.loc(n), s)
            )
        elif len(w) >= 6 and w[2] == "static":
            desc = w[3]
            outer, _, inner = w[5].partition("=")
            count = int(w[6]) if len(w) >= 7 and w[6].isdigit() else 1
            if count != 1:
                self.warn(
                    n,
                    Msg(
                        "warn.firewall.rtx.parse.static_nat_addresses_not_modelled",
                        count=count,
                        line=s,
                    ),
                )
                return
            self.cfg.nat_static.append(
                StaticNat(desc, inner, outer, None, None, None, self.loc(n), s)
            )

    def _nat_port(self, word: str, n: int) -> int:
        if word.isdigit():
            return int(word)
        ports = rtx_tables()["ports"].get(word)
        if not ports or len(ports) != 1:
            raise self.error(n, Msg("error.firewall.rtx.parse.not_single_port", word=word))
        return int(ports[0])


def parse_rtx_config(text: str, file: str = "<string>") -> RtxConfig:
    return _Parser(text, file).run()
