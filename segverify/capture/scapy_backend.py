"""Reference backend: a strict record reader and scapy's header classes, one packet at a time.

Slow (thousands of packets per second) and meant as the reference the fast backend is
tested against. The record reader is written out here rather than taken from scapy
because scapy's readers return cut-short records silently; every header is read with
scapy's own layer classes (``Ether``, ``Dot1Q``, ``IP``, ``IPv6``, ``TCP``…) on exact
byte slices, so the offsets and the accounting stay under our control.

This module only decodes: each record becomes a bucket name or a :class:`Decoded` packet,
handed to the one flow builder (``segverify.flows.ingest``) that every backend uses, so
flows, fragments, orientation, names and tunnel evidence follow one set of rules
(docs/capture.md). The decoding rules mirror the fast backend's: the same link types,
tunnels (GRE incl. PPTP and Aruba, ERSPAN I/II/III, VXLAN, Geneve, IP-in-IP and 6in4;
an inner packet that is not IP or cannot be decoded leaves the record on its outer flow),
the same buckets (``opaque`` for protected 802.11 data) and the same minimum headers
(a TCP header shorter than its data offset is malformed, or truncated when the snap
length cut it).
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import CookedLinux, CookedLinuxV2, Dot1Q, Ether

from segverify.errors import InputError
from segverify.flows.ingest import FlowIngest, RowWriter
from segverify.flows.model import Accounting, FlowTable
from segverify.i18n import Msg
from segverify.limits import REFERENCE_CAPTURE_MAX_BYTES, read_maybe_gzip_bounded

ROWS_PER_CHUNK = 4096

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
    """One IP packet as a decoder read it (the innermost one after tunnels)."""

    version: int
    src: str
    dst: str
    proto: int
    sport: int | None = None
    dport: int | None = None
    tcp_flags: int = 0
    tunnel: tuple[str, ...] = ()
    vlan: int | None = None
    frag_id: int | None = None  # IP ID when the packet is a fragment
    frag_offset: int = 0
    payload: bytes = b""  # the transport payload (what names are read from)
    tcp_header: int = 0  # TCP header length in bytes
    tcp_seq: int = 0

    def write(self, rows: RowWriter, frame: int, ts_ns: int, wirelen: int) -> None:
        """Hand this packet to the one flow builder."""
        rows.packet(
            frame, ts_ns, wirelen, self.src, self.dst, self.proto, self.sport, self.dport,
            tcp_flags=self.tcp_flags, tcp_header=self.tcp_header, tcp_seq=self.tcp_seq,
            payload=self.payload, vlan=self.vlan, frag_id=self.frag_id,
            frag_offset=self.frag_offset, tunnels=self.tunnel,
        )  # fmt: skip


# --- record reader (pcap, pcapng, gzip) ------------------------------------------------

MAX_RECORD = 256 * 1024  # larger captured lengths mean a damaged file


@dataclass(frozen=True)
class Record:
    frame: int  # 1-based over the file's records
    linktype: int
    ts_ns: int
    data: bytes
    wirelen: int
    bad: bool = False  # a damaged packet block: a malformed record


def read_bytes(path: str, limit: int = REFERENCE_CAPTURE_MAX_BYTES) -> bytes:
    """The whole capture, gunzipped, bounded (the reference backends hold it in memory)."""
    return read_maybe_gzip_bounded(path, limit, "capture")


def iter_records(path: str, acct: Accounting) -> Iterator[Record]:
    """Records of a pcap or pcapng file; a cut-short file ends with a ``cut_short`` note."""
    buf = read_bytes(path)
    if len(buf) < 4:
        raise InputError(Msg("error.capture.scapy_backend.not_pcap_pcapng_file_too"), path)
    magic = buf[:4]
    if magic in PCAP_MAGICS:
        yield from _pcap_records(path, buf, acct)
    elif magic == b"\x0a\x0d\x0d\x0a":
        yield from _pcapng_records(path, buf, acct)
    else:
        raise InputError(
            Msg("error.capture.scapy_backend.not_pcap_pcapng_file_magic", magic=magic.hex()), path
        )


PCAP_MAGICS = {  # magic: (byte order, nanoseconds, record header length)
    b"\xd4\xc3\xb2\xa1": ("<", False, 16),
    b"\xa1\xb2\xc3\xd4": (">", False, 16),
    b"\x4d\x3c\xb2\xa1": ("<", True, 16),
    b"\xa1\xb2\x3c\x4d": (">", True, 16),
    b"\x34\xcd\xb2\xa1": ("<", False, 24),  # Kuznetzov's modified pcap
    b"\xa1\xb2\xcd\x34": (">", False, 24),
}


def _pcap_records(path: str, buf: bytes, acct: Accounting) -> Iterator[Record]:
    end, nano, rechdr = PCAP_MAGICS[buf[:4]]
    if len(buf) < 24:
        acct.cut_short.append(Msg("warn.capture.scapy_backend.stopped_byte_0_pcap_file", path=path))
        return
    snaplen, linktype = struct.unpack_from(end + "II", buf, 16)
    linktype &= 0x03FFFFFF
    max_caplen = max(MAX_RECORD, min(snaplen, 128 << 20))  # the fast backend's bound
    pos, frame = 24, 0
    hdr = struct.Struct(end + "IIII")
    while pos < len(buf):
        if pos + rechdr > len(buf):
            acct.cut_short.append(
                Msg("warn.capture.scapy_backend.stopped_byte_record_header_cut", path=path, pos=pos)
            )
            return
        sec, frac, caplen, wirelen = hdr.unpack_from(buf, pos)
        if caplen > max_caplen:
            acct.cut_short.append(
                Msg(
                    "warn.capture.scapy_backend.stopped_byte_record_length_implausible",
                    path=path,
                    pos=pos,
                    caplen=caplen,
                )
            )
            return
        if pos + rechdr + caplen > len(buf):
            acct.cut_short.append(
                Msg("warn.capture.scapy_backend.stopped_byte_record_data_cut", path=path, pos=pos)
            )
            return
        frame += 1
        ts = sec * 1_000_000_000 + (frac if nano else frac * 1000)
        start = pos + rechdr
        yield Record(frame, linktype, ts, buf[start : start + caplen], wirelen)
        pos = start + caplen


def _tsres(value: int) -> tuple[int, int]:
    """if_tsresol as (multiplier, divisor) turning ticks into nanoseconds."""
    if value & 0x80:
        return 1_000_000_000, 1 << (value & 0x7F)
    exp = value & 0x7F
    return (10 ** (9 - exp), 1) if exp <= 9 else (1, 10 ** (exp - 9))


def _pcapng_records(path: str, buf: bytes, acct: Accounting) -> Iterator[Record]:
    pos, frame = 0, 0
    end = "<"
    ifaces: list[tuple[int, int, int, int, int]] = []  # link, mult, div, offset s, snaplen
    while pos < len(buf):
        if pos + 12 > len(buf):
            acct.cut_short.append(
                Msg("warn.capture.scapy_backend.stopped_byte_block_header_cut", path=path, pos=pos)
            )
            return
        btype = struct.unpack_from(end + "I", buf, pos)[0]
        if btype == 0x0A0D0D0A:
            bom = buf[pos + 8 : pos + 12]
            if bom == b"\x4d\x3c\x2b\x1a":
                end = "<"
            elif bom == b"\x1a\x2b\x3c\x4d":
                end = ">"
            else:
                acct.cut_short.append(
                    Msg(
                        "warn.capture.scapy_backend.stopped_byte_bad_byte_order", path=path, pos=pos
                    )
                )
                return
            ifaces = []
        blen = struct.unpack_from(end + "I", buf, pos + 4)[0]
        if blen < 12 or blen % 4 or pos + blen > len(buf):
            acct.cut_short.append(
                Msg(
                    "warn.capture.scapy_backend.stopped_byte_block_length_does",
                    path=path,
                    pos=pos,
                    blen=blen,
                )
            )
            return
        body = buf[pos + 8 : pos + blen - 4]
        if btype == 1:
            if len(body) < 8:
                acct.cut_short.append(
                    Msg(
                        "warn.capture.scapy_backend.stopped_byte_interface_description_too",
                        path=path,
                        pos=pos,
                    )
                )
                return
            linktype, _reserved, snaplen = struct.unpack_from(end + "HHI", body, 0)
            ifaces.append((linktype, *_idb_options(body[8:], end), snaplen))
        elif btype in (6, 2, 3):
            frame += 1
            yield _packet_block(frame, btype, body, end, ifaces)
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
    frame: int, btype: int, body: bytes, end: str, ifaces: list[tuple[int, int, int, int, int]]
) -> Record:
    """One packet block as a record; a damaged one (too short, naming an interface that
    does not exist, data running past the block) is a malformed record, and reading
    goes on with the next block, as the fast backend does."""
    if btype == 3:  # simple packet block: interface 0, no timestamp
        if len(body) < 4 or not ifaces:
            return Record(frame, 0, 0, b"", 0, bad=True)
        wirelen = struct.unpack_from(end + "I", body, 0)[0]
        caplen = min(wirelen, len(body) - 4)
        if ifaces[0][4] > 0:
            caplen = min(caplen, ifaces[0][4])
        return Record(frame, ifaces[0][0], 0, body[4 : 4 + caplen], wirelen)
    if len(body) < 20:
        return Record(frame, 0, 0, b"", 0, bad=True)
    if btype == 6:
        iface, high, low, caplen, wirelen = struct.unpack_from(end + "IIIII", body, 0)
    else:  # obsolete packet block
        iface, _drops, high, low, caplen, wirelen = struct.unpack_from(end + "HHIIII", body, 0)
    if iface >= len(ifaces) or 20 + caplen > len(body):
        return Record(frame, 0, 0, b"", wirelen, bad=True)
    linktype, mult, div, offset, _snap = ifaces[iface]
    ticks = (high << 32) | low
    ts = ticks * mult // div + offset * 1_000_000_000
    return Record(frame, linktype, ts, body[20 : 20 + caplen], wirelen)


# --- packet decoding with scapy's header classes ---------------------------------------

SUPPORTED_LINKS = {0, 1, 9, 10, 12, 14, 50, 101, 105, 108, 113, 127, 228, 229, 239, 276}
ETH_VLAN = (0x8100, 0x88A8, 0x9100, 0x9200)
MAX_DEPTH = 16  # IPv6 extension headers followed
MAX_LINK_LAYERS = 64  # tags and encapsulations below IP (the fast backend's bound)


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
    inner: bool = False  # inside a pseudowire or tunnel: VLAN tags there are not kept

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
        return _inner_ether(ctx, 0)
    if linktype in (0, 108):
        if len(d) < 4:
            raise ctx.short()
        fam = struct.unpack_from(">I" if linktype == 108 else "<I", d, 0)[0]
        if linktype == 0 and fam not in (2, 10, 24, 28, 30):
            fam = struct.unpack_from(">I", d, 0)[0]
        if fam == 2:
            return _ipv4(ctx, 4)
        if fam in (10, 24, 28, 30):
            return _ipv6(ctx, 4)
        if d[0] in (0x0F, 0x8F) and d[1] == 0:  # Cisco HDLC inside a null-link file
            return _ethertype(ctx, struct.unpack_from(">H", d, 2)[0], 4)
        raise _Stop("non_ip")
    if linktype in (9, 50):
        return _ppp(ctx, 0)
    if linktype == 10:  # FDDI: frame control + two addresses, then LLC
        if len(d) < 13:
            raise ctx.short()
        return _llc(ctx, 13)
    if linktype == 105:
        return _dot11(ctx, 0)
    if linktype == 127:
        if len(d) < 4:
            raise ctx.short()
        return _dot11(ctx, struct.unpack_from("<H", d, 2)[0])
    if linktype == 239:
        return _nflog(ctx)
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


def _ppp(ctx: _Ctx, off: int) -> Decoded:
    d = ctx.data
    if d[off : off + 2] == b"\xff\x03":
        off += 2
    if off >= len(d):
        raise ctx.short()
    if d[off] & 0x01:  # protocol field compressed to one byte
        proto, off = d[off], off + 1
    else:
        if off + 2 > len(d):
            raise ctx.short()
        proto, off = struct.unpack_from(">H", d, off)[0], off + 2
    if proto == 0x21:
        return _ipv4(ctx, off)
    if proto == 0x57:
        return _ipv6(ctx, off)
    raise _Stop("non_ip")


def _llc(ctx: _Ctx, off: int) -> Decoded:
    """802.2 LLC: SNAP with an EtherType is followed; anything else is not IP."""
    d = ctx.data
    if off + 3 > len(d):
        raise ctx.short()
    if d[off : off + 3] != b"\xaa\xaa\x03":
        raise _Stop("non_ip")
    if off + 8 > len(d):
        raise ctx.short()
    return _ethertype(ctx, struct.unpack_from(">H", d, off + 6)[0], off + 8)


def _dot11(ctx: _Ctx, off: int) -> Decoded:
    """An 802.11 data frame down to LLC; protected data frames are ``opaque``."""
    d = ctx.data
    if off + 2 > len(d):
        raise ctx.short()
    fc0, fc1 = d[off], d[off + 1]
    subtype = fc0 >> 4
    if (fc0 >> 2) & 0x3 != 2 or subtype & 0x4:  # not data, or null data: no body
        raise _Stop("non_ip")
    if fc1 & 0x40:  # protected: may carry IP, cannot be opened
        raise _Stop("opaque")
    hdr = 30 if fc1 & 0x03 == 0x03 else 24
    amsdu = False
    if subtype & 0x8:  # QoS control (and HT control when +HTC/order is set)
        if off + hdr + 2 > len(d):
            raise ctx.short()
        amsdu = bool(d[off + hdr] & 0x80)
        hdr += 2 + (4 if fc1 & 0x80 else 0)
    if amsdu:  # first A-MSDU subframe header: DA, SA, length
        hdr += 14
    if off + hdr > len(d):
        raise ctx.short()
    return _llc(ctx, off + hdr)


def _nflog(ctx: _Ctx) -> Decoded:
    d = ctx.data
    if len(d) < 4:
        raise ctx.short()
    fam, p = d[0], 4
    while p + 4 <= len(d):
        tlv_len, tlv_type = struct.unpack_from("<HH", d, p)
        if tlv_len < 4:  # an impossible TLV
            raise _Stop("malformed")
        if tlv_type & 0x7FFF == 9:  # NFULA_PAYLOAD
            if fam == 2:
                return _ipv4(ctx, p + 4)
            if fam == 10:
                return _ipv6(ctx, p + 4)
            return _ip_by_version(ctx, p + 4)
        if p + tlv_len > len(d):  # another TLV running past the record
            raise ctx.short()
        p += (tlv_len + 3) & ~3
    if p < len(d):
        raise ctx.short()
    raise _Stop("non_ip")


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
    for _ in range(MAX_LINK_LAYERS):
        if et == 0x0800:
            return _ipv4(ctx, off)
        if et == 0x86DD:
            return _ipv6(ctx, off)
        if et in ETH_VLAN:
            if off + 4 > len(d):
                raise ctx.short()
            tag = Dot1Q(d[off : off + 4])
            if ctx.vlan is None and not ctx.inner:  # the outermost VLAN of the record only
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
            if nibble == 0:  # pseudowire control word (RFC 4385), then Ethernet
                if off + 4 + 14 > len(d):
                    raise ctx.short()
                return _inner_ether(ctx, off + 4)
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
        if et == 0x8926:  # Cisco VN-Tag: 4 bytes, then the next EtherType
            if off + 6 > len(d):
                raise ctx.short()
            et, off = struct.unpack_from(">H", d, off + 4)[0], off + 6
            continue
        if et == 0x8903:  # Cisco FabricPath: FTag/TTL, then the classical Ethernet frame
            if off + 16 > len(d):
                raise ctx.short()
            et, off = struct.unpack_from(">H", d, off + 14)[0], off + 16
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
            raise _Stop("truncated" if cut and ctx.cut else "malformed")
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
            raise _Stop("truncated" if cut and ctx.cut else "malformed")
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
    # bytes each transport needs for the flow key (TCP: its whole header, data offset
    # included, as tshark and Zeek require); a tiny first fragment is no exception
    need = {6: 20, 17: 8, 1: 2, 58: 2, 132: 4}.get(pkt.proto, 0)
    short = "truncated" if ip_cut and ctx.cut else "malformed"
    if length < need:
        raise _Stop(short)
    d = ctx.data
    seg = d[off : off + length]
    if pkt.proto == 6:
        tcp = TCP(seg[:20])
        pkt.sport, pkt.dport, pkt.tcp_flags = tcp.sport, tcp.dport, int(tcp.flags) & 0xFF
        hdr = tcp.dataofs * 4
        if hdr < 20:
            raise _Stop("malformed")  # a TCP header cannot be shorter than 20 bytes
        if hdr > length:
            raise _Stop(short)
        pkt.payload, pkt.tcp_header, pkt.tcp_seq = seg[hdr:], hdr, int(tcp.seq)
    elif pkt.proto == 17:
        udp = UDP(seg[:8])
        pkt.sport, pkt.dport = udp.sport, udp.dport
        payload = seg[8:]
        ulen = struct.unpack_from(">H", seg, 4)[0]
        if ulen >= 8:  # the UDP length bounds the payload (Ethernet padding is not data)
            payload = payload[: ulen - 8]
        if frag_id is None and {pkt.sport, pkt.dport} & {4789, 6081}:
            inner = _decap(ctx, pkt, _udp_tunnel, off + 8, len(payload))
            if inner is not None:
                return inner
        pkt.payload = payload
    elif pkt.proto in (1, 58):
        pkt.sport, pkt.dport = icmp_ports(pkt.proto, seg[0], seg[1])  # type, code
    elif pkt.proto == 132:
        pkt.sport, pkt.dport = struct.unpack_from(">HH", seg, 0)
    elif pkt.proto == 47 and frag_id is None:
        inner = _decap(ctx, pkt, _gre, off, length)
        if inner is not None:
            return inner
    elif pkt.proto in (4, 41) and frag_id is None:
        inner = _decap(ctx, pkt, _ipip, off, length)
        if inner is not None:
            return inner
    return pkt


MAX_TUNNELS = 7  # decapsulations per record (the fast backend's 8 IP layers)


def _decap(
    ctx: _Ctx, outer: Decoded, how: Callable[..., Decoded | None], off: int, n: int
) -> Decoded | None:
    """The inner packet of a tunnel, or None to keep the outer one: no tunnel, too many
    nested tunnels, or an inner packet that is not IP or cannot be decoded."""
    if ctx.depth >= MAX_TUNNELS:
        return None
    saved = (ctx.vlan, ctx.tunnel, ctx.depth, ctx.inner)
    try:
        return how(ctx, outer, off, n)
    except (_Stop, struct.error, IndexError, ValueError):
        ctx.vlan, ctx.tunnel, ctx.depth, ctx.inner = saved
        return None


def _enter(ctx: _Ctx, kind: str, outer: Decoded) -> None:
    ctx.depth += 1
    if len(ctx.tunnel) < 2:  # the outer two layers are recorded, as the fast backend does
        ctx.tunnel = (*ctx.tunnel, f"{kind} {outer.src}>{outer.dst}")


def _udp_tunnel(ctx: _Ctx, outer: Decoded, off: int, length: int) -> Decoded | None:
    d = ctx.data
    vxlan = 4789 in (outer.sport, outer.dport)
    if vxlan and length >= 8 + 14 and d[off] & 0x08:  # VXLAN I flag: a valid VNI follows
        _enter(ctx, "vxlan", outer)
        return _inner_ether(ctx, off + 8)
    if 6081 not in (outer.sport, outer.dport) or length < 8 or d[off] >> 6:
        return None
    opt_len = (d[off] & 0x3F) * 4  # Geneve
    ptype = struct.unpack_from(">H", d, off + 2)[0]
    if ptype not in (0x6558, 0x0800, 0x86DD) or 8 + opt_len >= length:
        return None
    _enter(ctx, "geneve", outer)
    start = off + 8 + opt_len
    if ptype == 0x6558:
        return _inner_ether(ctx, start)
    return _ipv4(ctx, start) if ptype == 0x0800 else _ipv6(ctx, start)


def _inner_ether(ctx: _Ctx, off: int) -> Decoded:
    ctx.inner = off > 0
    if off + 14 > len(ctx.data):
        raise ctx.short()
    et = _ether_type(ctx.data, off)
    if et < 0x0600:  # 802.3 length field: an LLC header follows
        return _llc(ctx, off + 14)
    return _ethertype(ctx, et, off + 14)


def _ipip(ctx: _Ctx, outer: Decoded, off: int, length: int) -> Decoded | None:
    if length <= 0:
        return None
    _enter(ctx, "ipip", outer)
    return _ipv4(ctx, off) if outer.proto == 4 else _ipv6(ctx, off)


def _gre(ctx: _Ctx, outer: Decoded, off: int, length: int) -> Decoded | None:
    d = ctx.data
    end = off + length
    if length < 4:
        return None
    flags, ptype = struct.unpack_from(">HH", d, off)
    version = flags & 0x7
    if version == 1:
        return _pptp(ctx, outer, off, end, flags, ptype)
    if version != 0:
        return None
    # checksum or routing present: 4 bytes (offset field); key; sequence number
    start = off + 4 + 4 * (bool(flags & 0xC000) + bool(flags & 0x2000) + bool(flags & 0x1000))
    seq = bool(flags & 0x1000)
    if start > end:
        return None
    if ptype == 0x88BE:  # ERSPAN II has a sequence number and an 8-byte header; I neither
        inner = start + (8 if seq else 0)
        if inner >= end:
            return None
        _enter(ctx, "erspan", outer)
        return _inner_ether(ctx, inner)
    if ptype == 0x22EB:  # ERSPAN III: 12 bytes, plus 8 when the O flag is set
        if start + 12 > end:
            return None
        inner = start + 12 + (8 if d[start + 11] & 0x01 else 0)
        if inner >= end:
            return None
        _enter(ctx, "erspan", outer)
        return _inner_ether(ctx, inner)
    if start >= end:
        return None
    if 0x8200 <= ptype <= 0x83FF:  # Aruba WLAN: an 802.11 frame follows
        _enter(ctx, "gre", outer)
        return _dot11(ctx, start)
    if ptype in (0x0800, 0x86DD, 0x6558):
        _enter(ctx, "gre", outer)
        if ptype == 0x6558:
            return _inner_ether(ctx, start)
        return _ipv4(ctx, start) if ptype == 0x0800 else _ipv6(ctx, start)
    return None


def _pptp(ctx: _Ctx, outer: Decoded, off: int, end: int, flags: int, ptype: int) -> Decoded | None:
    """Enhanced GRE (PPTP, RFC 2637): key always, then sequence and acknowledgement
    numbers when flagged, then a PPP frame."""
    if ptype != 0x880B:
        return None
    p = off + 8 + (4 if flags & 0x1000 else 0) + (4 if flags & 0x0080 else 0)
    d = ctx.data
    if d[p : p + 2] == b"\xff\x03":
        p += 2
    if p + 2 > end:
        return None
    if d[p] & 0x01:
        proto, p = d[p], p + 1
    else:
        proto, p = struct.unpack_from(">H", d, p)[0], p + 2
    if proto not in (0x21, 0x57) or p >= end:
        return None
    _enter(ctx, "gre", outer)
    return _ipv4(ctx, p) if proto == 0x21 else _ipv6(ctx, p)


# --- the backend entry point -----------------------------------------------------------


def read_file(path: str) -> FlowTable:
    """Flows and accounting of one capture file (pcap, pcapng, optionally gzipped)."""
    ingest = FlowIngest(str(path), ROWS_PER_CHUNK)
    rows = RowWriter(ingest, ROWS_PER_CHUNK)
    for rec in iter_records(str(path), ingest.acct):
        if rec.bad:
            rows.bucket(rec.frame, rec.ts_ns, rec.wirelen, "malformed")
            continue
        result = decode_record(rec.linktype, rec.data, rec.wirelen)
        if isinstance(result, str):
            rows.bucket(rec.frame, rec.ts_ns, rec.wirelen, result)
        else:
            result.write(rows, rec.frame, rec.ts_ns, rec.wirelen)
    return rows.finish()
