"""Community ID v1 (seed 0) of our flows against tshark's own implementation, on the
community-id reference captures and a few more of the corpus."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from test_capture_support import CORPUS

from segverify.capture.fast import read_file
from segverify.flows.community_id import community_id

TSHARK = shutil.which("tshark")
FILES = [
    "communityid/icmp.pcap",
    "communityid/icmp6.pcap",
    "communityid/ipv6.pcap",
    "communityid/sctp.pcap",
    "communityid/tcp.pcap",
    "communityid/udp.pcap",
    "communityid/arp.pcap",
    "http-vlan-0.pcap",
    "dns53.pcap",
]


@pytest.mark.tshark
@pytest.mark.parametrize("name", FILES)
def test_community_ids_match_tshark(name: str) -> None:
    if TSHARK is None:
        pytest.skip("tshark not installed (CI installs it via .ci/run)")
    path = CORPUS / name
    if not path.is_file():
        pytest.skip(f"fixture {path} not found")
    run = subprocess.run(
        [TSHARK, "-n", "-r", str(path), "--enable-protocol", "communityid",
         "-o", "communityid.seed:0", "-T", "fields", "-e", "communityid"],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    theirs = {line.strip() for line in run.stdout.splitlines() if line.strip()}
    table = read_file(str(path))
    ours = {f.community_id for f in table.flows}
    assert ours == theirs
    if name == "communityid/arp.pcap":
        assert not ours and table.accounting.non_ip == table.accounting.records


def test_spec_examples() -> None:
    # values from the community-id-spec reference implementation's documentation
    assert community_id("128.232.110.120", "66.35.250.204", 6, 34855, 80) == (
        "1:LQU9qZlK+B5F3KDmev6m5PMibrg="
    )
    # direction does not matter for two-way ICMP (echo request 8 ↔ reply 0)
    assert community_id("192.0.2.1", "192.0.2.2", 1, 8, 0) == community_id(
        "192.0.2.2", "192.0.2.1", 1, 0, 8
    )
    # one-way ICMP keeps its order
    assert community_id("192.0.2.1", "192.0.2.2", 1, 3, 1) != community_id(
        "192.0.2.2", "192.0.2.1", 1, 3, 1
    )
