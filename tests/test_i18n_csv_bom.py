"""CSV for Excel: `pcap --format csv` and `flows --format csv` start with a UTF-8 byte-order
mark under `--excel`, under `--lang ja` and under a ja_JP locale, as the firewall CSV does;
plain English CSV has none. The rows are the same either way."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from click.testing import CliRunner

from segverify.cli.main import cli

ROOT = Path(__file__).resolve().parent.parent
TOPOLOGY = str(ROOT / "topologies" / "alpha.yaml")
CAPTURE = str(ROOT / "captures" / "alpha-violations.pcap")
BOM = b"\xef\xbb\xbf"

COMMANDS = {
    "pcap": ["pcap", CAPTURE, "-t", TOPOLOGY, "--format", "csv"],
    "flows": ["flows", CAPTURE, "-t", TOPOLOGY, "--format", "csv"],
}


def csv_bytes(tmp_path: Path, command: str, *, before: tuple[str, ...] = (), env=None) -> bytes:
    out = tmp_path / f"{command}-{len(before)}-{bool(env)}.csv"
    result = CliRunner().invoke(cli, [*before, *COMMANDS[command], "-o", str(out)], env=env)
    assert result.exit_code in (0, 1), result.output
    return out.read_bytes()


def rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_excel_lang_and_locale_write_a_bom(tmp_path: Path, command: str) -> None:
    plain = csv_bytes(tmp_path, command, env={"LANG": "C", "LC_ALL": "", "LC_MESSAGES": ""})
    assert not plain.startswith(BOM)
    assert len(rows(plain)) > 1  # a header and findings or flows
    excel = csv_bytes(tmp_path, command, before=("--excel",), env={"LANG": "C", "LC_ALL": ""})
    assert excel.startswith(BOM) and excel[3:4] != b"\xef"  # exactly one mark
    assert rows(excel) == rows(plain)  # the same table, only the mark added
    ja = csv_bytes(tmp_path, command, before=("--lang", "ja"))
    assert ja.startswith(BOM)
    locale = csv_bytes(tmp_path, command, env={"LANG": "ja_JP.UTF-8", "LC_ALL": ""})
    assert locale.startswith(BOM)
