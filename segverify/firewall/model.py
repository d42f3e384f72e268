"""Vendor-independent ruleset model. Parsers produce it; nothing after a parser sees vendor syntax.

A ``Ruleset`` is one device's filtering, flattened to an ordered first-match list per
*stage*. netfilter has several base chains on one hook that run in priority order; each
is a stage, and a packet must be accepted by every stage it traverses (a later stage's
drop still drops). Jumps/gotos/RETURN and user chains are inlined by the parser, so the
engine sees only ordered rules with terminal actions (or, past the inlining limit, rules
that ``call`` a shared chain: see ``chains.py``).

Semantics the engine relies on (read this before consuming the model):

* **Paths.** A forwarded packet traverses the stages of hooks ``prerouting`` →
  ``forward`` → ``postrouting``; a packet to the device ``prerouting`` → ``input``; a
  packet from the device ``output`` → ``postrouting``. ``Ruleset.path_stages(path)``
  returns them in that order (by hook, then priority). Most exports have only
  ``forward``/``input``/``output`` stages; ``prerouting``/``postrouting`` stages come
  from iptables ``mangle``/``raw`` tables or nft chains on those hooks that filter.
* **Rules.** Within a stage the first rule whose every given field matches decides
  (``action``); no match → ``Stage.default_action``. Rules with ``enabled=False`` (CSV
  exports) are kept for evidence and must be skipped. ``action`` is one of ``ACTIONS``
  or ``UNKNOWN_ACTION`` ("unknown": the verdict is not known — e.g. NFQUEUE or an
  unsupported target; the packet may be accepted or dropped, treat it fail-closed).
* **Fields are a conjunction.** ``None`` means "any". All given fields must hold.

  - ``family``: 4 or 6 — the rule only matches packets of that IP version.
  - ``src``/``dst``: ``AddressSet`` (union of prefixes and inclusive ranges, optionally
    negated). A packet of a family with no entries in a non-negated set does not match;
    a negated set matches every address (of any family) not in the union.
  - ``protocols`` + ``protocols_negated``: IANA protocol numbers.
  - ``sports``/``dports``: ``PortSet``. A rule with a port field only matches packets of
    a port-carrying protocol (``PORT_PROTOCOLS``) whose port is in the set
    (a negated PortSet: not in the ranges, but still a port-carrying protocol).
  - ``icmp_types`` + ``icmp_types_negated`` (authoritative) and ``icmp_code``: only
    packets of protocol ICMP (1) or ICMPv6 (58) whose type is (not) in the set.
    ``icmp_type`` is a convenience copy when ``icmp_types`` holds exactly one
    non-negated type; do not count it twice.
  - ``in_interfaces``/``out_interfaces``: names; a trailing ``*`` is a prefix wildcard
    (iptables ``eth+`` is normalised to ``eth*``). ``*_except``: names/patterns the
    interface must NOT match (how these parsers express ``! -i eth0``).
    ``*_negated`` is kept for compatibility and always False from these parsers.
  - ``in_zones``/``out_zones``: set only when a topology was given: the zones of the
    firewall's interfaces the interface match accepts (exact; ``()`` = none of the
    known interfaces). With a topology, engines should prefer zones over names.
  - ``ct_states``: connection states matched (subset of ``CT_STATES``); negation is
    already expanded to the complement.
  - ``tcp_flags``: (mask, value): only TCP packets whose flags & mask == value.
  - ``unknown``: matches that headers do not decide (``UnknownMatch``); the rule "may
    match". Of kind "unknown" (not understood) they make the ruleset ``incomplete``;
    other kinds ("limit", "mark") are understood and opaque.

* ``chain`` records the chain path the rule was inlined through (``FORWARD>WEB``), and
  ``location``/``text`` the source line of the rule that decided; ``via`` the lines of
  the jump/goto rules that led there.
* ``call`` (shared chains, see ``chains.py``): when inlining would copy user chains too
  often, a jump/goto of a base chain is kept as one rule per outcome of the called chain:
  the rule matches its fields *and* the called chain ending with ``call.outcome``. Only
  ``ruleset_ir.lower_ruleset`` reads it (into ``ir.ChainVerdict``).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any, TypeVar

from segverify.topology.model import IPNetwork, Location, PortRange

ACTIONS = ("accept", "drop", "reject")
UNKNOWN_ACTION = "unknown"
VERDICTS = ACTIONS + (UNKNOWN_ACTION,)
CT_STATES = ("new", "established", "related", "invalid", "untracked")
HOOKS = ("prerouting", "input", "forward", "output", "postrouting")
PATHS = {
    "forward": ("prerouting", "forward", "postrouting"),
    "input": ("prerouting", "input"),
    "output": ("output", "postrouting"),
}
# Protocols with 16-bit source/destination ports: tcp, udp, dccp, sctp, udplite.
PORT_PROTOCOLS = (6, 17, 33, 132, 136)
ICMP_PROTOCOLS = (1, 58)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_D = TypeVar("_D")


def evolve(obj: _D, **kw: object) -> _D:
    """``dataclasses.replace(obj, **kw)`` for the plain frozen dataclasses of the models
    (every field an ``__init__`` field, no ``__post_init__``) without its per-call field
    introspection and ``__init__`` (hot while parsing large exports); ``kw`` must name
    fields of ``obj``."""
    d = obj.__dict__
    if not kw.keys() <= d.keys():
        raise TypeError(f"{type(obj).__name__} has no fields {sorted(kw.keys() - d.keys())}")
    new = object.__new__(type(obj))
    nd = new.__dict__
    nd.update(d)
    nd.update(kw)
    return new


@dataclass(frozen=True)
class AddressSet:
    """A set of addresses: union of prefixes (and inclusive ranges), optionally negated.
    ``None`` in a rule field means "any"."""

    prefixes: tuple[IPNetwork, ...] = ()
    ranges: tuple[tuple[IPAddress, IPAddress], ...] = ()
    negated: bool = False
    name: str = ""  # object/group/set name it came from, for messages


@dataclass(frozen=True)
class PortSet:
    ranges: tuple[PortRange, ...]
    negated: bool = False


@dataclass(frozen=True)
class UnknownMatch:
    """A match the parser did not understand. For forbidden-permit checks the engine
    treats it as "may match" (fail closed); the result is marked incomplete."""

    text: str
    location: Location | None = None
    # "unknown": not understood (the analysis is incomplete); another kind ("limit",
    # "mark", …) is understood but not decidable from headers: may match, still complete
    kind: str = "unknown"


@dataclass(frozen=True, eq=False)
class ChainCall:
    """The called user chain ``chain`` of ``program`` (a ``chains.ChainProgram``) ends with
    ``outcome`` (accept/drop/reject/unknown, or ``return``: the packet comes back)."""

    program: Any
    chain: str
    outcome: str
    incomplete: bool = False  # the called chains hold matches not understood


@dataclass(frozen=True)
class Rule:
    """One ordered rule. Every field that is None matches anything (see module docstring)."""

    action: str
    src: AddressSet | None = None
    dst: AddressSet | None = None
    protocols: tuple[int, ...] | None = None
    protocols_negated: bool = False
    sports: PortSet | None = None
    dports: PortSet | None = None
    icmp_type: int | None = None
    icmp_code: int | None = None
    in_interfaces: tuple[str, ...] | None = None
    out_interfaces: tuple[str, ...] | None = None
    in_interfaces_negated: bool = False
    out_interfaces_negated: bool = False
    ct_states: tuple[str, ...] | None = None
    enabled: bool = True
    name: str = ""
    location: Location | None = None
    unknown: tuple[UnknownMatch, ...] = ()
    text: str = ""  # the source line, for evidence
    # --- additions (issue 4) ---
    family: int | None = None
    icmp_types: tuple[int, ...] | None = None
    icmp_types_negated: bool = False
    in_interfaces_except: tuple[str, ...] = ()
    out_interfaces_except: tuple[str, ...] = ()
    in_zones: tuple[str, ...] | None = None
    out_zones: tuple[str, ...] | None = None
    comment: str = ""
    chain: str = ""
    via: tuple[Location, ...] = ()
    tcp_flags: tuple[int, int] | None = None  # (mask, value): TCP and flags & mask == value
    call: ChainCall | None = None  # shared-chain lowering (module docstring)


@dataclass(frozen=True)
class Stage:
    """One ordered first-match list with a default action (a base chain, or a vendor policy)."""

    name: str
    hook: str  # one of HOOKS
    priority: int
    rules: tuple[Rule, ...]
    default_action: str  # what happens to a packet no rule matches
    family: int | None = None  # 4, 6 or None for both (nft inet)
    table: str = ""  # iptables table or nft "family table", for messages
    location: Location | None = None


@dataclass
class Ruleset:
    device: str
    vendor: str
    source: str
    stages: list[Stage]
    interfaces: dict[str, str] = field(default_factory=dict)  # interface name → zone id
    warnings: list[tuple[Location | None, str]] = field(default_factory=list)

    @property
    def incomplete(self) -> bool:
        return bool(self.warnings) or any(
            any(u.kind == "unknown" for u in r.unknown)
            or (r.call is not None and r.call.incomplete)
            for s in self.stages
            for r in s.rules
        )

    def stages_for(self, hook: str) -> list[Stage]:
        return sorted((s for s in self.stages if s.hook == hook), key=lambda s: s.priority)

    def path_stages(self, path: str, family: int | None = None) -> list[Stage]:
        """Stages a packet on ``path`` ("forward", "input", "output") traverses, in order.
        With ``family``, stages restricted to the other family are left out."""
        out: list[Stage] = []
        for hook in PATHS[path]:
            out.extend(
                s
                for s in self.stages_for(hook)
                if family is None or s.family is None or s.family == family
            )
        return out


BLANK_RULE = Rule(action="")  # every field at its default: ``evolve`` it into a rule
