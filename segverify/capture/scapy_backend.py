"""Reference backend: a strict record reader and scapy's header classes, one packet at a time.

Slow (thousands of packets per second) and meant as the reference the fast backend is
tested against. The record reader is written out here rather than taken from scapy
because scapy's readers return cut-short records silently; every header is read with
scapy's own layer classes (``Ether``, ``Dot1Q``, ``IP``, ``IPv6``, ``TCP``…) on exact
byte slices, so the offsets and the accounting stay under our control.

Semantics shared by every backend (see docs/pcap.md):

- flow key: IP version, the two (address, port) endpoints unordered, transport protocol;
  ICMP/ICMPv6 type and code map to ports as the Community ID spec does;
- initiator: the sender of the first TCP SYN without ACK, otherwise of the first packet;
- bytes are original frame lengths; first/last are the lowest/highest timestamps; the
  first frame is the lowest 1-based record number of the file;
- fragments: the fragment at offset 0 carries the ports; later fragments of the same
  datagram (source, destination, protocol, IP ID) join its flow; a fragment whose first
  fragment was not seen earlier in the file joins the port-less flow of its addresses;
- tunnels (GRE, ERSPAN I/II/III, VXLAN on UDP 4789, Geneve on UDP 6081) are decapsulated
  when they carry Ethernet or IP; the inner packet makes the flow and the outer endpoints
  go to ``Flow.tunnel``;
- every record lands in one bucket: analysed, non_ip, unsupported_link, malformed (a
  header is impossible, or ends before its data though the record is complete) or
  truncated (the record was cut by the snap length before a header ended).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import ipaddress
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from scapy.layers.inet import GRE, IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import CookedLinux, CookedLinuxV2, Dot1Q, Ether

from segverify.capture.evidence import MAX_FLOW_NAMES, extract_names
from segverify.errors import InputError
from segverify.flows.model import Accounting, Flow, FlowTable

# --- Community ID v1 ---------------------------------------------------------------------

ICMP4_PAIRS = {8: 0, 0: 8, 13: 14, 14: 13, 15: 16, 16: 15, 10: 9, 9: 10, 17: 18, 18: 17}
ICMP6_PAIRS = {
    128: 129,
    129: 128,
    130: 131,
    131: 130,
    133: 134,
    134: 133,
    135: 136,
    136: 135,
    139: 140,
    140: 139,
    144: 145,
    145: 144,
}
PORTED = (6, 17, 132)  # TCP, UDP, SCTP


def icmp_ports(proto: int, icmp_type: int, code: int) -> tuple[int, int]:
    """ICMP type/code as Community ID ports: (type, paired type) or (type, code)."""
    pairs = ICMP4_PAIRS if proto == 1 else ICMP6_PAIRS
    return icmp_type, pairs.get(icmp_type, code)


def community_id(
    src: str, dst: str, proto: int, sport: int | None, dport: int | None, seed: int = 0
) -> str:
    """Community ID v1 (base64) of a flow oriented initiator → responder."""
    s = ipaddress.ip_address(src).packed
    d = ipaddress.ip_address(dst).packed
    has_ports = sport is not None and dport is not None and proto in (*PORTED, 1, 58)
    one_way = False
    if has_ports and proto in (1, 58):
        pairs = ICMP4_PAIRS if proto == 1 else ICMP6_PAIRS
        one_way = sport not in pairs
    if has_ports:
        ordered = one_way or s < d or (s == d and sport < dport)  # type: ignore[operator]
        if not ordered:
            s, d, sport, dport = d, s, dport, sport
    elif d < s:
        s, d = d, s
    data = struct.pack("!H", seed) + s + d + struct.pack("BB", proto, 0)
    if has_ports:
        data += struct.pack("!HH", sport, dport)
    return "1:" + base64.b64encode(hashlib.sha1(data).digest()).decode("ascii")


# --- decoded packets and flow building --------------------------------------------------


@dataclass
class Decoded:
    """One IP packet as a backend decoded it (the innermost one after tunnels)."""

    version: int
    src: str
    dst: str
    proto: int
    sport: int | None = None
    dport: int | None = None
    tcp_flags: int = 0
    names: tuple[str, ...] = ()
    tunnel: tuple[str, ...] = ()
    vlan: int | None = None
    frag_id: int | None = None  # IP ID when the packet is a fragment
    frag_offset: int = 0


@dataclass
class _State:
    a_is_first: bool  # the first packet went a → b
    first_ns: int
    last_ns: int
    first_frame: int
    vlan: int | None
    syn_from_a: bool | None = None
    packets: list[int] = field(default_factory=lambda: [0, 0])  # [a→b, b→a]
    nbytes: list[int] = field(default_factory=lambda: [0, 0])
    flags: list[int] = field(default_factory=lambda: [0, 0])
    names: list[str] = field(default_factory=list)
    tunnel: list[str] = field(default_factory=list)


class FlowBuilder:
    """Aggregates decoded packets of one file into bidirectional flows."""

    def __init__(self, file: str) -> None:
        self.file = file
        self._flows: dict[tuple, _State] = {}
        self._endpoints: dict[tuple, tuple[str, str, int | None, int | None, int]] = {}
        self._frags: dict[tuple, tuple[int | None, int | None]] = {}

    def add(self, frame: int, ts_ns: int, wirelen: int, p: Decoded) -> None:
        sport, dport = p.sport, p.dport
        if p.frag_id is not None:
            fkey = (p.version, p.src, p.dst, p.proto, p.frag_id)
            if p.frag_offset == 0:
                self._frags[fkey] = (sport, dport)
            else:
                sport, dport = self._frags.get(fkey, (None, None))
        a = (ipaddress.ip_address(p.src).packed, -1 if sport is None else sport)
        b = (ipaddress.ip_address(p.dst).packed, -1 if dport is None else dport)
        forward = a <= b
        key = (p.version, p.proto, a, b) if forward else (p.version, p.proto, b, a)
        st = self._flows.get(key)
        if st is None:
            st = _State(forward, ts_ns, ts_ns, frame, p.vlan)
            self._flows[key] = st
            ends = (p.src, p.dst, sport, dport) if forward else (p.dst, p.src, dport, sport)
            self._endpoints[key] = (*ends, p.proto)
        side = 0 if forward else 1
        st.packets[side] += 1
        st.nbytes[side] += wirelen
        st.flags[side] |= p.tcp_flags & 0xFF
        if p.proto == 6 and p.tcp_flags & 0x12 == 0x02 and st.syn_from_a is None:
            st.syn_from_a = forward
        if ts_ns < st.first_ns:
            st.first_ns = ts_ns
        if ts_ns > st.last_ns:
            st.last_ns = ts_ns
        if frame < st.first_frame:
            st.first_frame = frame
            st.vlan = p.vlan  # the VLAN of the flow's first packet, as the fast backend
        for name in p.names:
            if name not in st.names and len(st.names) < MAX_FLOW_NAMES:
                st.names.append(name)
        for t in p.tunnel:
            if t not in st.tunnel and len(st.tunnel) < MAX_FLOW_NAMES:
                st.tunnel.append(t)

    def flows(self) -> list[Flow]:
        out: list[Flow] = []
        for key, st in self._flows.items():
            a_addr, b_addr, a_port, b_port, proto = self._endpoints[key]
            a_first = st.a_is_first if st.syn_from_a is None else st.syn_from_a
            if a_first:
                src, dst, sport, dport, i, r = a_addr, b_addr, a_port, b_port, 0, 1
            else:
                src, dst, sport, dport, i, r = b_addr, a_addr, b_port, a_port, 1, 0
            out.append(
                Flow(
                    src=src,
                    dst=dst,
                    proto=proto,
                    sport=sport,
                    dport=dport,
                    packets_fwd=st.packets[i],
                    bytes_fwd=st.nbytes[i],
                    packets_rev=st.packets[r],
                    bytes_rev=st.nbytes[r],
                    first_ns=st.first_ns,
                    last_ns=st.last_ns,
                    first_frame=st.first_frame,
                    file=self.file,
                    vlan=st.vlan,
                    tcp_flags_fwd=st.flags[i],
                    tcp_flags_rev=st.flags[r],
                    community_id=community_id(src, dst, proto, sport, dport),
                    names=tuple(st.names),
                    tunnel=tuple(st.tunnel),
                )
            )
        out.sort(key=lambda f: f.first_frame)
        return out


# --- record reader (pcap, pcapng, gzip) ------------------------------------------------

MAX_RECORD = 256 * 1024  # larger captured lengths mean a damaged file


@dataclass(frozen=True)
class Record:
    frame: int  # 1-based over the file's records
    linktype: int
    ts_ns: int
    data: bytes
    wirelen: int


def read_bytes(path: str) -> bytes:
    """The file's bytes, gunzipped when it starts with the gzip magic."""
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError("no such file", path) from None
    except IsADirectoryError:
        raise InputError("is a directory, not a capture file", path) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path) from None
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise InputError(f"broken gzip data ({exc})", path) from None
    return raw


def iter_records(path: str, acct: Accounting) -> Iterator[Record]:
    """Records of a pcap or pcapng file; a cut-short file ends with a ``cut_short`` note."""
    buf = read_bytes(path)
    if len(buf) < 4:
        raise InputError("not a pcap or pcapng file (too short for a file header)", path)
    magic = buf[:4]
    if magic in (
        b"\xd4\xc3\xb2\xa1",
        b"\xa1\xb2\xc3\xd4",
        b"\x4d\x3c\xb2\xa1",
        b"\xa1\xb2\x3c\x4d",
    ):
        yield from _pcap_records(path, buf, acct)
    elif magic == b"\x0a\x0d\x0d\x0a":
        yield from _pcapng_records(path, buf, acct)
    else:
        raise InputError(f"not a pcap or pcapng file (magic {magic.hex()})", path)


def _pcap_records(path: str, buf: bytes, acct: Accounting) -> Iterator[Record]:
    magic = buf[:4]
    end = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    if len(buf) < 24:
        raise InputError("pcap file header cut short", path)
    linktype = struct.unpack_from(end + "I", buf, 20)[0] & 0xFFFF
    pos, frame = 24, 0
    hdr = struct.Struct(end + "IIII")
    while pos < len(buf):
        if pos + 16 > len(buf):
            acct.cut_short.append(f"{path}: stopped at byte {pos} (record header cut short)")
            return
        sec, frac, caplen, wirelen = hdr.unpack_from(buf, pos)
        if caplen > MAX_RECORD:
            acct.cut_short.append(
                f"{path}: stopped at byte {pos} (record length {caplen} is implausible)"
            )
            return
        if pos + 16 + caplen > len(buf):
            acct.cut_short.append(f"{path}: stopped at byte {pos} (record data cut short)")
            return
        frame += 1
        ts = sec * 1_000_000_000 + (frac if nano else frac * 1000)
        yield Record(frame, linktype, ts, buf[pos + 16 : pos + 16 + caplen], max(wirelen, caplen))
        pos += 16 + caplen


def _tsres(value: int) -> tuple[int, int]:
    """if_tsresol as (multiplier, divisor) turning ticks into nanoseconds."""
    if value & 0x80:
        return 1_000_000_000, 1 << (value & 0x7F)
    exp = value & 0x7F
    return (10 ** (9 - exp), 1) if exp <= 9 else (1, 10 ** (exp - 9))


def _pcapng_records(path: str, buf: bytes, acct: Accounting) -> Iterator[Record]:
    pos, frame = 0, 0
    end = "<"
    ifaces: list[tuple[int, int, int, int]] = []  # linktype, mult, div, offset seconds
    while pos < len(buf):
        if pos + 12 > len(buf):
            acct.cut_short.append(f"{path}: stopped at byte {pos} (block header cut short)")
            return
        btype = struct.unpack_from(end + "I", buf, pos)[0]
        if btype == 0x0A0D0D0A:
            bom = buf[pos + 8 : pos + 12]
            if bom == b"\x4d\x3c\x2b\x1a":
                end = "<"
            elif bom == b"\x1a\x2b\x3c\x4d":
                end = ">"
            else:
                acct.cut_short.append(f"{path}: stopped at byte {pos} (bad byte-order magic)")
                return
            ifaces = []
        blen = struct.unpack_from(end + "I", buf, pos + 4)[0]
        if blen < 12 or blen % 4 or pos + blen > len(buf):
            acct.cut_short.append(
                f"{path}: stopped at byte {pos} (block length {blen} does not fit the file)"
            )
            return
        body = buf[pos + 8 : pos + blen - 4]
        if btype == 1 and len(body) >= 8:
            linktype = struct.unpack_from(end + "H", body, 0)[0]
            ifaces.append((linktype, *_idb_options(body[8:], end)))
        elif btype in (6, 2, 3):
            rec = _packet_block(btype, body, end, ifaces)
            if rec is None:
                acct.cut_short.append(f"{path}: stopped at byte {pos} (packet block is damaged)")
                return
            linktype, ts, data, wirelen = rec
            frame += 1
            yield Record(frame, linktype, ts, data, wirelen)
        pos += blen


def _idb_options(opts: bytes, end: str) -> tuple[int, int, int]:
    mult, div, offset = 1000, 1, 0  # default resolution: microseconds
    p = 0
    while p + 4 <= len(opts):
        code, length = struct.unpack_from(end + "HH", opts, p)
        value = opts[p + 4 : p + 4 + length]
        if code == 0:
            break
        if code == 9 and length >= 1:
            mult, div = _tsres(value[0])
        elif code == 14 and length >= 8:
            offset = struct.unpack_from(end + "q", value, 0)[0]
        p += 4 + ((length + 3) & ~3)
    return mult, div, offset


def _packet_block(
    btype: int, body: bytes, end: str, ifaces: list[tuple[int, int, int, int]]
) -> tuple[int, int, bytes, int] | None:
    if btype == 3:  # simple packet block: interface 0, no timestamp
        if len(body) < 4 or not ifaces:
            return None
        wirelen = struct.unpack_from(end + "I", body, 0)[0]
        data = body[4 : 4 + wirelen]
        return ifaces[0][0], 0, data, max(wirelen, len(data))
    if btype == 6:
        if len(body) < 20:
            return None
        iface, high, low, caplen, wirelen = struct.unpack_from(end + "IIIII", body, 0)
        start = 20
    else:  # obsolete packet block
        if len(body) < 20:
            return None
        iface, _drops, high, low, caplen, wirelen = struct.unpack_from(end + "HHIIII", body, 0)
        start = 20
    if iface >= len(ifaces) or start + caplen > len(body):
        return None
    linktype, mult, div, offset = ifaces[iface]
    ticks = (high << 32) | low
    ts = ticks * mult // div + offset * 1_000_000_000
    return linktype, ts, body[start : start + caplen], max(wirelen, caplen)


# --- packet decoding with scapy's header classes ---------------------------------------

SUPPORTED_LINKS = {0, 1, 12, 14, 101, 108, 113, 228, 229, 276}
ETH_VLAN = (0x8100, 0x88A8, 0x9100, 0x9200)
MAX_DEPTH = 16


class _Stop(Exception):
    """Decoding ended in a bucket other than analysed."""

    def __init__(self, bucket: str) -> None:
        super().__init__(bucket)
        self.bucket = bucket


@dataclass
class _Ctx:
    data: bytes
    cut: bool  # the record is shorter than the frame on the wire
    vlan: int | None = None
    tunnel: tuple[str, ...] = ()
    depth: int = 0

    def short(self) -> _Stop:
        return _Stop("truncated" if self.cut else "malformed")


def decode_record(linktype: int, data: bytes, wirelen: int) -> Decoded | str:
    """Decode one record: the innermost IP packet, or the name of its accounting bucket."""
    if linktype not in SUPPORTED_LINKS:
        return "unsupported_link"
    ctx = _Ctx(data, len(data) < wirelen)
    try:
        return _link(ctx, linktype)
    except _Stop as stop:
        return stop.bucket
    except (struct.error, IndexError, ValueError):  # a header scapy could not read
        return "truncated" if ctx.cut else "malformed"


def _link(ctx: _Ctx, linktype: int) -> Decoded:
    d = ctx.data
    if linktype == 1:
        if len(d) < 14:
            raise ctx.short()
        return _ethertype(ctx, _ether_type(d, 0), 14)
    if linktype in (0, 108):
        if len(d) < 4:
            raise ctx.short()
        fam = struct.unpack_from(">I" if linktype == 108 else "<I", d, 0)[0]
        if fam > 0xFFFF:
            fam = struct.unpack_from("<I" if linktype == 108 else ">I", d, 0)[0]
        if fam == 2:
            return _ipv4(ctx, 4)
        if fam in (10, 24, 28, 30):
            return _ipv6(ctx, 4)
        raise _Stop("non_ip")
    if linktype in (12, 14, 101):
        return _ip_by_version(ctx, 0)
    if linktype == 228:
        return _ipv4(ctx, 0)
    if linktype == 229:
        return _ipv6(ctx, 0)
    if linktype == 113:
        if len(d) < 16:
            raise ctx.short()
        return _ethertype(ctx, CookedLinux(d[:16]).proto, 16)
    if len(d) < 20:  # 276: Linux cooked v2
        raise ctx.short()
    return _ethertype(ctx, CookedLinuxV2(d[:20]).proto, 20)


def _ether_type(d: bytes, off: int) -> int:
    """EtherType of the Ethernet header at ``off`` (802.3 length fields are below 0x600)."""
    eth = Ether(d[off : off + 14])
    return int(eth.type) if "type" in eth.fields else struct.unpack_from(">H", d, off + 12)[0]


def _ip_by_version(ctx: _Ctx, off: int) -> Decoded:
    if off >= len(ctx.data):
        raise ctx.short()
    version = ctx.data[off] >> 4
    if version == 4:
        return _ipv4(ctx, off)
    if version == 6:
        return _ipv6(ctx, off)
    raise _Stop("malformed")


def _ethertype(ctx: _Ctx, et: int, off: int) -> Decoded:
    d = ctx.data
    for _ in range(MAX_DEPTH):
        if et == 0x0800:
            return _ipv4(ctx, off)
        if et == 0x86DD:
            return _ipv6(ctx, off)
        if et in ETH_VLAN:
            if off + 4 > len(d):
                raise ctx.short()
            tag = Dot1Q(d[off : off + 4])
            if ctx.vlan is None:
                ctx.vlan = tag.vlan
            et, off = tag.type, off + 4
            continue
        if et in (0x8847, 0x8848):
            while True:
                if off + 4 > len(d):
                    raise ctx.short()
                bottom = d[off + 2] & 0x01
                off += 4
                if bottom:
                    break
            if off >= len(d):
                raise ctx.short()
            nibble = d[off] >> 4
            if nibble == 4:
                return _ipv4(ctx, off)
            if nibble == 6:
                return _ipv6(ctx, off)
            raise _Stop("non_ip")
        if et == 0x8864:
            if off + 8 > len(d):
                raise ctx.short()
            ppp = struct.unpack_from(">H", d, off + 6)[0]
            if ppp == 0x0021:
                return _ipv4(ctx, off + 8)
            if ppp == 0x0057:
                return _ipv6(ctx, off + 8)
            raise _Stop("non_ip")
        if et == 0x88E7:  # 802.1ah: I-TAG, then the customer Ethernet header
            if off + 18 > len(d):
                raise ctx.short()
            et, off = struct.unpack_from(">H", d, off + 16)[0], off + 18
            continue
        raise _Stop("non_ip")
    raise _Stop("malformed")


def _ipv4(ctx: _Ctx, off: int) -> Decoded:
    d = ctx.data
    avail = len(d) - off
    if avail < 20:
        raise ctx.short()
    if d[off] >> 4 != 4:
        raise _Stop("malformed")
    ihl = (d[off] & 0x0F) * 4
    if ihl < 20:
        raise _Stop("malformed")
    if avail < ihl:
        raise ctx.short()
    ip = IP(d[off : off + ihl])
    total = ip.len or avail  # 0: segmentation offload, take what was captured
    if total < ihl:
        raise _Stop("malformed")
    frag_offset = ip.frag * 8
    fragment = bool(ip.flags.MF) or frag_offset > 0
    return _transport(
        ctx,
        Decoded(4, ip.src, ip.dst, ip.proto, vlan=ctx.vlan, tunnel=ctx.tunnel),
        off + ihl,
        min(total, avail) - ihl,
        avail < total,
        ip.id if fragment else None,
        frag_offset,
    )


IPV6_EXT = (0, 43, 60, 44, 51)


def _ipv6(ctx: _Ctx, off: int) -> Decoded:
    d = ctx.data
    avail = len(d) - off
    if avail < 40:
        raise ctx.short()
    if d[off] >> 4 != 6:
        raise _Stop("malformed")
    ip6 = IPv6(d[off : off + 40])
    plen = ip6.plen or (avail - 40)
    cut = avail - 40 < plen
    end = off + 40 + min(plen, avail - 40)
    nh, p = ip6.nh, off + 40
    frag_id: int | None = None
    frag_offset = 0
    for _ in range(MAX_DEPTH):
        if nh not in IPV6_EXT:
            break
        if p + 8 > end:
            raise _Stop("truncated" if cut or ctx.cut else "malformed")
        if nh == 44:
            word = struct.unpack_from(">H", d, p + 2)[0]
            frag_offset = word & 0xFFF8
            if frag_offset or word & 1:
                frag_id = struct.unpack_from(">I", d, p + 4)[0]
            nh, p = d[p], p + 8
        elif nh == 51:
            nh, p = d[p], p + (d[p + 1] + 2) * 4
        else:
            nh, p = d[p], p + (d[p + 1] + 1) * 8
        if p > end:
            raise _Stop("truncated" if cut or ctx.cut else "malformed")
    return _transport(
        ctx,
        Decoded(6, ip6.src, ip6.dst, nh, vlan=ctx.vlan, tunnel=ctx.tunnel),
        p,
        end - p,
        cut,
        frag_id,
        frag_offset,
    )


def _transport(
    ctx: _Ctx,
    pkt: Decoded,
    off: int,
    length: int,
    ip_cut: bool,
    frag_id: int | None,
    frag_offset: int,
) -> Decoded:
    """Fill ports, flags and names from the transport header at ``off`` (``length`` bytes)."""
    pkt.frag_id, pkt.frag_offset = frag_id, frag_offset
    if frag_offset:
        return pkt
    need = {6: 20, 17: 8, 1: 4, 58: 4, 132: 12, 47: 4}.get(pkt.proto, 0)
    if length < need:
        if frag_id is not None:
            return pkt  # a tiny first fragment: no ports
        raise _Stop("truncated" if ip_cut or ctx.cut else "malformed")
    d = ctx.data
    seg = d[off : off + length]
    if pkt.proto == 6:
        tcp = TCP(seg[:20])
        pkt.sport, pkt.dport, pkt.tcp_flags = tcp.sport, tcp.dport, int(tcp.flags) & 0xFF
        hdr = tcp.dataofs * 4
        payload = seg[hdr:] if hdr >= 20 else b""
        pkt.names = extract_names(payload, 6, pkt.sport, pkt.dport) if payload else ()
    elif pkt.proto == 17:
        udp = UDP(seg[:8])
        pkt.sport, pkt.dport = udp.sport, udp.dport
        payload = seg[8:]
        if frag_id is None and pkt.dport in (4789, 6081):
            inner = _decap(ctx, pkt, _udp_tunnel, off + 8, len(payload))
            if inner is not None:
                return inner
        pkt.names = extract_names(payload, 17, pkt.sport, pkt.dport) if payload else ()
    elif pkt.proto in (1, 58):
        pkt.sport, pkt.dport = icmp_ports(pkt.proto, seg[0], seg[1])  # type, code
    elif pkt.proto == 132:
        pkt.sport, pkt.dport = struct.unpack_from(">HH", seg, 0)
    elif pkt.proto == 47 and frag_id is None:
        inner = _decap(ctx, pkt, _gre, off, length)
        if inner is not None:
            return inner
    return pkt


def _decap(
    ctx: _Ctx, outer: Decoded, how: Callable[..., Decoded | None], off: int, n: int
) -> Decoded | None:
    """The inner packet of a tunnel, or None to keep the outer one (no tunnel, or the
    tunnel carries something other than IP)."""
    saved = (ctx.vlan, ctx.tunnel, ctx.depth)
    try:
        return how(ctx, outer, off, n)
    except _Stop as stop:
        if stop.bucket != "non_ip":
            raise
        ctx.vlan, ctx.tunnel, ctx.depth = saved
        return None


def _enter(ctx: _Ctx, kind: str, outer: Decoded) -> None:
    ctx.depth += 1
    if ctx.depth > 4:
        raise _Stop("malformed")
    ctx.tunnel = (*ctx.tunnel, f"{kind} {outer.src}>{outer.dst}")


def _udp_tunnel(ctx: _Ctx, outer: Decoded, off: int, length: int) -> Decoded | None:
    d = ctx.data
    if length < 8:
        return None
    if outer.dport == 4789:
        if not d[off] & 0x08:  # VXLAN I flag: a valid VNI follows
            return None
        _enter(ctx, "vxlan", outer)
        return _inner_ether(ctx, off + 8)
    opt_len = (d[off] & 0x3F) * 4  # Geneve
    ptype = struct.unpack_from(">H", d, off + 2)[0]
    if ptype not in (0x6558, 0x0800, 0x86DD) or 8 + opt_len > length:
        return None
    _enter(ctx, "geneve", outer)
    start = off + 8 + opt_len
    if ptype == 0x6558:
        return _inner_ether(ctx, start)
    return _ipv4(ctx, start) if ptype == 0x0800 else _ipv6(ctx, start)


def _inner_ether(ctx: _Ctx, off: int) -> Decoded:
    if off + 14 > len(ctx.data):
        raise ctx.short()
    return _ethertype(ctx, _ether_type(ctx.data, off), off + 14)


def _gre(ctx: _Ctx, outer: Decoded, off: int, length: int) -> Decoded | None:
    d = ctx.data
    flags = d[off]
    if d[off + 1] & 0x07 or flags & 0x40:  # version 1 (PPTP) or routing present: not decoded
        return None
    seq = bool(flags & 0x10)
    hlen = 4 + 4 * ((flags >> 7) + ((flags >> 5) & 1) + seq)
    if length < hlen:
        return None
    if hlen <= length:  # let scapy read the header for the protocol type
        ptype = GRE(d[off : off + hlen]).proto
    start = off + hlen
    if ptype in (0x0800, 0x86DD, 0x6558):
        _enter(ctx, "gre", outer)
        if ptype == 0x6558:
            return _inner_ether(ctx, start)
        return _ipv4(ctx, start) if ptype == 0x0800 else _ipv6(ctx, start)
    if ptype == 0x88BE:  # ERSPAN type II has a sequence number and an 8-byte header; I has neither
        _enter(ctx, "erspan", outer)
        return _inner_ether(ctx, start + (8 if seq else 0))
    if ptype == 0x22EB:  # ERSPAN type III: 12 bytes, plus 8 when the O flag is set
        if length < hlen + 12:
            raise ctx.short()
        _enter(ctx, "erspan", outer)
        extra = 8 if d[start + 11] & 0x01 else 0
        return _inner_ether(ctx, start + 12 + extra)
    return None


# --- the backend entry point -----------------------------------------------------------


def read_file(path: str) -> FlowTable:
    """Flows and accounting of one capture file (pcap, pcapng, optionally gzipped)."""
    acct = Accounting(files=1)
    builder = FlowBuilder(str(path))
    for rec in iter_records(str(path), acct):
        acct.records += 1
        result = decode_record(rec.linktype, rec.data, rec.wirelen)
        if isinstance(result, str):
            setattr(acct, result, getattr(acct, result) + 1)
            continue
        acct.analysed += 1
        builder.add(rec.frame, rec.ts_ns, rec.wirelen, result)
    return FlowTable(builder.flows(), acct)
