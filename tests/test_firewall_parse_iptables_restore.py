"""iptables-restore input that iptables-save never writes: a chain declared again and a
table block repeated. iptables-nft flushes a user chain declared again (iptables-legacy
rejects the file) and replaces a repeated table, resetting built-in policies the new block
does not declare to ACCEPT (iptables-legacy keeps them). segverify follows iptables-nft and
says where the backends differ (a warning with the line: the analysis is incomplete).

Found by the aerleon oracle: a wrapper that declared speedway's chains after each
``:FORWARD`` line loaded into the kernel with the first section's chains flushed, while
segverify had kept their rules. The kernel (iptables-nft in a private network namespace)
is the oracle where it runs.
"""

from __future__ import annotations

import subprocess
import uuid

import pytest
from conftest import need_root, need_tool

from segverify.firewall import ir, parse_text
from segverify.firewall.ir import Packet
from segverify.firewall.ruleset_ir import lower_ruleset

CHAIN_AGAIN = """\
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:X - [0:0]
-A X -s 198.18.1.0/24 -j ACCEPT
-A FORWARD -j X
-A FORWARD -j DROP
:FORWARD ACCEPT [0:0]
:X - [0:0]
-A X -s 198.18.2.0/24 -j ACCEPT
COMMIT
"""

TABLE_AGAIN = """\
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -s 198.18.1.0/24 -j ACCEPT
COMMIT
*filter
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -s 198.18.2.0/24 -j DROP
COMMIT
"""

SOURCES = ("198.18.1.5", "198.18.2.5", "198.18.3.5")


def _verdicts(text: str) -> dict[str, str]:
    rs = parse_text(text, "t.rules", "iptables")
    dev = lower_ruleset(rs)
    return {
        s: ir.evaluate(dev, Packet(src=s, dst="198.19.0.9", proto=6, dport=80), "forward").action
        for s in SOURCES
    }


def _warnings(text: str) -> list[str]:
    return [
        f"{loc.line if loc else '-'}: {msg}" for loc, msg in parse_text(text, "t.rules").warnings
    ]


def test_chain_declared_again_is_flushed_with_a_warning() -> None:
    # line 6 is flushed by the second ":X": 198.18.1.5 falls through X to the DROP
    assert _verdicts(CHAIN_AGAIN) == {
        "198.18.1.5": "drop",
        "198.18.2.5": "accept",
        "198.18.3.5": "drop",
    }
    (w,) = _warnings(CHAIN_AGAIN)
    assert w.startswith("10: chain X declared again") and "(lines 6-6)" in w


def test_builtin_chain_declared_again_keeps_its_rules() -> None:
    # a second ":FORWARD" only sets the policy (both backends): no warning
    text = CHAIN_AGAIN.replace(":X - [0:0]\n-A X -s 198.18.2.0/24 -j ACCEPT\n", "")
    assert _verdicts(text)["198.18.1.5"] == "accept"
    assert _warnings(text) == []


def test_table_repeated_replaces_the_earlier_block() -> None:
    # the first block's rules are gone; FORWARD's DROP policy is reset to ACCEPT (nft)
    assert _verdicts(TABLE_AGAIN) == {
        "198.18.1.5": "accept",
        "198.18.2.5": "drop",
        "198.18.3.5": "accept",
    }
    (w,) = _warnings(TABLE_AGAIN)
    assert w.startswith("7: *filter repeated without :FORWARD") and "DROP (line 3)" in w
    declared = TABLE_AGAIN.replace(
        ":OUTPUT ACCEPT [0:0]\n-A FORWARD -s 198.18.2",
        ":OUTPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n-A FORWARD -s 198.18.2",
    )
    assert _warnings(declared) == []
    assert _verdicts(declared)["198.18.3.5"] == "drop"


@pytest.mark.parametrize("text", [CHAIN_AGAIN, TABLE_AGAIN], ids=["chain-again", "table-again"])
def test_kernel_agrees(text: str) -> None:
    """Loaded by iptables-restore (nf_tables backend) into a private namespace, the rules
    the kernel holds (its iptables-save) give the verdicts segverify gives the file."""
    need_root()
    tool = need_tool("iptables-restore")
    version = subprocess.run([tool, "--version"], capture_output=True, text=True).stdout
    if "nf_tables" not in version:
        pytest.skip(f"iptables-restore is not the nf_tables variant ({version.strip()})")
    ns = f"svrst-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(["ip", "netns", "exec", ns, "iptables-restore"], input=text, text=True,
                       check=True)  # fmt: skip
        saved = subprocess.run(
            ["ip", "netns", "exec", ns, "iptables-save"], capture_output=True, text=True, check=True
        ).stdout
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=True)
    assert _verdicts(saved) == _verdicts(text)
    assert _warnings(saved) == []
