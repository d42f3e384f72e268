"""Format sniffing (``--input-format auto``) and bad files: one clear error, never a traceback."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from segverify.errors import InputError
from segverify.flowlogs import read_flow_log
from segverify.flowlogs.registry import FORMATS, sniff

DATA = Path(__file__).parent / "data" / "flowlogs"


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("zeek-conn-malformed.log", "zeek-tsv"),
        ("fortigate-traffic.log", "fortigate-kv"),
        ("fortianalyzer-traffic.csv", "fortigate-csv"),
        ("paloalto-traffic.csv", "paloalto-csv"),
        ("paloalto-export.csv", "paloalto-csv"),
    ],
)
def test_sniffed_format(name: str, fmt: str) -> None:
    assert sniff(str(DATA / name)) == fmt


def test_gzip_log_reads_as_the_plain_one(tmp_path: Path) -> None:
    plain = DATA / "zeek-conn-malformed.log"
    packed = tmp_path / "conn.log.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    a, b = read_flow_log(str(plain)), read_flow_log(str(packed))
    assert [(f.src, f.dst, f.packets) for f in a.flows] == [
        (f.src, f.dst, f.packets) for f in b.flows
    ]
    assert a.accounting.as_dict() == b.accounting.as_dict()


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "empty file"),
        (b"hello,world\n1,2\n", "not a flow log"),
        (b"\x00\x07\x00\x01garbage", "not a flow log"),
    ],
)
def test_unknown_content_is_one_input_error(tmp_path: Path, content: bytes, words: str) -> None:
    path = tmp_path / "input"
    path.write_bytes(content)
    with pytest.raises(InputError) as err:
        read_flow_log(str(path))
    assert words in err.value.message and err.value.file == str(path)


def test_missing_file_and_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        read_flow_log(str(tmp_path / "nope.log"))
    assert "cannot read" in err.value.message
    with pytest.raises(InputError) as err:
        read_flow_log(str(DATA / "zeek-conn-malformed.log"), "cisco-asa")
    assert "unknown flow-log format" in err.value.message and "zeek-tsv" in err.value.message


def test_wrong_explicit_format_reports_every_line(tmp_path: Path) -> None:
    """A Zeek log read as FortiGate: each data line is malformed with its number (nothing
    is silently taken), the header lines too since they are not key=value traffic."""
    table = read_flow_log(str(DATA / "zeek-conn-malformed.log"), "fortigate-kv")
    assert table.accounting.analysed == 0
    assert table.accounting.malformed == table.accounting.records > 0
    assert [p.line for p in table.problems][:2] == [1, 2]


def test_every_format_has_a_reader() -> None:
    from segverify.flowlogs.registry import collector

    for fmt in FORMATS:
        assert callable(collector(fmt))


def test_docs_name_every_format() -> None:
    doc = (Path(__file__).resolve().parents[1] / "docs" / "flowlogs.md").read_text(encoding="utf-8")
    missing = [fmt for fmt in FORMATS if f"`{fmt}`" not in doc]
    assert not missing, f"docs/flowlogs.md does not describe: {missing}"


def test_a_capture_is_not_sniffed_as_a_flow_log() -> None:
    from segverify.flowlogs.registry import is_capture

    capture = Path(__file__).resolve().parents[1] / "captures" / "alpha-clean.pcap"
    assert is_capture(str(capture)) and not is_capture(str(DATA / "fortigate-traffic.log"))
    with pytest.raises(InputError, match="a packet capture, not a flow log"):
        read_flow_log(str(capture))
