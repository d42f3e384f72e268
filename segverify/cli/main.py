"""Entry point: the root click group, global options and error handling."""

from __future__ import annotations

import importlib
import os

import click

from segverify import __version__
from segverify.cli.context import Settings, fail, settings
from segverify.cli.usage import in_language
from segverify.errors import EXIT_BAD_INPUT, InputError
from segverify.i18n import LANGS, default_lang, t

# Each module defines ``register(group)``; one module per command group.
COMMAND_MODULES = (
    "segverify.cli.topology_cmd",
    "segverify.cli.explain_cmd",
    "segverify.cli.init_cmd",
    "segverify.cli.policy_cmd",
    "segverify.cli.pcap_cmd",
    "segverify.cli.flows_cmd",
    "segverify.cli.firewall_cmd",
    "segverify.cli.lab_cmd",
    "segverify.cli.diagram_cmd",
    "segverify.cli.report_cmd",
)


# Command name → module for commands whose module can be imported alone: running one of
# them imports only its own module (start-up time of `segverify pcap` on small captures).
# Every other lookup, and any listing (--help), imports all of COMMAND_MODULES.
COMMAND_NAMES = {
    "pcap": "segverify.cli.pcap_cmd",
    "flows": "segverify.cli.flows_cmd",
    "diagram": "segverify.cli.diagram_cmd",
    "report": "segverify.cli.report_cmd",
}


class SegverifyGroup(click.Group):
    """Root group: bad input becomes one line on stderr and exit code 2, never a traceback.

    Command modules are imported when a command is looked up (see COMMAND_NAMES)."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            module = COMMAND_NAMES.get(cmd_name)
            if module is not None:
                _register(module)
            if cmd_name not in self.commands:
                _register_all()
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        _register_all()
        return super().list_commands(ctx)

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except click.UsageError as err:
            lang = settings(ctx).lang if isinstance(ctx.obj, Settings) else _lang_of(ctx)
            raise in_language(err, lang) from None
        except InputError as err:
            click.echo(f"segverify: {err.render(settings(ctx).lang)}", err=True)
            ctx.exit(EXIT_BAD_INPUT)
        except (
            click.exceptions.Exit,
            click.ClickException,
            click.Abort,
            KeyboardInterrupt,
            SystemExit,
        ):
            raise
        except (MemoryError, RecursionError) as exc:  # an input past a bound no reader caught
            if os.environ.get("SEGVERIFY_DEBUG"):
                raise
            click.echo(f"segverify: {resource_message(exc, settings(ctx).lang)}", err=True)
            ctx.exit(EXIT_BAD_INPUT)
        except Exception as exc:  # a bug: still one line, never a traceback
            if os.environ.get("SEGVERIFY_DEBUG"):
                raise
            click.echo(f"segverify: {internal_message(exc, settings(ctx).lang)}", err=True)
            ctx.exit(EXIT_BAD_INPUT)


def _lang_of(ctx: click.Context) -> str:
    """The language before the root callback ran (a command name that does not exist)."""
    return ctx.params.get("lang") or default_lang()


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def resource_message(exc: BaseException, lang: str = "en") -> str:
    """An input too big or too deeply nested for a reader that has no explicit bound."""
    what = "out of memory" if isinstance(exc, MemoryError) else "nested too deeply"
    return t("error.too_large_input", lang, what=what)


def internal_message(exc: BaseException, lang: str = "en") -> str:
    """A genuine bug: one line, marked as ours, with how to report it."""
    return t("error.internal_bug", lang, kind=type(exc).__name__, detail=_one_line(exc))


@click.group(cls=SegverifyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--lang",
    type=click.Choice(LANGS),
    default=None,
    help="Language of messages: en (default) or ja. Defaults to ja under a ja_JP locale.",
)
@click.option(
    "--excel",
    is_flag=True,
    help="Write CSV with a UTF-8 byte-order mark for Excel (always so with --lang ja).",
)
@click.version_option(__version__, prog_name="segverify")
@click.pass_context
def cli(ctx: click.Context, lang: str | None, excel: bool) -> None:
    """segverify: verify three-tier (三層の対策) segmentation of a municipal network.

    Exit codes: 0 clean, 1 findings, 2 bad input or usage, 3 analysis incomplete.
    """
    ctx.obj = Settings(lang=lang or default_lang(), excel=excel)


_registered: set[str] = set()


def _register(name: str) -> None:
    if name in _registered:
        return
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:
            _registered.add(name)
            return  # command group not built yet
        raise
    module.register(cli)
    _registered.add(name)


def _register_all() -> None:
    for name in COMMAND_MODULES:
        _register(name)


def main() -> None:
    try:
        cli.main(standalone_mode=True)
    except InputError as err:  # raised outside a command (e.g. in option callbacks)
        fail(err)
