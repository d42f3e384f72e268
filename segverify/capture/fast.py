"""The fast backend: a compiled walk + decode over a bounded byte window, writing rows into
a preallocated column array, handed chunk by chunk to the one flow builder
(``flows/ingest.py``: compiled hash aggregation, fragments, names, tunnels).

Memory follows ``chunk_records`` (rows) and the window (bytes), plus one entry per flow;
never the file size. No Python object is made per packet: Python touches only the rare
records (pcapng section/interface blocks, IP fragments, tunnelled rows, the few payloads
picked for name extraction).
"""

from __future__ import annotations

import functools
import os
import queue
import threading
from collections.abc import Callable, Iterator

import numpy as np

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
from segverify.errors import InputError
from segverify.flows.ingest import FlowIngest
from segverify.flows.model import FlowTable
from segverify.flows.rows import NCOL
from segverify.i18n import Msg
from segverify.jit import PLAIN_RECORDS, Kernels, compiled, for_bytes, for_path
from segverify.pages import Populator

DEFAULT_CHUNK_RECORDS = 65536
WINDOW_BYTES = 8 << 20
MAX_WINDOW_BYTES = 256 << 20
MAX_CAPLEN = 256 << 10  # larger pcap records mean a corrupt record header


TakeRows = Callable[[], np.ndarray]  # the row array the next walk writes into
# each walk's rows, how many it decoded, and the offset after its last record
Walks = Callable[[TakeRows], Iterator[tuple[np.ndarray, int, int]]]


class _Stopped(Exception):
    """The reading thread stopped: the walk thread ends without walking further."""


def pcap_max_caplen(snaplen: int) -> int:
    """Captured lengths above this mean a corrupt pcap record header."""
    return max(MAX_CAPLEN, min(snaplen, MAX_WINDOW_BYTES // 2))


class FileReader:
    """Reads one capture file into a flow table."""

    def __init__(
        self,
        path: str,
        chunk_records: int = DEFAULT_CHUNK_RECORDS,
        on_progress: Callable[[int], None] | None = None,
        byte_range: tuple[int, int] | None = None,
        kernels: Kernels | None = None,
    ) -> None:
        self.path = path
        # kernels: the caller's; else compiled for a large file, else plain until the
        # file turns out larger than PLAIN_RECORDS (gzip hides the size)
        self.adaptive = kernels is None
        if kernels is None:
            if byte_range is not None:
                kernels = for_bytes(byte_range[1] - byte_range[0])
            else:
                kernels = for_path(path)
        self.kernels = kernels
        self.byte_range = byte_range
        self.end_offset = -1  # where the walk stopped (the byte after the last record read)
        self.chunk = max(1, int(chunk_records))
        self.rows = np.zeros((self.chunk, NCOL), dtype=np.int64)
        self.ingest = FlowIngest(path, self.chunk, kernels)
        self.acct = self.ingest.acct
        self.frame_base = 0
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
            if self.byte_range is not None and mapped is None:
                raise InputError(
                    Msg("error.capture.fast.byte_range_needs_uncompressed_mappable"), self.path
                )
            self.win = mapped or Window(stream, WINDOW_BYTES, MAX_WINDOW_BYTES)
            try:
                self.win.need(PCAP_HEADER_LEN)
                head = bytes(self.win.buf[: min(self.win.stop, 8)])
                fmt = sniff(head, self.path, self.win.error)
                if fmt.kind == "pcap":
                    self._consume(functools.partial(self._read_pcap, fmt))
                elif self.byte_range is not None:
                    raise InputError(
                        Msg("error.capture.fast.byte_ranges_are_plain_pcap"), self.path
                    )
                else:
                    self._consume(self._read_pcapng)
                self.end_offset = self.win.offset(self.win.start)
            finally:
                self.win = None
                if mapped is not None:
                    mapped.close()
        return self.ingest.finish()

    def _cut(self, at: int, reason: str) -> None:
        self.acct.cut_short.append(
            Msg("warn.common.stopped_byte", path=self.path, at=at, reason=reason)
        )

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
            self._cut(win.offset(win.start), Msg("warn.capture.fast.record_larger_than_reader_s"))
        elif left:
            self._cut(
                win.offset(win.start),
                Msg("warn.capture.fast.last_record_cut_short_bytes", left=left),
            )
        return False

    # -- walks: each yields (rows, records decoded, offset after them) after every walk --
    def _consume(self, walks: Walks) -> None:
        """Aggregate the chunks of ``walks``: in this thread right after each walk, or,
        over a mapped file with compiled loops (which let the GIL go), with the walks run
        ahead in a second thread so that walking and aggregation overlap."""
        if isinstance(self.win, MappedWindow) and self.kernels.compiled:
            self._consume_ahead(walks)
            return
        for rows, n, _end in walks(lambda: self.rows):
            self._chunk(rows, n)

    def _consume_ahead(self, walks: Walks) -> None:
        """Walks in a worker thread, two row arrays between them: the walk fills one while
        this thread aggregates the other (payload offsets index the mapped file, which
        stays in place). The worker's errors are raised here; an error here stops it."""
        free: queue.SimpleQueue[np.ndarray] = queue.SimpleQueue()
        done: queue.SimpleQueue[tuple[np.ndarray, int, int] | BaseException | None] = (
            queue.SimpleQueue()
        )
        win = self.win
        assert isinstance(win, MappedWindow)
        win.held = win.start
        free.put(self.rows)
        free.put(np.zeros_like(self.rows))
        stop = threading.Event()

        def take() -> np.ndarray:
            rows = free.get()
            if stop.is_set():
                raise _Stopped
            return rows

        state = self.ingest.state
        populator = Populator()

        def produce() -> None:
            try:
                for item in walks(take):
                    done.put(item)
                    # while the other thread aggregates: clear the pages of the flow rows
                    # the next chunks may take (each takes at most a chunk of new flows)
                    state.populate_ahead(populator, 2 * self.chunk)
            except _Stopped:
                return
            except BaseException as exc:  # noqa: BLE001 - handed to the reading thread
                done.put(exc)
                return
            done.put(None)

        worker = threading.Thread(target=produce, name="segverify-walk", daemon=True)
        worker.start()
        try:
            while (item := done.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                rows, n, end = item
                self._chunk(rows, n)
                win.held = end  # the bytes before ``end`` may go
                free.put(rows)
                # this thread waits for the walks more than they wait for it: it maps the
                # next windows of the file, which the walk thread would otherwise do
                win.read_ahead(2 * WINDOW_BYTES)
        finally:
            stop.set()
            free.put(self.rows)  # wakes a worker waiting for rows
            worker.join()
            win.held = None

    def _read_pcap(self, fmt: Format, take: TakeRows) -> Iterator[tuple[np.ndarray, int, int]]:
        win = self.win
        assert win is not None
        if win.stop < PCAP_HEADER_LEN:
            self._cut(0, Msg("warn.capture.fast.pcap_file_header_cut_short"))
            return
        link, snaplen = pcap_header(bytes(win.buf[:PCAP_HEADER_LEN]), fmt)
        max_caplen = pcap_max_caplen(snaplen)
        win.start = PCAP_HEADER_LEN
        if self.byte_range is not None:
            assert isinstance(win, MappedWindow)
            win.limit(max(PCAP_HEADER_LEN, self.byte_range[0]), self.byte_range[1])
        while True:
            rows = take()
            n, p, outcome = self.kernels(walk_pcap)(
                win.buf, win.start, win.stop, fmt.big, fmt.nsec, fmt.rechdr, max_caplen,
                link, rows, self.frame_base, self._rows_per_walk(),
            )  # fmt: skip
            self.frame_base += n
            win.start = p
            yield rows, n, p
            if outcome == FULL:
                continue
            if outcome == CORRUPT:
                self._cut(
                    win.offset(p), Msg("warn.capture.fast.record_header_impossible_captured_length")
                )
                return
            if not self._more():
                return

    def _read_pcapng(self, take: TakeRows) -> Iterator[tuple[np.ndarray, int, int]]:
        win = self.win
        assert win is not None
        big = False
        ifaces = Interfaces()
        arrays = ifaces.arrays()
        while True:
            rows = take()
            n, p, outcome = self.kernels(walk_pcapng)(
                win.buf, win.start, win.stop, big, *arrays, len(ifaces.link),
                rows, self.frame_base, self._rows_per_walk(),
            )  # fmt: skip
            self.frame_base += n
            win.start = p
            yield rows, n, p
            if outcome == FULL:
                continue
            if outcome == CORRUPT:
                self._cut(win.offset(p), Msg("warn.capture.fast.block_impossible_length"))
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
                    self._cut(
                        win.offset(win.start),
                        Msg("warn.capture.fast.section_header_bad_byte_order"),
                    )
                    return
                big = order
                ifaces = Interfaces()
                arrays = ifaces.arrays()
            blen = int.from_bytes(head[4:8], "big" if big else "little")
            if blen < 12 or blen % 4:
                self._cut(win.offset(win.start), Msg("warn.capture.fast.block_impossible_length"))
                return
            if not win.need(blen):
                self._more()
                return
            block = win.take(blen)
            if int.from_bytes(head[:4], "big" if big else "little") == 1:
                if blen < 20:
                    self._cut(
                        win.offset(win.start - blen),
                        Msg("warn.capture.fast.interface_description_too_short"),
                    )
                    return
                add_interface(block, big, ifaces)
                arrays = ifaces.arrays()

    # -- per chunk -------------------------------------------------------------------
    def _rows_per_walk(self) -> int:
        """Rows the next walk may decode: small steps while plain and still adaptive (a
        plain walk over a whole chunk would take seconds), so the switch comes early."""
        if self.adaptive and not self.kernels.compiled:
            return min(self.chunk, 2048)
        return self.chunk

    def _chunk(self, rows: np.ndarray, n: int) -> None:
        if n == 0:
            return
        assert self.win is not None
        self.ingest.add(rows, n, self.win.buf)
        if self.adaptive and not self.kernels.compiled and self.frame_base >= PLAIN_RECORDS:
            # the same loops compiled from here on (both modes give the same rows)
            self.kernels = compiled()
            self.ingest.use(self.kernels)
        if self.on_progress is not None:
            self.on_progress(n)


def read_file(
    path: str,
    chunk_records: int = DEFAULT_CHUNK_RECORDS,
    on_progress: Callable[[int], None] | None = None,
    kernels: Kernels | None = None,
) -> FlowTable:
    """Read one capture (pcap, pcapng, either gzip-compressed) into a flow table
    (``kernels``: plain or compiled loops; by default chosen by the file's size)."""
    return FileReader(path, chunk_records, on_progress, kernels=kernels).read()


def read_range(
    path: str,
    start: int,
    stop: int,
    chunk_records: int = DEFAULT_CHUNK_RECORDS,
    on_progress: Callable[[int], None] | None = None,
) -> tuple[FlowTable, int]:
    """Read the records of bytes ``[start, stop)`` of an uncompressed pcap file (``start``
    a record boundary; frames numbered from 1 within the range) into a flow table; also
    the offset where the walk stopped: ``stop`` when the range ended on a record boundary,
    less when a record crossed ``stop`` or a corrupt record stopped it."""
    reader = FileReader(path, chunk_records, on_progress, byte_range=(start, stop))
    table = reader.read()
    return table, reader.end_offset


def read_range_oriented(
    path: str,
    start: int,
    stop: int,
    chunk_records: int = DEFAULT_CHUNK_RECORDS,
    on_progress: Callable[[int], None] | None = None,
) -> tuple[FlowTable, int, dict[str, np.ndarray]]:
    """``read_range`` plus each flow's orientation evidence (``flows.build.oriented_frames``,
    frames within the range), for orienting a flow seen in several ranges as one."""
    from segverify.flows.build import oriented_frames

    reader = FileReader(path, chunk_records, on_progress, byte_range=(start, stop))
    table = reader.read()
    return table, reader.end_offset, oriented_frames(reader.ingest.state)
