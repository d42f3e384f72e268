"""The packet header space as BDD variables, and the encodings of field predicates.

Fields (bit 0 is the most significant bit of each field):

=========  =====  =========================================================================
ver        1      0 = IPv4, 1 = IPv6
ct         3      conntrack state, index into ``CT_STATES`` (values 5..7 never occur)
nat        1      1 = the device translated the destination (DNAT) before its policy: the
                  addresses are post-NAT either way, the bit says how the packet arrived
                  (a packet sent to a mapped server directly is not one sent to its public
                  address); sets of a device without DNAT leave it free
iif, oif   k      interface enum: index 0 is "other/none", then the device's interfaces
proto      8      IP protocol number (IPv6: the upper-layer protocol)
flags      8      TCP flags (FIN = 0x01 … CWR = 0x80; "don't care" for other protocols)
src, dst   128    IPv6 address; an IPv4 address lives in the top 32 bits (the other 96
                  bits are "don't care" for IPv4 packets)
dport      16     destination port for port protocols; ICMP type << 8 | code for ICMP
sport      16     source port for port protocols
=========  =====  =========================================================================

Every set built here is *cylindrical* in the bits a packet does not have (the low 96 address
bits of an IPv4 packet, the ports of a protocol without ports): a set is non-empty exactly
when a real packet lies in it, and example packets read only the meaningful bits.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

from segverify.engine.bdd import make_manager
from segverify.i18n import Msg
from segverify.topology.model import IPNetwork

CT_STATES = ("new", "established", "related", "invalid", "untracked")
PORT_PROTOS = (6, 17, 33, 132, 136)  # tcp, udp, dccp, sctp, udplite: the ones with ports
ICMP_PROTOS = (1, 58)
OTHER_IFACE = "*"
ORDERS = ("grouped", "interleaved", "ports-first")
_BIT_CHARS = bytes.maketrans(b"\x00\x01", b"01")  # bytes of 0/1 → "01" text for int(…, 2)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
FieldReader = Callable[[Sequence[str], int], int]  # (bit names, preferred value) → value
# example packets: (source, destination) addresses preferred where a set leaves them free
_PREFERRED_ADDRESSES = {
    4: (int(ipaddress.ip_address("198.51.100.10")), int(ipaddress.ip_address("203.0.113.200"))),
    6: (
        int(ipaddress.ip_address("2001:db8:ffff::10")),
        int(ipaddress.ip_address("2001:db8:fffe::20")),
    ),
}

# example packets: the values tried for each header field, in order (``prefer`` first), and
# the value a walk steers towards when the set allows none of them
_GREEDY = {"ver": 0, "ct": 0, "nat": 0, "proto": 6, "flags": 0x02}
_ICMP_ECHO = {1: 8 << 8, 58: 128 << 8}  # type << 8 | code, in the dport field
_SPORT = 49152
MEMO_LIMIT = 4096  # entries of each memo of example-packet choices


def _head_candidates(prefer: dict[str, int]) -> tuple[tuple[str, tuple[int, ...]], ...]:
    return (
        ("ver", (0, 1)),
        ("ct", (0, 1, 2, 3, 4)),
        ("nat", (0, 1)),
        ("proto", (prefer.get("proto", 6), 6, 17, 1, 58)),
        ("flags", (0x02, 0x10, 0x12)),
    )


def _dport_candidates(prefer: dict[str, int]) -> tuple[int, ...]:
    return (prefer.get("dport", 443), 443, 80, 22, 25, 53, 445, 3389)


@dataclass(frozen=True)
class Packet:
    """One concrete packet. ``dport`` of an ICMP packet is ``type << 8 | code``."""

    src: str
    dst: str
    proto: int
    sport: int = 0
    dport: int = 0
    ct_state: str = "new"
    in_interface: str = OTHER_IFACE
    out_interface: str = OTHER_IFACE
    tcp_flags: int = 0x02  # SYN: the first packet of a connection
    translated: bool = False  # post-NAT: arrived for another destination, translated
    original_dst: str | None = None  # when translated: where it was sent (one such address)
    original_dport: int | None = None

    @property
    def version(self) -> int:
        return ipaddress.ip_address(self.src).version

    @property
    def has_ports(self) -> bool:
        return self.proto in PORT_PROTOS

    @property
    def icmp_type(self) -> int | None:
        return self.dport >> 8 if self.proto in ICMP_PROTOS else None

    @property
    def icmp_code(self) -> int | None:
        return self.dport & 0xFF if self.proto in ICMP_PROTOS else None

    def policy_dport(self) -> int | None:
        """The destination port the policy sees (None for protocols without ports)."""
        return self.dport if self.has_ports else None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "src": self.src,
            "dst": self.dst,
            "proto": self.proto,
            "sport": self.sport if self.has_ports else None,
            "dport": self.dport if self.has_ports else None,
        }
        if self.proto in ICMP_PROTOS:
            out["icmp_type"] = self.icmp_type
            out["icmp_code"] = self.icmp_code
        if self.proto == 6 and self.tcp_flags != 0x02:
            out["tcp_flags"] = self.tcp_flags
        out["ct_state"] = self.ct_state
        out["in_interface"] = self.in_interface
        out["out_interface"] = self.out_interface
        if self.translated:
            out["translated"] = True
            if self.original_dst is not None:
                out["original_dst"] = self.original_dst
                out["original_dport"] = self.original_dport
        return out

    def describe(self) -> str:
        from segverify.topology.model import PROTO_NAMES

        name = PROTO_NAMES.get(self.proto, str(self.proto))
        nat = " (after destination NAT)" if self.translated else ""
        if self.translated and self.original_dst is not None:
            sent = self.original_dst
            if self.has_ports and self.original_dport is not None:
                sent = (
                    f"[{sent}]:{self.original_dport}"
                    if ":" in sent
                    else f"{sent}:{self.original_dport}"
                )
            nat = f" (sent to {sent}, destination NAT)"
        if self.has_ports:
            return f"{self.src}:{self.sport} → {self.dst}:{self.dport} {name}{nat}"
        if self.proto in ICMP_PROTOS:
            return (
                f"{self.src} → {self.dst} {name} type {self.icmp_type} code {self.icmp_code}{nat}"
            )
        return f"{self.src} → {self.dst} {name}{nat}"


@dataclass
class _Field:
    name: str
    width: int
    vars: list[str] = field(default_factory=list)


class HeaderSpace:
    """One BDD manager with the packet fields declared in a chosen variable order."""

    def __init__(
        self,
        interfaces: Iterable[str] = (),
        backend: str | None = None,
        order: str = "grouped",
    ) -> None:
        if order not in ORDERS:
            raise ValueError(
                Msg(
                    "error.engine.space.unknown_variable_order_known",
                    order=order,
                    orders=", ".join(ORDERS),
                )
            )
        self.bdd, self.backend = make_manager(backend)
        self.order = order
        names = sorted({n for n in interfaces if n and n != OTHER_IFACE})
        self.interfaces: tuple[str, ...] = (OTHER_IFACE, *names)
        self._iface_index = {n: i for i, n in enumerate(self.interfaces)}
        ifbits = max(1, math.ceil(math.log2(len(self.interfaces))))
        widths = {
            "ver": 1,
            "ct": 3,
            "nat": 1,
            "iif": ifbits,
            "oif": ifbits,
            "proto": 8,
            "flags": 8,
            "src": 128,
            "dst": 128,
            "dport": 16,
            "sport": 16,
        }
        prefix = {
            "ver": "v",
            "ct": "c",
            "nat": "n",
            "iif": "i",
            "oif": "o",
            "proto": "p",
            "flags": "f",
            "src": "s",
            "dst": "d",
            "dport": "dp",
            "sport": "sp",
        }
        self.fields: dict[str, _Field] = {}
        for fname, width in widths.items():
            self.fields[fname] = _Field(fname, width, [f"{prefix[fname]}{i}" for i in range(width)])
        self.bdd.declare(*self._declaration_order())
        self.bdd.configure(reordering=False)  # the declared order is chosen; keep it
        self.true = self.bdd.true
        self.false = self.bdd.false
        self._cache: dict[Any, Any] = {}
        self._getters: dict[tuple[str, int], Callable[[list[Any]], tuple[Any, ...]]] = {}
        self.level: Callable[[Any], int] = (
            _oxidd_level if self.backend == "oxidd" else attrgetter("level")
        )  # a set's top variable level (constants below every variable)
        ports = set(self.fields["dport"].vars) | set(self.fields["sport"].vars)
        self._not_ports = tuple(v for f in self.fields.values() for v in f.vars if v not in ports)

    def _declaration_order(self) -> list[str]:
        f = self.fields
        head = (
            f["ver"].vars
            + f["ct"].vars
            + f["nat"].vars
            + f["iif"].vars
            + f["oif"].vars
            + f["proto"].vars
        )
        head += f["flags"].vars
        if self.order == "grouped":
            return head + f["src"].vars + f["dst"].vars + f["dport"].vars + f["sport"].vars
        if self.order == "ports-first":
            return head + f["dport"].vars + f["sport"].vars + f["src"].vars + f["dst"].vars
        interleaved = [v for pair in zip(f["src"].vars, f["dst"].vars, strict=False) for v in pair]
        return head + interleaved + f["dport"].vars + f["sport"].vars

    @property
    def nvars(self) -> int:
        return sum(f.width for f in self.fields.values())

    # ---- primitive encodings -------------------------------------------------------------

    def _bits_cube(self, names: Sequence[str], value: int) -> Any:
        n = len(names)
        return self.bdd.cube({v: bool((value >> (n - 1 - i)) & 1) for i, v in enumerate(names)})

    def value(self, fname: str, value: int) -> Any:
        key = ("value", fname, value)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._bits_cube(self.fields[fname].vars, value)
            self._cache[key] = hit
        return hit

    def _interval_bits(self, names: Sequence[str], lo: int, hi: int) -> Any:
        """``lo <= x <= hi`` over the bit variables ``names`` (MSB first): O(len) nodes."""
        n = len(names)
        top = (1 << n) - 1
        lo, hi = max(lo, 0), min(hi, top)
        if lo > hi:
            return self.false
        # the common leading bits form one cube; the rest is a >= lo and <= hi comparator
        common = 0
        while common < n and ((lo >> (n - 1 - common)) & 1) == ((hi >> (n - 1 - common)) & 1):
            common += 1
        head = self._bits_cube(names[:common], lo >> (n - common)) if common else self.true
        rest = names[common:]
        if not rest:
            return head
        m = len(rest)
        mask = (1 << m) - 1
        lo_r, hi_r = lo & mask, hi & mask
        bdd = self.bdd
        ge = self.true
        for i in range(m - 1, -1, -1):  # from the least significant bit up
            x = bdd.var(rest[i])
            ge = (x & ge) if (lo_r >> (m - 1 - i)) & 1 else (x | ge)
        le = self.true
        for i in range(m - 1, -1, -1):
            x = bdd.var(rest[i])
            le = (~x | le) if (hi_r >> (m - 1 - i)) & 1 else (~x & le)
        return head & ge & le

    def low_bits(self, fname: str, nbits: int, value: int) -> Any:
        """The lowest ``nbits`` bits of ``fname`` equal ``value`` (ICMP code in dport)."""
        return self._bits_cube(self.fields[fname].vars[-nbits:], value)

    def tcp_flags(self, mask: int, value: int) -> Any:
        """``flags & mask == value`` (TCP flag bits, FIN = 0x01 … CWR = 0x80)."""
        names = self.fields["flags"].vars
        return self.bdd.cube(
            {names[7 - b]: bool((value >> b) & 1) for b in range(8) if (mask >> b) & 1}
        )

    def interval(self, fname: str, lo: int, hi: int) -> Any:
        key = ("interval", fname, lo, hi)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._interval_bits(self.fields[fname].vars, lo, hi)
            self._cache[key] = hit
        return hit

    def version(self, v: int) -> Any:
        return self.value("ver", 0 if v == 4 else 1)

    def _addr_vars(self, fname: str, version: int) -> list[str]:
        names = self.fields[fname].vars
        return names[:32] if version == 4 else names

    def prefix(self, fname: str, net: IPNetwork) -> Any:
        """Addresses of ``fname`` (src/dst) inside ``net`` (one cube)."""
        key = ("prefix", fname, net)
        hit = self._cache.get(key)
        if hit is None:
            hit = self.bdd.cube(self.prefix_bits(fname, net))
            self._cache[key] = hit
        return hit

    def prefix_parts(self, fname: str, net: IPNetwork) -> list[Any]:
        """``prefix(fname, net)`` as the cubes whose conjunction it is: the family bit and
        one cube per byte of the fixed bits (each cached: the same bytes recur across
        distinct prefixes, so no cube per prefix is built or kept)."""
        names = self._addr_vars(fname, net.version)
        plen = net.prefixlen
        value = int(net.network_address)
        width = net.max_prefixlen
        parts = [self.version(net.version)]
        for start in range(0, plen, 8):
            n = min(8, plen - start)
            chunk = (value >> (width - start - n)) & ((1 << n) - 1)
            key = ("prefix-byte", fname, net.version, start, n, chunk)
            hit = self._cache.get(key)
            if hit is None:
                hit = self._bits_cube(names[start : start + n], chunk)
                self._cache[key] = hit
            parts.append(hit)
        return parts

    def prefix_bits(self, fname: str, net: IPNetwork) -> dict[str, bool]:
        """The bits ``prefix`` fixes: ``{variable: value}``."""
        names = self._addr_vars(fname, net.version)
        plen = net.prefixlen
        bits = int(net.network_address) >> (net.max_prefixlen - plen) if plen else 0
        assignment = {v: bool((bits >> (plen - 1 - i)) & 1) for i, v in enumerate(names[:plen])}
        assignment[self.fields["ver"].vars[0]] = net.version == 6
        return assignment

    def address_range(self, fname: str, lo: IPAddress, hi: IPAddress) -> Any:
        if lo.version != hi.version:
            raise ValueError(Msg("error.engine.space.address_range_mixes_ipv4_ipv6", lo=lo, hi=hi))
        names = self._addr_vars(fname, lo.version)
        return self.version(lo.version) & self._interval_bits(names, int(lo), int(hi))

    def addresses(self, fname: str, prefixes: Iterable[IPNetwork]) -> Any:
        u = self.false
        for net in prefixes:
            u = u | self.prefix(fname, net)
        return u

    def protos(self, numbers: Iterable[int]) -> Any:
        u = self.false
        for p in numbers:
            u = u | self.value("proto", p)
        return u

    def port_protos(self) -> Any:
        key = ("port-protos",)
        hit = self._cache.get(key)
        if hit is None:
            hit = self.protos(PORT_PROTOS)
            self._cache[key] = hit
        return hit

    def ct(self, states: Iterable[str]) -> Any:
        u = self.false
        for s in states:
            u = u | self.value("ct", CT_STATES.index(s))
        return u

    def ct_domain(self) -> Any:
        return self.interval("ct", 0, len(CT_STATES) - 1)

    def iface(self, fname: str, name: str) -> Any:
        return self.value(fname, self._iface_index[name])

    def iface_index(self, name: str) -> int | None:
        return self._iface_index.get(name)

    def ifaces_matching(
        self, fname: str, patterns: Iterable[str], wildcard_other: bool = True
    ) -> Any:
        """Interfaces named by ``patterns`` (``eth+`` / ``eth*`` are prefix wildcards, as in
        iptables and nft). Wildcards also cover the "other" value (unlisted interfaces may
        carry such names) unless ``wildcard_other`` is False."""
        u = self.false
        for pat in patterns:
            if pat.endswith(("+", "*")):
                stem = pat[:-1]
                for i, name in enumerate(self.interfaces):
                    if (i == 0 and wildcard_other) or (i and name.startswith(stem)):
                        u = u | self.value(fname, i)
            elif pat in self._iface_index:
                u = u | self.value(fname, self._iface_index[pat])
        return u

    # ---- concrete packets ------------------------------------------------------------------

    def assignment(self, pkt: Packet) -> dict[str, bool]:
        """A full assignment of every variable for one packet (unused bits zero)."""
        out: dict[str, bool] = {}

        def put(fname: str, value: int) -> None:
            names = self.fields[fname].vars
            n = len(names)
            for i, v in enumerate(names):
                out[v] = bool((value >> (n - 1 - i)) & 1)

        src, dst = ipaddress.ip_address(pkt.src), ipaddress.ip_address(pkt.dst)
        if src.version != dst.version:
            raise ValueError(
                Msg("error.engine.space.are_different_ip_versions", src=pkt.src, dst=pkt.dst)
            )
        put("ver", 0 if src.version == 4 else 1)
        put("ct", CT_STATES.index(pkt.ct_state))
        put("nat", int(pkt.translated))
        put("iif", self._iface_index.get(pkt.in_interface, 0))
        put("oif", self._iface_index.get(pkt.out_interface, 0))
        put("proto", pkt.proto)
        put("flags", pkt.tcp_flags if pkt.proto == 6 else 0)
        shift = 96 if src.version == 4 else 0
        put("src", int(src) << shift)
        put("dst", int(dst) << shift)
        ports = pkt.has_ports
        put("dport", pkt.dport if ports or pkt.proto in ICMP_PROTOS else 0)
        put("sport", pkt.sport if ports else 0)
        return out

    def exist(self, names: Sequence[str], u: Any) -> Any:
        """``u`` with the variables ``names`` quantified away. The cube of ``names`` is built
        once (``bdd.exist`` builds it from the names on every call: most of the cost of a
        quantification of a small set)."""
        if self.backend == "autoref":
            return self.bdd.exist(names, u)
        key = ("cube", id(names))  # the callers pass the same few sequences
        hit = self._cache.get(key)
        if hit is None or hit[0] is not names:
            hit = (names, self.bdd.cube(dict.fromkeys(names, True)))  # keeps ``names`` alive
            self._cache[key] = hit
        return self.bdd.apply("exists", hit[1], u)

    def holds_value(self, u: Any, fname: str, value: int) -> bool:
        """Whether ``u`` (a set over ``fname`` only, other variables free) holds ``value``."""
        return (u & self.value(fname, value)) != self.false

    def contains(self, u: Any, pkt: Packet) -> bool:
        return self.holds(u, self.assignment(pkt))

    def holds(self, u: Any, assignment: dict[str, bool]) -> bool:
        """Evaluate ``u`` under a full assignment by walking one path (complement edges
        flip the parity; cofactors of a complemented node are those of its regular node)."""
        if self.backend == "oxidd":
            number = self.bdd.number
            return self.bdd.holds(u, [(number(v), b) for v, b in assignment.items()])
        neg = False
        while u.var is not None:
            if u.negated:
                neg = not neg
            u = u.high if assignment[u.var] else u.low
        return (u == self.true) != neg

    def packet_cube(self, pkt: Packet) -> Any:
        return self.bdd.cube(self.assignment(pkt))

    def _walk(self, u: Any, prefer: dict[str, bool], lasting: bool = False) -> FieldReader:
        """A satisfying path of ``u`` (non-false) taking the preferred branch wherever it
        does not lead to false: reduced BDDs have no constant inner nodes, so only a
        terminal child can be the dead end. Variables not on the path take the preferred
        value. Returns a reader of field values: ``read(names, pref)`` is the value of the
        bits ``names`` on the path, ``pref`` being their preferred value (``prefer`` holds
        its bits). ``lasting``: ``prefer`` is a long-lived dict (OxiDD keeps its cube)."""
        if self.backend == "oxidd":
            return self._walk_oxidd(u, prefer, lasting)
        out: dict[str, bool] = {}
        neg = False
        true = self.true
        v = u.var  # each node's variable read once (attribute reads wrap CUDD calls)
        while v is not None:
            if u.negated:
                neg = not neg
            bit = prefer.get(v, False)
            c = u.high if bit else u.low
            cv = c.var
            if cv is None and (c == true) == neg:  # this branch is constant false
                bit = not bit
                c = u.high if bit else u.low
                cv = c.var
            out[v] = bit
            u, v = c, cv
        bits = {**prefer, **out}

        def read(names: Sequence[str], pref: int) -> int:
            return int(bytes(map(bits.__getitem__, names)).translate(_BIT_CHARS), 2)

        return read

    def _walk_oxidd(self, u: Any, prefer: dict[str, bool], lasting: bool) -> FieldReader:
        """``_walk`` in compiled code: the variables whose preferred value is True are
        negated (one substitution), so the preferred path becomes the one that takes the
        False branch wherever it can, which is the path OxiDD's ``pick_cube`` takes. A bit
        read off that path (False where the path leaves it free) is the real bit XOR the
        preferred one."""
        key = ("prefer-flip", id(prefer))
        hit = self._cache.get(key) if lasting else None
        if hit is None or hit[0] is not prefer:
            hit = (prefer, self.bdd.negation([v for v, b in prefer.items() if b]))
            if lasting:
                self._cache[key] = hit  # keeps ``prefer`` alive: its id stays its own
        picked = self.bdd.pick_low(u, hit[1])
        getters = self._getters

        def read(names: Sequence[str], pref: int) -> int:
            get = getters.get((names[0], len(names)))
            if get is None:
                get = getters[(names[0], len(names))] = self.bdd.getter(names)
            return int(bytes(map(bool, get(picked))).translate(_BIT_CHARS), 2) ^ pref

        return read

    _HEAD = ("ver", "ct", "nat", "proto", "flags")

    def _ports(self, proj: Any, prefer: dict[str, int]) -> tuple[Any, dict[str, int]]:
        """On ``proj``, a set over the two port fields: a familiar destination port and the
        source port 49152 where it allows them, as a cube and as values."""
        fixed = self.true
        values: dict[str, int] = {}
        for c in _dport_candidates(prefer):
            t = proj & self.value("dport", c)
            if t != self.false:
                proj, fixed = t, self.value("dport", c)
                values["dport"] = c
                break
        if (proj & self.value("sport", _SPORT)) != self.false:
            fixed = fixed & self.value("sport", _SPORT)
            values["sport"] = _SPORT
        return fixed, values

    def _head_fast(self, u: Any, prefer: dict[str, int]) -> tuple | None:
        """``_head_slow``'s choices made on the projection of ``u`` onto the header fields
        and the ports (one quantification of the whole set, then small sets only; the
        set is restricted once at the end): the same values and the same restricted set,
        or None when some field has none of its candidate values."""
        key = ("head-ports",)
        hit = self._cache.get(key)
        if hit is None:
            head_vars = tuple(v for f in self._HEAD for v in self.fields[f].vars)
            port_vars = tuple(self.fields["dport"].vars + self.fields["sport"].vars)
            keep = set(head_vars) | set(port_vars)
            others = tuple(v for v in self.bdd.vars if v not in keep)
            hit = self._cache[key] = (head_vars, port_vars, others)
        head_vars, port_vars, others = hit
        q = self.exist(others, u)  # over the header fields and the ports
        hp = self.exist(port_vars, q)  # over the header fields
        # the choices depend only on the projections and the preferences, and few
        # distinct projections recur across the sets of a ruleset: each is made once
        memo = self._memo("head")
        key = (hp, prefer.get("proto"))
        head = memo.get(key)
        if head is None:
            head = memo[key] = self._head_choice(hp, prefer) or ()
        if not head:
            return None
        chosen, sel, values = head[0], head[1], dict(head[2])
        ver, ct, nat, proto, flags = chosen
        fixed = sel
        if proto in PORT_PROTOS:
            proj = self.exist(head_vars, q & sel)
            memo = self._memo("ports")
            key = (proj, prefer.get("dport"))
            got = memo.get(key)
            if got is None:
                got = memo[key] = self._ports(proj, prefer)
            ports, picked = got
            fixed, values = fixed & ports, {**values, **picked}
        elif proto in ICMP_PROTOS:
            echo = self.value("dport", _ICMP_ECHO[proto])
            if (q & sel & echo) != self.false:
                fixed = fixed & echo
                values["dport"] = _ICMP_ECHO[proto]
        return ver, ct, nat, proto, flags, u & fixed, values

    def _head_choice(self, hp: Any, prefer: dict[str, int]) -> tuple | None:
        """On ``hp``, a set over the header fields: the first candidate value of each field
        it allows (given the earlier ones), as values and as a cube; None when a field
        has none of its candidates."""
        sel = self.true
        values: dict[str, int] = {}
        chosen = []
        for fname, candidates in _head_candidates(prefer):
            if fname == "flags" and values["proto"] != 6:
                chosen.append(0x02)
                continue
            for c in candidates:
                t = hp & self.value(fname, c)
                if t != self.false:
                    hp, sel = t, sel & self.value(fname, c)
                    values[fname] = c
                    chosen.append(c)
                    break
            else:
                return None
        return tuple(chosen), sel, values

    def _memo(self, kind: str) -> dict[Any, Any]:
        """A bounded memo of example-packet choices keyed by small projected sets (its keys
        keep their BDDs alive: emptied when it reaches MEMO_LIMIT entries)."""
        key = ("memo", kind)
        memo = self._cache.get(key)
        if memo is None or len(memo) >= MEMO_LIMIT:
            memo = self._cache[key] = {}
        return memo

    def _head_slow(self, u: Any, prefer: dict[str, int]) -> tuple:
        """The header fields (version, state, NAT bit, protocol, TCP flags) and the ports
        of an example packet of ``u``: each the first candidate value the set allows (or
        as close to the preferred value as it allows), and ``u`` restricted to them."""
        bdd = self.bdd
        cur = u
        values: dict[str, int] = {}

        def try_value(fname: str, value: int) -> bool:
            nonlocal cur
            t = cur & self.value(fname, value)
            if t != self.false:
                cur = t
                values[fname] = value
                return True
            return False

        def greedy(fname: str, names: Sequence[str], pref: int) -> int:
            """Bits of ``names`` as close to ``pref`` as ``cur`` allows, most significant
            first: one walk down the BDD (no BDD operations), then one restriction."""
            nonlocal cur
            n = len(names)
            want = {v: bool((pref >> (n - 1 - i)) & 1) for i, v in enumerate(names)}
            result = self._walk(cur, want)(names, pref)
            bits = {v: bool((result >> (n - 1 - i)) & 1) for i, v in enumerate(names)}
            cur = bdd.let(bits, cur)
            return result

        def choose(fname: str, candidates: Sequence[int], pref: int) -> int:
            for c in candidates:
                if try_value(fname, c):
                    return c
            return greedy(fname, self.fields[fname].vars, pref)

        # ver, ct, proto and flags have few values: one of the candidates or a walk
        chosen: dict[str, int] = {}
        for fname, candidates in _head_candidates(prefer):
            if fname == "flags" and chosen["proto"] != 6:
                chosen[fname] = 0x02
                continue
            chosen[fname] = choose(fname, candidates, _GREEDY[fname])
        ver, ct, nat, proto, flags = (chosen[f] for f in self._HEAD)
        # small fields with candidate values first (a few cube operations each) …
        if proto in PORT_PROTOS:
            # the ports lie below the addresses: try the candidates on the set's projection
            # onto the two port fields (small), then restrict ``cur`` once
            fixed, picked = self._ports(self.exist(self._not_ports, cur), prefer)
            values.update(picked)
            if fixed != self.true:
                cur = cur & fixed
        elif proto in ICMP_PROTOS:
            try_value("dport", _ICMP_ECHO[proto])
        return ver, ct, nat, proto, flags, cur, values

    def example(self, u: Any, prefer: dict[str, int] | None = None) -> Packet | None:
        """One packet of ``u`` (None when empty), steered towards readable values: IPv4, NEW,
        TCP/UDP/ICMP, familiar ports, TEST-NET addresses where the set leaves them free."""
        if u == self.false:
            return None
        prefer = dict(prefer or {})
        head = self._head_fast(u, prefer)
        if head is None:  # a field with none of its candidate values: the general path
            head = self._head_slow(u, prefer)
        ver, ct, nat, proto, flags, cur, values = head
        version = 4 if ver == 0 else 6
        dport = sport = 0
        # … then one walk down the BDD for everything else (interfaces, addresses, ports
        # not fixed above), each bit as close to the preferred value as the set allows
        src_pref, dst_pref = _PREFERRED_ADDRESSES[version]
        prefs = {
            "iif": (self.fields["iif"].vars, prefer.get("iif", 0)),
            "oif": (self.fields["oif"].vars, prefer.get("oif", 0)),
            "src": (self._addr_vars("src", version), src_pref),
            "dst": (self._addr_vars("dst", version), dst_pref),
            "dport": (self.fields["dport"].vars, values.get("dport", 443)),
            "sport": (self.fields["sport"].vars, values.get("sport", 49152)),
        }
        key = ("want", *(pref for _, pref in prefs.values()), len(prefs["src"][0]))
        want = self._cache.get(key)
        if want is None:  # the same few preferences recur: one dict per combination
            want = {}
            for fname, (names, pref) in prefs.items():
                want.update(self._bits_of(fname, len(names), pref))
            self._cache[key] = want
        on_path = self._walk(cur, want, lasting=True)

        def read(fname: str) -> int:
            return on_path(*prefs[fname])

        iif, oif, src, dst = read("iif"), read("oif"), read("src"), read("dst")
        if proto in PORT_PROTOS:
            dport, sport = read("dport"), read("sport")
        elif proto in ICMP_PROTOS:
            dport = read("dport")
        return Packet(
            src=address_text(version, src),
            dst=address_text(version, dst),
            proto=proto,
            sport=sport,
            dport=dport,
            ct_state=CT_STATES[ct] if ct < len(CT_STATES) else "new",
            tcp_flags=flags,
            in_interface=self.interfaces[iif] if iif < len(self.interfaces) else OTHER_IFACE,
            out_interface=self.interfaces[oif] if oif < len(self.interfaces) else OTHER_IFACE,
            translated=bool(nat),
        )

    def _bits_of(self, fname: str, width: int, value: int) -> dict[str, bool]:
        """``{variable: bit}`` of ``value`` over the first ``width`` variables of ``fname``
        (cached: example packets prefer the same few values)."""
        key = ("bits", fname, width, value)
        hit = self._cache.get(key)
        if hit is None:
            names = self.fields[fname].vars[:width]
            hit = {v: bool((value >> (width - 1 - i)) & 1) for i, v in enumerate(names)}
            self._cache[key] = hit
        return hit

    def size(self, u: Any) -> int:
        """BDD node count of ``u`` (for benchmarks)."""
        if self.backend == "oxidd":
            return u.node_count()
        return len(u) if hasattr(u, "__len__") else u.dag_size


def _oxidd_level(u: Any) -> int:
    level = u.node_level()
    return 1 << 30 if level is None else level


def address_text(version: int, value: int) -> str:
    """An example address as a firewall engineer writes it: IPv4-mapped IPv6 addresses in
    the dotted form ``::ffff:198.18.10.16`` (as Python 3.13 and ip6tables print them)."""
    if version == 4:
        return str(ipaddress.IPv4Address(value))
    ip = ipaddress.IPv6Address(value)
    return f"::ffff:{ip.ipv4_mapped}" if ip.ipv4_mapped is not None else str(ip)
