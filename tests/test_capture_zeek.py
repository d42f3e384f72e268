"""Second peer: Zeek's own conn.log baselines. For every baseline whose command does not
change Zeek's output (no -f filter, redef or extra script), each Zeek connection's
endpoints and protocol are one of our flows, with the same packets on each side.

Zeek splits one 5-tuple into several connections after inactivity (TCP 5 min, UDP/ICMP
1 min); we keep one flow per 5-tuple, so Zeek's rows are summed per 5-tuple before the
comparison (docs/capture.md)."""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from pathlib import Path

import pytest
from test_capture_support import BASELINES, CORPUS

from segverify.capture.fast import read_file

PROTOS = {"tcp": 6, "udp": 17, "icmp": 1}
# command words that leave conn.log as plain Zeek makes it
PLAIN = re.compile(r"^(-[bCr]|\$TRACES/\S+|%INPUT|>+\s*\S+|2>&1|>\S+|base/protocols/\S+)$")

CARRIER_PORTS = {4789, 6081}  # VXLAN, Geneve: Zeek also logs the outer UDP connection
# documented semantic differences (docs/capture.md, "Differences from Zeek")
NOT_DECAPSULATED = "Teredo/AYIYA/GTP/GRE-in-UDP: we keep the outer flow"
AMSDU = "A-MSDU aggregate: the record counts once here, once per subframe in Zeek"
SCRIPT = "the test's own script (%INPUT) filters packets (dynamic BPF / NetControl)"
OTHER_RUN = "index maps it to empty.pcap; its conn.log comes from another run of the test"
FLIPPED = "Zeek flips a misordered NTP exchange: one side's packet counted on the other"
UNEXPLAINED = "Zeek counts 13 of the 18 packets of the data connection (not investigated)"
KNOWN: dict[str, str] = {
    "core.tunnels.ayiya": NOT_DECAPSULATED,
    "core.tunnels.ayiya-large-identity": NOT_DECAPSULATED,
    "core.tunnels.teredo": NOT_DECAPSULATED,
    "core.tunnels.teredo_bubble_with_payload": NOT_DECAPSULATED,
    "core.tunnels.gre-aruba-amsdu": AMSDU,
    "core.tunnels.gre-over-udp": NOT_DECAPSULATED,
    "core.tunnels.gtp.different_dl_and_ul": NOT_DECAPSULATED,
    "core.tunnels.gtp.inner_ipv6": NOT_DECAPSULATED,
    "core.tunnels.gtp.opt_header": NOT_DECAPSULATED,
    "core.tunnels.gtp.outer_ip_frag": NOT_DECAPSULATED,
    "core.pcap.dynamic-filter": SCRIPT,
    "core.print-bpf-filters": OTHER_RUN,
    "scripts.base.frameworks.netcontrol.packetfilter": SCRIPT,
    "scripts.base.protocols.ftp.gridftp": UNEXPLAINED,
    "scripts.base.protocols.ntp.misordered-ntp": FLIPPED,
}


def _baselines() -> list[tuple[str, str, str]]:
    index = BASELINES / "index.tsv"
    if not index.is_file():
        return []
    with open(index, newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    out = []
    for row in rows:
        words = re.findall(r"\$TRACES/\S+|>\s*\S+|\"[^\"]*\"|'[^']*'|\S+", row["zeek_command"])
        if all(PLAIN.match(w) for w in words[1:]):
            out.append((row["baseline"], row["trace"], row["zeek_command"]))
    return out


NEED = {"id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "orig_pkts", "resp_pkts"}


def _has_fields(baseline: str) -> bool:
    log = BASELINES / f"{baseline}.conn.log"
    if not log.is_file():
        return True  # reported by the test itself
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("#fields"):
            return set(line.split("\t")[1:]) >= NEED
    return False


ALL_BASES = _baselines()
# Baselines whose conn.log renames or leaves out the compared fields (scripts that redef the
# log) have nothing to compare: they are not collected, and the test below proves why.
BASES = [b for b in ALL_BASES if _has_fields(b[0])]
WITHOUT_FIELDS = [b[0] for b in ALL_BASES if not _has_fields(b[0])]


@pytest.mark.parametrize("baseline", WITHOUT_FIELDS)
def test_excluded_baselines_really_lack_the_fields(baseline: str) -> None:
    text = (BASELINES / f"{baseline}.conn.log").read_text(errors="replace")
    fields = [line for line in text.splitlines() if line.startswith("#fields")]
    assert not fields or not set(fields[0].split("\t")[1:]) >= NEED


def _conns(path: Path) -> list[dict[str, str]]:
    fields: list[str] = []
    rows = []
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("#fields"):
            fields = line.split("\t")[1:]
        elif line and not line.startswith("#") and fields:
            rows.append(dict(zip(fields, line.split("\t"), strict=False)))
    return rows


@pytest.mark.parametrize(("baseline", "trace", "command"), BASES, ids=[b[0] for b in BASES])
def test_flows_match_zeek_conn_log(baseline: str, trace: str, command: str) -> None:
    log = BASELINES / f"{baseline}.conn.log"
    path = CORPUS / trace
    if not log.is_file() or not path.is_file():
        pytest.skip(f"baseline {log.name} or trace {trace} not found")
    conns = _conns(log)
    # Zeek rows summed per 5-tuple and side (inactivity splits merge back)
    zeek: dict[tuple, dict[tuple, int]] = defaultdict(lambda: defaultdict(int))
    for c in conns:
        if c["proto"] not in PROTOS:
            continue
        a, b = (c["id.orig_h"], int(c["id.orig_p"])), (c["id.resp_h"], int(c["id.resp_p"]))
        key = (PROTOS[c["proto"]], *sorted((a, b)))
        zeek[key][a] += int(c["orig_pkts"])
        zeek[key][b] += int(c["resp_pkts"])
    table = read_file(str(path))
    ours: dict[tuple, dict[tuple, int]] = {}
    outer_pairs = set()
    for f in table.flows:
        for t in f.tunnel:
            outer_pairs.add(frozenset(t.split(" ", 1)[1].split(">")))
        proto = 1 if f.proto == 58 else f.proto
        a, b = (f.src, f.sport), (f.dst, f.dport)
        ours[(proto, *sorted((a, b), key=str))] = {a: f.packets_fwd, b: f.packets_rev}
    problems = []
    for key, sides in zeek.items():
        if not any(sides.values()):
            continue  # Zeek logs a connection with no packet it counted (header cut short)
        mine = ours.get((key[0], *sorted(key[1:], key=str)))
        (ha, pa), (hb, pb) = key[1], key[2]
        if key[0] == 17 and {pa, pb} & CARRIER_PORTS and frozenset((ha, hb)) in outer_pairs:
            continue  # the outer connection of a tunnel we decapsulated
        if mine is None:
            problems.append(("missing", key, dict(sides)))
        elif {k: v for k, v in mine.items()} != dict(sides):
            problems.append(("packets", key, dict(sides), mine))
    if baseline in KNOWN:
        assert problems, f"{baseline}: listed as {KNOWN[baseline]!r} but Zeek agrees: stale"
        return
    assert not problems, problems[:5]


# Zeek's conn_state and orientation, compared where Zeek logs one connection per 5-tuple
BARE = (
    "a lone SYN+ACK 80→6705: Zeek in bare mode (-b, no server ports known) keeps the sender "
    "as originator; with its base scripts (baseline opt.basic, same trace) it flips the "
    "connection as we do"
)
STATE_KNOWN: dict[str, str] = {
    "scripts.base.frameworks.logging.field-extension": BARE,
    "scripts.base.frameworks.logging.field-extension-complex": BARE,
    "scripts.base.frameworks.logging.field-extension-optional": BARE,
    "scripts.base.protocols.dhcp.dhcp-all-msg-types": (
        "a lone DHCP server packet 67→68: Zeek flips it (67 is a DHCP server port); both "
        "ports are below 1024, so ours keeps the sender as originator: S0, Zeek SHR"
    ),
}


STATE_BASES = [b for b in BASES if b[0] not in KNOWN]  # KNOWN: proved different above


@pytest.mark.parametrize(
    ("baseline", "trace", "command"), STATE_BASES, ids=[b[0] for b in STATE_BASES]
)
def test_conn_state_and_orientation_match_zeek(baseline: str, trace: str, command: str) -> None:
    log = BASELINES / f"{baseline}.conn.log"
    path = CORPUS / trace
    if not log.is_file() or not path.is_file():
        pytest.skip(f"baseline {log.name} or trace {trace} not found")
    conns = [c for c in _conns(log) if c.get("proto") in PROTOS and "conn_state" in c]
    per_tuple: dict[tuple, int] = defaultdict(int)
    for c in conns:
        a, b = (c["id.orig_h"], int(c["id.orig_p"])), (c["id.resp_h"], int(c["id.resp_p"]))
        per_tuple[(PROTOS[c["proto"]], *sorted((a, b)))] += 1
    table = read_file(str(path))
    ours = {}
    for f in table.flows:
        proto = 1 if f.proto == 58 else f.proto
        ours[(proto, *sorted(((f.src, f.sport), (f.dst, f.dport)), key=str))] = f
    compared = 0
    problems = []
    for c in conns:
        a, b = (c["id.orig_h"], int(c["id.orig_p"])), (c["id.resp_h"], int(c["id.resp_p"]))
        key = (PROTOS[c["proto"]], *sorted((a, b)))
        if per_tuple[key] > 1 or not (int(c["orig_pkts"]) or int(c["resp_pkts"])):
            continue  # split by Zeek's inactivity timeout, or no packet Zeek counted
        f = ours.get((key[0], *sorted((a, b), key=str)))
        if f is None:
            continue  # reported by test_flows_match_zeek_conn_log
        compared += 1
        if c["proto"] in ("tcp", "udp") and (f.src, f.sport) != a:
            problems.append(("orientation", a, b, c.get("history"), f.src, f.sport))
        if f.conn_state != c["conn_state"]:
            problems.append(("state", a, b, c.get("history"), c["conn_state"], f.conn_state))
    if baseline in STATE_KNOWN:
        assert problems, f"{baseline}: listed as {STATE_KNOWN[baseline]!r} but agrees: stale"
        return
    assert not problems, problems[:5]
