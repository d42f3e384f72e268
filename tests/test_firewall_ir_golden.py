"""Golden files for every registered format: ``tests/golden/firewall/<format>/<case>`` and
the expected ``dump_device`` in ``<case>.ir.ref``. A case is every ``*.ir.ref`` file: to add
one, create the export and an empty ``<case>.ir.ref``, run with SEGVERIFY_UPDATE_GOLDEN=1,
review the written reference."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from segverify.firewall.formats import format_names, get_format
from segverify.firewall.ir import ParseContext
from segverify.firewall.ir.dump import dump_device

GOLDEN = Path(__file__).parent / "golden" / "firewall"


def _cases() -> list[tuple[str, Path]]:
    out = []
    for name in format_names():
        d = GOLDEN / name
        if d.is_dir():
            out.extend(
                (name, ref.with_name(ref.name[: -len(".ir.ref")]))
                for ref in sorted(d.glob("*.ir.ref"))
            )
    return out


@pytest.mark.parametrize("fmt,path", _cases(), ids=lambda v: v if isinstance(v, str) else v.name)
def test_ir_golden(fmt: str, path: Path) -> None:
    options = {}
    ipset = path.with_suffix(".ipset")
    if ipset.exists():
        from segverify.firewall.ipset import parse_ipset_file

        options["ipsets"] = parse_ipset_file(str(ipset))
    text = path.read_text(encoding="utf-8")
    got = dump_device(get_format(fmt).parse(text, ParseContext(str(path), options)))
    ref = path.with_name(path.name + ".ir.ref")
    if os.environ.get("SEGVERIFY_UPDATE_GOLDEN") == "1":
        ref.write_text(got, encoding="utf-8")
    assert got == ref.read_text(encoding="utf-8")
