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
from segverify.i18n import Msg

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
        raise InputError(Msg("error.no_such_file"), path)
    if _is_parquet(path):
        return "parquet"
    if Path(path).is_file() and is_capture(path):
        return "pcap"
    try:
        sniff(path)
    except InputError as exc:
        if exc.message.startswith("not a flow log"):
            raise InputError(
                Msg("error.flowlogs.inputs.not_pcap_pcapng_file_parquet"),
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
        raise InputError(
            Msg(
                "error.flowlogs.inputs.unknown_engine_known",
                engine=engine,
                engines=", ".join(ENGINES),
            )
        )
    if engine != "dask" and (scheduler or workers):
        raise InputError(Msg("error.flowlogs.inputs.scheduler_workers_are_options_engine"))
    if fmt not in INPUT_FORMATS:
        raise InputError(
            Msg(
                "error.flowlogs.inputs.unknown_input_format_known",
                fmt=fmt,
                formats=", ".join(INPUT_FORMATS),
            )
        )
    paths = list(paths)
    if not paths:
        raise InputError(Msg("error.flowlogs.inputs.no_input_file_given"))
    if fmt == "auto":
        kinds = {p: input_kind(p) for p in paths}
        if len(set(kinds.values())) > 1:
            odd = next(p for p in paths if kinds[p] != kinds[paths[0]])
            raise InputError(
                Msg(
                    "error.flowlogs.inputs.input_one_give_captures_flow",
                    kind=kinds[odd],
                    other=paths[0],
                    other_kind=kinds[paths[0]],
                ),
                odd,
            )
        kind = kinds[paths[0]]
    else:
        kind = fmt if fmt in ("pcap", "parquet") else "log"
    if engine == "dask" and kind != "pcap":
        raise InputError(Msg("error.flowlogs.inputs.engine_dask_reads_packet_captures", kind=kind))
    if kind == "pcap" and engine == "dask":
        from segverify.distributed.engine import read_flows_dask

        return read_flows_dask(paths, scheduler=scheduler, workers=workers, **capture_options)
    if kind == "pcap":
        from segverify.capture import read_flows

        return read_flows(paths, **capture_options)
    if kind == "parquet":
        if len(paths) > 1:
            raise InputError(Msg("error.flowlogs.inputs.one_parquet_flow_table_per"), paths[1])
        from segverify.flowlogs.parquet import read_parquet

        return read_parquet(paths[0])
    from segverify.flowlogs.api import read_flow_logs

    return read_flow_logs(paths, fmt)
