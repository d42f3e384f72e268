"""Per-invocation settings carried on the click context (no global state)."""

from __future__ import annotations

import sys
from dataclasses import dataclass

import click

from segverify.errors import EXIT_BAD_INPUT, InputError


@dataclass(frozen=True)
class Settings:
    lang: str = "en"
    excel: bool = False  # CSV with a UTF-8 byte-order mark (also implied by lang ja)


def settings(ctx: click.Context | None = None) -> Settings:
    ctx = ctx or click.get_current_context()
    obj = ctx.find_root().obj
    return obj if isinstance(obj, Settings) else Settings()


def emit(text: str, output: str | None = None) -> None:
    """Write rendered output to a file or stdout."""
    if output and output != "-":
        with open(output, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
    else:
        click.echo(text, nl=not text.endswith("\n"))


def fail(err: InputError) -> None:
    """One-line error on stderr, exit code 2."""
    click.echo(f"segverify: {err}", err=True)
    sys.exit(EXIT_BAD_INPUT)
