"""Docs match the code: the CLI reference is regenerated and compared."""

from __future__ import annotations

import json

from segverify.cli.reference import reference
from segverify.topology.loader import schema
from tests.conftest import REPO


def test_cli_reference_is_current() -> None:
    current = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    assert current == reference(), (
        "docs/cli.md is stale: python -m segverify.cli.reference > docs/cli.md"
    )


def test_topology_doc_names_every_schema_key() -> None:
    doc = (REPO / "docs" / "topology.md").read_text(encoding="utf-8")
    keys = set(schema()["properties"])
    for d in schema()["$defs"].values():
        keys |= set(d.get("properties", {}))
    missing = sorted(k for k in keys if f"`{k}`" not in doc)
    assert not missing, f"docs/topology.md does not describe: {missing}"


def test_schema_is_valid_json_schema() -> None:
    import jsonschema

    jsonschema.Draft202012Validator.check_schema(schema())
    json.dumps(schema())
