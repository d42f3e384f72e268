"""The top-level error handler (issue 13 item 13): resource exhaustion is never called an
internal error; a genuine bug still gets one line marked as ours, with how to report it."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

import segverify.cli.topology_cmd as topology_cmd
from segverify.cli.main import cli
from tests.conftest import TOPOLOGIES

ALPHA = str(TOPOLOGIES / "alpha.yaml")


def _raise(exc: BaseException):  # noqa: ANN202
    def boom(*_args: object, **_kw: object) -> None:
        raise exc

    return boom


@pytest.mark.parametrize("exc", [MemoryError(), RecursionError("maximum recursion depth")])
def test_resource_exhaustion_is_bad_input_not_internal_error(
    monkeypatch: pytest.MonkeyPatch, exc: BaseException
) -> None:
    monkeypatch.delenv("SEGVERIFY_DEBUG", raising=False)
    monkeypatch.setattr(topology_cmd, "check_topology", _raise(exc))
    result = CliRunner().invoke(cli, ["topology", "check", ALPHA])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("segverify: input too large to analyse")
    assert "internal error" not in lines[0] and "docs/security.md" in lines[0]


def test_genuine_bug_is_one_line_with_a_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SEGVERIFY_DEBUG", raising=False)
    monkeypatch.setattr(topology_cmd, "check_topology", _raise(KeyError("multi\nline")))
    result = CliRunner().invoke(cli, ["topology", "check", ALPHA])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("segverify: internal error (a bug in segverify, not in your input)")
    assert "KeyError" in lines[0] and "SEGVERIFY_DEBUG=1" in lines[0]


def test_debug_shows_the_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEGVERIFY_DEBUG", "1")
    monkeypatch.setattr(topology_cmd, "check_topology", _raise(KeyError("x")))
    result = CliRunner().invoke(cli, ["topology", "check", ALPHA])
    assert isinstance(result.exception, KeyError)
