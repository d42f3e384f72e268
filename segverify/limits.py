"""Documented input limits, in one place; every reader of a user file goes through here.

docs/security.md lists these values. A file past a limit is bad input (exit 2) with one
line naming the file and the limit, never a MemoryError or a machine brought down: a
topology symlinked to /dev/zero stops after ``TOPOLOGY_MAX_BYTES + 1`` bytes.
"""

from __future__ import annotations

import zlib

from segverify.errors import InputError, Term
from segverify.i18n import Msg

MiB = 1 << 20

# Sizes of whole-file text inputs (bytes).
TOPOLOGY_MAX_BYTES = 16 * MiB  # the largest real topology is a few hundred KiB
POLICY_TEXT_MAX_BYTES = 16 * MiB  # a published 情報セキュリティ基本方針 is tens of KiB
FIREWALL_EXPORT_MAX_BYTES = 256 * MiB  # 1M iptables rules are ~100 MiB
IPSET_MAX_BYTES = 256 * MiB
# The scapy and pyshark reference backends hold one whole (decompressed) capture in memory;
# the fast backend streams and has no such bound.
REFERENCE_CAPTURE_MAX_BYTES = 1024 * MiB
# Flow logs (Zeek conn.log, FortiGate/PAN-OS logs, NetFlow/IPFIX dumps) are read whole.
FLOW_LOG_MAX_BYTES = 2048 * MiB

# Structure of YAML (and JSON, which the YAML reader also takes) documents.
YAML_MAX_DEPTH = 64  # nesting of mappings/sequences; a topology uses about 6
YAML_MAX_ALIAS_VALUES = 10_000  # values produced by expanding aliases (*name)
YAML_MAX_VALUES = 500_000  # scalars + collections in one document (~350 MB once built)

_CHUNK = 1 << 20


def describe_size(n: int) -> str:
    """``16 MiB``, ``512 KiB`` or ``100 bytes``."""
    if n >= MiB and n % MiB == 0:
        return f"{n // MiB} MiB"
    if n >= 1024 and n % 1024 == 0:
        return f"{n // 1024} KiB"
    return f"{n} bytes"


def _error(
    key: str, message: str, path: str, what: str, line: int | None = None, **params: object
) -> InputError:
    noun = Term(f"input.{what.replace(' ', '_')}", what)
    return InputError(message, path, line, key=key, params={"what": noun, **params})


def os_error(exc: OSError, path: str, what: str) -> InputError:
    """A file that cannot be opened or read, as one catalogue error naming it."""
    if isinstance(exc, FileNotFoundError):
        return _error("error.no_such_file", "no such file", path, what)
    if isinstance(exc, IsADirectoryError):
        return _error("error.is_directory", f"is a directory, not a {what}", path, what)
    if isinstance(exc, PermissionError):
        return _error("error.permission", "cannot read: permission denied", path, what)
    reason = str(exc.strerror or exc)
    return _error("error.cannot_read", f"cannot read: {reason}", path, what, reason=reason)


def read_bytes_bounded(path: str, limit: int, what: str) -> bytes:
    """The whole file, or ``InputError`` past ``limit`` bytes (reads at most limit + 1).

    Works on pipes, FIFOs and devices too (``/dev/zero`` stops at the limit). ``what`` names
    the input in messages ("topology", "policy text", "firewall export"…).
    """
    try:
        with open(path, "rb") as fh:
            parts: list[bytes] = []
            size = 0
            while size <= limit:
                chunk = fh.read(min(_CHUNK, limit + 1 - size))
                if not chunk:
                    break
                parts.append(chunk)
                size += len(chunk)
    except OSError as exc:
        raise os_error(exc, path, what) from None
    if size > limit:
        text = describe_size(limit)
        raise _error(
            "error.too_large",
            f"{what} is larger than the limit of {text} (see docs/security.md)",
            path,
            what,
            limit=text,
        )
    return b"".join(parts)


def decode_text(data: bytes, path: str, what: str) -> str:
    """UTF-8 (a leading BOM is dropped) or ``InputError`` naming the line of the bad byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise _error(
            "error.not_utf8",
            f"{what} is not UTF-8 text ({exc.reason} at byte {exc.start})",
            path,
            what,
            line,
            byte=exc.start,
            reason=exc.reason,
        ) from None


def read_text_bounded(path: str, limit: int, what: str) -> str:
    """A UTF-8 text file of at most ``limit`` bytes, or one-line ``InputError``."""
    return decode_text(read_bytes_bounded(path, limit, what), path, what)


def read_maybe_gzip_bounded(path: str, limit: int, what: str) -> bytes:
    """The file's bytes, gunzipped when it starts with the gzip magic; ``InputError`` past
    ``limit`` bytes before or after decompression (a gzip bomb stops at the limit)."""
    raw = read_bytes_bounded(path, limit, what)
    if raw[:2] != b"\x1f\x8b":
        return raw
    out = bytearray()
    data = raw
    try:
        while data:  # one gzip member after another, as gzip.decompress reads them
            inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
            out += inflate.decompress(data, limit + 1 - len(out))
            if len(out) > limit or inflate.unconsumed_tail:
                text = describe_size(limit)
                raise _error(
                    "error.too_large_gunzipped",
                    f"{what} is larger than the limit of {text} once decompressed "
                    "(see docs/security.md)",
                    path,
                    what,
                    limit=text,
                )
            if not inflate.eof:
                raise EOFError("compressed file ended before the end-of-stream marker")
            data = inflate.unused_data
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(Msg("error.limits.broken_gzip_data", reason=exc), path) from None
    return bytes(out)
