"""NetFlow v5, NetFlow v9 and IPFIX export messages, read directly.

Inputs: the export datagrams themselves (``read_datagrams``: what a collector socket
receives), a file of export messages back to back (a collector's raw dump; v5 and IPFIX
messages carry their length, v9 messages end where the next header starts), or a pcap /
pcapng capture of the export traffic (UDP payloads are taken as messages).

v9 and IPFIX data are described by templates (``ipfix.py`` holds the element table and
the record decoder); templates are kept per exporter, observation domain (source id) and
template id, as RFC 3954 §5 and RFC 7011 §8 ask. Data that arrives before its template
cannot be read and counts as malformed, with its offset. Option records (sampling and
exporter statistics) describe no traffic: they count in ``stats.other_records``.

NetFlow records are unidirectional; the builder pairs A→B and B→A records into one flow
(the earliest record is the initiator). For ICMP, v5 and v9 carry type·256+code in the
destination port; IPFIX has its own ICMP elements.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

from segverify.flowlogs.ipfix import Templates, decode_set, fields_to_record
from segverify.flowlogs.model import LogProblem
from segverify.flowlogs.records import Collector, RecordError
from segverify.flowlogs.textio import read_bytes
from segverify.i18n import Msg, message_of

V5_HEADER = struct.Struct("!HHIIIIBBH")
V5_RECORD = struct.Struct("!4s4s4sHHIIIIHHBBBBHHBBH")
V9_HEADER = struct.Struct("!HHIIII")
IPFIX_HEADER = struct.Struct("!HHIII")
SET_HEADER = struct.Struct("!HH")
PCAP_MAGICS = (
    b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d",
    b"\x0a\x0d\x0d\x0a",
)  # fmt: skip


class ExportReader:
    """State across the messages of one input: templates and the record counter."""

    def __init__(self, col: Collector) -> None:
        self.col = col
        self.templates = Templates()
        self.number = 0  # flow records seen, 1-based ``where`` of each
        self.frame: int | None = None  # capture frame of the message (pcap input)
        self.boot_ms: dict[tuple[object, ...], int] = {}  # IPFIX systemInitTimeMilliseconds

    def _problem(self, truncated: bool, message: str, offset: int) -> None:
        """A record or message that cannot be read, at byte ``offset`` of the input (or of
        the UDP payload of ``self.frame`` for a capture)."""
        if self.frame is not None:
            message, offset_or_none = f"frame {self.frame}, payload byte {offset}: {message}", None
        else:
            offset_or_none = offset
        if truncated:
            self.col.accounting.truncated += 1
            self.col.problems.append(LogProblem(self.col.path, message, None, offset_or_none))
        else:
            self.col.malformed(message, offset=offset_or_none)

    def _record(self, rec_fields: dict[str, int | bytes], base: dict[str, int], at: int) -> None:
        self.number += 1
        try:
            rec = fields_to_record(rec_fields, base, self.number)
        except RecordError as exc:
            self._problem(False, message_of(exc), at)
            return
        if rec is not None:
            if rec.first_ns == 0:
                self.col.stats.untimed += 1
            self.col.record(rec)
        else:
            self.number -= 1
            self.col.stats.other_records += 1

    def message(self, msg: bytes, at: int, exporter: str = "") -> None:
        """One export message; ``at`` is its offset in the input (for problem reports)."""
        if len(msg) < 4:
            self._problem(
                True, Msg("warn.flowlogs.netflow.export_message_byte_s", size=len(msg)), at
            )
            return
        version = int.from_bytes(msg[:2], "big")
        if version == 5:
            self.v5(msg, at)
        elif version == 9:
            self.v9(msg, at, exporter)
        elif version == 10:
            self.ipfix(msg, at, exporter)
        else:
            self._problem(
                False, Msg("warn.flowlogs.netflow.not_netflow_v5_v9_ipfix", version=version), at
            )

    def v5(self, msg: bytes, at: int) -> None:
        if len(msg) < V5_HEADER.size:
            self._problem(True, Msg("warn.flowlogs.netflow.netflow_v5_header_cut_short"), at)
            return
        _, count, uptime, secs, nsecs, _, _, _, _ = V5_HEADER.unpack_from(msg)
        boot_ns = secs * 1_000_000_000 + nsecs - uptime * 1_000_000
        pos = V5_HEADER.size
        for i in range(count):
            if pos + V5_RECORD.size > len(msg):
                self._problem(
                    True,
                    Msg("warn.flowlogs.netflow.netflow_v5_message_says_records", count=count, i=i),
                    at + pos,
                )
                self.col.accounting.truncated += count - i - 1
                return
            (src, dst, _, _, _, pkts, octets, first, last, sport, dport, _, flags, proto, _,
             _, _, _, _, _) = V5_RECORD.unpack_from(msg, pos)  # fmt: skip
            fields: dict[str, int | bytes] = {
                "src4": src, "dst4": dst, "packets": pkts, "bytes": octets, "proto": proto,
                "sport": sport, "dport": dport, "flags": flags,
                "first_ns": boot_ns + first * 1_000_000, "last_ns": boot_ns + last * 1_000_000,
            }  # fmt: skip
            if proto in (1, 58):
                fields["icmp_typecode"] = dport
            self._record(fields, {}, at + pos)
            pos += V5_RECORD.size

    def v9(self, msg: bytes, at: int, exporter: str) -> None:
        if len(msg) < V9_HEADER.size:
            self._problem(True, Msg("warn.flowlogs.netflow.netflow_v9_header_cut_short"), at)
            return
        _, _, uptime, secs, _, source = V9_HEADER.unpack_from(msg)
        base = {"boot_ms": secs * 1000 - uptime, "export_s": secs}
        self._sets(msg, V9_HEADER.size, len(msg), at, (exporter, 9, source), base, v9=True)

    def ipfix(self, msg: bytes, at: int, exporter: str) -> None:
        if len(msg) < IPFIX_HEADER.size:
            self._problem(True, Msg("warn.flowlogs.netflow.ipfix_header_cut_short"), at)
            return
        _, length, export_s, _, domain = IPFIX_HEADER.unpack_from(msg)
        if length > len(msg):
            self._problem(
                True,
                Msg(
                    "warn.flowlogs.netflow.ipfix_message_says_bytes_holds",
                    length=length,
                    size=len(msg),
                ),
                at,
            )
            return
        base = {"export_s": export_s}
        if (exporter, 10, domain) in self.boot_ms:
            base["boot_ms"] = self.boot_ms[(exporter, 10, domain)]
        self._sets(msg, IPFIX_HEADER.size, length, at, (exporter, 10, domain), base, v9=False)

    def _sets(
        self, msg: bytes, pos: int, end: int, at: int, scope: tuple[object, ...],
        base: dict[str, int], v9: bool,
    ) -> None:  # fmt: skip
        while pos + SET_HEADER.size <= end:
            set_id, length = SET_HEADER.unpack_from(msg, pos)
            if length < SET_HEADER.size or pos + length > end:
                self._problem(
                    True,
                    Msg(
                        "warn.flowlogs.netflow.set_length_overruns_message",
                        set_id=set_id,
                        length=length,
                    ),
                    at + pos,
                )
                return
            body = msg[pos + SET_HEADER.size : pos + length]
            for kind, item, offset in decode_set(set_id, body, self.templates, scope, v9):
                where = at + pos + SET_HEADER.size + offset
                if kind == "data":
                    assert isinstance(item, dict)
                    if not v9 and scope in self.boot_ms:
                        base = {**base, "boot_ms": self.boot_ms[scope]}
                    self._record(item, base, where)
                elif kind == "options":
                    self.col.stats.other_records += 1
                    assert isinstance(item, dict)
                    if not v9 and isinstance(item.get("init_ms"), int):
                        self.boot_ms[scope] = int(item["init_ms"])
                elif kind == "error":
                    self._problem(False, str(item), where)
            pos += length


def read_datagrams(datagrams: Iterable[bytes], name: str = "<datagrams>") -> Collector:
    """Export datagrams as a collector socket received them, in order."""
    col = Collector(name, "netflow")
    reader = ExportReader(col)
    at = 0
    for dgram in datagrams:
        reader.message(dgram, at)
        col.stats.lines += 1
        at += len(dgram)
    return col


def _raw_messages(data: bytes, col: Collector) -> Iterable[tuple[bytes, int]]:
    """Messages of a file of export messages back to back."""
    pos = 0
    while pos < len(data):
        if pos + 4 > len(data):
            col.cut_short(pos, Msg("warn.flowlogs.netflow.export_message_header_cut_short"))
            return
        version, second = struct.unpack_from("!HH", data, pos)
        if version == 5:
            length = V5_HEADER.size + V5_RECORD.size * second
        elif version == 10:
            length = second
        elif version == 9:
            length = _v9_length(data, pos)
        else:
            col.cut_short(
                pos, Msg("warn.flowlogs.netflow.no_netflow_ipfix_message_here", version=version)
            )
            return
        if length < 4 or pos + length > len(data):
            col.cut_short(
                pos, Msg("warn.flowlogs.netflow.netflow_ipfix_v_message_cut", version=version)
            )
            return
        yield data[pos : pos + length], pos
        pos += length


def _v9_length(data: bytes, pos: int) -> int:
    """A v9 message has no length: it ends where its flowsets stop (a flowset id of 9, a
    reserved value, is the next message's version)."""
    end = pos + V9_HEADER.size
    while end + 4 <= len(data):
        set_id, length = struct.unpack_from("!HH", data, end)
        if set_id == 9 or length < 4:
            break
        end += length
    return min(end, len(data)) - pos


def _pcap_messages(path: str, col: Collector) -> Iterable[tuple[bytes, int]]:
    """UDP payloads of a capture of the export traffic (scapy's layer classes)."""
    from scapy.config import conf
    from scapy.layers.inet import UDP

    from segverify.capture.scapy_backend import iter_records

    for rec in iter_records(path, col.accounting):
        cls = conf.l2types.get(rec.linktype)
        pkt = cls(rec.data) if cls is not None else None
        if pkt is None or UDP not in pkt or pkt[UDP].payload is None:
            col.stats.other_records += 1  # a frame that is not a UDP datagram
            continue
        col.stats.lines += 1
        yield bytes(pkt[UDP].payload), rec.frame


def collect_export(path: str) -> Collector:
    """A file of export messages: raw messages back to back, or a capture of them."""
    data = read_bytes(path)
    col = Collector(path, "netflow")
    reader = ExportReader(col)
    if data[:4] in PCAP_MAGICS:
        for msg, frame in _pcap_messages(path, col):
            reader.frame = frame
            reader.message(msg, 0)
    else:
        for msg, at in _raw_messages(data, col):
            col.stats.lines += 1
            reader.message(msg, at)
    return col
