"""Lines of a text log, numbered from 1, gzip-compressed or not."""

from __future__ import annotations

import csv
import gzip
from collections.abc import Iterator
from typing import TYPE_CHECKING

from segverify.errors import InputError

if TYPE_CHECKING:
    from segverify.flowlogs.records import Collector


def read_bytes(path: str) -> bytes:
    """The file's bytes, decompressed when it is gzip; ``InputError`` when unreadable."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", path) from None
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise InputError(f"broken gzip data: {exc}", path) from None
    return data


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
        col.malformed(f"not a CSV row: {exc}", line=lineno)
        return None
