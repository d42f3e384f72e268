"""``segverify lab``: network-namespace lab (up, run, load, diff, plan, down)."""

from __future__ import annotations

import sys

import click

from segverify.cli.context import settings
from segverify.errors import EXIT_CLEAN, EXIT_FINDINGS
from segverify.lab import control
from segverify.lab.messages import msg
from segverify.lab.plan import LabPlan, plan_lab
from segverify.lab.profile import load_profile
from segverify.lab.state import DEFAULT_RUN_ID
from segverify.lab.truth import diff, load_truth
from segverify.topology.loader import load_topology

RUN_ID = click.option(
    "--run-id", default=DEFAULT_RUN_ID, show_default=True, help="Lab instance id (a-z0-9, ≤12)."
)


def _plan_text(plan: LabPlan, lang: str = "en") -> str:
    lines = [
        f"{msg('w_firewall', lang)} {plan.firewall}"
        + (f" ({msg('w_collapsed', lang)}: {', '.join(plan.collapsed)})" if plan.collapsed else "")
    ]
    for f in plan.fw_interfaces:
        lines.append(f"  {f.name:<16} zone {f.zone:<16} {f.address}")
    lines.append(msg("w_hosts", lang))
    for h in plan.hosts:
        addrs = ", ".join(f"{i.address} ({i.zone}, {i.name})" for i in h.interfaces)
        lines.append(f"  {h.id:<26} {h.role:<16} {addrs}")
    for s in plan.skipped:
        lines.append(f"  {msg('w_skipped', lang)}: {s}")
    return "\n".join(lines)


@click.group("lab")
def lab() -> None:
    """Network-namespace lab: real kernel, real sockets, real tcpdump (root only).

    Addresses come only from 198.18.0.0/15 and the TEST-NETs; nothing touches the root
    namespace. See docs/lab.md.
    """


@lab.command("plan")
@click.argument("topology", type=click.Path(dir_okay=False))
def plan_cmd(topology: str) -> None:
    """Show the namespaces and addresses TOPOLOGY becomes (no root needed)."""
    click.echo(_plan_text(plan_lab(load_topology(topology)), settings().lang))


@lab.command("up")
@click.argument("topology", type=click.Path(dir_okay=False))
@click.option("--ruleset", type=click.Path(dir_okay=False), help="Firewall ruleset to load.")
@click.option("--vendor", help="Ruleset format: iptables, nft, or any segverify parser's vendor.")
@click.option("--device", help="Firewall node the ruleset belongs to (for parsers).")
@RUN_ID
def up_cmd(
    topology: str, ruleset: str | None, vendor: str | None, device: str | None, run_id: str
) -> None:
    """Build the lab for TOPOLOGY (one namespace per host, one firewall namespace)."""
    lang = settings().lang
    built = control.up(topology, run_id, ruleset, vendor, device, lang)
    click.echo(_plan_text(built.plan, lang))
    rs = built.state.ruleset
    click.echo(
        msg(
            "up_done",
            lang,
            run_id=run_id,
            hosts=len(built.plan.hosts),
            fw=built.state.firewall_ns,
            ifaces=len(built.plan.fw_interfaces),
            ruleset=f"{rs['path']} ({rs['loaded_as']})" if rs else msg("no_ruleset", lang),
        )
    )


@lab.command("load")
@click.argument("ruleset", type=click.Path(dir_okay=False))
@click.option("--vendor", help="Ruleset format: iptables, nft, or any segverify parser's vendor.")
@click.option("--device", help="Firewall node the ruleset belongs to (for parsers).")
@RUN_ID
def load_cmd(ruleset: str, vendor: str | None, device: str | None, run_id: str) -> None:
    """Replace the ruleset of a running lab (flushes the firewall first)."""
    lang = settings().lang
    loaded = control.load(run_id, ruleset, vendor, device, lang)
    rs = loaded.state.ruleset
    click.echo(msg("ruleset_loaded", lang, path=rs["path"], vendor=rs["loaded_as"]))


@lab.command("run")
@click.argument("profile", type=click.Path(dir_okay=False))
@click.option("--capture", required=True, type=click.Path(dir_okay=False), help="pcap to write.")
@click.option("--ground-truth", type=click.Path(dir_okay=False), help="Ground-truth JSON to write.")
@click.option(
    "--timeout",
    type=click.FloatRange(0.1, 10.0),
    default=0.8,
    show_default=True,
    help="Seconds per connection attempt.",
)
@RUN_ID
def run_cmd(
    profile: str, capture: str, ground_truth: str | None, timeout: float, run_id: str
) -> None:
    """Play PROFILE in the lab, record the firewall with tcpdump, write the ground truth.

    Exit 1 when a flow the policy forbids was let through by the kernel.
    """
    from segverify.lab.runner import run_profile

    lang = settings().lang
    control.require_root(lang)
    prof = load_profile(profile)
    lab_ = control.attach(run_id, lang)
    truth = run_profile(lab_, prof, capture, lang, timeout)
    if ground_truth:
        truth.write(ground_truth)
    for f in truth.flows:
        verdict = msg("w_allowed" if f.allowed else "w_forbidden", lang)
        kernel = msg("w_passed" if f.passed else "w_blocked", lang)
        mark = "  " + msg("w_violation", lang) if f.violation else ""
        click.echo(
            f"{f.id:<32} {f.src:>15} -> {f.dst:<15} {f.proto}/{f.dport if f.dport is not None else '-':<5} "
            f"{kernel} ({f.outcome}) {msg('w_policy', lang)} {verdict} [{f.decided_by}]{mark}"
        )
    s = truth.summary()
    click.echo(
        msg(
            "run_done",
            lang,
            flows=s["attempted"],
            passed=s["passed"],
            forbidden=s["forbidden"],
            violations=s["violations"],
            capture=capture,
        )
    )
    sys.exit(EXIT_FINDINGS if s["violations"] else EXIT_CLEAN)


@lab.command("diff")
@click.argument("old", type=click.Path(dir_okay=False))
@click.argument("new", type=click.Path(dir_okay=False))
def diff_cmd(old: str, new: str) -> None:
    """Compare two ground truths of one profile (e.g. old vs new ruleset). Exit 1 on changes."""
    lang = settings().lang
    changes = diff(load_truth(old), load_truth(new))
    if not changes:
        click.echo(msg("diff_same", lang))
        sys.exit(EXIT_CLEAN)
    for c in changes:
        note = ""
        if c.violation_new and not c.violation_old:
            note = "  " + msg("w_new_violation", lang)
        elif c.violation_old and not c.violation_new:
            note = "  " + msg("w_fixed", lang)
        click.echo(f"{c.id:<32} {c.what:<8} {c.old} -> {c.new}{note}")
    sys.exit(EXIT_FINDINGS)


@lab.command("status")
def status_cmd() -> None:
    """List running labs (state files) and lab namespaces without a state file."""
    lang = settings().lang
    for line in control.status(lang):
        click.echo(line)


@lab.command("down")
@RUN_ID
@click.option("--all", "everything", is_flag=True, help="Remove every lab (found by name prefix).")
def down_cmd(run_id: str, everything: bool) -> None:
    """Remove the lab's namespaces and state (also the leftovers of a crashed run)."""
    lang = settings().lang
    count = control.down(run_id, everything, lang)
    click.echo(msg("down_done", lang, count=count))


def register(group: click.Group) -> None:
    group.add_command(lab)
