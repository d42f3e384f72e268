"""Reading an export file: bounded in size, UTF-8 text, one-line errors."""

from __future__ import annotations

from segverify.errors import InputError
from segverify.i18n import Msg
from segverify.limits import FIREWALL_EXPORT_MAX_BYTES, read_bytes_bounded

# ---------------------------------------------------------------- input


def read_text(
    path: str, limit: int = FIREWALL_EXPORT_MAX_BYTES, what: str = "firewall export"
) -> str:
    """The file as text; refused past ``limit`` bytes (read at most limit + 1, so a device
    or a FIFO such as /dev/zero cannot exhaust memory), when binary or not UTF-8."""
    data = read_bytes_bounded(path, limit, what)
    if b"\0" in data[:4096]:
        raise InputError(Msg("error.firewall.source.binary_file_not_firewall_export"), path)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            Msg("error.firewall.source.not_utf_8_text_byte", reason=exc.reason, byte=exc.start),
            path,
        ) from None
