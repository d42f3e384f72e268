"""Provenance of a run for reports: each input's size and SHA-256, the time, the command."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shlex
from collections.abc import Sequence

import click

from segverify.limits import os_error
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
        raise os_error(exc, path, "input") from None
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


def command_line(ctx: click.Context) -> str:
    """The command as run, rebuilt from what click parsed (the same under a test runner as
    from a shell): root options, the command path, then every option given."""
    parts = ["segverify"]
    root = ctx.find_root()
    for key, opt in (("lang", "--lang"), ("excel", "--excel")):
        value = root.params.get(key)
        if value is True:
            parts.append(opt)
        elif value:
            parts += [opt, str(value)]
    parts += ctx.command_path.split()[1:]
    for param in ctx.command.params:
        value = ctx.params.get(param.name or "")
        if value in (None, False, ()) or value == param.default:
            continue
        if isinstance(param, click.Argument):
            parts += [str(v) for v in value] if isinstance(value, tuple) else [str(value)]
            continue
        opt = max(param.opts, key=len)
        if value is True:
            parts.append(opt)
        elif isinstance(value, tuple):
            for v in value:
                parts += [opt, str(v)]
        else:
            parts += [opt, str(value)]
    return shlex.join(parts)


def run_info(files: Sequence[tuple[str, str]], date: str = "") -> RunInfo:
    """RunInfo for ``files`` given as (role, path), in the current click command."""
    inputs = []
    for role, path in files:
        digest, size = sha256_file(path)
        inputs.append(InputFile(role, path, digest, size))
    return RunInfo(tuple(inputs), command_line(click.get_current_context()), run_time(date))
