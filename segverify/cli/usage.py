"""click's usage errors in the user's language.

click writes its own usage errors ("Missing argument 'FILE'.", "No such option …") in
English. Under ``--lang ja`` they are rebuilt from the exception's structure (the parameter,
option or command it names) with catalogue text; a detail click words itself (a value not
among the choices, not an integer…) is translated when its shape is known and otherwise
quoted as click gave it."""

from __future__ import annotations

import re
from typing import IO, Any

import click
from click._compat import get_text_stderr

from segverify.i18n import t

# click's own detail sentences (click 8.x) → catalogue keys with the captured parts
DETAILS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^'(?P<value>.*)' is not one of (?P<choices>.*)\.$", re.S), "usage.not_one_of"),
    (re.compile(r"^'(?P<value>.*)' is not a valid integer(?: range)?\.$", re.S), "usage.not_integer"),
    (re.compile(r"^'(?P<value>.*)' is not a valid float(?: range)?\.$", re.S), "usage.not_number"),
    (re.compile(r"^(?:File|Path|Directory) '(?P<value>.*)' does not exist\.$", re.S), "usage.no_file"),
    (re.compile(r"^(?P<value>.*) is not in the range (?P<range>.*)\.$", re.S), "usage.out_of_range"),
    (re.compile(r"^No such command '(?P<value>.*?)'\.(?:\s+Did you mean '(?P<hint>.*)'\?)?$", re.S), "usage.no_such_command"),
    (re.compile(r"^Got unexpected extra arguments? \((?P<value>.*)\)$", re.S), "usage.extra_arguments"),
    (re.compile(r"^Option '(?P<value>.*)' requires (?:an argument|\d+ arguments)\.$", re.S), "usage.needs_value"),
    (re.compile(r"^Option '(?P<value>.*)' does not take a value\.$", re.S), "usage.no_value"),
)  # fmt: skip


def detail_ja(text: str) -> str:
    for pattern, key in DETAILS:
        m = pattern.match(text)
        if m:
            parts = {k: v or "" for k, v in m.groupdict().items()}
            if key == "usage.no_such_command" and parts.get("hint"):
                key = "usage.no_such_command_hint"
            return t(key, "ja", **parts)
    return text


def _param_hint(err: click.BadParameter) -> str:
    """The parameter an error names, as click shows it (``'-j' / '--jobs'``)."""
    hint = err.param_hint
    if hint is None and err.param is not None:
        hint = err.param.get_error_hint(err.ctx) if err.ctx else err.param.name
    return " / ".join(hint) if isinstance(hint, list | tuple) else (hint or "")


def message_ja(err: click.UsageError) -> str:
    """The error's one-line message in Japanese."""
    if isinstance(err, click.MissingParameter):
        hint = _param_hint(err)
        kind = err.param_type or (err.param.param_type_name if err.param else "parameter")
        key = {"argument": "usage.missing_argument", "option": "usage.missing_option"}.get(
            kind, "usage.missing_parameter"
        )
        return t(key, "ja", name=hint)
    if isinstance(err, click.NoSuchOption):
        near = ", ".join(f"'{p}'" for p in err.possibilities or ())
        key = "usage.no_such_option_hint" if near else "usage.no_such_option"
        return t(key, "ja", name=err.option_name, near=near)
    if isinstance(err, click.BadParameter):
        hint = _param_hint(err)
        detail = detail_ja(err.message)
        if hint:
            return t("usage.bad_value", "ja", name=hint, detail=detail)
        return t("usage.bad_value_plain", "ja", detail=detail)
    return detail_ja(err.message)


class TranslatedUsageError(click.UsageError):
    """A click usage error shown in Japanese (usage line, help hint, error line)."""

    def __init__(self, err: click.UsageError) -> None:
        super().__init__(message_ja(err), err.ctx)
        self.exit_code = err.exit_code

    def show(self, file: IO[Any] | None = None) -> None:
        out = file if file is not None else get_text_stderr()
        if self.ctx is not None:
            hint = t("usage.help_hint", "ja", command=self.ctx.command_path)
            usage = self.ctx.get_usage()
            if usage.startswith("Usage:"):
                usage = t("usage.usage", "ja") + usage[len("Usage:") :]
            click.echo(f"{usage}\n{hint}", file=out, color=self.ctx.color)
        click.echo(t("usage.error", "ja", message=self.format_message()), file=out)


def in_language(err: click.UsageError, lang: str) -> click.UsageError:
    """``err`` as the user reads it: click's own English, or rebuilt in Japanese."""
    if lang != "ja" or isinstance(err, TranslatedUsageError):
        return err
    return TranslatedUsageError(err)
