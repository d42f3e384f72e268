"""One entry for every kind of traffic input: packet captures, flow logs, stored Parquet
flow tables. The CLI's ``--input-format`` maps to ``fmt`` here, so the command only wires.

``auto`` decides per file by its first bytes: pcap/pcapng (gzip allowed) → the capture
path (``segverify.capture.read_flows``); Parquet (``PAR1``, or a directory of day
partitions) → ``read_parquet``; anything else → the flow-log sniffer. All files of one run
must be of one kind (captures, logs or one Parquet table): their tables are merged as one.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from segverify.errors import InputError
from segverify.flowlogs.registry import FORMATS, is_capture
from segverify.flows.model import FlowTable

INPUT_FORMATS = ("auto", "pcap", "parquet", *FORMATS)


def _is_parquet(path: str) -> bool:
    p = Path(path)
    if p.is_dir():
        return True
    try:
        with p.open("rb") as fh:
            return fh.read(4) == b"PAR1"
    except OSError:
        return False


def input_kind(path: str) -> str:
    """``pcap``, ``parquet`` or ``log`` for one file, from its first bytes."""
    if _is_parquet(path):
        return "parquet"
    if Path(path).is_file() and is_capture(path):
        return "pcap"
    return "log"


def read_inputs(paths: Sequence[str], fmt: str = "auto", **capture_options: Any) -> FlowTable:
    """The flow table of ``paths``: captures (``capture_options``: ``backend``, ``jobs``,
    ``progress`` of ``read_flows``), flow logs or one stored Parquet table."""
    if fmt not in INPUT_FORMATS:
        raise InputError(f"unknown input format {fmt!r} (known: {', '.join(INPUT_FORMATS)})")
    paths = list(paths)
    if not paths:
        raise InputError("no input file given")
    if fmt == "auto":
        kinds = {p: input_kind(p) for p in paths}
        if len(set(kinds.values())) > 1:
            odd = next(p for p in paths if kinds[p] != kinds[paths[0]])
            raise InputError(
                f"is a {kinds[odd]} input, {paths[0]} a {kinds[paths[0]]} one: give captures,"
                " flow logs and Parquet tables in separate runs",
                odd,
            )
        kind = kinds[paths[0]]
    else:
        kind = fmt if fmt in ("pcap", "parquet") else "log"
    if kind == "pcap":
        from segverify.capture import read_flows

        return read_flows(paths, **capture_options)
    if kind == "parquet":
        if len(paths) > 1:
            raise InputError("one Parquet flow table per run", paths[1])
        from segverify.flowlogs.parquet import read_parquet

        return read_parquet(paths[0])
    from segverify.flowlogs.api import read_flow_logs

    return read_flow_logs(paths, fmt)
