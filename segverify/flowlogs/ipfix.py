"""Template-described flow records: NetFlow v9 (RFC 3954) and IPFIX (RFC 7011, with
RFC 5103 biflows) templates, sets and the information elements segverify reads.

The elements used (IANA "IPFIX Information Elements"; v9 field types 1–127 share the
numbers): octetDeltaCount 1, packetDeltaCount 2, protocolIdentifier 4, tcpControlBits 6,
sourceTransportPort 7, sourceIPv4Address 8, destinationTransportPort 11,
destinationIPv4Address 12, flowEndSysUpTime 21, flowStartSysUpTime 22, sourceIPv6Address
27, destinationIPv6Address 28, icmpTypeCodeIPv4 32, vlanId 58, octetTotalCount 85,
packetTotalCount 86, icmpTypeCodeIPv6 139, flowStart/EndSeconds 150/151,
flowStart/EndMilliseconds 152/153, flowStart/EndMicroseconds 154/155,
flowStart/EndNanoseconds 156/157, systemInitTimeMilliseconds 160, icmpType/CodeIPv4
176/177, icmpType/CodeIPv6 178/179, initiator/responderOctets 231/232, firewallEvent 233
(3 = flow denied: the device blocked it), dot1qVlanId 243, initiator/responderPackets
298/299; reverse (RFC 5103, enterprise 29305) octetDeltaCount, packetDeltaCount and
tcpControlBits. Other elements are skipped by their length.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Iterator
from dataclasses import replace

from segverify.flowlogs.records import LogRecord, RecordError, checked
from segverify.flows.community_id import ICMP4_PAIRS, ICMP6_PAIRS
from segverify.i18n import Msg

REVERSE_PEN = 29305
NTP_EPOCH = 2_208_988_800  # seconds from 1900-01-01 to 1970-01-01
VARIABLE = 65535
# (enterprise, element id) → name used below
ELEMENTS: dict[tuple[int, int], str] = {
    (0, 1): "bytes", (0, 2): "packets", (0, 4): "proto", (0, 6): "flags", (0, 7): "sport",
    (0, 8): "src4", (0, 11): "dport", (0, 12): "dst4", (0, 21): "last_up_ms",
    (0, 22): "first_up_ms", (0, 27): "src6", (0, 28): "dst6", (0, 32): "icmp_typecode",
    (0, 58): "vlan", (0, 85): "bytes", (0, 86): "packets", (0, 139): "icmp_typecode",
    (0, 150): "start_s", (0, 151): "end_s", (0, 152): "start_ms", (0, 153): "end_ms",
    (0, 154): "start_ntp", (0, 155): "end_ntp", (0, 156): "start_ntp", (0, 157): "end_ntp",
    (0, 160): "init_ms", (0, 176): "icmp_type", (0, 177): "icmp_code", (0, 178): "icmp_type",
    (0, 179): "icmp_code", (0, 231): "bytes", (0, 232): "rev_bytes", (0, 233): "fw_event",
    (0, 243): "vlan", (0, 298): "packets", (0, 299): "rev_packets",
    (REVERSE_PEN, 1): "rev_bytes", (REVERSE_PEN, 2): "rev_packets", (REVERSE_PEN, 6): "rev_flags",
}  # fmt: skip
ADDRESSES = ("src4", "dst4", "src6", "dst6")
FW_EVENT_DENIED = 3


class Templates(dict[tuple[object, ...], list[tuple[str | None, int]]]):
    """(exporter scope…, template id) → fields as (name or None, length)."""


def _template_fields(
    body: bytes, pos: int, count: int, v9: bool
) -> tuple[list[tuple[str | None, int]], int]:
    fields: list[tuple[str | None, int]] = []
    for _ in range(count):
        if pos + 4 > len(body):
            raise RecordError(Msg("error.flowlogs.ipfix.template_cut_short"))
        ident, length = struct.unpack_from("!HH", body, pos)
        pos += 4
        pen = 0
        if not v9 and ident & 0x8000:
            if pos + 4 > len(body):
                raise RecordError(Msg("error.flowlogs.ipfix.template_cut_short"))
            pen = int.from_bytes(body[pos : pos + 4], "big")
            ident &= 0x7FFF
            pos += 4
        if v9 and length == VARIABLE:
            raise RecordError(Msg("error.flowlogs.ipfix.variable_length_field_netflow_v9"))
        fields.append((ELEMENTS.get((pen, ident)), length))
    return fields, pos


def _templates(
    set_id: int, body: bytes, templates: Templates, scope: tuple[object, ...], v9: bool
) -> Iterator[tuple[str, object, int]]:
    options = set_id in ((1,) if v9 else (3,))
    pos = 0
    while pos + 4 <= len(body):
        start = pos
        tid, count = struct.unpack_from("!HH", body, pos)
        pos += 4
        try:
            if options and v9:  # scope length and option length in bytes
                scope_len = count
                (opt_len,) = struct.unpack_from("!H", body, pos)
                pos += 2
                n = (scope_len + opt_len) // 4
            elif options:
                n = count
                pos += 2  # scope field count
            else:
                n = count
            if tid < 256:
                if tid == 0 and count == 0:
                    break  # padding
                raise RecordError(Msg("error.flowlogs.ipfix.template_id_below_256", tid=tid))
            if n == 0:  # IPFIX template withdrawal
                templates.pop((*scope, tid), None)
                continue
            fields, pos = _template_fields(body, pos, n, v9)
        except (RecordError, struct.error) as exc:
            yield "error", f"template set: {exc}", start
            return
        templates[(*scope, tid)] = [("__options__", 0), *fields] if options else fields


def decode_set(
    set_id: int, body: bytes, templates: Templates, scope: tuple[object, ...], v9: bool
) -> Iterator[tuple[str, object, int]]:
    """(kind, item, offset in ``body``) for each item of one set: ``data`` (a dict of named
    values), ``options`` (an option record), ``error`` (a message)."""
    if set_id in ((0, 1) if v9 else (2, 3)):
        yield from _templates(set_id, body, templates, scope, v9)
        return
    if set_id < 256:
        yield "error", f"set id {set_id} is reserved", 0
        return
    fields = templates.get((*scope, set_id))
    if fields is None:
        yield "error", f"data set for template {set_id} before its template", 0
        return
    options = bool(fields) and fields[0][0] == "__options__"
    if options:
        fields = fields[1:]
    fixed = all(length != VARIABLE for _, length in fields)
    min_len = sum(1 if length == VARIABLE else length for _, length in fields)
    pos = 0
    while pos < len(body) and len(body) - pos >= max(min_len, 1):
        start = pos
        values: dict[str, int | bytes] = {}
        try:
            for name, length in fields:
                if length == VARIABLE:
                    length = body[pos]
                    pos += 1
                    if length == 255:
                        length = int.from_bytes(body[pos : pos + 2], "big")
                        pos += 2
                if pos + length > len(body):
                    raise RecordError(Msg("error.flowlogs.ipfix.record_cut_short"))
                if name is not None:
                    raw = body[pos : pos + length]
                    values[name] = raw if name in ADDRESSES else int.from_bytes(raw, "big")
                pos += length
        except (RecordError, IndexError):
            yield "error", f"data record of template {set_id} cut short", start
            return
        yield ("options" if options else "data"), values, start
        if fixed and min_len == 0:
            return


def _ntp_ns(value: int) -> int:
    seconds, frac = value >> 32, value & 0xFFFFFFFF
    return (seconds - NTP_EPOCH) * 1_000_000_000 + (frac * 1_000_000_000 >> 32)


def _times(v: dict[str, int | bytes], base: dict[str, int]) -> tuple[int | None, int | None]:
    def num(name: str) -> int | None:
        x = v.get(name)
        return x if isinstance(x, int) else None

    for start, end, scale in (
        ("start_ms", "end_ms", 1_000_000),
        ("start_s", "end_s", 1_000_000_000),
    ):
        s = num(start)
        if s is not None:
            e = num(end)
            return s * scale, (e if e is not None else s) * scale
    s = num("start_ntp")
    if s is not None:
        e = num("end_ntp")
        return _ntp_ns(s), _ntp_ns(e if e is not None else s)
    s = num("first_up_ms")
    boot = base.get("boot_ms", num("init_ms"))
    if s is not None and boot is not None:
        e = num("last_up_ms")
        return (boot + s) * 1_000_000, (boot + (e if e is not None else s)) * 1_000_000
    if "first_ns" in v:
        return num("first_ns"), num("last_ns")
    return None, None


ICMP_REPLIES = {1: {0, 14, 16, 18, 9}, 58: {129, 131, 134, 136, 140, 145}}


def _initiator_first(rec: LogRecord) -> LogRecord:
    """A biflow record (RFC 5103) oriented initiator first. Exporters do not all put the
    initiator first (softflowd orders the two endpoints by address), so a record whose
    first side sent nothing, whose first side answers an ICMP request, or whose first side
    alone has a port below 1024 (the server) is turned around."""
    flip = rec.packets_fwd == 0 and rec.packets_rev > 0
    if rec.proto in ICMP_REPLIES and rec.sport is not None:
        flip = flip or rec.sport in ICMP_REPLIES[rec.proto]
    elif rec.sport is not None and rec.dport is not None:
        flip = flip or (rec.sport < 1024 <= rec.dport)
    if not flip:
        return rec
    sport, dport = rec.dport, rec.sport
    if rec.proto in ICMP_REPLIES and rec.sport is not None:
        pairs = ICMP4_PAIRS if rec.proto == 1 else ICMP6_PAIRS
        sport, dport = pairs.get(rec.sport, rec.sport), rec.dport  # the request's type
    return replace(
        rec, src=rec.dst, dst=rec.src, sport=sport, dport=dport,
        packets_fwd=rec.packets_rev, packets_rev=rec.packets_fwd,
        bytes_fwd=rec.bytes_rev, bytes_rev=rec.bytes_fwd,
        tcp_flags_fwd=rec.tcp_flags_rev, tcp_flags_rev=rec.tcp_flags_fwd,
    )  # fmt: skip


def fields_to_record(
    v: dict[str, int | bytes], base: dict[str, int], where: int
) -> LogRecord | None:
    """Named values of one flow record → ``LogRecord``; None when it describes no flow."""
    src_raw = v.get("src4", v.get("src6"))
    dst_raw = v.get("dst4", v.get("dst6"))
    if src_raw is None and dst_raw is None:
        return None
    if not isinstance(src_raw, bytes) or not isinstance(dst_raw, bytes):
        raise RecordError(Msg("error.flowlogs.ipfix.flow_record_only_one_address"))
    try:
        src, dst = str(ipaddress.ip_address(src_raw)), str(ipaddress.ip_address(dst_raw))
    except ValueError:
        raise RecordError(Msg("error.flowlogs.ipfix.address_field_wrong_length")) from None
    proto = v.get("proto")
    if not isinstance(proto, int):
        raise RecordError(Msg("error.flowlogs.ipfix.flow_record_without_protocol"))
    sport: int | None = int(v.get("sport", 0))
    dport: int | None = int(v.get("dport", 0))
    if proto in (1, 58):
        if "icmp_type" in v:
            sport, dport = int(v["icmp_type"]), int(v.get("icmp_code", 0))
        else:
            typecode = int(v.get("icmp_typecode", dport or 0))
            sport, dport = typecode >> 8, typecode & 0xFF
    elif proto not in (6, 17, 132):
        sport = dport = None
    first, last = _times(v, base)
    rec = checked(
        LogRecord(
            src=src,
            dst=dst,
            proto=proto,
            sport=sport,
            dport=dport,
            packets_fwd=int(v.get("packets", 0)),
            bytes_fwd=int(v.get("bytes", 0)),
            packets_rev=int(v.get("rev_packets", 0)),
            bytes_rev=int(v.get("rev_bytes", 0)),
            first_ns=first or 0,
            last_ns=last or first or 0,
            where=where,
            vlan=int(v["vlan"]) if "vlan" in v else None,
            tcp_flags_fwd=int(v.get("flags", 0)) & 0xFF if proto == 6 else 0,
            tcp_flags_rev=int(v.get("rev_flags", 0)) & 0xFF if proto == 6 else 0,
            blocked=v.get("fw_event") == FW_EVENT_DENIED,
            action="denied" if v.get("fw_event") == FW_EVENT_DENIED else "",
        )
    )
    biflow = "rev_packets" in v or "rev_bytes" in v
    return _initiator_first(rec) if biflow else rec
