"""Malformed exports never raise a traceback: every mutation of the golden configurations
either parses (with warnings) or is a one-line InputError naming file and line."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from segverify.errors import InputError
from segverify.firewall.formats import get_format
from segverify.firewall.ir import ParseContext

GOLDEN = Path(__file__).parent / "golden" / "firewall"
CASES = [
    ("cisco-asa", GOLDEN / "cisco-asa" / "three-tier.cfg"),
    ("juniper-srx", GOLDEN / "juniper-srx" / "three-tier.conf"),
    ("juniper-srx", GOLDEN / "juniper-srx" / "three-tier.set"),
    ("yamaha-rtx", GOLDEN / "yamaha-rtx" / "three-tier.txt"),
]
JUNK = ["", "{", "}", ";", "[", "]", '"', "any", "host", "object-group", "999999", "-", "*",
        "0.0.0.0/33", "::/129", "eq", "range", "65536", "inactive:", "/*", "#", "\t", "dynamic",
        "1.2.3.4", "255.255.255.0", "permit", "deny", "then", "match", "ge-0/0/0.0", "pp", "select"]  # fmt: skip


def _mutate(text: str, rng: random.Random) -> str:
    lines = text.splitlines()
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(len(lines))
        words = lines[i].split(" ")
        op = rng.randrange(6)
        if op == 0:
            del lines[i]
        elif op == 1:
            lines.insert(i, lines[rng.randrange(len(lines))])
        elif op == 2 and words:
            del words[rng.randrange(len(words))]
            lines[i] = " ".join(words)
        elif op == 3:
            words.insert(rng.randrange(len(words) + 1), rng.choice(JUNK))
            lines[i] = " ".join(words)
        elif op == 4:
            lines[i] = lines[i][: rng.randrange(len(lines[i]) + 1)]
        else:
            j = rng.randrange(len(words))
            words[j] = rng.choice(JUNK)
            lines[i] = " ".join(words)
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("fmt,path", CASES, ids=lambda v: v if isinstance(v, str) else v.name)
def test_mutations_never_raise_a_traceback(fmt: str, path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    parse = get_format(fmt).parse
    rng = random.Random(f"{fmt}:{path.name}")
    errors = 0
    for _ in range(150):
        mutated = _mutate(text, rng)
        try:
            parse(mutated, ParseContext("m.cfg"))
        except InputError as e:
            errors += 1
            assert e.file == "m.cfg" and "\n" not in str(e)
    assert errors > 0  # the mutations do reach the error paths
