"""Reading an export file: bounded in size, UTF-8 text, one-line errors."""

from __future__ import annotations

from segverify.errors import InputError

MAX_EXPORT_BYTES = 64 * 1024 * 1024  # an export (or ipset file) larger than this is refused


# ---------------------------------------------------------------- input


def read_text(path: str, limit: int = MAX_EXPORT_BYTES) -> str:
    """The file as text; refused past ``limit`` bytes (read at most limit + 1, so a device
    or a FIFO such as /dev/zero cannot exhaust memory), when binary or not UTF-8."""
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except FileNotFoundError:
        raise InputError("no such file", path) from None
    except IsADirectoryError:
        raise InputError("is a directory, not a firewall export", path) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path) from None
    if len(data) > limit:
        raise InputError(f"larger than {limit // (1024 * 1024)} MiB: refused (input limit)", path)
    if b"\0" in data[:4096]:
        raise InputError("binary file, not a firewall export", path)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", path) from None
