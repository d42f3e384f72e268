"""Reusable harness for hostile-input tests: run segverify on files under resource limits and
check that it fails closed.

* ``run_limited(argv)``: one ``segverify`` command in a child process with RLIMIT_AS (memory)
  and RLIMIT_CPU set, so a resource bomb fails the test instead of the machine.
* ``run_batch(argvs)``: many commands in ONE child process under the same limits (the CLI
  runs in-process per command, so a batch of 50 mutants costs one interpreter start-up).
  The child reports each command's exit code and output, plus its peak RSS.
* ``assert_fails_closed(outcome)``: the documented contract — exit code in {0, 1, 2, 3}, no
  traceback, no "internal error", no out-of-memory, and exit 2 is exactly one line on
  stderr starting ``segverify: ``.
* ``mutants(seed, tokens)``: a hypothesis strategy of byte-level mutations of a seed file
  (flip, delete, duplicate, splice hostile tokens) — each format plugs in its own seeds and
  tokens (YAML: anchors, aliases, brackets; firewall exports: their own syntax).

Usage from another test module (e.g. firewall exports)::

    from tests.adversarial import assert_fails_closed, mutants, run_batch

    @given(st.lists(mutants(seed, IPTABLES_TOKENS), min_size=10, max_size=10))
    def test_iptables_mutants(tmp_path_factory, batch):
        d = tmp_path_factory.mktemp("m")
        argvs = [["firewall", "check", write(d, i, m), "-t", TOPO] for i, m in enumerate(batch)]
        for outcome in run_batch(argvs):
            assert_fails_closed(outcome)

Run as ``python -m tests.adversarial`` it is the batch child: JSON list of argv lists on
stdin, JSON results on stdout.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hypothesis import strategies as st

REPO = Path(__file__).resolve().parents[1]
MiB = 1 << 20

DEFAULT_MEM = 1024 * MiB  # address space; numba and numpy map a few hundred MiB at import
DEFAULT_CPU = 60  # seconds of CPU for the whole child
EXIT_CODES = frozenset({0, 1, 2, 3})

# Tokens worth splicing into any text format: resource bombs, control bytes, huge numbers.
COMMON_TOKENS: tuple[bytes, ...] = (
    b"\x00",
    b"\x1b[31m",
    b"\x1b]8;;http://x\x07",
    b"\x7f",
    b"\r",
    "\u202e".encode(),  # right-to-left override
    b"\xff\xfe",
    b"\xc3",
    b"=cmd|' /C calc'!A0",
    b"99999999999999999999",
    b"-1",
    b"::ffff:198.18.10.10",
    b"0.0.0.0/0",
    b"x" * 4096,
    b"\n" * 50,
)

YAML_TOKENS: tuple[bytes, ...] = (
    b"&a [1, 2, 3]",
    b"*a",
    b"<<: *a",
    b"[",
    b"]",
    b"{",
    b"}",
    b"[" * 200,
    b"{a: " * 100,
    b"---\n",
    b"!!python/object:os.system",
    b"? ",
    b": ",
    b"- ",
    b"\t",
    b"'",
    b'"',
    b"%YAML 1.1\n",
    b"!!binary",
    b"1e999",
    b".nan",
    b"null",
    b"~",
    b"yes",
)


@dataclass(frozen=True)
class Outcome:
    argv: tuple[str, ...]
    code: int
    stdout: str
    stderr: str
    peak_rss_kib: int = 0

    def describe(self) -> str:
        return (
            f"segverify {' '.join(self.argv)} → exit {self.code}\n"
            f"stderr: {self.stderr[-2000:]}\nstdout: {self.stdout[-500:]}"
        )


def _limits(mem: int, cpu: int):  # noqa: ANN202
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))

    return apply


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + (
        os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""
    )
    env.pop("SEGVERIFY_DEBUG", None)
    env["LC_ALL"] = "C.UTF-8"
    return env


def run_limited(
    argv: Sequence[str], mem: int = DEFAULT_MEM, cpu: int = DEFAULT_CPU, timeout: float = 300
) -> Outcome:
    """One ``segverify`` command in a child process under RLIMIT_AS and RLIMIT_CPU."""
    proc = subprocess.run(
        [sys.executable, "-m", "segverify", *argv],
        capture_output=True,
        text=True,
        errors="replace",
        preexec_fn=_limits(mem, cpu),
        env=_env(),
        cwd=REPO,
        timeout=timeout,
        check=False,
    )
    return Outcome(tuple(argv), proc.returncode, proc.stdout, proc.stderr)


def run_batch(
    argvs: Sequence[Sequence[str]],
    mem: int = DEFAULT_MEM,
    cpu: int = DEFAULT_CPU,
    timeout: float = 300,
) -> list[Outcome]:
    """Many commands in one child under the limits; a killed child fails every command."""
    proc = subprocess.run(
        [sys.executable, "-m", "tests.adversarial"],
        input=json.dumps([list(a) for a in argvs]),
        capture_output=True,
        text=True,
        errors="replace",
        preexec_fn=_limits(mem, cpu),
        env=_env(),
        cwd=REPO,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise AssertionError(
            f"batch child died (exit {proc.returncode}, a signal is negative: CPU or memory limit?)"
            f"\nstderr: {proc.stderr[-3000:]}"
        )
    data = json.loads(proc.stdout)
    return [
        Outcome(tuple(r["argv"]), r["code"], r["stdout"], r["stderr"], data["peak_rss_kib"])
        for r in data["results"]
    ]


def assert_fails_closed(outcome: Outcome, codes: frozenset[int] = EXIT_CODES) -> None:
    """The documented contract for any input, however hostile."""
    text = outcome.stdout + outcome.stderr
    assert outcome.code in codes, outcome.describe()
    assert "Traceback" not in text, outcome.describe()
    assert "internal error" not in text, outcome.describe()
    assert "out of memory" not in text and "MemoryError" not in text, outcome.describe()
    if outcome.code == 2:
        lines = outcome.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("segverify: "), outcome.describe()


@st.composite
def mutants(draw: st.DrawFn, seed: bytes, tokens: Sequence[bytes] = ()) -> bytes:
    """A seed file with 1–4 byte-level mutations: flips, deletions, duplications, splices."""
    pool = tuple(tokens) + COMMON_TOKENS
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(("flip", "delete", "duplicate", "splice", "splice-line")))
        pos = draw(st.integers(0, len(data)))
        if op == "flip" and data:
            i = min(pos, len(data) - 1)
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "delete":
            data[pos : pos + draw(st.integers(1, 64))] = b""
        elif op == "duplicate":
            n = draw(st.integers(1, 256))
            data[pos:pos] = data[pos : pos + n] * draw(st.integers(1, 8))
        elif op == "splice":
            data[pos:pos] = draw(st.sampled_from(pool))
        else:  # splice at a line start, where most syntax begins
            start = data.rfind(b"\n", 0, pos) + 1
            data[start:start] = draw(st.sampled_from(pool)) + b"\n"
    return bytes(data)


def _hostile_values() -> st.SearchStrategy[object]:
    """Values that are well-formed YAML but hostile to whatever reads them."""
    deep: object = "x"
    for _ in range(100):
        deep = [deep]
    return st.one_of(
        st.sampled_from(
            [
                None,
                True,
                0,
                -1,
                65536,
                2**64,
                float("nan"),
                float("inf"),
                "",
                "x" * 100_000,
                ["198.18.0.0/15"] * 5_000,
                deep,
                {},
                [],
                "::ffff:198.18.10.10",
                "0.0.0.0/0",
                "::/0",
                "1-65535",
                "65535-1",
                "\x1b]8;;http://x\x07link\x1b]8;;\x07",
                "\u202egnp.exe",
                '=HYPERLINK("http://x")',
                "<script>alert(1)</script>",
                "../../etc/passwd",
                "internet",
                "firewall",
            ]
        ),
        st.text(max_size=40),
        st.integers(),
    )


def _value_paths(node: object, path: tuple[object, ...]) -> list[tuple[object, ...]]:
    out = [path]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _value_paths(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _value_paths(v, (*path, i))
    return out


@st.composite
def yaml_value_mutants(draw: st.DrawFn, seed: str) -> bytes:
    """A YAML seed with 1–3 values (or keys) replaced by hostile ones; stays valid YAML, so
    the mutation reaches the schema and semantic checks rather than the parser."""
    import yaml

    data = yaml.safe_load(seed)
    for _ in range(draw(st.integers(1, 3))):
        paths = _value_paths(data, ())
        path = draw(st.sampled_from(paths[1:] or paths))
        value = draw(_hostile_values())
        if not path:
            data = value
            continue
        parent = data
        for part in path[:-1]:
            parent = parent[part]  # type: ignore[index]
        if isinstance(parent, dict) and draw(st.booleans()) and isinstance(value, (str, int)):
            parent[value] = parent.pop(path[-1])  # rename the key instead
        else:
            parent[path[-1]] = value  # type: ignore[index]
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False).encode("utf-8")


def _child() -> None:
    from click.testing import CliRunner

    from segverify.cli.main import cli
    from segverify.errors import InputError

    argvs = json.loads(sys.stdin.read())
    results = []
    runner = CliRunner()
    for argv in argvs:
        result = runner.invoke(cli, argv, catch_exceptions=True)
        stderr, code = result.stderr, result.exit_code
        if isinstance(result.exception, InputError):  # what segverify.cli.main.main() does
            stderr, code = f"segverify: {result.exception}\n", 2
        elif result.exception is not None and not isinstance(result.exception, SystemExit):
            stderr += "Traceback (escaped the CLI):\n" + "".join(
                traceback.format_exception(result.exception)
            )
        results.append({"argv": argv, "code": code, "stdout": result.stdout, "stderr": stderr})
    sys.stdout.write(json.dumps({"results": results, "peak_rss_kib": _peak_rss_kib()}))


def _peak_rss_kib() -> int:
    """This program's peak resident memory. Linux keeps ``ru_maxrss`` across exec, so a
    child forked from a big test worker would report the worker's peak: ``VmHWM`` belongs
    to the new address space only."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


if __name__ == "__main__":
    _child()
