"""``lab up`` / ``lab down`` / ``lab load``: the lifecycle of a lab."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from pathlib import Path

from segverify.lab import netns
from segverify.lab.messages import msg
from segverify.lab.plan import LabPlan, plan_lab
from segverify.lab.rules import load_ruleset
from segverify.lab.state import (
    LabState,
    check_run_id,
    list_states,
    state_dir,
)
from segverify.lab.system import LabError, require_root, require_tools
from segverify.topology.loader import load_topology
from segverify.topology.model import Topology


@dataclass(frozen=True)
class Lab:
    state: LabState
    topology: Topology
    plan: LabPlan


def _tools_for(ruleset: str | None) -> tuple[str, ...]:
    return ("ip", "sysctl", "tcpdump") + (("iptables-restore", "nft") if ruleset else ())


def up(
    topology_path: str,
    run_id: str,
    ruleset: str | None = None,
    vendor: str | None = None,
    device: str | None = None,
    lang: str = "en",
) -> Lab:
    """Build the lab for a topology (and load a ruleset into its firewall)."""
    check_run_id(run_id, lang)
    topology = load_topology(topology_path)  # bad input before any privilege check
    require_root(lang)
    require_tools(_tools_for(ruleset), lang)
    if run_id in list_states() or netns.lab_namespaces(run_id):
        raise LabError(msg("exists", lang, run_id=run_id))
    plan = plan_lab(topology)
    state = LabState(
        run_id=run_id,
        topology=str(Path(topology_path).resolve()),
        namespaces=[],
        hosts={},
        firewall_ns="",
        interfaces={},
        created=time.time(),
    )
    try:
        netns.build(plan, state)
        if ruleset:
            state.ruleset = load_ruleset(state.firewall_ns, ruleset, vendor, state.topology, device)
        state.save()
    except BaseException:
        down(run_id)
        raise
    return Lab(state, topology, plan)


def attach(run_id: str, lang: str = "en") -> Lab:
    """The running lab with this run id (its state, topology and plan)."""
    check_run_id(run_id, lang)
    state = LabState.load(run_id, lang)
    topology = load_topology(state.topology)
    return Lab(state, topology, plan_lab(topology))


def load(
    run_id: str, ruleset: str, vendor: str | None, device: str | None, lang: str = "en"
) -> Lab:
    """Replace the ruleset of a running lab (rehearsing a change)."""
    require_root(lang)
    lab = attach(run_id, lang)
    lab.state.ruleset = load_ruleset(
        lab.state.firewall_ns, ruleset, vendor, lab.state.topology, device
    )
    lab.state.save()
    return lab


def down(run_id: str | None = None, everything: bool = False, lang: str = "en") -> int:
    """Remove a lab's namespaces and state; with ``everything`` every lab's, found by name."""
    require_root(lang)
    if not everything and run_id is not None:
        check_run_id(run_id, lang)
    run_ids = list_states() if everything else [run_id]
    names: list[str] = []
    for rid in run_ids:
        path = state_dir() / f"{rid}.json"
        if path.exists():
            with contextlib.suppress(LabError):  # a damaged state file: names still found below
                names += LabState.load(str(rid), lang).namespaces
    names += netns.lab_namespaces(None if everything else run_id)
    count = netns.delete(list(dict.fromkeys(names)))
    for rid in run_ids:
        (state_dir() / f"{rid}.json").unlink(missing_ok=True)
    return count


def status(lang: str = "en") -> list[str]:
    """One line per running lab, then namespaces left over from crashed runs."""
    require_root(lang)
    lines: list[str] = []
    known: set[str] = set()
    for rid in list_states():
        try:
            state = LabState.load(rid, lang)
        except LabError as err:
            lines.append(f"{rid}: {err}")
            continue
        present = set(netns.lab_namespaces(rid))
        known |= present
        rs = state.ruleset.get("path", "-") if state.ruleset else "-"
        lines.append(
            f"{rid}: {state.topology}, ruleset {rs}, "
            f"{len(present)}/{len(state.namespaces)} namespaces present"
        )
    orphans = sorted(set(netns.lab_namespaces()) - known)
    if orphans:
        lines.append("leftovers (remove with 'segverify lab down --all'): " + ", ".join(orphans))
    return lines or ["no lab running"]
