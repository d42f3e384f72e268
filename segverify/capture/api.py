"""Reading captures into one flow table: backend registry, parallel files, merging.

Each backend is a module with ``read_file(path: str, ...) -> FlowTable``, imported only
when used. Several files are read in parallel processes and merged as if they were one
capture: flows with the same key merge; a merged flow keeps the orientation, first frame
and file of the first file (in the order given) that holds it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from typing import Any

from segverify.capture.fast import DEFAULT_CHUNK_RECORDS
from segverify.capture.progress import Progress
from segverify.errors import InputError
from segverify.flows.model import Accounting, Flow, FlowTable

BACKENDS: dict[str, str] = {
    "fast": "segverify.capture.fast",
    "scapy": "segverify.capture.scapy_backend",
    "pyshark": "segverify.capture.pyshark_backend",
}


def backend_reader(name: str) -> Callable[..., FlowTable]:
    """The ``read_file`` function of a registered backend."""
    module_name = BACKENDS.get(name)
    if module_name is None:
        raise InputError(f"unknown capture backend {name!r} (known: {', '.join(sorted(BACKENDS))})")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise InputError(f"capture backend {name!r} is not available: {exc}") from None
    return module.read_file  # type: ignore[no-any-return]


def _read_one(backend: str, path: str, chunk_records: int) -> FlowTable:
    reader = backend_reader(backend)
    if backend == "fast":
        return reader(path, chunk_records=chunk_records)
    return reader(path)


def _read_in_worker(
    backend: str, path: str, chunk_records: int
) -> tuple[FlowTable | None, tuple[str, str | None] | None]:
    """Worker side: input errors travel back as plain data."""
    try:
        return _read_one(backend, path, chunk_records), None
    except InputError as exc:
        return None, (exc.message, exc.file)


def flow_key(f: Flow) -> tuple[Any, ...]:
    """Direction-free key: protocol and the two (address, port) endpoints, sorted."""
    a = (f.src, -1 if f.sport is None else f.sport)
    b = (f.dst, -1 if f.dport is None else f.dport)
    return (f.proto, *sorted((a, b)))


def merge_flow(first: Flow, other: Flow) -> Flow:
    """``other`` added to ``first``, keeping ``first``'s orientation and file."""
    same = (other.src, other.sport) == (first.src, first.sport) and (
        (other.dst, other.dport) == (first.dst, first.dport)
    )
    if same:
        pf, bf, pr, br = other.packets_fwd, other.bytes_fwd, other.packets_rev, other.bytes_rev
        ff, fr = other.tcp_flags_fwd, other.tcp_flags_rev
    else:
        pf, bf, pr, br = other.packets_rev, other.bytes_rev, other.packets_fwd, other.bytes_fwd
        ff, fr = other.tcp_flags_rev, other.tcp_flags_fwd
    names = first.names + tuple(n for n in other.names if n not in first.names)
    tunnel = first.tunnel + tuple(t for t in other.tunnel if t not in first.tunnel)
    return replace(
        first,
        packets_fwd=first.packets_fwd + pf,
        bytes_fwd=first.bytes_fwd + bf,
        packets_rev=first.packets_rev + pr,
        bytes_rev=first.bytes_rev + br,
        first_ns=min(first.first_ns, other.first_ns),
        last_ns=max(first.last_ns, other.last_ns),
        tcp_flags_fwd=first.tcp_flags_fwd | ff,
        tcp_flags_rev=first.tcp_flags_rev | fr,
        names=names,
        tunnel=tunnel,
    )


def merge_tables(tables: Sequence[FlowTable]) -> FlowTable:
    """Merge per-file tables (in the order given) as if they were one capture."""
    if len(tables) == 1:
        return tables[0]
    acct = Accounting()
    merged: dict[tuple[Any, ...], Flow] = {}
    for table in tables:
        acct.add(table.accounting)
        for f in table.flows:
            key = flow_key(f)
            have = merged.get(key)
            merged[key] = f if have is None else merge_flow(have, f)
    return FlowTable(list(merged.values()), acct)


def read_flows(
    paths: Sequence[str],
    backend: str = "fast",
    jobs: int = 1,
    progress: bool = False,
    chunk_records: int = DEFAULT_CHUNK_RECORDS,
) -> FlowTable:
    """Read capture files into one flow table.

    ``jobs`` > 1 reads files in that many processes. ``progress`` draws a progress line on
    stderr when it is a terminal. Files that are not captures raise ``InputError``.
    """
    paths = list(paths)
    backend_reader(backend)  # fail early on an unknown backend
    bar = Progress(len(paths), progress)
    tables: list[FlowTable] = []
    try:
        if jobs <= 1 or len(paths) <= 1:
            for path in paths:
                if backend == "fast":
                    from segverify.capture.fast import read_file

                    table = read_file(path, chunk_records, on_progress=bar.add_records)
                else:
                    table = _read_one(backend, path, chunk_records)
                    bar.add_records(table.accounting.records)
                tables.append(table)
                bar.file_done()
        else:
            with ProcessPoolExecutor(max_workers=min(jobs, len(paths))) as pool:
                futures = [pool.submit(_read_in_worker, backend, p, chunk_records) for p in paths]
                for fut in futures:
                    table, error = fut.result()
                    if table is None:
                        assert error is not None
                        raise InputError(error[0], error[1])
                    bar.add_records(table.accounting.records)
                    bar.file_done()
                    tables.append(table)
    finally:
        bar.close()
    if not tables:
        return FlowTable([], Accounting())
    return merge_tables(tables)
