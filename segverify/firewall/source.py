"""Reading an export file: bounded in size, UTF-8 text, one-line errors."""

from __future__ import annotations

from segverify.errors import InputError
from segverify.limits import FIREWALL_EXPORT_MAX_BYTES, read_bytes_bounded

# ---------------------------------------------------------------- input


def read_text(
    path: str, limit: int = FIREWALL_EXPORT_MAX_BYTES, what: str = "firewall export"
) -> str:
    """The file as text; refused past ``limit`` bytes (read at most limit + 1, so a device
    or a FIFO such as /dev/zero cannot exhaust memory), when binary or not UTF-8."""
    data = read_bytes_bounded(path, limit, what)
    if b"\0" in data[:4096]:
        raise InputError("binary file, not a firewall export", path)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", path) from None
