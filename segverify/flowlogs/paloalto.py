"""Palo Alto Networks PAN-OS traffic logs as CSV: the syslog / log-forwarding form (fields
by position, PAN-OS "Traffic Log Fields") and the WebUI / Panorama CSV export (a header
row of field names).

Positions used (0-based, PAN-OS 8.1 and later): 2 Serial Number, 3 Type, 4 Threat/Content
Type (the subtype: start, end, drop, deny), 6 Generated Time, 7 Source Address, 8 Destination Address, 22
Session ID, 24 Source Port, 25 Destination Port, 29 Protocol, 30 Action, 32 Bytes Sent,
33 Bytes Received, 34 Packets, 35 Start Time, 36 Elapsed Time, 44 Packets Sent, 45 Packets
Received, 46 Session End Reason. A syslog header before field 0 is ignored.

``Action`` other than ``allow`` (``deny``, ``drop``, ``drop-icmp``, ``reset-client``,
``reset-server``, ``reset-both``) is a session the firewall stopped: ``blocked_by_device``,
never a leak. Lines of other types (THREAT, URL, SYSTEM…) describe no flow and count as
``other_records``. A session logged at start and at end counts once (the later record).
Times (``Start Time``) are the firewall's local time without an offset: read as UTC. The
traffic log carries no ICMP type or code: ICMP flows have no ports.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

from segverify.flowlogs.records import (
    Collector,
    LogRecord,
    RecordError,
    address,
    checked,
    number,
    port,
)
from segverify.flowlogs.textio import csv_cells, log_lines
from segverify.i18n import Msg, message_of

POSITIONS = {
    "serial": 2, "type": 3, "subtype": 4, "generated": 6, "src": 7, "dst": 8, "session_id": 22,
    "sport": 24, "dport": 25, "proto": 29, "action": 30, "bytes_sent": 32,
    "bytes_received": 33, "packets": 34, "start": 35, "elapsed": 36, "packets_sent": 44,
    "packets_received": 45, "end_reason": 46,
}  # fmt: skip
MIN_FIELDS = 47
# header names of the CSV export (lower case, letters and digits only) → our keys
HEADER_NAMES = {
    "serial": "serial", "serialnumber": "serial", "type": "type",
    "threatcontenttype": "subtype", "subtype": "subtype", "generatetime": "generated",
    "generatedtime": "generated", "sourceaddress": "src",
    "src": "src", "destinationaddress": "dst", "dst": "dst", "sessionid": "session_id",
    "sourceport": "sport", "sport": "sport", "destinationport": "dport", "dport": "dport",
    "ipprotocol": "proto", "protocol": "proto", "proto": "proto", "action": "action",
    "bytessent": "bytes_sent", "bytesreceived": "bytes_received", "packets": "packets",
    "starttime": "start", "start": "start", "elapsedtimesec": "elapsed",
    "elapsedtime": "elapsed", "packetssent": "packets_sent", "pktssent": "packets_sent",
    "packetsreceived": "packets_received", "pktsreceived": "packets_received",
    "sessionendreason": "end_reason",
}  # fmt: skip
PROTOS = {"tcp": 6, "udp": 17, "icmp": 1, "ipv6-icmp": 58, "icmp6": 58, "sctp": 132}
BLOCKING = frozenset(
    {"deny", "drop", "drop-icmp", "drop icmp", "reset-client", "reset-server", "reset-both",
     "reset client", "reset server", "reset both"}
)  # fmt: skip


def _time(text: str) -> int | None:
    value = text.strip()
    for pattern in ("%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"):
        try:
            stamp = datetime.strptime(value, pattern).replace(tzinfo=timezone.utc)
        except ValueError:
            continue
        return int(stamp.timestamp()) * 1_000_000_000
    return None


def record_from_fields(f: dict[str, str], where: int, col: Collector) -> LogRecord | None:
    """One log's fields (our keys) → ``LogRecord``; None when it is not a TRAFFIC log."""
    kind = f.get("type", "").strip().upper()
    if not kind:
        raise RecordError(Msg("error.flowlogs.paloalto.no_log_type_field_3"))
    if kind != "TRAFFIC":
        return None
    src, dst = (
        address(f.get("src", ""), "source address"),
        address(f.get("dst", ""), "destination address"),
    )
    proto_text = f.get("proto", "").strip().lower()
    proto = PROTOS.get(proto_text)
    if proto is None:
        if not proto_text.isdigit() or int(proto_text) > 255:
            raise RecordError(Msg("error.flowlogs.paloalto.protocol_not_known", proto=proto_text))
        proto = int(proto_text)
    if proto == 1 and ":" in src:
        proto = 58
    sport: int | None = None
    dport: int | None = None
    if proto in (6, 17, 132):
        sport, dport = (
            port(f.get("sport", ""), "source port"),
            port(f.get("dport", ""), "destination port"),
        )
    first = _time(f.get("start", "")) or _time(f.get("generated", ""))
    if first is None:
        col.stats.untimed += 1
        first = 0
    elapsed = number(f.get("elapsed", "0") or "0", "elapsed time")

    def count(name: str) -> int:
        return number(f.get(name, "0") or "0", name.replace("_", " "))

    action = f.get("action", "").strip().lower()
    session = f.get("session_id", "").strip()
    return checked(
        LogRecord(
            src=src,
            dst=dst,
            proto=proto,
            sport=sport,
            dport=dport,
            packets_fwd=count("packets_sent") if f.get("packets_sent") else count("packets"),
            bytes_fwd=count("bytes_sent"),
            packets_rev=count("packets_received"),
            bytes_rev=count("bytes_received"),
            first_ns=first,
            last_ns=first + elapsed * 1_000_000_000,
            where=where,
            state=f.get("end_reason", "").strip(),
            action=action,
            blocked=action in BLOCKING,
            session=("paloalto", f.get("serial", "").strip(), session)
            if session.isdigit() and session != "0"
            else None,
        )
    )


def _normal(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def collect_csv(path: str) -> Collector:
    """PAN-OS traffic logs: syslog CSV lines (by position) or a CSV export (by header)."""
    col = Collector(path, "paloalto-csv")
    header: list[str | None] | None = None
    for lineno, line in log_lines(col):
        cells = csv_cells(col, lineno, line)
        if cells is None:
            continue
        if header is None and lineno == 1 + col.stats.blank_lines and _is_header(cells):
            header = [HEADER_NAMES.get(_normal(c)) for c in cells]
            col.stats.header_lines += 1
            continue
        if header is not None:
            if len(cells) != len(header):
                col.malformed(
                    Msg("error.flowlogs.cells_vs_header", cells=len(cells), header=len(header)),
                    line=lineno,
                )
                continue
            fields = {k: v for k, v in zip(header, cells, strict=True) if k is not None}
        else:
            if len(cells) < MIN_FIELDS:
                col.malformed(
                    Msg(
                        "error.flowlogs.paloalto.too_few_fields",
                        fields=len(cells),
                        least=MIN_FIELDS,
                    ),
                    line=lineno,
                )
                continue
            cells[0] = cells[0].rsplit(" ", 1)[-1]  # syslog header before FUTURE_USE
            fields = {k: cells[i] for k, i in POSITIONS.items()}
        try:
            rec = record_from_fields(fields, lineno, col)
        except RecordError as exc:
            col.malformed(message_of(exc), line=lineno)
            continue
        if rec is None:
            col.stats.other_records += 1
        else:
            col.record(rec)
    return col


def _is_header(cells: list[str]) -> bool:
    names = {_normal(c) for c in cells}
    return {"sourceaddress", "destinationaddress"} <= names or {"src", "dst", "type"} <= names
