"""``lab run``: play a traffic profile with real sockets while tcpdump records the firewall.

Capture: one ``tcpdump -i any -Q in`` in the firewall namespace (Linux cooked v2 link
type). ``-Q in`` keeps each packet once, as it *enters* the firewall on the interface of
its source zone: a forwarded packet would otherwise appear twice (in and out), and a
packet the firewall drops appears exactly once either way. Replies appear as they enter
from the destination zone. Only IPv4 is captured (the lab is IPv4 only).
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

from segverify.checks.policy import PolicyEvaluator
from segverify.errors import InputError
from segverify.i18n import Msg
from segverify.lab.control import Lab
from segverify.lab.messages import msg
from segverify.lab.plan import LabPlan
from segverify.lab.profile import FlowSpec, Profile
from segverify.lab.system import LabError
from segverify.lab.truth import GroundTruth, TruthFlow
from segverify.topology.loader import load_topology

LINK_TYPE = "LINUX_SLL2"
# small frames: the ring then holds thousands of packets (a 256 KiB snap length leaves
# room for a handful and tcpdump drops bursts); lab payloads are a few hundred bytes
SNAPLEN = 1600
SERVER_LIFETIME = 60.0
START_TIMEOUT = 20.0
CLIENT_TIMEOUT = 0.8  # per connection attempt; a dropped SYN costs this much
RUN_TIMEOUT = 60.0


def check_profile(profile: Profile, lab: Lab) -> None:
    """The profile is written for this lab's topology and names only its hosts and zones."""
    topo = load_topology(profile.topology)
    if topo.name != lab.topology.name:
        raise InputError(
            Msg(
                "error.lab.runner.profile_written_topology_lab_runs",
                profile=topo.name,
                lab=lab.topology.name,
            ),
            profile.source,
        )
    for f in profile.flows:
        for host, zone in ((f.src_host, f.src_zone), (f.dst_host, f.dst_zone)):
            try:
                lab.plan.host(host).address_in(zone)
            except KeyError:
                known = ", ".join(h.id for h in lab.plan.hosts)
                if zone:
                    msg = Msg(
                        "error.lab.runner.no_host_in_zone",
                        flow=f.id,
                        host=host,
                        zone=zone,
                        known=known,
                    )
                else:
                    msg = Msg("error.lab.runner.no_host", flow=f.id, host=host, known=known)
                raise InputError(msg, profile.source) from None


def _addresses(plan: LabPlan, f: FlowSpec) -> tuple[str, str]:
    src = plan.host(f.src_host).address_in(f.src_zone)
    dst = plan.host(f.dst_host).address_in(f.dst_zone)
    return str(src), str(dst)


def _agent(ns: str, *args: str) -> list[str]:
    return ["ip", "netns", "exec", ns, sys.executable, "-m", "segverify.lab.agent", *args]


def _wait_line(proc: subprocess.Popen, stream: str, needle: str, timeout: float) -> str:
    """Read ``proc``'s stdout/stderr until ``needle`` appears (or fail).

    Reads the raw descriptor (``os.read``), never the buffered file object: a buffered
    readline could swallow the awaited line into its buffer while select() waits on.
    """
    pipe = proc.stdout if stream == "stdout" else proc.stderr
    assert pipe is not None
    fd = pipe.fileno()
    sel = selectors.DefaultSelector()
    sel.register(fd, selectors.EVENT_READ)
    seen = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if not sel.select(timeout=max(0.01, deadline - time.monotonic())):
                continue
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            seen += chunk
            if needle.encode() in seen:
                return seen.decode(errors="replace")
    finally:
        sel.close()
    tail = " | ".join(seen.decode(errors="replace").strip().splitlines()[-3:])
    raise LabError(Msg("error.lab.runner.not_seen", needle=needle, tail=tail or "no output"))


def _stop(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 5.0) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)


def run_profile(
    lab: Lab,
    profile: Profile,
    capture: str | Path,
    lang: str = "en",
    timeout: float = CLIENT_TIMEOUT,
) -> GroundTruth:
    """Play ``profile`` in ``lab``; write the capture; return the ground truth."""
    check_profile(profile, lab)
    plan, state = lab.plan, lab.state
    capture = Path(capture).resolve()
    capture.parent.mkdir(parents=True, exist_ok=True)

    listeners: dict[str, dict[tuple[str, int], str]] = defaultdict(dict)
    clients: dict[str, list[dict]] = defaultdict(list)
    for f in profile.flows:
        src, dst = _addresses(plan, f)
        if f.proto != "icmp" and f.dport is not None:
            listeners[f.dst_host].setdefault((f.proto, f.dport), f.app)
        clients[f.src_host].append(
            {
                "id": f.id,
                "src": src,
                "dst": dst,
                "proto": f.proto,
                "dport": f.dport,
                "app": f.app,
                "name": f.name,
            }
        )

    procs: list[subprocess.Popen] = []
    tcpdump: subprocess.Popen | None = None
    results: dict[str, dict] = {}
    packets: int | None = None
    dropped: int | None = None
    try:
        for host, ports in listeners.items():
            spec = json.dumps([[p, port, app] for (p, port), app in sorted(ports.items())])
            proc = subprocess.Popen(
                _agent(state.hosts[host], "serve", spec, "--lifetime", str(SERVER_LIFETIME)),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            procs.append(proc)
            _wait_line(proc, "stdout", "READY", START_TIMEOUT)
        tcpdump = subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                state.firewall_ns,
                "tcpdump",
                "-i",
                "any",
                "-Q",
                "in",
                "-y",
                LINK_TYPE,
                "-U",
                "--immediate-mode",
                "-s",
                str(SNAPLEN),
                "-B",
                "8192",
                "-n",
                "-Z",
                "root",
                "-w",
                str(capture),
                "ip",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            _wait_line(tcpdump, "stderr", "listening on", START_TIMEOUT)
        except LabError as exc:
            raise LabError(msg("tcpdump_failed", lang, err=exc.message)) from None
        client_procs = [
            subprocess.Popen(
                _agent(state.hosts[host], "client", json.dumps(specs), "--timeout", str(timeout)),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for host, specs in clients.items()
        ]
        procs += client_procs
        deadline = time.monotonic() + RUN_TIMEOUT
        for proc in client_procs:
            try:
                out, err = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                out, err = proc.communicate()
            for line in out.splitlines():
                if line.startswith("{"):
                    res = json.loads(line)
                    results[res["id"]] = res
        time.sleep(0.3)  # let the last replies reach the capture
    finally:
        if tcpdump is not None:
            _stop(tcpdump, signal.SIGINT)
            err = tcpdump.stderr.read() if tcpdump.stderr else ""
            if os.environ.get("SEGVERIFY_LAB_DEBUG"):
                print(err, file=sys.stderr)
            for line in err.splitlines():
                if "packets captured" in line:
                    packets = int(line.split()[0])
                if "dropped by kernel" in line:
                    dropped = int(line.split()[0])
        for proc in procs:
            _stop(proc)
            for pipe in (proc.stdout, proc.stderr):
                if pipe:
                    pipe.close()
    if os.environ.get("SUDO_UID") and capture.exists():
        os.chown(capture, int(os.environ["SUDO_UID"]), int(os.environ.get("SUDO_GID", "0")))
    truth = _truth(lab, profile, capture, results, packets)
    truth.packets_dropped = dropped
    return truth


def _truth(
    lab: Lab, profile: Profile, capture: Path, results: dict[str, dict], packets: int | None
) -> GroundTruth:
    evaluator = PolicyEvaluator(lab.topology)
    flows: list[TruthFlow] = []
    for f in profile.flows:
        src, dst = _addresses(lab.plan, f)
        res = results.get(f.id, {"passed": False, "outcome": "not-run"})
        v = evaluator.evaluate(src, dst, f.proto_number, f.dport, f.names)
        flows.append(
            TruthFlow(
                id=f.id,
                src_host=f.src_host,
                dst_host=f.dst_host,
                src=src,
                dst=dst,
                proto=f.proto,
                proto_number=f.proto_number,
                sport=res.get("sport") if f.proto != "icmp" else 8,
                dport=f.dport if f.proto != "icmp" else 0,
                app=f.app,
                names=list(f.names),
                passed=bool(res.get("passed")),
                outcome=str(res.get("outcome", "unknown")),
                allowed=v.allowed,
                decided_by=v.decided_by,
                rule=v.rule,
                clauses=list(v.clauses),
                reason=v.reason,
                expect=f.expect,
                exercises=f.rule,
                description=f.description,
            )
        )
    return GroundTruth(
        profile=profile.name,
        topology=lab.topology.name,
        model=lab.topology.policy.model,
        capture=capture.name,
        link_type=LINK_TYPE,
        ruleset=dict(lab.state.ruleset),
        flows=flows,
        packets_captured=packets,
    )
