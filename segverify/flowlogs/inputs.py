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
from segverify.flowlogs.registry import FORMATS, is_capture, sniff
from segverify.flows.model import FlowTable

INPUT_FORMATS = ("auto", "pcap", "parquet", *FORMATS)
ENGINES = ("local", "dask")


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
    """``pcap``, ``parquet`` or ``log`` for one file, from its first bytes; ``InputError``
    when the file is missing or none of them."""
    if not Path(path).exists():
        raise InputError("no such file", path)
    if _is_parquet(path):
        return "parquet"
    if Path(path).is_file() and is_capture(path):
        return "pcap"
    try:
        sniff(path)
    except InputError as exc:
        if exc.message.startswith("not a flow log"):
            raise InputError(
                "not a pcap or pcapng file, a Parquet flow table (--flows-out) or a flow log"
                " segverify can read (Zeek conn.log, FortiGate, Palo Alto, NetFlow/IPFIX,"
                " nfdump CSV); give --input-format to name it",
                path,
            ) from None
        raise
    return "log"


def read_inputs(
    paths: Sequence[str],
    fmt: str = "auto",
    engine: str = "local",
    scheduler: str | None = None,
    workers: int | None = None,
    **capture_options: Any,
) -> FlowTable:
    """The flow table of ``paths``: captures (``capture_options``: ``backend``, ``jobs``,
    ``progress`` of ``read_flows``), flow logs or one stored Parquet table.

    ``engine="dask"`` reads captures on Dask workers (``segverify.distributed``): the
    cluster at ``scheduler``, else a local one of ``workers`` processes."""
    if engine not in ENGINES:
        raise InputError(f"unknown engine {engine!r} (known: {', '.join(ENGINES)})")
    if engine != "dask" and (scheduler or workers):
        raise InputError("--scheduler and --workers are options of --engine dask")
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
    if engine == "dask" and kind != "pcap":
        raise InputError(f"--engine dask reads packet captures only; this is a {kind} input")
    if kind == "pcap" and engine == "dask":
        from segverify.distributed.engine import read_flows_dask

        return read_flows_dask(paths, scheduler=scheduler, workers=workers, **capture_options)
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
