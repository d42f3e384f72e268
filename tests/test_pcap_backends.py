"""All backends produce the same flow table and accounting on a shared corpus."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from conftest import FIXTURES, REPO, need_tool

from segverify.capture import scapy_backend
from segverify.capture.scapy_backend import community_id, read_file
from segverify.errors import InputError
from segverify.flows.model import FlowTable

CAPTURES = sorted(p.name for p in (REPO / "captures").glob("*.pcap*") if p.suffix != ".json")
ZEEK = [
    "communityid/tcp.pcap",
    "communityid/udp.pcap",
    "communityid/icmp.pcap",
    "communityid/icmp6.pcap",
    "communityid/sctp.pcap",
    "communityid/ipv6.pcap",
    "http/get.pcap",
    "http-vlan-0.pcap",
    "http-qinq-0.pcap",
    "ipv4/fragmented-1.pcap",
    "ipv6-fragmented-dns.pcap",
    "pcapng-multi-interface.pcapng",
    "dns53.pcap",
    "linux_dlt_sll2.pcap",
    "tunnels/vxlan.pcap",
    "tunnels/geneve.pcap",
    "tunnels/gre-erspan3-dot1q.pcap",
    "erspanII.pcap",
    "trunc/ip4-trunc.pcap",
    "tls/chrome-34-google.pcap",
]


def corpus_path(name: str) -> str:
    if name in CAPTURES:
        return str(REPO / "captures" / name)
    path = FIXTURES / "pcaps" / "zeek-traces" / name
    if not path.exists():
        pytest.skip(f"shared fixtures not found at {FIXTURES}")
    return str(path)


def signature(table: FlowTable) -> tuple[list[tuple], dict[str, object]]:
    rows = (
        (f.src, f.dst, f.proto, f.sport, f.dport, f.packets_fwd, f.packets_rev, f.bytes_fwd,
         f.bytes_rev, f.first_frame, f.community_id, f.vlan, f.names, f.tunnel)
        for f in table.flows
    )  # fmt: skip
    flows = sorted(rows, key=lambda t: tuple(-1 if v is None else v for v in t))
    acct = table.accounting.as_dict()
    acct.pop("cut_short")
    return flows, acct


def fast_reader():  # noqa: ANN201
    try:
        module = importlib.import_module("segverify.capture.fast")
    except ImportError:
        return None
    return getattr(module, "read_file", None)


@pytest.mark.parametrize("name", CAPTURES + ZEEK)
def test_scapy_and_pyshark_agree(name: str) -> None:
    need_tool("tshark")
    from segverify.capture import pyshark_backend

    path = corpus_path(name)
    ref = read_file(path)
    assert ref.accounting.balanced()
    assert signature(pyshark_backend.read_file(path)) == signature(ref)


@pytest.mark.parametrize("name", CAPTURES + ZEEK)
def test_fast_agrees_with_scapy(name: str) -> None:
    fast = fast_reader()
    if fast is None:
        pytest.skip("segverify.capture.fast not available yet")
    path = corpus_path(name)
    assert signature(fast(path)) == signature(read_file(path))


def test_flow_semantics_on_bundled_capture() -> None:
    table = read_file(str(REPO / "captures" / "alpha-violations.pcap"))
    acct = table.accounting
    assert (acct.records, acct.analysed, acct.files) == (111, 111, 1)
    smb = next(f for f in table.flows if f.dport == 445)
    # initiator is the SYN sender; handshake + request + close = 5 packets out, 3 back
    assert (smb.src, smb.dst, smb.sport) == ("198.18.20.150", "198.18.30.60", 50102)
    assert (smb.packets_fwd, smb.packets_rev) == (5, 3)
    assert smb.tcp_flags_fwd & 0x02 and smb.tcp_flags_rev & 0x12 == 0x12
    assert smb.first_frame < smb.first_frame + smb.packets
    assert smb.first_ns < smb.last_ns
    ping = next(f for f in table.flows if f.proto == 1)
    assert (ping.sport, ping.dport, ping.packets_fwd, ping.packets_rev) == (8, 0, 1, 1)


def test_pcapng_interfaces_vlans_and_ns_resolution() -> None:
    pcap = read_file(str(REPO / "captures" / "alpha-violations.pcap"))
    ng = read_file(str(REPO / "captures" / "alpha-violations.pcapng"))
    assert signature(ng)[0] != [] and len(ng.flows) == len(pcap.flows)
    assert {10, 20, 30} <= {f.vlan for f in ng.flows}
    uplink = next(f for f in ng.flows if f.dst == "192.0.2.80")  # interface 1: ns resolution
    internal = next(f for f in ng.flows if f.dport == 445)  # interface 0: µs resolution
    assert uplink.first_ns % 1000 != 0
    assert internal.first_ns % 1000 == 0
    assert uplink.vlan == 10 and internal.vlan == 20


def test_community_id_reference_vectors() -> None:
    # values from the Community ID specification's baseline
    assert (
        community_id("128.232.110.120", "66.35.250.204", 6, 34855, 80)
        == "1:LQU9qZlK+B5F3KDmev6m5PMibrg="
    )
    assert (
        community_id("66.35.250.204", "128.232.110.120", 6, 80, 34855)
        == "1:LQU9qZlK+B5F3KDmev6m5PMibrg="
    )
    assert community_id("192.168.0.89", "192.168.0.1", 1, 8, 0) == "1:X0snYXpgwiv9TZtqg64sgzUn6Dk="


def test_tunnel_endpoints_recorded(fixtures_dir: Path) -> None:
    table = read_file(
        str(fixtures_dir / "pcaps" / "zeek-traces" / "tunnels" / "gre-within-gre.pcap")
    )
    assert table.accounting.analysed == table.accounting.records
    assert all(len(f.tunnel) >= 2 and f.tunnel[0].startswith("gre ") for f in table.flows)


def test_cut_short_file_is_noted(tmp_path: Path) -> None:
    data = (REPO / "captures" / "alpha-violations.pcap").read_bytes()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(data[: len(data) - 10])
    table = read_file(str(cut))
    assert table.accounting.records == 110
    assert table.accounting.balanced()
    assert (
        len(table.accounting.cut_short) == 1
        and "record data cut short" in table.accounting.cut_short[0]
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "too short"),
        (b"hello world, not a capture", "not a pcap or pcapng file"),
        (b"\x1f\x8bxx", "gzip"),
    ],
)
def test_bad_files_raise_input_error(tmp_path: Path, content: bytes, message: str) -> None:
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(content)
    with pytest.raises(InputError, match=message) as err:
        scapy_backend.read_file(str(bad))
    assert err.value.file == str(bad)
    with pytest.raises(InputError, match="no such file"):
        scapy_backend.read_file(str(tmp_path / "missing.pcap"))


def test_pyshark_needs_tshark(monkeypatch: pytest.MonkeyPatch) -> None:
    from segverify.capture import pyshark_backend

    monkeypatch.setenv("PATH", "")
    with pytest.raises(InputError, match="pyshark backend needs tshark"):
        pyshark_backend.read_file(str(REPO / "captures" / "alpha-clean.pcap"))
