"""``ipset save`` files: set members for iptables ``-m set --match-set`` references.

Supported: ``create NAME TYPE …`` and ``add NAME ENTRY …`` for the one-dimensional
address types ``hash:ip``, ``hash:net``, ``bitmap:ip`` (prefix, address or ``a-b`` range
entries) and ``list:set`` (union of member sets). Other types (``hash:ip,port``…) and
``nomatch`` entries are kept but resolve to nothing: the reference becomes an
``UnknownMatch``.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from segverify.errors import InputError
from segverify.firewall.intervals import parse_address, parse_ip
from segverify.firewall.model import AddressSet
from segverify.firewall.source import read_text
from segverify.i18n import Msg
from segverify.limits import IPSET_MAX_BYTES
from segverify.topology.model import Location

ADDRESS_TYPES = ("hash:ip", "hash:net", "bitmap:ip")


@dataclass
class IpSet:
    name: str
    type: str
    family: int | None
    location: Location
    entries: list[tuple[str, Location]] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)


def parse_ipset_file(path: str) -> dict[str, IpSet]:
    return parse_ipset(read_text(path, IPSET_MAX_BYTES, "ipset save file"), path)


def parse_ipset(text: str, file: str = "<string>") -> dict[str, IpSet]:
    sets: dict[str, IpSet] = {}
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            tok = shlex.split(line)
        except ValueError as exc:
            raise InputError(
                Msg("error.firewall.ipset.bad_ipset_line", reason=exc), file, n
            ) from None
        loc = Location(file, n)
        if tok[0] == "create" and len(tok) >= 3:
            fam = None
            if "family" in tok[3:]:
                i = tok.index("family")
                fam = 6 if i + 1 < len(tok) and tok[i + 1] == "inet6" else 4
            elif tok[2] != "list:set":
                fam = 4
            sets[tok[1]] = IpSet(tok[1], tok[2], fam, loc)
        elif tok[0] == "add" and len(tok) >= 3:
            s = sets.get(tok[1])
            if s is None:
                raise InputError(
                    Msg("error.firewall.ipset.add_undefined_set", name=tok[1]), file, n
                )
            if "nomatch" in tok[3:]:
                s.unsupported.append(f"{file}:{n}: nomatch entry {tok[2]}")
            s.entries.append((tok[2], loc))
        else:
            raise InputError(
                Msg("error.firewall.ipset.not_ipset_save_line", line=line[:60]), file, n
            )
    if not sets:
        raise InputError(Msg("error.firewall.ipset.no_create_lines_not_ipset"), file)
    return sets


def resolve(sets: dict[str, IpSet], name: str, _stack: tuple[str, ...] = ()) -> AddressSet | str:
    """The set's members as an AddressSet, or a reason string why it cannot be used."""
    s = sets.get(name)
    if s is None:
        return f"ipset {name!r} not defined (give --ipset FILE from 'ipset save')"
    if name in _stack:
        return f"ipset list:set loop through {name!r}"
    if s.unsupported:
        return f"ipset {name!r}: " + "; ".join(s.unsupported)
    if s.type == "list:set":
        prefixes: list = []
        ranges: list = []
        for entry, _ in s.entries:
            sub = resolve(sets, entry, _stack + (name,))
            if isinstance(sub, str):
                return sub
            prefixes.extend(sub.prefixes)
            ranges.extend(sub.ranges)
        return AddressSet(tuple(prefixes), tuple(ranges), name=name)
    if s.type not in ADDRESS_TYPES:
        return f"ipset {name!r} has type {s.type} (only {', '.join(ADDRESS_TYPES)}, list:set are modelled)"
    prefixes = []
    ranges = []
    for entry, loc in s.entries:
        try:
            if "-" in entry and "/" not in entry:
                lo, hi = entry.split("-", 1)
                ranges.append((parse_ip(lo), parse_ip(hi)))
            else:
                prefixes.append(parse_address(entry))
        except ValueError:
            raise InputError(
                Msg("error.firewall.ipset.bad_ipset_entry", entry=entry), loc.file, loc.line
            ) from None
    return AddressSet(tuple(prefixes), tuple(ranges), name=name)
