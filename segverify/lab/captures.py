"""``make captures``: rebuild captures/lab/ (pcap + ground truth per entry) from the lab.

``python -m segverify.lab.captures [--only NAME] [--out DIR] [--manifest FILE]``

Entries come from ``topologies/lab/captures.yaml``. Entries sharing a topology share one
lab; the ruleset is swapped between them. Root only; every lab is torn down at the end,
also on failure.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from segverify.errors import InputError
from segverify.i18n import Msg
from segverify.lab import control
from segverify.lab.profile import load_profile
from segverify.lab.runner import run_profile

REPO = Path(__file__).resolve().parents[2]
MANIFEST = REPO / "topologies" / "lab" / "captures.yaml"
OUT = REPO / "captures" / "lab"
MAX_BYTES = 1_000_000


@dataclass(frozen=True)
class Entry:
    name: str
    topology: Path
    ruleset: Path | None
    profile: Path
    vendor: str | None = None


def load_manifest(path: Path = MANIFEST) -> list[Entry]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(
            Msg("error.lab.captures.cannot_read_capture_manifest", reason=exc), str(path)
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("captures"), list):
        raise InputError(Msg("error.lab.captures.expected_mapping_captures_list"), str(path))
    base = path.parent
    out = []
    for raw in data["captures"]:
        try:
            out.append(
                Entry(
                    name=str(raw["name"]),
                    topology=base / raw["topology"],
                    ruleset=base / raw["ruleset"] if raw.get("ruleset") else None,
                    profile=base / raw["profile"],
                    vendor=raw.get("vendor"),
                )
            )
        except (KeyError, TypeError) as exc:
            raise InputError(
                Msg("error.lab.captures.bad_capture_entry", raw=raw, reason=exc), str(path)
            ) from None
    return out


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        return str(path)


def build(entries: list[Entry], out_dir: Path, run_id: str = "cap") -> list[str]:
    """Run every entry; returns one summary line per capture written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    lines: list[str] = []
    by_topology: dict[Path, list[Entry]] = {}
    for e in entries:
        by_topology.setdefault(e.topology, []).append(e)
    cwd = os.getcwd()
    os.chdir(REPO)  # ruleset paths in the ground truth are repository-relative
    try:
        for n, (topology, group) in enumerate(by_topology.items()):
            rid = f"{run_id}{n}"
            control.down(rid)
            lab = control.up(_rel(topology), rid)
            try:
                for e in group:
                    if e.ruleset is not None:
                        lab = control.load(rid, _rel(e.ruleset), e.vendor, None)
                    pcap = out_dir / f"{e.name}.pcap"
                    truth = run_profile(lab, load_profile(_rel(e.profile)), pcap)
                    truth.write(out_dir / f"{e.name}.truth.json")
                    size = pcap.stat().st_size
                    if size > MAX_BYTES:
                        raise InputError(
                            Msg(
                                "error.lab.captures.capture_larger_than_bytes",
                                limit=MAX_BYTES,
                                size=size,
                            ),
                            str(pcap),
                        )
                    s = truth.summary()
                    lines.append(
                        f"{e.name}: {s['attempted']} flows, {s['passed']} let through, "
                        f"{s['forbidden']} forbidden, {s['violations']} violation(s); {size} bytes"
                    )
            finally:
                control.down(rid)
    finally:
        os.chdir(cwd)
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m segverify.lab.captures")
    parser.add_argument("--only", action="append", help="only this entry (repeatable)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--manifest", type=Path, default=MANIFEST)
    args = parser.parse_args(argv)
    try:
        entries = load_manifest(args.manifest)
        if args.only:
            unknown = set(args.only) - {e.name for e in entries}
            if unknown:
                raise InputError(
                    Msg("error.lab.captures.no_capture_entry", name=sorted(unknown)[0]),
                    str(args.manifest),
                )
            entries = [e for e in entries if e.name in args.only]
        for line in build(entries, args.out.resolve()):
            print(line)
    except InputError as err:
        print(f"segverify: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
