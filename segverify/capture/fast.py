"""The fast backend: a compiled walk + decode over a bounded byte window, writing rows into
a preallocated column array, then compiled hash aggregation into flows.

Memory follows ``chunk_records`` (rows) and the window (bytes), plus one entry per flow;
never the file size. No Python object is made per packet: Python touches only the rare
records (pcapng section/interface blocks, IP fragments, tunnelled rows, the few payloads
picked for name extraction).
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np
from numba import njit

from segverify.capture.columns import (
    BUCKET,
    BUCKET_ANALYSED,
    BUCKET_PENDING,
    DPORT,
    DST_HI,
    DST_LO,
    FLOW,
    FRAG,
    FRAG_FIRST,
    IPID,
    NCOL,
    PAY_LEN,
    PAY_OFF,
    PROTO,
    SPORT,
    SRC_HI,
    SRC_LO,
    T1TYPE,
    TDEPTH,
    TUNNEL_NAMES,
    VER,
)
from segverify.capture.pcapng import Interfaces, add_interface, section_byte_order
from segverify.capture.source import (
    PCAP_HEADER_LEN,
    Format,
    MappedWindow,
    Window,
    open_stream,
    pcap_header,
    sniff,
)
from segverify.capture.walk import CONTROL, CORRUPT, FULL, PCAPNG_SHB, walk_pcap, walk_pcapng
from segverify.flows.aggregate import FlowState
from segverify.flows.build import AddressText, build_columns, packed_address
from segverify.flows.model import BUCKETS, Accounting, FlowTable

try:
    from segverify.capture.evidence import MAX_FLOW_NAMES, extract_names
except ImportError:  # pragma: no cover - evidence extraction not available
    extract_names = None  # type: ignore[assignment]
    MAX_FLOW_NAMES = 16

DEFAULT_CHUNK_RECORDS = 65536
WINDOW_BYTES = 8 << 20
MAX_WINDOW_BYTES = 256 << 20
MAX_CAPLEN = 256 << 10  # larger pcap records mean a corrupt record header
MAX_NAME_PAYLOADS = 4  # payloads per flow handed to extract_names


@njit(cache=True)
def summarise(rows, n, counts):  # type: ignore[no-untyped-def]
    """Bucket counts of rows[:n] into ``counts``; returns (fragment rows, tunnelled rows)."""
    nfrag = 0
    ntun = 0
    for i in range(n):
        b = rows[i, BUCKET]
        counts[b] += 1
        if b == BUCKET_ANALYSED:
            if rows[i, FRAG] != 0:
                nfrag += 1
            if rows[i, TDEPTH] != 0:
                ntun += 1
    return nfrag, ntun


class FileReader:
    """Reads one capture file into a flow table."""

    def __init__(
        self,
        path: str,
        chunk_records: int = DEFAULT_CHUNK_RECORDS,
        on_progress: Callable[[int], None] | None = None,
    ) -> None:
        self.path = path
        self.chunk = max(1, int(chunk_records))
        self.rows = np.zeros((self.chunk, NCOL), dtype=np.int64)
        self.cand = np.zeros((self.chunk, 2), dtype=np.int64)
        self.counts = np.zeros(10, dtype=np.int64)
        self.state = FlowState()
        self.acct = Accounting(files=1)
        self.frame_base = 0
        self.names: dict[int, list[str]] = {}
        self.tunnels: dict[int, list[str]] = {}
        self.first_fragments: dict[tuple[int, ...], tuple[int, int]] = {}
        self.pending: list[np.ndarray] = []
        self.text = AddressText()
        self.on_progress = on_progress
        self.win: Window | MappedWindow | None = None

    # -- driving ---------------------------------------------------------------------
    def read(self) -> FlowTable:
        stream, compressed = open_stream(self.path)
        with stream:
            mapped = None
            if not compressed and os.fstat(stream.fileno()).st_size > 0:
                try:
                    mapped = MappedWindow(stream, WINDOW_BYTES)
                except (OSError, ValueError):  # not mappable (a device, a pipe): stream it
                    mapped = None
            self.win = mapped or Window(stream, WINDOW_BYTES, MAX_WINDOW_BYTES)
            try:
                self.win.need(PCAP_HEADER_LEN)
                head = bytes(self.win.buf[: min(self.win.stop, 8)])
                fmt = sniff(head, self.path, self.win.error)
                if fmt.kind == "pcap":
                    self._read_pcap(fmt)
                else:
                    self._read_pcapng()
                self._finish()
            finally:
                self.win = None
                if mapped is not None:
                    mapped.close()
        columns = build_columns(self.state, self.path, self.names, self.tunnels)
        return FlowTable(accounting=self.acct, columns=columns)

    def _cut(self, at: int, reason: str) -> None:
        self.acct.cut_short.append(f"{self.path}: stopped at byte {at} ({reason})")

    def _more(self) -> bool:
        """Read more after a walk ran out of bytes; record why when it cannot."""
        win = self.win
        assert win is not None
        if win.fill():
            return True
        left = win.stop - win.start
        if win.error:
            self._cut(win.offset(win.stop), win.error)
        elif not win.eof:
            self._cut(win.offset(win.start), "record larger than the reader's window limit")
        elif left:
            self._cut(win.offset(win.start), f"last record cut short, {left} bytes left")
        return False

    def _read_pcap(self, fmt: Format) -> None:
        win = self.win
        assert win is not None
        if win.stop < PCAP_HEADER_LEN:
            self._cut(0, "pcap file header cut short")
            return
        link, snaplen = pcap_header(bytes(win.buf[:PCAP_HEADER_LEN]), fmt)
        max_caplen = max(MAX_CAPLEN, min(snaplen, MAX_WINDOW_BYTES // 2))
        win.start = PCAP_HEADER_LEN
        while True:
            n, p, outcome = walk_pcap(
                win.buf, win.start, win.stop, fmt.big, fmt.nsec, fmt.rechdr, max_caplen,
                link, self.rows, self.frame_base, self.chunk,
            )  # fmt: skip
            self._chunk(n)
            win.start = p
            if outcome == FULL:
                continue
            if outcome == CORRUPT:
                self._cut(win.offset(p), "record header with an impossible captured length")
                return
            if not self._more():
                return

    def _read_pcapng(self) -> None:
        win = self.win
        assert win is not None
        big = False
        ifaces = Interfaces()
        arrays = ifaces.arrays()
        while True:
            n, p, outcome = walk_pcapng(
                win.buf, win.start, win.stop, big, *arrays, len(ifaces.link),
                self.rows, self.frame_base, self.chunk,
            )  # fmt: skip
            self._chunk(n)
            win.start = p
            if outcome == FULL:
                continue
            if outcome == CORRUPT:
                self._cut(win.offset(p), "block with an impossible length")
                return
            if outcome != CONTROL:
                if not self._more():
                    return
                continue
            # section header or interface description at win.start
            if not win.need(12):
                self._more()
                return
            head = bytes(win.buf[win.start : win.start + 12])
            if int.from_bytes(head[:4], "little") == PCAPNG_SHB:
                order = section_byte_order(head)
                if order is None:
                    self._cut(win.offset(win.start), "section header with a bad byte-order magic")
                    return
                big = order
                ifaces = Interfaces()
                arrays = ifaces.arrays()
            blen = int.from_bytes(head[4:8], "big" if big else "little")
            if blen < 12 or blen % 4:
                self._cut(win.offset(win.start), "block with an impossible length")
                return
            if not win.need(blen):
                self._more()
                return
            block = win.take(blen)
            if int.from_bytes(head[:4], "big" if big else "little") == 1:
                if blen < 20:
                    self._cut(win.offset(win.start - blen), "interface description too short")
                    return
                add_interface(block, big, ifaces)
                arrays = ifaces.arrays()

    # -- per chunk -------------------------------------------------------------------
    def _chunk(self, n: int) -> None:
        if n == 0:
            return
        rows = self.rows
        self.counts[:] = 0
        nfrag, ntun = summarise(rows, n, self.counts)
        self.acct.records += n
        for b, name in enumerate(BUCKETS):
            setattr(self.acct, name, getattr(self.acct, name) + int(self.counts[b]))
        if nfrag:
            self._fragments(rows[:n])
        nc = self.state.add(rows, n, self.cand, MAX_NAME_PAYLOADS)
        if nc and extract_names is not None:
            self._names(rows, nc)
        if ntun:
            self._tunnels(rows[:n])
        self.frame_base += n
        if self.on_progress is not None:
            self.on_progress(n)

    def _frag_key(self, r: np.ndarray) -> tuple[int, ...]:
        return (int(r[VER]), int(r[SRC_HI]), int(r[SRC_LO]), int(r[DST_HI]), int(r[DST_LO]),
                int(r[PROTO]), int(r[IPID]))  # fmt: skip

    def _fragments(self, rows: np.ndarray) -> None:
        """Give non-first fragments the ports of their first fragment (src, dst, proto, id)."""
        idx = np.nonzero((rows[:, BUCKET] == BUCKET_ANALYSED) & (rows[:, FRAG] != 0))[0]
        for i in idx.tolist():
            r = rows[i]
            key = self._frag_key(r)
            if r[FRAG] == FRAG_FIRST:
                self.first_fragments[key] = (int(r[SPORT]), int(r[DPORT]))
                continue
            ports = self.first_fragments.get(key)
            if ports is None:
                self.pending.append(r.copy())
                r[BUCKET] = BUCKET_PENDING
            else:
                r[SPORT], r[DPORT] = ports

    def _finish(self) -> None:
        """Fragments whose first fragment came later (or never): aggregate them now."""
        if not self.pending:
            return
        rows = np.stack(self.pending)
        for r in rows:
            ports = self.first_fragments.get(self._frag_key(r))
            if ports is not None:
                r[SPORT], r[DPORT] = ports
            r[BUCKET] = BUCKET_ANALYSED
        cand = np.zeros((len(rows), 2), dtype=np.int64)
        rows[:, PAY_LEN] = 0
        self.state.add(rows, len(rows), cand, 0)
        if np.any(rows[:, TDEPTH]):
            self._tunnels(rows)
        self.pending = []

    def _names(self, rows: np.ndarray, nc: int) -> None:
        win = self.win
        assert win is not None and extract_names is not None
        for i, f in self.cand[:nc].tolist():
            r = rows[i]
            off, size = int(r[PAY_OFF]), int(r[PAY_LEN])
            payload = bytes(win.buf[off : off + size])
            found = extract_names(payload, int(r[PROTO]), int(r[SPORT]), int(r[DPORT]))
            if not found:
                continue
            have = self.names.setdefault(f, [])
            for name in found:
                if name not in have and len(have) < MAX_FLOW_NAMES:
                    have.append(name)

    def _tunnels(self, rows: np.ndarray) -> None:
        sel = rows[(rows[:, BUCKET] == BUCKET_ANALYSED) & (rows[:, TDEPTH] > 0)]
        cols = [FLOW, TDEPTH, *range(T1TYPE, T1TYPE + 10)]
        for u in np.unique(sel[:, cols], axis=0).tolist():
            f, depth, layers = u[0], u[1], u[2:]
            have = self.tunnels.setdefault(f, [])
            for level in range(min(depth, 2)):
                ttype, shi, slo, dhi, dlo = layers[level * 5 : level * 5 + 5]
                ver = ttype >> 8
                src = self.text(packed_address(ver, shi, slo))
                dst = self.text(packed_address(ver, dhi, dlo))
                text = f"{TUNNEL_NAMES.get(ttype & 0xFF, 'tunnel')} {src}>{dst}"
                if text not in have:
                    have.append(text)


def read_file(
    path: str,
    chunk_records: int = DEFAULT_CHUNK_RECORDS,
    on_progress: Callable[[int], None] | None = None,
) -> FlowTable:
    """Read one capture (pcap, pcapng, either gzip-compressed) into a flow table."""
    return FileReader(path, chunk_records, on_progress).read()
