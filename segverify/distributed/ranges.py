"""Cutting a large uncompressed pcap file into byte ranges that start on record boundaries.

A boundary near a target offset is *found*, not proven: from the target on, the first
offset where ``CHAIN`` consecutive record headers are plausible (captured length within
the reader's limit and not above the original length, sub-second field in range, time
within a year of the file's first record). The proof comes from reading: the reader of the
range before a boundary must stop exactly on it (``engine`` checks, and reads the file
whole when it does not). pcapng and gzip-compressed files are never split.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

from segverify.capture.fast import pcap_max_caplen
from segverify.capture.source import PCAP_HEADER_LEN, PCAP_MAGICS, Format

CHAIN = 8
SCAN_BYTES = 4 << 20  # how far past a target a boundary is looked for
YEAR_S = 366 * 86400


@dataclass(frozen=True)
class Range:
    """Bytes ``[start, stop)`` of ``path``; ``final`` for the file's last range."""

    path: str
    start: int
    stop: int
    final: bool


def pcap_format(path: str) -> tuple[Format, int] | None:
    """(format, snaplen) of a plain (uncompressed) pcap file, None for anything else."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(PCAP_HEADER_LEN)
    except OSError:
        return None
    if len(head) < PCAP_HEADER_LEN or head[:4] not in PCAP_MAGICS:
        return None
    big, nsec, rechdr = PCAP_MAGICS[head[:4]]
    snaplen = struct.unpack((">" if big else "<") + "I", head[16:20])[0]
    return Format("pcap", False, big, nsec, rechdr), snaplen


class _Headers:
    def __init__(self, fmt: Format, snaplen: int, first_sec: int) -> None:
        self.order = ">" if fmt.big else "<"
        self.rechdr = fmt.rechdr
        self.max_frac = 1_000_000_000 if fmt.nsec else 1_000_000
        self.max_caplen = pcap_max_caplen(snaplen)
        self.first_sec = first_sec

    def plausible(self, data: bytes, p: int) -> int:
        """Length of the record at ``p`` if its header is plausible, else -1."""
        sec, frac, caplen, wirelen = struct.unpack_from(self.order + "IIII", data, p)
        if caplen > self.max_caplen or caplen > wirelen or frac >= self.max_frac:
            return -1
        if abs(sec - self.first_sec) > YEAR_S:
            return -1
        return self.rechdr + caplen

    def chain_from(self, data: bytes, p: int, file_end: bool) -> bool:
        """CHAIN plausible headers from ``p`` (or a plausible run to the end of the file)."""
        for _ in range(CHAIN):
            if p == len(data) and file_end:
                return True
            if p + self.rechdr > len(data):
                return False
            n = self.plausible(data, p)
            if n < 0:
                return False
            p += n
        return True


def split_pcap(path: str, range_bytes: int) -> list[Range]:
    """Ranges of about ``range_bytes`` covering the whole file (one range when the file is
    small, not a plain pcap, or no boundary is found)."""
    whole = [Range(path, 0, -1, True)]
    found = pcap_format(path)
    if found is None:
        return whole
    fmt, snaplen = found
    size = os.path.getsize(path)
    if size <= range_bytes + PCAP_HEADER_LEN or range_bytes <= 0:
        return whole
    with open(path, "rb") as fh:
        fh.seek(PCAP_HEADER_LEN)
        first = fh.read(8)
        if len(first) < 8:
            return whole
        first_sec = struct.unpack_from((">" if fmt.big else "<") + "I", first)[0]
        heads = _Headers(fmt, snaplen, first_sec)
        cuts = [PCAP_HEADER_LEN]
        target = PCAP_HEADER_LEN + range_bytes
        while target < size:
            fh.seek(target)
            data = fh.read(SCAN_BYTES)
            file_end = target + len(data) >= size
            at = next(
                (
                    i
                    for i in range(max(0, len(data) - heads.rechdr + 1))
                    if heads.chain_from(data, i, file_end)
                ),
                None,
            )
            if at is None or target + at >= size:
                break
            cuts.append(target + at)
            target = target + at + range_bytes
    if len(cuts) == 1:
        return whole
    ends = [*cuts[1:], size]
    return [
        Range(path, a, b, i == len(cuts) - 1)
        for i, (a, b) in enumerate(zip(cuts, ends, strict=True))
    ]
