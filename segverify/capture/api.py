"""Reading captures into one flow table: backend registry, parallel files, merging.

Each backend is a module with ``read_file(path: str, ...) -> FlowTable``, imported only
when used. Several files are read in parallel processes and merged as if they were one
capture: flows with the same key merge; a merged flow keeps the orientation, first frame
and file of the first file (in the order given) that holds it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence

from segverify.capture.fast import DEFAULT_CHUNK_RECORDS
from segverify.capture.progress import Progress
from segverify.errors import InputError
from segverify.flows.merge import merge_columns
from segverify.flows.model import Accounting, FlowTable
from segverify.i18n import Msg

BACKENDS: dict[str, str] = {
    "fast": "segverify.capture.fast",
    "scapy": "segverify.capture.scapy_backend",
    "pyshark": "segverify.capture.pyshark_backend",
}


def backend_reader(name: str) -> Callable[..., FlowTable]:
    """The ``read_file`` function of a registered backend."""
    module_name = BACKENDS.get(name)
    if module_name is None:
        raise InputError(
            Msg(
                "error.capture.api.unknown_capture_backend_known",
                name=name,
                backends=", ".join(sorted(BACKENDS)),
            )
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise InputError(
            Msg("error.capture.api.capture_backend_not_available", name=name, reason=exc)
        ) from None
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


def merge_tables(tables: Sequence[FlowTable]) -> FlowTable:
    """Merge per-file tables (in the order given) as if they were one capture."""
    if len(tables) == 1:
        return tables[0]
    acct = Accounting()
    for table in tables:
        acct.add(table.accounting)
    return FlowTable(accounting=acct, columns=merge_columns([t.columns for t in tables]))


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
            from concurrent.futures import ProcessPoolExecutor

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
