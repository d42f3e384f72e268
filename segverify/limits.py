"""Documented input limits, in one place; every reader of a user file goes through here.

docs/security.md lists these values. A file past a limit is bad input (exit 2) with one
line naming the file and the limit, never a MemoryError or a machine brought down: a
topology symlinked to /dev/zero stops after ``TOPOLOGY_MAX_BYTES + 1`` bytes.
"""

from __future__ import annotations

from segverify.errors import InputError

MiB = 1 << 20

# Sizes of whole-file text inputs (bytes).
TOPOLOGY_MAX_BYTES = 16 * MiB  # the largest real topology is a few hundred KiB
POLICY_TEXT_MAX_BYTES = 16 * MiB  # a published 情報セキュリティ基本方針 is tens of KiB
FIREWALL_EXPORT_MAX_BYTES = 256 * MiB  # 1M iptables rules are ~100 MiB
IPSET_MAX_BYTES = 256 * MiB

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


def read_bytes_bounded(path: str, limit: int, what: str) -> bytes:
    """The whole file, or ``InputError`` past ``limit`` bytes (reads at most limit + 1).

    Works on pipes, FIFOs and devices too (``/dev/zero`` stops at the limit).
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
    except FileNotFoundError:
        raise InputError("no such file", path) from None
    except IsADirectoryError:
        raise InputError(f"is a directory, not a {what}", path) from None
    except PermissionError:
        raise InputError("cannot read: permission denied", path) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", path) from None
    if size > limit:
        raise InputError(
            f"{what} is larger than the limit of {describe_size(limit)} (see docs/security.md)",
            path,
        )
    return b"".join(parts)


def decode_text(data: bytes, path: str, what: str) -> str:
    """UTF-8 (a leading BOM is dropped) or ``InputError`` naming the line of the bad byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(
            f"{what} is not UTF-8 text ({exc.reason} at byte {exc.start})", path, line
        ) from None


def read_text_bounded(path: str, limit: int, what: str) -> str:
    """A UTF-8 text file of at most ``limit`` bytes, or one-line ``InputError``."""
    return decode_text(read_bytes_bounded(path, limit, what), path, what)
