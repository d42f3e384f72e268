"""The CLI reference (docs/cli.md), generated from the click command tree itself so it
cannot drift from the code. `python -m segverify.cli.reference > docs/cli.md`."""

from __future__ import annotations

import click

from segverify.cli.main import cli

HEADER = """# CLI reference

Generated from the commands' own `--help` by `python -m segverify.cli.reference > docs/cli.md`
(a test fails when this file and the code disagree).

Global options go before the command: `segverify --lang ja topology check FILE`.
Exit codes everywhere: 0 clean, 1 findings (for `explain`: the flow is forbidden),
2 bad input or usage, 3 analysis incomplete.
"""


def _walk(cmd: click.Command, path: list[str], parent: click.Context | None) -> list[str]:
    # the root's context settings (help_option_names) as the real CLI has them, inherited by
    # every sub-context: the output then does not depend on which commands ran before
    # (click caches each command's help option on first use)
    settings = dict(cmd.context_settings) if parent is None else {}
    ctx = click.Context(
        cmd,
        info_name=path[-1],
        parent=parent,
        terminal_width=100,
        max_content_width=100,
        **settings,
    )
    title = " ".join(path)
    out = [f"\n## `{title}`\n", "```", cmd.get_help(ctx).rstrip(), "```"]
    if isinstance(cmd, click.Group):
        for name in sorted(cmd.list_commands(ctx)):
            sub = cmd.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                out.extend(_walk(sub, [*path, name], ctx))
    return out


def reference() -> str:
    return HEADER + "\n".join(_walk(cli, ["segverify"], None)) + "\n"


if __name__ == "__main__":
    click.echo(reference(), nl=False)
