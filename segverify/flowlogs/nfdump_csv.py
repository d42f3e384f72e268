"""``nfdump -o csv`` output (nfdump 1.7): one unidirectional flow record per row.

Columns read by name from the header row: ``ts``/``te`` (start/end, ``YYYY-MM-DD
hh:mm:ss[.fff]``; nfdump prints the local time of the machine that ran it, with no offset:
run it with ``TZ=UTC``, as segverify reads these times as UTC), ``sa``/``da`` addresses,
``sp``/``dp`` ports (for ICMP ``dp`` is type·256+code), ``pr`` (name or number), ``flg``
(TCP flags as ``CEUAPRSF`` with ``.`` for unset bits), ``ipkt``/``ibyt`` the record's
packets and bytes, ``opkt``/``obyt`` the reverse counters of bidirectional (NSEL) records,
``svln`` the VLAN. The closing ``Summary`` block is not traffic.
"""

from __future__ import annotations

import csv
from datetime import datetime, timezone

from segverify.errors import InputError
from segverify.flowlogs.records import (
    Collector,
    LogRecord,
    RecordError,
    address,
    checked,
    number,
    port,
)
from segverify.flowlogs.textio import log_lines
from segverify.i18n import Msg, message_of

NEED = ("ts", "sa", "da", "sp", "dp", "pr", "ipkt", "ibyt")
PROTO_NAMES = {"TCP": 6, "UDP": 17, "ICMP": 1, "ICMP6": 58, "SCTP": 132, "GRE": 47, "ESP": 50}
FLAG_BITS = "CEUAPRSF"


def _time(text: str, name: str) -> int:
    value = text.strip()
    for pattern in ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S"):
        try:
            stamp = datetime.strptime(value, pattern).replace(tzinfo=timezone.utc)
        except ValueError:
            continue
        return int(stamp.timestamp()) * 1_000_000_000 + stamp.microsecond * 1000
    raise RecordError(Msg("error.flowlogs.nfdump_csv.not_time", name=name, text=text))


def _flags(text: str) -> int:
    t = text.strip()
    if t.startswith("0x"):
        return int(t, 16) & 0xFF
    bits = 0
    for i, ch in enumerate(t[-8:].rjust(8, ".")):
        if ch != ".":
            bits |= 1 << (7 - i)
    return bits


def _row(row: dict[str, str], where: int) -> LogRecord:
    pr = row["pr"].strip()
    proto = PROTO_NAMES.get(pr.upper()) if not pr.isdigit() else int(pr)
    if proto is None or proto > 255:
        raise RecordError(Msg("error.flowlogs.nfdump_csv.pr_not_protocol", pr=pr))
    src, dst = address(row["sa"], "sa"), address(row["da"], "da")
    sport: int | None = port(row["sp"], "sp")
    dport: int | None = port(row["dp"], "dp")
    if proto in (1, 58):
        assert dport is not None
        sport, dport = dport >> 8, dport & 0xFF
    elif proto not in (6, 17, 132):
        sport = dport = None
    first = _time(row["ts"], "ts")
    last = _time(row["te"], "te") if row.get("te") else first

    def count(name: str) -> int:
        value = (row.get(name) or "0").strip()
        return number(value, name)

    vlan = (row.get("svln") or "0").strip()
    return checked(
        LogRecord(
            src=src,
            dst=dst,
            proto=proto,
            sport=sport,
            dport=dport,
            packets_fwd=count("ipkt"),
            bytes_fwd=count("ibyt"),
            packets_rev=count("opkt"),
            bytes_rev=count("obyt"),
            first_ns=first,
            last_ns=last,
            where=where,
            vlan=int(vlan) if vlan.isdigit() and vlan != "0" else None,
            tcp_flags_fwd=_flags(row.get("flg") or "") if proto == 6 else 0,
        )
    )


def collect_csv(path: str) -> Collector:
    col = Collector(path, "nfdump-csv")
    header: list[str] = []
    in_summary = False
    for lineno, line in log_lines(col):
        if in_summary or line.strip() in ("Summary", "No matching flows"):
            in_summary = True
            col.stats.other_records += 1  # nfdump's totals, not traffic
            continue
        cells = next(csv.reader([line]))
        if not header:
            header = [c.strip() for c in cells]
            col.stats.header_lines += 1
            missing = [n for n in NEED if n not in header]
            if missing:
                raise InputError(
                    Msg(
                        "error.flowlogs.nfdump_csv.nfdump_csv_header_lacks",
                        missing=", ".join(missing),
                    ),
                    path,
                    lineno,
                )
            continue
        if len(cells) != len(header):
            col.malformed(
                Msg("error.flowlogs.cells_vs_header", cells=len(cells), header=len(header)),
                line=lineno,
            )
            continue
        try:
            col.record(_row(dict(zip(header, cells, strict=True)), lineno))
        except RecordError as exc:
            col.malformed(message_of(exc), line=lineno)
    return col
