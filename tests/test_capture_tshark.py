"""Cross-check against tshark: per-conversation frames and bytes for every capture of the
public corpus (``-z conv,ip -z conv,ipv6 -z conv,tcp -z conv,udp``, defragmentation off
so every fragment counts once). Files with a documented semantic difference
(docs/capture.md, "Differences from tshark") are listed in ``KNOWN``: for them the test
checks that the difference exists and stays within the frames it is about."""

from __future__ import annotations

import shutil
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest
from test_capture_support import (
    CORPUS,
    corpus_files,
    corpus_ids,
    parse_conversations,
    size_matches,
)

from segverify.capture.fast import read_file
from segverify.flows.model import FlowTable

TSHARK = shutil.which("tshark")
FILES = corpus_files()

# category → tshark display filter selecting the frames the difference is about
BUDGET_FILTERS = {
    # we count every fragment in the 5-tuple flow; tshark's TCP/UDP tables count only
    # the fragment carrying the transport header (IPv6 tables: only reassembled packets)
    "fragments": "ip.flags.mf == 1 || ip.frag_offset > 0 || ipv6.fraghdr",
    # tshark keys TCP/UDP on the home address / routing-header destination, and leaves
    # mobility-header packets out of its IPv6 table; we keep the IPv6 header's addresses
    "ipv6-mobility": "ipv6.dstopts || ipv6.routing || mipv6",
    # tunnels we leave on the outer flow; tshark also counts the inner conversations
    "not-decapsulated": "teredo || ayiya || gtp || gtpprime || aruba_erm || udp.port == 4754",
    # tunnelled packets inside fragmented outer packets stay on the outer flow
    "fragmented-tunnel": "ip.flags.mf == 1 || ip.frag_offset > 0",
    # the outer endpoints are evidence per flow, not per packet: a flow seen both inside
    # and outside a tunnel, through two tunnels, or under more than two tunnel layers
    # cannot be split back onto tshark's outer conversations exactly
    "tunnel-attribution": "vxlan || geneve || gre || ip.proto == 4 || ip.proto == 41"
    " || ipv6.nxt == 4 || ipv6.nxt == 41",
    # one record carrying an 802.11 A-MSDU aggregate is one packet of the first subframe's
    # flow; tshark counts the frame once per subframe
    "amsdu": "gre && wlan",
    # Cisco FabricPath frames tshark does not decode as IP
    "fabricpath": "cfp",
}
KNOWN = {
    "chksums/ip6-hoa-tcp-bad-chksum.pcap": "ipv6-mobility",
    "chksums/ip6-hoa-tcp-good-chksum.pcap": "ipv6-mobility",
    "chksums/ip6-hoa-udp-bad-chksum.pcap": "ipv6-mobility",
    "chksums/ip6-hoa-udp-good-chksum.pcap": "ipv6-mobility",
    "chksums/ip6-route0-tcp-bad-chksum.pcap": "ipv6-mobility",
    "chksums/ip6-route0-tcp-good-chksum.pcap": "ipv6-mobility",
    "chksums/ip6-route0-udp-bad-chksum.pcap": "ipv6-mobility",
    "chksums/ip6-route0-udp-good-chksum.pcap": "ipv6-mobility",
    "chksums/mip6-bad-mh-chksum.pcap": "ipv6-mobility",
    "chksums/mip6-good-mh-chksum.pcap": "ipv6-mobility",
    "ipv6-hbh-routing0.pcap": "ipv6-mobility",
    "ipv6-mobility-dst-opts.pcap": "ipv6-mobility",
    "mobile-ipv6/ipv6-mobile-hoa.pcap": "ipv6-mobility",
    "mobile-ipv6/ipv6-mobile-routing.pcap": "ipv6-mobility",
    "mobile-ipv6/mip6_back.pcap": "ipv6-mobility",
    "mobile-ipv6/mip6_be.pcap": "ipv6-mobility",
    "mobile-ipv6/mip6_brr.pcap": "ipv6-mobility",
    "mobile-ipv6/mip6_bu.pcap": "ipv6-mobility",
    "mobile-ipv6/mip6_cot.pcap": "ipv6-mobility",
    "mobile-ipv6/mip6_coti.pcap": "ipv6-mobility",
    "mobile-ipv6/mip6_hot.pcap": "ipv6-mobility",
    "mobile-ipv6/mip6_hoti.pcap": "ipv6-mobility",
    "ipv4/fragmented-1.pcap": "fragments",
    "ipv4/fragmented-2.pcap": "fragments",
    "ipv4/fragmented-3.pcap": "fragments",
    "ipv4/fragmented-4.pcap": "fragments",
    "ipv4/fragmented-syn.pcap": "fragments",
    "ipv6-fragmented-dns.pcap": "fragments",
    "ipv6-reassembly-state-leak.pcap": "fragments",
    "dns-edns-ecs.pcap": "fragments",
    "erspan.pcap": "fragmented-tunnel",
    "cisco-fabric-path.pcap": "fabricpath",
    "tunnels/Teredo.pcap": "not-decapsulated",
    "tunnels/ayiya-large-identity.pcap": "not-decapsulated",
    "tunnels/ayiya3.pcap": "not-decapsulated",
    "tunnels/gre-aruba-amsdu.pcap": "amsdu",
    "tunnels/teredo_bubble_with_payload.pcap": "not-decapsulated",
    "tunnels/6in6-tunnel-change.pcap": "tunnel-attribution",
    "tunnels/geneve-vxlan-dns-truncated.pcap": "tunnel-attribution",
    "tunnels/tunnel-direct-bypass.pcap": "tunnel-attribution",
    "tunnels/vxlan-triple-v2.pcap": "tunnel-attribution",
    "tunnels/gre-over-udp-4754.pcap": "not-decapsulated",
    "tunnels/gtp/gtp1_gn_normal_incl_fragmentation.pcap": "not-decapsulated",
    "tunnels/gtp/gtp2_different_udp_port.pcap": "not-decapsulated",
    "tunnels/gtp/gtp4_udp_2152_inside.pcap": "not-decapsulated",
    "tunnels/gtp/gtp6_gtp_0x32.pcap": "not-decapsulated",
    "tunnels/gtp/gtp7_ipv6.pcap": "not-decapsulated",
    "tunnels/gtp/gtp8_teredo.pcap": "not-decapsulated",
    "tunnels/gtp/gtp9_unknown_or_too_short_payload.pcap": "not-decapsulated",
    "tunnels/gtp/gtp_control_prime.pcap": "not-decapsulated",
    "tunnels/gtp/gtp_ext_header.pcap": "not-decapsulated",
    "tunnels/gtp/pdp_ctx_messages.pcapng": "not-decapsulated",
}


def _tshark(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert TSHARK is not None
    cmd = [TSHARK, "-n", "-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE",
           "-r", str(path), *args]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300)


def _ours(table: FlowTable) -> dict[str, dict[tuple, list[int]]]:
    """Our flows summed the way tshark's tables are keyed, plus tunnel outer pairs."""
    out: dict[str, dict[tuple, list[int]]] = {k: {} for k in ("ip", "tcp", "udp", "outer")}

    def add(kind: str, a: object, b: object, pf: int, bf: int, pr: int, br: int) -> None:
        table_ = out[kind]
        if (b, a) in table_ and (a, b) not in table_:
            a, b, pf, bf, pr, br = b, a, pr, br, pf, bf
        e = table_.setdefault((a, b), [0, 0, 0, 0])
        e[0] += pf
        e[1] += bf
        e[2] += pr
        e[3] += br

    for f in table.flows:
        add("ip", f.src, f.dst, f.packets_fwd, f.bytes_fwd, f.packets_rev, f.bytes_rev)
        if f.proto in (6, 17) and f.sport is not None:
            kind = "tcp" if f.proto == 6 else "udp"
            add(kind, (f.src, f.sport), (f.dst, f.dport), f.packets_fwd, f.bytes_fwd,
                f.packets_rev, f.bytes_rev)  # fmt: skip
        for pair in {tuple(sorted(t.split(" ", 1)[1].split(">"))) for t in f.tunnel}:
            add("outer", pair[0], pair[1], f.packets, f.bytes, 0, 0)
    return out


def _differences(path: Path, table: FlowTable, stdout: str) -> dict[str, int]:
    """Frames in disagreement per table (0 everywhere when tshark and we agree)."""
    theirs = parse_conversations(stdout)
    ours = _ours(table)
    outer = {frozenset(k): v[0] for k, v in ours["outer"].items()}
    diff: dict[str, int] = defaultdict(int)
    for kind in ("ip", "tcp", "udp"):
        mine = ours[kind]
        seen = set()
        for (a, b), (fab, bab, fba, bba) in theirs[kind].items():
            seen.add(frozenset((a, b)))
            m = mine.get((a, b))
            if m is None and (b, a) in mine:
                e = mine[(b, a)]
                m = [e[2], e[3], e[0], e[1]]
            pair = frozenset((a, b)) if kind == "ip" else frozenset((a[0], b[0]))
            if pair in outer:  # tshark also counts the outer header of tunnelled packets
                if kind == "ip":
                    total = (m[0] + m[2] if m else 0) + outer[pair]
                    diff[kind] += abs(total - (fab + fba))
                continue
            if m is None:
                diff[kind] += fab + fba
                continue
            if a == b:  # one host talking to itself: directions are not comparable
                ok = m[0] + m[2] == fab + fba
            else:
                ok = (m[0] == fab and m[2] == fba and size_matches(m[1], bab)
                      and size_matches(m[3], bba))  # fmt: skip
            if not ok:
                diff[kind] += abs(m[0] - fab) + abs(m[2] - fba) or 1
        for key, m in mine.items():
            if frozenset(key) not in seen:
                diff[kind] += m[0] + m[2]
    return dict(diff)


@pytest.mark.tshark
@pytest.mark.slow
@pytest.mark.parametrize("path", FILES, ids=corpus_ids(FILES))
def test_conversations_match_tshark(path: Path) -> None:
    if TSHARK is None:
        pytest.skip("tshark not installed (CI installs it via .ci/run)")
    run = _tshark(path, "-q", "-z", "conv,ip", "-z", "conv,ipv6", "-z", "conv,tcp",
                  "-z", "conv,udp")  # fmt: skip
    if "Conversations" not in run.stdout:
        pytest.skip(f"tshark cannot read this file: {run.stderr.strip()[:200]}")
    table = read_file(str(path))
    diff = _differences(path, table, run.stdout)
    rel = str(path.relative_to(CORPUS))
    category = KNOWN.get(rel)
    if category is None:
        acct = table.accounting
        undecoded = acct.malformed + acct.truncated + acct.unsupported_link
        # tshark still counts addresses of packets we file as malformed/truncated
        assert all(v <= undecoded for v in diff.values()), (rel, diff, acct.as_dict())
        return
    assert any(diff.values()), f"{rel}: listed as {category!r} but tshark agrees: stale entry"
    frames = _tshark(path, "-Y", BUDGET_FILTERS[category], "-T", "fields", "-e", "frame.number")
    assert frames.returncode == 0, frames.stderr
    budget = len(frames.stdout.split())
    assert budget > 0
    # one frame can be missing from one conversation and extra in another: 2 per frame
    assert all(v <= 2 * budget for v in diff.values()), (rel, category, diff, budget)
