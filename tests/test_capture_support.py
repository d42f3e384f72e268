"""Helpers shared by the capture tests (no tests here): the corpus file list, an
independent record counter, and a parser for tshark's conversation tables."""

from __future__ import annotations

import gzip
import ipaddress
import os
import re
import struct
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(os.environ.get("SEGVERIFY_FIXTURES", REPO.parent / "shared" / "fixtures"))
CORPUS = FIXTURES / "pcaps" / "zeek-traces"
BASELINES = FIXTURES / "pcaps" / "zeek-baselines"
SECTIONS = {
    "IPv4 Conversations": "ip",
    "IPv6 Conversations": "ip",
    "TCP Conversations": "tcp",
    "UDP Conversations": "udp",
}
ROW = re.compile(
    r"^(\S+)\s+<->\s+(\S+)\s+(\d+)\s+(\d+) (\S+)\s+(\d+)\s+(\d+) (\S+)\s+(\d+)\s+(\d+) (\S+)"
)
UNITS = {"bytes": 1, "kB": 1000, "MB": 10**6, "GB": 10**9}


def corpus_files() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    return sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.name != "COPYING")


def corpus_ids(files: list[Path]) -> list[str]:
    return [str(p.relative_to(CORPUS)) for p in files]


def count_records(path: Path) -> int | None:
    """Complete records in a pcap/pcapng (gzip allowed), counted without segverify;
    None when the file is not a capture."""
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError):
            with gzip.open(path) as fh:
                data = b""
                try:
                    while chunk := fh.read(65536):
                        data += chunk
                except (OSError, EOFError):
                    pass
    magic = data[:4]
    if magic == b"\x0a\x0d\x0d\x0a":
        return _count_pcapng(data)
    orders = {b"\xd4\xc3\xb2\xa1": "<", b"\x4d\x3c\xb2\xa1": "<", b"\xa1\xb2\xc3\xd4": ">",
              b"\xa1\xb2\x3c\x4d": ">", b"\x34\xcd\xb2\xa1": "<", b"\xa1\xb2\xcd\x34": ">"}  # fmt: skip
    if magic not in orders:
        return None
    order = orders[magic]
    rechdr = 24 if magic in (b"\x34\xcd\xb2\xa1", b"\xa1\xb2\xcd\x34") else 16
    pos, n = 24, 0
    while pos + rechdr <= len(data):
        caplen = struct.unpack_from(order + "I", data, pos + 8)[0]
        if pos + rechdr + caplen > len(data) or caplen > 64 << 20:
            break
        pos += rechdr + caplen
        n += 1
    return n


def _count_pcapng(data: bytes) -> int:
    pos, n, order = 0, 0, "<"
    while pos + 12 <= len(data):
        btype = struct.unpack_from(order + "I", data, pos)[0]
        if btype == 0x0A0D0D0A:
            order = "<" if data[pos + 8 : pos + 12] == b"\x4d\x3c\x2b\x1a" else ">"
        blen = struct.unpack_from(order + "I", data, pos + 4)[0]
        if blen < 12 or blen % 4 or pos + blen > len(data):
            break
        if btype in (2, 3, 6):
            n += 1
        pos += blen
    return n


def _endpoint(text: str, kind: str) -> object:
    if kind == "ip":
        return str(ipaddress.ip_address(text))
    host, port = text.rsplit(":", 1)
    return (str(ipaddress.ip_address(host.strip("[]"))), int(port))


def parse_conversations(stdout: str) -> dict[str, dict[tuple, list]]:
    """tshark ``-z conv,…`` output → kind → (a, b) → [frames a→b, bytes a→b, frames b→a,
    bytes b→a]; byte counts are (value, unit) lists because tshark rounds to kB/MB. Rows
    for the same endpoint pair (tshark sometimes splits one) are summed."""
    convs: dict[str, dict[tuple, list]] = {"ip": {}, "tcp": {}, "udp": {}}
    kind = None
    for line in stdout.splitlines():
        if line.strip() in SECTIONS:
            kind = SECTIONS[line.strip()]
            continue
        m = ROW.match(line)
        if not m or kind is None:
            continue
        a, b = _endpoint(m[1], kind), _endpoint(m[2], kind)
        ba = (int(m[3]), (int(m[4]), UNITS[m[5]]))  # "<-" columns: b → a
        ab = (int(m[6]), (int(m[7]), UNITS[m[8]]))
        table = convs[kind]
        if (b, a) in table and (a, b) not in table:
            a, b, ab, ba = b, a, ba, ab
        entry = table.setdefault((a, b), [0, [], 0, []])
        entry[0] += ab[0]
        entry[1].append(ab[1])
        entry[2] += ba[0]
        entry[3].append(ba[1])
    return convs


def size_matches(ours: int, parts: list[tuple[int, int]]) -> bool:
    """Our exact byte count against tshark's (possibly rounded, possibly summed) sizes."""
    lo = sum(n * u for n, u in parts)
    hi = sum(n * u + (u - 1 if u > 1 else 0) for n, u in parts)
    return lo <= ours <= hi
