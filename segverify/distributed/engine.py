"""``--engine dask``: capture files, and byte ranges of large plain pcap files, read by the
fast analyser on Dask workers; the partial flow tables merge into the table one process
gives (``flows.merge``, the one merge).

Tasks are whole files (pcapng, gzip, non-fast backends, small files) or ranges cut by
``ranges.split_pcap``. A range must end exactly where the next begins: the reader proves
each boundary a record boundary, and when one is not (or a corrupt record stops a range
early) the file is read again whole, so a split never changes the result. Frames are
renumbered file-wide from the record counts of the ranges before. Workers report records
read as Dask events; the client draws them on stderr.

Known limits of ranges (whole files are exact): an IP datagram whose fragments straddle a
boundary, a name (DNS/SNI/Host) split over TCP segments on both sides of one, and a flow
whose first range holds no SYN while a later one does (orientation) can differ from one
process; docs/scale.md.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TextIO

import numpy as np

from segverify.capture.fast import DEFAULT_CHUNK_RECORDS
from segverify.capture.progress import Progress
from segverify.distributed.ranges import Range, split_pcap
from segverify.errors import InputError
from segverify.flows.columns import COLUMN_NAMES, FlowColumns
from segverify.flows.merge import merge_columns
from segverify.flows.model import Accounting, FlowTable

RANGE_BYTES = 256 << 20
MIN_RANGE_BYTES = 16 << 20
PROGRESS_TOPIC = "segverify-progress"
PROGRESS_EVERY_S = 0.5


@dataclass
class Part:
    """What a worker sends back for one task."""

    table: FlowTable | None
    error: tuple[str, str | None] | None
    end_offset: int


def _report(n: int, state: dict[str, float]) -> None:
    """Worker side: add ``n`` records to the pending count, send it at most every 0.5 s."""
    state["n"] += n
    now = time.monotonic()
    if now - state["t"] >= PROGRESS_EVERY_S:
        _send(state)
        state["t"] = now


def _send(state: dict[str, float]) -> None:
    if not state["n"]:
        return
    try:
        from distributed import get_worker

        get_worker().log_event(PROGRESS_TOPIC, {"records": int(state["n"])})
    except ValueError:  # not on a worker (run in-process): nobody listens
        pass
    state["n"] = 0


def read_task(task: Range, backend: str, chunk_records: int) -> Part:
    """Worker side: one whole file or one byte range into a partial flow table."""
    state = {"n": 0.0, "t": time.monotonic()}
    try:
        if task.stop < 0:
            if backend == "fast":
                from segverify.capture.fast import read_file

                table = read_file(task.path, chunk_records, lambda n: _report(n, state))
            else:
                from segverify.capture.api import backend_reader

                table = backend_reader(backend)(task.path)
                state["n"] += table.accounting.records
            _send(state)
            return Part(table, None, -1)
        from segverify.capture.fast import read_range

        table, end = read_range(
            task.path, task.start, task.stop, chunk_records, lambda n: _report(n, state)
        )
        _send(state)
        return Part(table, None, end)
    except InputError as exc:
        return Part(None, (exc.message, exc.file), -1)


def plan(paths: Sequence[str], backend: str, range_bytes: int, workers: int) -> list[list[Range]]:
    """Per input file, its tasks: ranges of plain pcap files (fast backend) larger than
    ``range_bytes``, smaller when there are fewer tasks than workers; else the whole file."""
    whole = [[Range(p, 0, -1, True)] for p in paths]
    if backend != "fast":
        return whole
    sizes = [os.path.getsize(p) if os.path.isfile(p) else 0 for p in paths]
    step = range_bytes
    if sum(sizes) and len(paths) < workers:  # few files: cut so every worker has work
        step = max(MIN_RANGE_BYTES, min(range_bytes, sum(sizes) // (2 * workers)))
        step = min(step, range_bytes)
    return [split_pcap(p, step) for p in paths]


def combine(paths: Sequence[str], parts: Sequence[Sequence[FlowTable]]) -> FlowTable:
    """Partial tables (per input file, its ranges in file order) → the one-process table:
    frames renumbered file-wide, one merge, one file entry per input."""
    tables: list[FlowColumns] = []
    owner: list[int] = []
    acct = Accounting()
    for i, file_parts in enumerate(parts):
        seen = 0
        for k, t in enumerate(file_parts):
            cols = t.columns
            if seen:
                cols = _shift_frames(cols, seen)
            seen += t.accounting.records
            a = t.accounting
            acct.add(a)
            if k:
                acct.files -= a.files
            tables.append(cols)
            owner.extend([i] * len(cols.files))
    if not tables:
        return FlowTable([], acct)
    merged = merge_columns(tables) if len(tables) > 1 else tables[0]
    arrays = {name: getattr(merged, name) for name in COLUMN_NAMES}
    arrays["file"] = np.asarray(owner, dtype=np.int32)[merged.file] if len(merged) else merged.file
    cols = FlowColumns.from_arrays(arrays, list(paths), merged.names, merged.tunnels)
    return FlowTable(accounting=acct, columns=cols)


def _shift_frames(cols: FlowColumns, by: int) -> FlowColumns:
    arrays = {name: getattr(cols, name) for name in COLUMN_NAMES}
    arrays["first_frame"] = arrays["first_frame"] + by
    return FlowColumns.from_arrays(arrays, list(cols.files), cols.names, cols.tunnels)


def local_cluster(workers: int | None = None) -> Any:
    """A ``distributed.LocalCluster`` on this machine: ``workers`` processes (default: the
    cores), one thread each; scheduler, workers and the scheduler's HTTP endpoint listen on
    127.0.0.1 only, and no dashboard is served."""
    import logging

    from distributed import LocalCluster

    return LocalCluster(
        n_workers=workers or os.cpu_count() or 1,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        worker_dashboard_address=None,
        scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
        silence_logs=logging.CRITICAL,  # shutdown noise is not the user's business
    )


def _client(scheduler: str | None, workers: int | None) -> tuple[Any, Any]:
    try:
        from distributed import Client
    except ImportError:
        raise InputError("--engine dask needs Dask: pip install 'segverify[dask]'") from None
    if scheduler:
        try:
            return Client(scheduler, timeout="10s"), None
        except (OSError, TimeoutError) as exc:
            raise InputError(f"cannot reach the Dask scheduler {scheduler}: {exc}") from None
    cluster = local_cluster(workers)
    return Client(cluster), cluster


def read_flows_dask(
    paths: Sequence[str],
    scheduler: str | None = None,
    workers: int | None = None,
    backend: str = "fast",
    jobs: int = 1,
    progress: bool = False,
    chunk_records: int = DEFAULT_CHUNK_RECORDS,
    range_bytes: int = RANGE_BYTES,
    client: Any = None,
    stream: TextIO | None = None,
) -> FlowTable:
    """Read capture files on Dask workers into one flow table, equal to ``read_flows``.

    ``client``: an existing ``distributed.Client`` (tests, notebooks); else one to
    ``scheduler``, else a local cluster of ``workers`` processes (default: cores) bound
    to 127.0.0.1 with no dashboard. ``jobs`` is not used (the workers are the parallelism).
    ``progress`` draws records read by the workers on ``stream`` (stderr) when a terminal.
    """
    del jobs
    paths = list(paths)
    from segverify.capture.api import backend_reader

    backend_reader(backend)  # fail early on an unknown backend
    for p in paths:
        if not os.path.exists(p):
            raise InputError("cannot open capture: No such file or directory", p)
    own_cluster = None
    if client is None:
        client, own_cluster = _client(scheduler, workers)
        own_client = client
    else:
        own_client = None
    try:
        nworkers = max(1, len(client.scheduler_info().get("workers", {})) or (workers or 1))
        tasks = plan(paths, backend, range_bytes, nworkers)
        bar = Progress(sum(len(t) for t in tasks), progress, stream)
        client.subscribe_topic(PROGRESS_TOPIC, lambda ev: bar.add_records(ev[1]["records"]))
        try:
            parts = _run(client, tasks, backend, chunk_records, bar)
        finally:
            client.unsubscribe_topic(PROGRESS_TOPIC)
            bar.close()
    finally:
        if own_client is not None:
            own_client.close()
        if own_cluster is not None:
            own_cluster.close()
    return combine(paths, parts)


def _run(
    client: Any, tasks: list[list[Range]], backend: str, chunk_records: int, bar: Progress
) -> list[list[FlowTable]]:
    from distributed import as_completed

    flat = [(i, k, r) for i, file_tasks in enumerate(tasks) for k, r in enumerate(file_tasks)]
    futures = {
        client.submit(read_task, r, backend, chunk_records, pure=False): (i, k) for i, k, r in flat
    }
    got: dict[tuple[int, int], Part] = {}
    for fut in as_completed(futures):
        part = fut.result()
        if part.error is not None:
            for other in futures:
                other.cancel()
            raise InputError(part.error[0], part.error[1])
        got[futures[fut]] = part
        bar.file_done()
    out: list[list[FlowTable]] = []
    for i, file_tasks in enumerate(tasks):
        file_parts = [got[(i, k)] for k in range(len(file_tasks))]
        proven = all(
            p.end_offset == r.stop
            for p, r in zip(file_parts, file_tasks, strict=True)
            if not r.final
        )
        if not proven:  # a boundary was not a record boundary, or a range stopped early
            whole = Range(file_tasks[0].path, 0, -1, True)
            part = client.submit(read_task, whole, backend, chunk_records, pure=False).result()
            if part.error is not None:
                raise InputError(part.error[0], part.error[1])
            file_parts = [part]
        out.append([p.table for p in file_parts if p.table is not None])
    # events may still be in flight: the last line shows the records the tables hold
    bar.records = max(bar.records, sum(t.accounting.records for ts in out for t in ts))
    return out
