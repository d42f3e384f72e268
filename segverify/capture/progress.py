"""A plain progress line on stderr, drawn only when stderr is a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Counts records (and files); redraws at most every ``interval`` seconds."""

    def __init__(self, total_files: int, enabled: bool, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled and self.stream.isatty()
        self.total_files = total_files
        self.files = 0
        self.records = 0
        self.started = time.monotonic()
        self._drawn = 0.0

    def add_records(self, n: int) -> None:
        self.records += n
        self._draw()

    def file_done(self) -> None:
        self.files += 1
        self._draw(force=True)

    def _draw(self, force: bool = False, interval: float = 0.2) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._drawn < interval:
            return
        self._drawn = now
        rate = self.records / max(now - self.started, 1e-9)
        self.stream.write(
            f"\rfiles {self.files}/{self.total_files}  records {self.records:,}  "
            f"({rate / 1e6:.2f}M records/s)"
        )
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self._draw(force=True)
            self.stream.write("\n")
            self.stream.flush()
