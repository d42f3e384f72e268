"""Provenance of a run for reports: each input's size and SHA-256, the time, the command."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shlex
import sys
from collections.abc import Sequence

from segverify.errors import InputError
from segverify.render.html_out import InputFile, RunInfo


def sha256_file(path: str) -> tuple[str, int]:
    """SHA-256 and size of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    size = 0
    try:
        with open(path, "rb") as fh:
            while block := fh.read(1 << 20):
                digest.update(block)
                size += len(block)
    except OSError as exc:
        raise InputError(exc.strerror or str(exc), file=path) from None
    return digest.hexdigest(), size


def run_time(date: str) -> str:
    """``date`` when given (reproducible output), else SOURCE_DATE_EPOCH, else now (UTC)."""
    if date:
        return date
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        moment = dt.datetime.fromtimestamp(int(epoch), dt.timezone.utc)
    else:
        moment = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    return moment.isoformat().replace("+00:00", "Z")


def run_info(
    files: Sequence[tuple[str, str]], date: str = "", argv: Sequence[str] | None = None
) -> RunInfo:
    """RunInfo for ``files`` given as (role, path)."""
    inputs = []
    for role, path in files:
        digest, size = sha256_file(path)
        inputs.append(InputFile(role, path, digest, size))
    args = list(sys.argv[1:] if argv is None else argv)
    return RunInfo(tuple(inputs), shlex.join(["segverify", *args]), run_time(date))
