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
boundary, a name (DNS/SNI/Host) split over TCP segments on both sides of one, and names
beyond the per-flow bounds can differ from one process; docs/scale.md.
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
from segverify.flows.merge import merge_columns, merge_groups
from segverify.flows.model import Accounting, FlowTable
from segverify.i18n import Msg

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
    frames: dict[str, np.ndarray] | None = None  # ranges: flows.build.oriented_frames


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
        from segverify.capture.fast import read_range_oriented

        table, end, frames = read_range_oriented(
            task.path, task.start, task.stop, chunk_records, lambda n: _report(n, state)
        )
        _send(state)
        return Part(table, None, end, frames)
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


def combine(paths: Sequence[str], parts: Sequence[Sequence[Part]]) -> FlowTable:
    """Partial tables (per input file, its parts in file order) → the one-process table:
    each file's ranges joined as one file (frames renumbered file-wide, flows oriented
    from the whole file's evidence), then the files merged as ``read_flows`` merges them."""
    acct = Accounting()
    per_file: list[FlowColumns] = []
    for path, file_parts in zip(paths, parts, strict=True):
        tables = [p.table for p in file_parts if p.table is not None]
        for k, t in enumerate(tables):
            acct.add(t.accounting)
            if k:
                acct.files -= t.accounting.files
        per_file.append(_join_ranges(path, file_parts))
    if not per_file:
        return FlowTable([], acct)
    return FlowTable(accounting=acct, columns=merge_columns(per_file))


INT64_MAX = np.iinfo(np.int64).max
SWAP = (("src_hi", "dst_hi"), ("src_lo", "dst_lo"), ("sport", "dport"),
        ("pkts_fwd", "pkts_rev"), ("bytes_fwd", "bytes_rev"), ("flags_fwd", "flags_rev"))  # fmt: skip


def _join_ranges(path: str, file_parts: Sequence[Part]) -> FlowColumns:
    """The ranges of one file as the table of the whole file."""
    tables: list[FlowColumns] = []
    frames: list[dict[str, np.ndarray]] = []
    seen = 0
    for part in file_parts:
        assert part.table is not None
        cols = part.table.columns
        arrays = {name: getattr(cols, name) for name in COLUMN_NAMES}
        if seen:
            arrays["first_frame"] = arrays["first_frame"] + seen
        tables.append(FlowColumns.from_arrays(arrays, [path], cols.names, cols.tunnels))
        if part.frames is not None:
            frames.append({k: np.where(v >= 0, v + seen, -1) for k, v in part.frames.items()})
        seen += part.table.accounting.records
    if len(tables) == 1:
        return tables[0]
    merged, row_group, same = merge_groups(tables)
    arrays = {name: getattr(merged, name) for name in COLUMN_NAMES}
    arrays["file"] = np.zeros(len(merged), dtype=np.int32)
    if len(frames) == len(tables) and len(merged):
        flip = ~_initiator_is_src(merged, row_group, same, frames)
        if flip.any():
            for a, b in SWAP:
                arrays[a], arrays[b] = (
                    np.where(flip, arrays[b], arrays[a]),
                    np.where(flip, arrays[a], arrays[b]),
                )
            del arrays["state"], arrays["answered"]  # recomputed for the new orientation
    return FlowColumns.from_arrays(arrays, [path], merged.names, merged.tunnels)


def _initiator_is_src(
    merged: FlowColumns,
    row_group: np.ndarray,
    same: np.ndarray,
    frames: Sequence[dict[str, np.ndarray]],
) -> np.ndarray:
    """Per merged flow: does its source initiate it, judged by the one rule
    (``flows.build.initiator_is_a``, per flow) on the evidence of all its ranges?"""
    from segverify.flows.build import initiators
    from segverify.jit import for_rows

    ev = {k: np.concatenate([f[k] for f in frames]) for k in frames[0]}
    n = len(merged)

    def earliest(at_src: str, at_dst: str) -> np.ndarray:
        v = np.where(same, ev[at_src], ev[at_dst])
        out = np.full(n, INT64_MAX, dtype=np.int64)
        np.minimum.at(out, row_group, np.where(v >= 0, v, INT64_MAX))
        return np.where(out == INT64_MAX, -1, out)

    return for_rows(n)(initiators)(  # type: ignore[no-any-return]
        earliest("syn_fwd", "syn_rev"), earliest("syn_rev", "syn_fwd"),
        earliest("first_fwd", "first_rev"), earliest("first_rev", "first_fwd"),
        merged.flags_fwd.astype(np.int64), merged.flags_rev.astype(np.int64),
        merged.proto.astype(np.int64), merged.sport.astype(np.int64),
        merged.dport.astype(np.int64),
    )  # fmt: skip


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
        raise InputError(Msg("error.distributed.engine.engine_dask_needs_dask_pip")) from None
    if scheduler:
        try:
            return Client(scheduler, timeout="10s"), None
        except (OSError, TimeoutError) as exc:
            raise InputError(
                Msg(
                    "error.distributed.engine.cannot_reach_dask_scheduler",
                    scheduler=scheduler,
                    reason=exc,
                )
            ) from None
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
            raise InputError(Msg("error.distributed.engine.cannot_open_capture_no_such"), p)
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
) -> list[list[Part]]:
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
    out: list[list[Part]] = []
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
        out.append(file_parts)
    # events may still be in flight: the last line shows the records the tables hold
    held = sum(p.table.accounting.records for ps in out for p in ps if p.table is not None)
    bar.records = max(bar.records, held)
    return out
