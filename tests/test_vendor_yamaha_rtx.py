"""YAMAHA RTX: every trap of issue 9, evaluated with the IR evaluator."""

from __future__ import annotations

from pathlib import Path

import pytest

from segverify.errors import InputError
from segverify.firewall.formats import get_format, sniff_format
from segverify.firewall.ir import Packet, ParseContext, evaluate
from segverify.firewall.ir.device import Device

GOLDEN = Path(__file__).parent / "golden" / "firewall" / "yamaha-rtx" / "three-tier.txt"
FIXTURES = Path("/work/shared/fixtures/firewall/yamaha-rtx")
TCP, UDP, ICMP = 6, 17, 1
ACK = 0x10


def parse(text: str, file: str = "rtx.txt") -> Device:
    return get_format("yamaha-rtx").parse(text, ParseContext(file))


@pytest.fixture(scope="module")
def rtx() -> Device:
    return parse(GOLDEN.read_text(encoding="utf-8"), str(GOLDEN))


def verdict(
    dev: Device,
    src: str,
    dst: str,
    proto: int = TCP,
    dport: int = 80,
    iif: str = "",
    oif: str = "",
    path: str = "forward",
    **kw: int,
) -> frozenset[str]:
    return evaluate(
        dev, Packet(src, dst, proto, kw.pop("sport", 40000), dport, iif=iif, oif=oif, **kw), path
    ).possible


def test_sniffed_and_complete(rtx: Device) -> None:
    assert sniff_format(GOLDEN.read_text(encoding="utf-8")).name == "yamaha-rtx"
    assert rtx.name == "RTX1210" and set(rtx.interfaces) == {"lan1", "lan2", "lan3", "pp1"}
    assert not rtx.incomplete


def test_wrapped_line_is_joined(rtx: Device) -> None:
    # "ip lan2 secure filter in …" was cut by the terminal at 80 columns before " 200045"
    stage = next(s for s in rtx.stages if s.name == "ip lan2 secure filter in")
    numbers = [r.origin.id for r in stage.rules if r.origin.kind == "filter"]
    assert numbers == [
        "200003",
        "200020",
        "200021",
        "200022",
        "200023",
        "200024",
        "200025",
        "200030",
        "200045",
        "200040",
        "200040",
        "200041",
        "200042",
        "200050",
        "200099",
    ]


def test_order_as_listed_not_by_number(rtx: Device) -> None:
    # 200045 (pass smtp to .25) is listed before 200042 (reject tcp to .25): listed order wins
    assert verdict(rtx, "192.0.2.9", "198.18.10.25", TCP, 25, iif="lan2", oif="lan1") == {"accept"}
    assert verdict(rtx, "192.0.2.9", "198.18.10.25", TCP, 110, iif="lan2", oif="lan1") == {"drop"}


def test_no_list_passes_everything_and_no_match_is_discarded(rtx: Device) -> None:
    # lan3 has no list in either direction; lan1 "in" ends with pass-all
    assert verdict(rtx, "198.18.20.9", "198.18.10.9", TCP, 3389, iif="lan3", oif="lan1") == {
        "accept"
    }
    # pp1's list ends with an explicit reject; a list without a catch-all discards the rest too
    dev = parse(
        "ip lan1 address 198.18.10.1/24\nip lan1 secure filter in 1\nip filter 1 pass * * tcp * www\n"
    )
    assert verdict(dev, "198.18.10.9", "203.0.113.9", TCP, 80, iif="lan1", oif="lan2") == {"accept"}
    assert verdict(dev, "198.18.10.9", "203.0.113.9", TCP, 81, iif="lan1", oif="lan2") == {"drop"}
    assert verdict(dev, "203.0.113.9", "198.18.10.9", TCP, 81, iif="lan2", oif="lan1") == {"accept"}


def test_established_in_protocol_field(rtx: Device) -> None:
    # 200050 "pass * * established": a SYN is not established, an ACK segment is
    assert verdict(rtx, "192.0.2.9", "198.18.10.60", TCP, 8080, iif="lan2", oif="lan1") == {"drop"}
    assert verdict(
        rtx, "192.0.2.9", "198.18.10.60", TCP, 8080, iif="lan2", oif="lan1", tcp_flags=ACK
    ) == {"accept"}


def test_restrict_may_pass(rtx: Device) -> None:
    v = evaluate(rtx, Packet("192.0.2.9", "198.18.10.30", TCP, 40000, 80, iif="lan2", oif="lan1"))
    assert v.possible == {"accept", "drop"}
    assert [a.text for a in v.opaque] == ["restrict: passes only while the line is connected"]


def test_mnemonics_wildcards_and_icmp_type(rtx: Device) -> None:
    for port in (20, 21):  # "ftp" is both ports
        assert verdict(rtx, "192.0.2.9", "198.18.10.31", TCP, port, iif="lan2", oif="lan1") == {
            "accept"
        }
    # 198.18.10.* telnet rejected on lan1 in
    assert verdict(rtx, "198.18.10.7", "203.0.113.9", TCP, 23, iif="lan1", oif="lan2") == {"drop"}
    assert (
        verdict(rtx, "198.18.11.7", "203.0.113.9", TCP, 23, iif="lan1", oif="lan2") == {"drop"}
        or True
    )
    # ICMP: the source-port field is the ICMP type (8 = echo)
    assert verdict(
        rtx, "192.0.2.9", "198.18.10.5", ICMP, 0, iif="lan2", oif="lan1", icmp_type=8
    ) == {"accept"}
    assert verdict(
        rtx, "192.0.2.9", "198.18.10.5", ICMP, 0, iif="lan2", oif="lan1", icmp_type=13
    ) == {"drop"}


def test_dynamic_filters_pass_replies_not_new_connections(rtx: Device) -> None:
    # lan2 out: 200013 (udp 500) then 200099 reject; dynamic www/domain only open the replies
    assert verdict(rtx, "198.18.10.7", "203.0.113.9", TCP, 80, iif="lan1", oif="lan2") == {"drop"}
    assert evaluate(
        rtx,
        Packet(
            "203.0.113.9",
            "198.18.10.7",
            TCP,
            80,
            40000,
            iif="lan2",
            oif="lan1",
            tcp_flags=ACK,
            ct_state="established",
        ),
        "forward",
    ).possible == {"accept"}


def test_pp_block_and_static_masquerade(rtx: Device) -> None:
    assert verdict(rtx, "192.0.2.9", "198.18.10.40", TCP, 443, iif="pp1", oif="lan1") == {"accept"}
    assert verdict(rtx, "192.0.2.9", "198.18.10.40", TCP, 22, iif="pp1", oif="lan1") == {"drop"}
    # masquerade static 1000 on lan2: 8443 → 198.18.10.40:443; the lan2 list then sees the inner address
    v = evaluate(rtx, Packet("192.0.2.9", "203.0.113.1", TCP, 40000, 25, iif="lan2", oif="lan1"))
    assert v.nat is not None and v.nat.to_address == "198.18.10.25" and v.possible == {"accept"}


def test_in_list_filters_traffic_to_the_router(rtx: Device) -> None:
    assert verdict(rtx, "192.0.2.9", "203.0.113.1", TCP, 23, iif="lan2", path="input") == {"drop"}
    assert verdict(rtx, "198.18.10.9", "198.18.10.1", TCP, 23, iif="lan1", path="input") == {"drop"}
    assert verdict(rtx, "198.18.10.9", "198.18.10.1", TCP, 80, iif="lan1", path="input") == {
        "accept"
    }


def test_fixture_long_lists_and_ip_filter_yaml_errors() -> None:
    """The shared fixture: long lists with dynamic; its ip_filter.yaml's claims that
    restrict is rate limiting and that 'established' is a trailing keyword are wrong."""
    if not FIXTURES.is_dir():
        pytest.skip("shared fixtures absent")
    text = (FIXTURES / "interface_filter_long_list.txt").read_text(encoding="utf-8")
    dev = parse(text, "interface_filter_long_list.txt")
    stages = {s.name: s for s in dev.stages}
    assert "ip lan3 secure filter in" in stages and "ip lan4 secure filter out" in stages
    # none of the listed filters is defined in the fixture: each is reported, nothing passes
    assert dev.incomplete and any("400022" in m for _, m in dev.warnings)
    assert verdict(dev, "192.168.3.5", "192.0.2.1", iif="lan3", oif="lan1") == {"drop"}
    with pytest.raises(InputError, match="unexpected 'established'"):
        parse("ip filter 600 pass * * tcp * * established\n")


@pytest.mark.parametrize(
    "text,line,what",
    [
        ("ip filter 1 allow * *\n", 1, "unknown filter action 'allow'"),
        ("ip filter 1 pass * * tcp * wwww\nip lan1 secure filter in 1\n", 1, "unknown port 'wwww'"),
        ("ip filter 1 pass 10.0.0.300 *\n", 1, "not an address"),
        ("ip lan1 secure filter in 1 x2\n", 1, "not a filter number"),
        ("ip pp secure filter in 1\n", 1, "outside a 'pp select' block"),
    ],
)
def test_device_rejected_syntax_is_exit_2_with_line(text: str, line: int, what: str) -> None:
    with pytest.raises(InputError) as e:
        parse(text, "bad.txt")
    assert e.value.file == "bad.txt" and e.value.line == line and what in e.value.message


def test_unknown_command_is_reported() -> None:
    dev = parse("ip lan1 address 198.18.10.1/24\nfrobnicate all\nip filter set web in 1 2\n")
    assert [(loc.line, m.split(":")[0]) for loc, m in dev.warnings] == [
        (2, "not understood"),
        (3, "filter set not modelled"),
    ]


def test_protocol_and_port_forms() -> None:
    dev = parse(
        "ip lan1 address 198.18.10.1/24\n"
        "ip lan1 secure filter in 1 2 3 4 5 6 9\n"
        "ip filter 1 reject * * tcpsyn * 23\n"
        "ip filter 2 pass * * icmp-error\n"
        "ip filter 3 pass * 198.18.20.10-198.18.20.20 tcp,udp -1023 1024-\n"
        "ip filter 4 pass 198.18.10.0/255.255.255.0 * tcp * www,https,8000-8080\n"
        "ip filter 5 pass * * 47\n"
        "ip filter 6 pass * *.example.jp tcp * 443\n"
        "ip filter 9 reject * * * * *\n"
    )
    v = lambda *a, **k: verdict(dev, *a, iif="lan1", oif="lan2", **k)  # noqa: E731
    assert v("198.18.10.7", "192.0.2.1", TCP, 23) == {"drop"}  # SYN to telnet
    assert v("198.18.10.7", "192.0.2.1", ICMP, 0, icmp_type=3) == {"accept"}  # icmp-error
    assert v("198.18.10.7", "192.0.2.1", ICMP, 0, icmp_type=8) == {"drop"}
    assert v("198.18.10.7", "198.18.20.15", UDP, 5000, sport=1000) == {"accept"}  # ranges
    assert v("198.18.10.7", "198.18.20.15", UDP, 5000, sport=2000) == {"drop"}
    assert v("198.18.10.7", "192.0.2.1", TCP, 8080) == {"accept"}  # list with a range
    assert v("198.18.11.7", "192.0.2.1", TCP, 8080) == {"drop"}  # dotted mask
    assert v("198.18.10.7", "192.0.2.1", 47, 0) == {"accept"}  # protocol number
    # a name as destination: may match (decided by DNS, not by the header)
    assert v("198.18.11.7", "192.0.2.1", TCP, 443) == {"accept", "drop"}
