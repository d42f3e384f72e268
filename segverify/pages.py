"""Fault in the pages of an array (or of a mapped file) ahead of its use, from another
thread.

A large ``np.empty`` array costs nothing until written; its first write to each page then
stops the writing thread while the kernel clears the page (on this kind of machine the
biggest single cost of building a table of a million flows). ``populate_write`` asks the
kernel to do that work now (``MADV_POPULATE_WRITE``, Linux 5.14+): called from a thread
with nothing else to do, the clearing happens on the other core, and the thread that later
writes finds the pages there. Contents are never changed (pages already present are left
as they are), so it may run while another thread writes the same array. The call lets the
GIL go (ctypes)."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import mmap

import numpy as np

MADV_POPULATE_READ = 22
MADV_POPULATE_WRITE = 23


@functools.cache
def _madvise() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        fn = libc.madvise
    except (OSError, AttributeError):
        return None
    fn.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    fn.restype = ctypes.c_int
    return fn


class Populator:
    """Populates growing prefixes of arrays; gives up for good at the first refusal (an
    older kernel, another OS), after which it does nothing."""

    def __init__(self) -> None:
        self.works = _madvise() is not None

    def populate(self, array: np.ndarray, start: int, stop: int, write: bool = True) -> None:
        """Fault in the pages holding bytes ``[start, stop)`` of ``array``'s buffer
        (whole pages inside the buffer only); ``write=False`` for a read-only mapping
        (``MADV_POPULATE_READ``: the file's pages mapped, nothing cleared)."""
        if not self.works or stop <= start:
            return
        base = array.ctypes.data
        first = (base + start) // mmap.PAGESIZE * mmap.PAGESIZE
        first = max(first, -(-base // mmap.PAGESIZE) * mmap.PAGESIZE)
        last = (base + min(stop, array.nbytes)) // mmap.PAGESIZE * mmap.PAGESIZE
        if last <= first:
            return
        madvise = _madvise()
        advice = MADV_POPULATE_WRITE if write else MADV_POPULATE_READ
        if madvise is None or madvise(first, last - first, advice) != 0:
            self.works = False
