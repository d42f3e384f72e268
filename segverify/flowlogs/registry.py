"""Flow-log formats by name, and ``auto``: the format sniffed from the file's first bytes.

Each format is a module function ``collect_*(path) -> Collector`` (imported when used);
``segverify.flowlogs.build.build_table`` turns collectors into one flow table.
"""

from __future__ import annotations

import gzip
import importlib
import json
from collections.abc import Callable
from typing import TYPE_CHECKING

from segverify.errors import InputError
from segverify.i18n import Msg

if TYPE_CHECKING:
    from segverify.flowlogs.records import Collector

# name → (module, function)
FORMATS: dict[str, tuple[str, str]] = {
    "zeek-tsv": ("segverify.flowlogs.zeek_conn", "collect_tsv"),
    "zeek-json": ("segverify.flowlogs.zeek_conn", "collect_json"),
    "fortigate-kv": ("segverify.flowlogs.fortigate", "collect_kv"),
    "fortigate-csv": ("segverify.flowlogs.fortigate", "collect_csv"),
    "paloalto-csv": ("segverify.flowlogs.paloalto", "collect_csv"),
    "netflow": ("segverify.flowlogs.netflow", "collect_export"),
    "ipfix": ("segverify.flowlogs.netflow", "collect_export"),
    "nfdump-csv": ("segverify.flowlogs.nfdump_csv", "collect_csv"),
}
SNIFF_BYTES = 65536
PCAP_MAGICS = (
    b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d",
    b"\x0a\x0d\x0d\x0a",
)  # fmt: skip


def collector(fmt: str) -> Callable[[str], Collector]:
    """The collecting function of a named format."""
    if fmt not in FORMATS:
        raise InputError(
            Msg(
                "error.flowlogs.registry.unknown_flow_log_format_known",
                fmt=fmt,
                formats=", ".join(FORMATS),
            )
        )
    module, name = FORMATS[fmt]
    return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]


def _head(path: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            head = fh.read(SNIFF_BYTES)
        if head[:2] == b"\x1f\x8b":
            with gzip.open(path, "rb") as gz:
                head = gz.read(SNIFF_BYTES)
    except (OSError, EOFError) as exc:
        raise InputError(
            Msg("error.cannot_read", reason=getattr(exc, "strerror", None) or exc), path
        ) from None
    return head


def is_capture(path: str) -> bool:
    """True when ``path`` starts like a pcap or pcapng file (gzip allowed)."""
    return _head(path)[:4] in PCAP_MAGICS


def sniff(path: str) -> str:
    """The format of ``path`` from its first bytes; ``InputError`` when none fits. A packet
    capture is refused: in ``auto`` it is the capture path's input (a capture of NetFlow
    export traffic is read with ``fmt="netflow"``)."""
    head = _head(path)
    if head[:4] in PCAP_MAGICS:
        raise InputError(
            Msg("error.flowlogs.registry.packet_capture_not_flow_log"),
            path,
        )
    if len(head) >= 4 and head[0] == 0 and head[1] in (5, 9, 10):
        return "ipfix" if head[1] == 10 else "netflow"
    text = head.decode("utf-8", "replace")
    lines = [ln.strip().lstrip("\ufeff") for ln in text.splitlines() if ln.strip()][:20]
    if not lines:
        raise InputError(Msg("error.flowlogs.registry.empty_file_not_flow_log"), path)
    first = lines[0]
    if first.startswith("#separator") or any(ln.startswith("#fields") for ln in lines):
        return "zeek-tsv"
    if first.startswith("{"):
        try:
            row = json.loads(first)
        except ValueError:
            row = None
        if isinstance(row, dict) and ("id.orig_h" in row or "id" in row):
            return "zeek-json"
    for ln in lines:
        body = ln.split(">", 1)[1] if ln.startswith("<") and ">" in ln[:6] else ln
        if "srcip=" in body and "dstip=" in body and ("logid=" in body or "type=" in body):
            return "fortigate-kv"
    header = [c.strip().strip('"').lower() for c in first.split(",")]
    if {"srcip", "dstip", "action"} <= set(header):
        return "fortigate-csv"
    if {"source address", "destination address"} <= set(header) or any(
        ",TRAFFIC," in ln for ln in lines
    ):
        return "paloalto-csv"
    if {"sa", "da", "pr"} <= set(header) or {"ts", "sa", "da", "sp", "dp"} <= set(header):
        return "nfdump-csv"
    raise InputError(
        Msg("error.flowlogs.registry.not_flow_log_segverify_can"),
        path,
    )
