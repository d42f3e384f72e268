"""Lines of a text log, numbered from 1, gzip-compressed or not."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import TYPE_CHECKING

from segverify.i18n import Msg
from segverify.limits import FLOW_LOG_MAX_BYTES, read_maybe_gzip_bounded

if TYPE_CHECKING:
    from segverify.flowlogs.records import Collector


def read_bytes(path: str, limit: int = FLOW_LOG_MAX_BYTES) -> bytes:
    """The file's bytes, decompressed when it is gzip, bounded before and after
    decompression; ``InputError`` when unreadable or too large."""
    return read_maybe_gzip_bounded(path, limit, "flow log")


def numbered_lines(data: bytes) -> Iterator[tuple[int, str]]:
    """(line number, text) with the line end removed; bytes that are not UTF-8 are replaced
    (U+FFFD) so one bad byte never hides a record."""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for number, raw in enumerate(lines, 1):
        yield number, raw.rstrip(b"\r").decode("utf-8", "replace")


def log_lines(col: Collector) -> Iterator[tuple[int, str]]:
    """The non-blank lines of ``col``'s file, numbered; every line is counted in
    ``col.stats`` (``lines``, and ``blank_lines`` for those not yielded)."""
    for lineno, line in numbered_lines(read_bytes(col.path)):
        col.stats.lines += 1
        if not line.strip():
            col.stats.blank_lines += 1
            continue
        yield lineno, line


def csv_cells(col: Collector, lineno: int, line: str) -> list[str] | None:
    """One line as a strict CSV row, or ``None`` after counting it malformed."""
    try:
        return next(csv.reader([line], strict=True))
    except csv.Error as exc:
        col.malformed(Msg("error.flowlogs.not_csv_row", reason=str(exc)), line=lineno)
        return None
