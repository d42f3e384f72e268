"""Reading flow logs into one flow table."""

from __future__ import annotations

from collections.abc import Sequence

from segverify.flowlogs.build import build_table
from segverify.flowlogs.model import FlowLogTable
from segverify.flowlogs.registry import collector, sniff


def read_flow_logs(paths: Sequence[str], fmt: str = "auto") -> FlowLogTable:
    """Read flow logs (each sniffed when ``fmt`` is ``auto``) into one merged flow table.

    Records of every file are merged as one log: one flow per protocol and unordered
    endpoint pair, oriented by the earliest record. Bad files raise ``InputError``;
    unreadable records are counted (``accounting.malformed``/``truncated``) and listed in
    ``problems`` with their file and line number or byte offset.
    """
    collectors = [collector(sniff(p) if fmt == "auto" else fmt)(p) for p in paths]
    return build_table(collectors)


def read_flow_log(path: str, fmt: str = "auto") -> FlowLogTable:
    """Read one flow log (``fmt`` a name of ``registry.FORMATS``, or ``auto``)."""
    return read_flow_logs([path], fmt)
