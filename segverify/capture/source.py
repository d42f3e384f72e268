"""Opening a capture: the format is sniffed from the magic number (never the file name),
gzip is undone on the fly, and bytes arrive in a bounded window the walks consume."""

from __future__ import annotations

import contextlib
import gzip
import mmap
import struct
import zlib
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

from segverify.errors import InputError
from segverify.i18n import Msg
from segverify.pages import Populator

GZIP_MAGIC = b"\x1f\x8b"
PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
# pcap magic as written (file byte order) → (big endian, nanoseconds, record header size)
PCAP_MAGICS = {
    b"\xa1\xb2\xc3\xd4": (True, False, 16),
    b"\xd4\xc3\xb2\xa1": (False, False, 16),
    b"\xa1\xb2\x3c\x4d": (True, True, 16),
    b"\x4d\x3c\xb2\xa1": (False, True, 16),
    b"\xa1\xb2\xcd\x34": (True, False, 24),  # Kuznetzov's modified pcap
    b"\x34\xcd\xb2\xa1": (False, False, 24),
}
PCAP_HEADER_LEN = 24
READ_STEP = 256 << 10
READ_ERRORS = (EOFError, OSError, zlib.error, gzip.BadGzipFile)


@dataclass(frozen=True)
class Format:
    """What the magic says: ``kind`` is "pcap" or "pcapng"."""

    kind: str
    compressed: bool
    big: bool = False
    nsec: bool = False
    rechdr: int = 16


def sniff(head: bytes, path: str, error: str = "") -> Format:
    """The format of a capture from its first bytes (already decompressed); ``error``
    says why the stream ended early, if it did."""
    magic = head[:4]
    if magic == PCAPNG_MAGIC:
        return Format("pcapng", False)
    if magic in PCAP_MAGICS:
        big, nsec, rechdr = PCAP_MAGICS[magic]
        return Format("pcap", False, big, nsec, rechdr)
    if error and len(head) < 4:
        raise InputError(Msg("error.capture.source.not_readable_capture", reason=error), path)
    if not head:
        raise InputError(Msg("error.capture.source.empty_file_not_capture"), path)
    raise InputError(
        Msg("error.capture.source.not_pcap_pcapng_gzip_compressed", head=head[:8].hex()), path
    )


class _WindowReads:
    """``need``/``take`` shared by both windows: ``buf[start:stop]`` is unread data and
    ``fill()`` extends it, returning False at the end of the input."""

    buf: np.ndarray
    start: int
    stop: int

    def fill(self) -> bool:
        raise NotImplementedError

    def need(self, n: int) -> bool:
        """Make at least ``n`` unread bytes available if the stream has them."""
        while self.stop - self.start < n:
            if not self.fill():
                return False
        return True

    def take(self, n: int) -> bytes:
        data = bytes(self.buf[self.start : self.start + n])
        self.start += n
        return data


class Window(_WindowReads):
    """A growable byte window over a stream: ``buf[start:stop]`` is unread data and
    ``pos`` is the stream offset of ``buf[0]``."""

    def __init__(self, stream: BinaryIO, size: int, max_size: int) -> None:
        self.stream = stream
        self.buf = np.empty(size, dtype=np.uint8)
        self.max_size = max_size
        self.start = 0
        self.stop = 0
        self.pos = 0
        self.eof = False
        self.error = ""  # why the stream ended early, if it did

    def offset(self, i: int) -> int:
        """Stream offset of buffer index ``i``."""
        return self.pos + i

    def fill(self) -> bool:
        """Move unread bytes to the front and read more; False when nothing was added."""
        if self.eof:
            return False
        if self.start:
            left = self.stop - self.start
            self.buf[:left] = self.buf[self.start : self.stop]
            self.pos += self.start
            self.start, self.stop = 0, left
        if self.stop == len(self.buf):
            if len(self.buf) >= self.max_size:
                return False
            bigger = np.empty(min(len(self.buf) * 2, self.max_size), dtype=np.uint8)
            bigger[: self.stop] = self.buf[: self.stop]
            self.buf = bigger
        view = memoryview(self.buf)[self.stop :]
        added = 0
        while added < len(view):
            try:
                # read1: a corrupt or cut gzip stream loses only the last, failing step
                data = self.stream.read1(min(READ_STEP, len(view) - added))  # type: ignore[attr-defined]
                got = len(data)
                view[added : added + got] = data
            except READ_ERRORS as exc:
                self.error = f"compressed stream ends or is corrupt: {exc}"
                got = 0
            if not got:
                self.eof = True
                break
            added += got
        self.stop += added
        return added > 0


class MappedWindow(_WindowReads):
    """The same interface over a memory-mapped uncompressed file: no copies; pages behind
    the read position are released so resident memory stays near the window size."""

    RELEASE_STEP = 64 << 20

    def __init__(self, fileobj: BinaryIO, size: int) -> None:
        self.map = mmap.mmap(fileobj.fileno(), 0, access=mmap.ACCESS_READ)
        if hasattr(mmap, "MADV_SEQUENTIAL"):
            self.map.madvise(mmap.MADV_SEQUENTIAL)
        self.buf = np.frombuffer(self.map, dtype=np.uint8)
        self.size = len(self.buf)
        self.step = size
        self.start = 0
        self.stop = min(size, self.size)
        self.pos = 0
        self.eof = self.stop == self.size
        self.error = ""
        self._released = 0
        # bytes from this offset on are still read (payloads of rows another thread has
        # yet to aggregate): never released; None when only ``start`` bounds them
        self.held: int | None = None
        self._populated = 0  # bytes before this offset are mapped already
        self._populator = Populator()  # MADV_POPULATE_READ (Linux 5.14+), GIL let go
        self._populate(0, self.stop)

    def _populate(self, start: int, stop: int) -> None:
        """Map bytes ``[start, stop)`` in one call instead of one page fault per page
        (what is mapped already is skipped)."""
        start = max(start, (self._populated // mmap.PAGESIZE) * mmap.PAGESIZE)
        if stop <= start:
            return
        self._populator.populate(self.buf, start, stop, write=False)
        self._populated = max(self._populated, stop)

    def read_ahead(self, nbytes: int) -> None:
        """Map up to ``nbytes`` past the window now (from a thread with time to spare),
        so that the window's next ``fill`` finds them mapped."""
        self._populate(self.stop, min(self.size, self.stop + nbytes))

    def offset(self, i: int) -> int:
        return i

    def limit(self, start: int, stop: int) -> None:
        """Read only bytes ``[start, stop)`` of the file from now on (a byte range whose
        ends are record boundaries; the file header before it stays readable)."""
        self.size = max(0, min(stop, len(self.buf)))
        self.start = min(start, self.size)
        self.stop = min(self.start + self.step, self.size)
        self.eof = self.stop == self.size
        self._released = (self.start // mmap.PAGESIZE) * mmap.PAGESIZE
        self._populate(self._released, self.stop)

    def fill(self) -> bool:
        if self.stop >= self.size:
            self.eof = True
            return False
        old = self.stop
        self.stop = min(self.size, self.stop + self.step)
        self.eof = self.stop == self.size
        begin = (old // mmap.PAGESIZE) * mmap.PAGESIZE
        self._populate(begin, self.stop)
        kept = self.start if self.held is None else min(self.start, self.held)
        edge = (kept // mmap.PAGESIZE) * mmap.PAGESIZE
        if edge - self._released >= self.RELEASE_STEP and hasattr(mmap, "MADV_DONTNEED"):
            self.map.madvise(mmap.MADV_DONTNEED, self._released, edge - self._released)
            self._released = edge
        return True

    def close(self) -> None:
        del self.buf
        with contextlib.suppress(BufferError):  # a view is still alive; the GC closes it
            self.map.close()


def open_stream(path: str) -> tuple[BinaryIO, bool]:
    """The decompressed byte stream of ``path`` and whether it was gzip-compressed."""
    try:
        raw = open(path, "rb")  # noqa: SIM115 - closed by the caller
    except OSError as exc:
        raise InputError(
            Msg("error.capture.source.cannot_open_capture", reason=exc.strerror or exc), path
        ) from None
    try:
        head = raw.peek(2)[:2]  # peek, not seek: a FIFO or pipe is read as a stream
    except OSError as exc:
        raw.close()
        raise InputError(
            Msg("error.capture.source.cannot_read_capture", reason=exc.strerror or exc), path
        ) from None
    if head == GZIP_MAGIC:
        return gzip.GzipFile(fileobj=raw, mode="rb"), True  # type: ignore[return-value]
    return raw, False


def pcap_header(head: bytes, fmt: Format) -> tuple[int, int]:
    """(link type, snaplen) from a 24-byte pcap file header."""
    order = ">" if fmt.big else "<"
    _major, _minor, _zone, _sig, snaplen, link = struct.unpack(order + "HHiIII", head[4:24])
    return link & 0x03FFFFFF, snaplen
