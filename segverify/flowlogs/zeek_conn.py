"""Zeek ``conn.log``: the ASCII (TSV with ``#`` headers) and JSON-lines writers.

Fields read (Zeek's conn.log field list; ``_`` accepted for ``.`` when the log was written
with another scope separator): ``ts``, ``id.orig_h``, ``id.orig_p``, ``id.resp_h``,
``id.resp_p``, ``proto``, ``duration``, ``conn_state``, ``orig_pkts``, ``resp_pkts``,
``orig_ip_bytes``, ``resp_ip_bytes``, and when present ``ip_proto``, ``vlan``,
``tunnel_parents``. ICMP rows carry type in ``id.orig_p`` and code in ``id.resp_p``.
Bytes are IP-level (Zeek counts IP total length), not frame lengths.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any

from segverify.errors import InputError
from segverify.flowlogs.records import (
    LIMIT_NS,
    Collector,
    LogRecord,
    RecordError,
    address,
    checked,
    number,
    port,
)
from segverify.flowlogs.textio import numbered_lines, read_bytes
from segverify.i18n import Msg, message_of

PROTOS = {"tcp": 6, "udp": 17, "icmp": 1}
READ = frozenset(
    ("ts", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "duration", "conn_state",
     "orig_pkts", "resp_pkts", "orig_ip_bytes", "resp_ip_bytes", "ip_proto", "vlan")
)  # fmt: skip
NEED = ("ts", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "orig_pkts", "resp_pkts")
# conn_state → the responder answered (True), did not (False), or cannot say (None: judge by
# the reverse packet count). REJ: the responder refused with a RST (an attempt).
ANSWERED: dict[str, bool | None] = {
    "SF": True, "S1": True, "S2": True, "S3": True, "RSTO": True, "RSTR": True,
    "S0": False, "REJ": False, "SH": False, "SHR": False, "RSTOS0": False, "RSTRH": False,
    "OTH": None,
}  # fmt: skip


# the dotted names, as a log written with another scope separator ("_") spells them
SCOPED = {n.replace(".", "_"): n for n in ("id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p")}


def _field(row: dict[str, Any], name: str) -> Any:
    return row.get(name)


def _time_ns(value: Any) -> int | None:
    """Epoch seconds (number or text) or ISO 8601 text → ns; None when unreadable or out
    of range."""
    ns = _any_time_ns(value)
    return ns if ns is not None and 0 <= ns < LIMIT_NS else None


def _any_time_ns(value: Any) -> int | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return round(value * 1e9) if math.isfinite(value) else None
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        whole, _, frac = text.partition(".")
        if whole.isdigit() and (not frac or frac.isdigit()):
            return int(whole) * 1_000_000_000 + int((frac + "000000000")[:9])
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if stamp.tzinfo is None:
            return None
        return round(stamp.timestamp() * 1_000_000) * 1000
    except ValueError:
        return None


def _seconds_ns(value: Any) -> int:
    if value in (None, "", "-", "(empty)"):
        return 0
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise RecordError(
            Msg("error.flowlogs.zeek_conn.duration_not_number", value=value)
        ) from None
    if not math.isfinite(seconds) or seconds < 0:
        raise RecordError(Msg("error.flowlogs.zeek_conn.duration_not_number", value=value))
    if seconds * 1e9 >= LIMIT_NS:
        raise RecordError(Msg("error.flowlogs.zeek_conn.duration_out_range", value=value))
    return round(seconds * 1e9)


def _text(value: Any, name: str) -> str:
    if value is None:
        raise RecordError(Msg("error.flowlogs.zeek_conn.missing", name=name))
    return str(value)


def record_from_row(row: dict[str, Any], where: int, col: Collector) -> LogRecord:
    """One conn.log row (values as text or JSON values) → ``LogRecord``."""
    src = address(_text(_field(row, "id.orig_h"), "id.orig_h"), "id.orig_h")
    dst = address(_text(_field(row, "id.resp_h"), "id.resp_h"), "id.resp_h")
    proto_name = _text(_field(row, "proto"), "proto")
    if proto_name in PROTOS:
        proto = PROTOS[proto_name]
        if proto == 1 and ":" in src:
            proto = 58
    else:
        ip_proto = _field(row, "ip_proto")
        if ip_proto in (None, "-"):
            raise RecordError(
                Msg("error.flowlogs.zeek_conn.proto_without_ip_proto", proto=proto_name)
            )
        proto = number(str(ip_proto), "ip_proto", 256)
    sport: int | None = port(str(_field(row, "id.orig_p")), "id.orig_p")
    dport: int | None = port(str(_field(row, "id.resp_p")), "id.resp_p")
    if proto_name not in PROTOS:
        sport = dport = None  # Zeek did not read this transport: its ports are 0 placeholders
    first = _time_ns(_field(row, "ts"))
    if first is None:
        col.stats.untimed += 1
        first = 0
    duration = _seconds_ns(_field(row, "duration"))
    state = str(_field(row, "conn_state") or "")
    if state in ("-", "(empty)"):
        state = ""

    def count(name: str) -> int:
        value = _field(row, name)
        return 0 if value in (None, "-") else number(str(value), name)

    vlan = _field(row, "vlan")
    return checked(
        LogRecord(
            src=src,
            dst=dst,
            proto=proto,
            sport=sport,
            dport=dport,
            packets_fwd=count("orig_pkts"),
            bytes_fwd=count("orig_ip_bytes"),
            packets_rev=count("resp_pkts"),
            bytes_rev=count("resp_ip_bytes"),
            first_ns=first,
            last_ns=first + duration,
            where=where,
            vlan=None if vlan in (None, "-") else number(str(vlan), "vlan", 4096),
            state=state,
            conn_state=state if state in ANSWERED else None,
            answered=ANSWERED.get(state),
        )
    )


def _unescape(text: str) -> str:
    """Zeek's ASCII writer escapes the separator and non-printables as ``\\xHH``."""
    if "\\x" not in text:
        return text
    try:
        return text.encode("latin-1", "backslashreplace").decode("unicode_escape")
    except UnicodeDecodeError:
        return text


class Header:
    """The ``#`` lines of an ASCII log: separator, unset and empty markers, field names."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.sep = "\t"
        self.unset = "-"
        self.empty = "(empty)"
        self.fields: list[str] = []
        self.used: list[tuple[str, int]] = []  # (field, position) of the fields read

    def line(self, lineno: int, line: str) -> None:
        key, _, value = line[1:].partition(self.sep if not line.startswith("#separator") else " ")
        if key == "separator":
            self.sep = _unescape(value.strip())
            if not self.sep:
                raise InputError(
                    Msg("error.flowlogs.zeek_conn.conn_log_separator_names_no"), self.path, lineno
                )
        elif key == "unset_field":
            self.unset = value
        elif key == "empty_field":
            self.empty = value
        elif key == "fields":
            self.fields = [SCOPED.get(n, n) for n in value.split(self.sep)]
            self.used = [(n, i) for i, n in enumerate(self.fields) if n in READ]
            missing = [n for n in NEED if n not in self.fields]
            if missing:
                raise InputError(
                    Msg(
                        "error.flowlogs.zeek_conn.conn_log_fields_lacks", missing=", ".join(missing)
                    ),
                    self.path,
                    lineno,
                )

    def data(self, col: Collector, lineno: int, line: str) -> None:
        """One line that is not a header: a record, or malformed with its number."""
        if not self.fields:
            col.malformed(Msg("error.flowlogs.zeek_conn.data_before_fields"), line=lineno)
            return
        values = line.split(self.sep)
        if len(values) != len(self.fields):
            col.malformed(
                Msg(
                    "error.flowlogs.zeek_conn.fields_vs_header",
                    fields=len(values),
                    header=len(self.fields),
                ),
                line=lineno,
            )
            return
        unset, empty = self.unset, self.empty
        row = {}
        for name, i in self.used:
            v = values[i]
            row[name] = (
                None if v == unset else "" if v == empty else (_unescape(v) if "\\x" in v else v)
            )
        try:
            col.record(record_from_row(row, lineno, col))
        except RecordError as exc:
            col.malformed(message_of(exc), line=lineno)


def any_line(col: Collector, header: Header, lineno: int, line: str) -> None:
    """Any line of an ASCII conn.log, counted in ``col.stats``."""
    col.stats.lines += 1
    if not line.strip():
        col.stats.blank_lines += 1
    elif line.startswith("#"):
        col.stats.header_lines += 1
        header.line(lineno, line)
    else:
        header.data(col, lineno, line)


def collect_tsv(path: str, columnar: bool = True) -> Collector:
    """A conn.log in Zeek's ASCII format (``#separator``, ``#fields`` … headers).

    With ``columnar`` (and pyarrow installed) the common layout — headers, then data,
    then ``#close`` — is read column-wise (``zeek_columns``) with the same results; any
    other layout, and every row that fails a check there, goes line by line here."""
    data = read_bytes(path)
    if columnar:
        from segverify.flowlogs.zeek_columns import collect_columnar

        col = collect_columnar(path, data)
        if col is not None:
            return col
    col = Collector(path, "zeek-tsv")
    header = Header(path)
    for lineno, line in numbered_lines(data):
        any_line(col, header, lineno, line)
    return col


def collect_json(path: str) -> Collector:
    """A conn.log written as JSON lines (``LogAscii::use_json=T``, or Zeek's JSON streaming)."""
    col = Collector(path, "zeek-json")
    for lineno, line in numbered_lines(read_bytes(path)):
        col.stats.lines += 1
        if not line.strip():
            col.stats.blank_lines += 1
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            col.malformed(
                Msg("error.flowlogs.zeek_conn.not_json", reason=exc.msg, column=exc.colno),
                line=lineno,
            )
            continue
        if not isinstance(row, dict):
            col.malformed(Msg("error.flowlogs.zeek_conn.not_json_object"), line=lineno)
            continue
        if isinstance(row.get("id"), dict):  # nested id record
            row.update({f"id.{k}": v for k, v in row["id"].items()})
        for scoped, dotted in SCOPED.items():
            if scoped in row:
                row[dotted] = row[scoped]
        try:
            col.record(record_from_row(row, lineno, col))
        except RecordError as exc:
            col.malformed(message_of(exc), line=lineno)
    return col
