"""The parsed message catalogue kept as marshal data next to the bytecode: same content as
the YAML, rebuilt when the cache is unreadable, never used for another catalogue text."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from segverify import i18n

ROOT = Path(__file__).resolve().parents[1]


def _catalogue_in_child(prefix: Path) -> str:
    code = (
        "import json, sys\nfrom segverify import i18n\n"
        "sys.stdout.write(json.dumps(i18n._catalogue(), sort_keys=True))\n"
    )
    env = {"PYTHONPATH": str(ROOT), "PYTHONPYCACHEPREFIX": str(prefix), "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout


def test_cached_catalogue_equals_the_yaml(tmp_path: Path) -> None:
    source = ROOT / "segverify" / "data" / "messages.yaml"
    expected = yaml.safe_load(source.read_text("utf-8"))
    first = _catalogue_in_child(tmp_path)  # parses and writes the cache
    caches = list(tmp_path.rglob("messages.*.marshal"))
    assert len(caches) == 1
    second = _catalogue_in_child(tmp_path)  # reads the cache

    assert json.loads(first) == expected
    assert json.loads(second) == expected
    caches[0].write_bytes(b"\x00not marshal")  # unreadable: parsed again, rewritten
    assert json.loads(_catalogue_in_child(tmp_path)) == expected
    assert caches[0].read_bytes() != b"\x00not marshal"


def test_cache_is_named_by_the_catalogue_text() -> None:
    source = ROOT / "segverify" / "data" / "messages.yaml"
    text = source.read_text("utf-8")
    a = i18n._cache_path(source, text)
    b = i18n._cache_path(source, text + "\n# edited\n")
    assert a is not None and b is not None and a != b
    assert i18n._cache_path(object(), text) is None
