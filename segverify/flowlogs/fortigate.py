"""FortiGate traffic logs: FortiOS ``key=value`` syslog lines and FortiAnalyzer CSV.

Fields (FortiOS Log Message Reference, "Traffic" log, type=traffic): ``type``,
``subtype``, ``date``/``time``/``tz`` or ``eventtime`` (epoch s, ms, µs or ns: read by its
magnitude), ``srcip``, ``srcport``, ``dstip``, ``dstport``, ``proto`` (IP protocol number),
``icmptype``/``icmpcode`` (hex or decimal), ``action``, ``sentpkt``, ``rcvdpkt``,
``sentbyte``, ``rcvdbyte``, ``duration``, ``sessionid``, ``devid``/``devname``, ``vd``,
``hostname`` (the web host the session named, used as evidence for FQDN rules). The log's
time is when it was written (session end for ``close``): the flow starts ``duration``
seconds earlier.

``action=deny`` is a connection the FortiGate blocked: ``blocked_by_device``, never a
leak. Other actions (``accept``, ``close``, ``timeout``, ``server-rst``, ``client-rst``,
``start``, ``ip-conn``, ``dns``) are sessions the policy let through; whether they were
answered follows the received packet count. Lines of other types (``event``, ``utm``)
describe no flow and count as ``other_records``. Counters are cumulative per session:
when several lines share a device and ``sessionid``, the last one counts.

FortiAnalyzer's CSV export has a header row of the same field names.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

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

PAIR = re.compile(r'([A-Za-z_][\w.-]*)=("(?:[^"\\]|\\.)*"|[^\s"]*)')
PRI = re.compile(r"^<\d{1,3}>")
BLOCKED_ACTIONS = frozenset({"deny"})


def parse_pairs(text: str) -> dict[str, str]:
    """``key=value`` / ``key="quoted value"`` pairs of one line (syslog header skipped)."""
    body = PRI.sub("", text.strip())
    out: dict[str, str] = {}
    for match in PAIR.finditer(body):
        value = match.group(2)
        if value.startswith('"'):
            if len(value) < 2 or not value.endswith('"'):
                raise RecordError(
                    Msg("error.flowlogs.fortigate.unterminated_quoted_value", name=match.group(1))
                )
            value = value[1:-1].replace('\\"', '"')
        out[match.group(1)] = value
    if body.count('"') % 2:
        raise RecordError(Msg("error.flowlogs.fortigate.unbalanced_quotes"))
    return out


def _small_int(text: str, name: str) -> int:
    t = text.strip().lower()
    try:
        return int(t, 16) if t.startswith("0x") else number(t, name, 256)
    except ValueError:
        raise RecordError(
            Msg("error.flowlogs.fortigate.not_number", name=name, text=text)
        ) from None


def _time_ns(f: dict[str, str]) -> int | None:
    event = f.get("eventtime", "").strip()
    if event.isdigit():
        value = int(event)
        for limit, scale in ((10**11, 10**9), (10**14, 10**6), (10**17, 10**3)):
            if value < limit:
                return value * scale
        return value
    date, clock = f.get("date", "").strip(), f.get("time", "").strip()
    if not date or not clock:
        return None
    try:
        stamp = datetime.strptime(f"{date} {clock}", "%Y-%m-%d %H:%M:%S")
    except ValueError:
        raise RecordError(
            Msg("error.flowlogs.fortigate.date_time_not_time", date=date, clock=clock)
        ) from None
    tz = f.get("tz", "").strip()
    offset = timezone.utc
    if re.fullmatch(r"[+-]\d{4}", tz):
        sign = -1 if tz[0] == "-" else 1
        offset = timezone(sign * timedelta(hours=int(tz[1:3]), minutes=int(tz[3:5])))
    return int(stamp.replace(tzinfo=offset).timestamp()) * 1_000_000_000


def record_from_fields(f: dict[str, str], where: int, col: Collector) -> LogRecord | None:
    """One traffic log's fields → ``LogRecord``; None for a line that is not traffic."""
    kind = f.get("type")
    if kind is None:
        raise RecordError(Msg("error.flowlogs.fortigate.no_type_field_not_fortigate"))
    if kind != "traffic":
        return None
    for name in ("srcip", "dstip", "proto"):
        if not f.get(name):
            raise RecordError(Msg("error.flowlogs.fortigate.traffic_line_without", name=name))
    src, dst = address(f["srcip"], "srcip"), address(f["dstip"], "dstip")
    proto = number(f["proto"], "proto", 256)
    sport: int | None = None
    dport: int | None = None
    if proto in (6, 17, 132):
        if not f.get("srcport") or not f.get("dstport"):
            raise RecordError(Msg("error.flowlogs.fortigate.tcp_udp_sctp_traffic_line"))
        sport, dport = port(f["srcport"], "srcport"), port(f["dstport"], "dstport")
    elif proto in (1, 58) and f.get("icmptype"):
        sport = _small_int(f["icmptype"], "icmptype")
        dport = _small_int(f.get("icmpcode", "0") or "0", "icmpcode")
    logged = _time_ns(f)
    duration = number(f.get("duration", "0") or "0", "duration") * 1_000_000_000
    if logged is None:
        col.stats.untimed += 1
        logged = duration = 0

    def count(name: str) -> int:
        return number(f.get(name, "0") or "0", name)

    action = f.get("action", "")
    session = f.get("sessionid", "")
    device = f.get("devid") or f.get("devname") or ""
    host = f.get("hostname", "").strip()
    return checked(
        LogRecord(
            src=src,
            dst=dst,
            proto=proto,
            sport=sport,
            dport=dport,
            packets_fwd=count("sentpkt"),
            bytes_fwd=count("sentbyte"),
            packets_rev=count("rcvdpkt"),
            bytes_rev=count("rcvdbyte"),
            first_ns=max(logged - duration, 0),
            last_ns=logged,
            where=where,
            action=action,
            blocked=action in BLOCKED_ACTIONS,
            names=(host,) if host else (),
            session=("fortigate", device, f.get("vd", ""), session)
            if session.isdigit() and session != "0"
            else None,
        )
    )


def _add(col: Collector, fields: dict[str, str], lineno: int) -> None:
    try:
        rec = record_from_fields(fields, lineno, col)
    except RecordError as exc:
        col.malformed(message_of(exc), line=lineno)
        return
    if rec is None:
        col.stats.other_records += 1
    else:
        col.record(rec)


def collect_kv(path: str) -> Collector:
    """FortiOS ``key=value`` log lines (syslog or disk/memory log download)."""
    col = Collector(path, "fortigate-kv")
    for lineno, line in log_lines(col):
        try:
            fields = parse_pairs(line)
        except RecordError as exc:
            col.malformed(message_of(exc), line=lineno)
            continue
        _add(col, fields, lineno)
    return col


def collect_csv(path: str) -> Collector:
    """FortiAnalyzer CSV export: a header row of FortiOS field names, one log per row."""
    col = Collector(path, "fortigate-csv")
    header: list[str] = []
    for lineno, line in log_lines(col):
        cells = csv_cells(col, lineno, line)
        if cells is None:
            continue
        if not header:
            header = [c.strip().lstrip("\ufeff") for c in cells]
            col.stats.header_lines += 1
            continue
        if len(cells) != len(header):
            col.malformed(
                Msg("error.flowlogs.cells_vs_header", cells=len(cells), header=len(header)),
                line=lineno,
            )
            continue
        _add(col, {k: v for k, v in zip(header, cells, strict=True) if v != ""}, lineno)
    return col
