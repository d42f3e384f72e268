"""Chain inlining: a vendor's chains (``ChainRule`` lists with jump/goto/RETURN) flattened
into first-match ``Stage`` s.

Parsers describe each source rule as a list of alternative matches (a disjunction, e.g.
``multiport --ports`` = sport or dport) plus a target; ``ChainProgram`` then inlines:

* a terminal rule emits one flat rule per (live guard ∧ alternative);
* ``jump`` walks the callee with guard ∧ match (packets that come back simply continue:
  those that got a verdict inside are already taken by the earlier flat rules);
* ``RETURN`` / ``goto`` remove their packets from the rest of the chain (guard ∧ ¬match,
  split into disjoint alternatives); in a base chain they send them to the policy.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from segverify.errors import InputError
from segverify.firewall.match import ANY, Match, conj_all, minus
from segverify.firewall.model import (
    Rule,
    Stage,
)
from segverify.i18n import Msg
from segverify.topology.model import Location

MAX_ALTERNATIVES = 20000
MAX_CHAIN_DEPTH = 64  # nested jumps; nf_tables itself refuses more than 16
MAX_FLAT_RULES = 500_000  # flattened rules after inlining: more is refused up front

# ---------------------------------------------------------------- chain programs


@dataclass
class ChainRule:
    """One vendor rule: alternatives (disjunction of matches) and a target.

    ``kind``: accept | drop | reject | unknown | return | jump | goto | continue.
    """

    alts: list[Match]
    kind: str
    target: str = ""
    location: Location | None = None
    text: str = ""
    comment: str = ""


@dataclass
class BaseChain:
    name: str
    hook: str
    priority: int
    policy: str
    family: int | None = None
    table: str = ""
    location: Location | None = None


@dataclass
class ChainProgram:
    """Chains of one vendor export, ready to be inlined into stages."""

    chains: dict[str, list[ChainRule]] = field(default_factory=dict)
    base: list[BaseChain] = field(default_factory=list)
    file: str = ""

    def check_bounds(self) -> None:
        """Refuse, before inlining, chains nested deeper than MAX_CHAIN_DEPTH and call graphs
        whose inlining would exceed MAX_FLAT_RULES (two jumps a level double the rules a
        level): bounded time and a one-line error instead of an exponential walk."""
        size: dict[str, int] = {}
        depth: dict[str, int] = {}
        state: dict[str, int] = {}  # 1 on the stack, 2 done
        for root in [bc.name for bc in self.base]:
            if state.get(root) == 2:
                continue
            stack: list[tuple[str, int]] = [(root, 0)]
            path: list[str] = []
            while stack:
                chain, k = stack.pop()
                rules = self.chains.get(chain, [])
                if k == 0:
                    state[chain] = 1
                    path.append(chain)
                    if len(path) > MAX_CHAIN_DEPTH:
                        raise InputError(
                            Msg(
                                "error.firewall.chains.chains_nested_deeper_than",
                                limit=MAX_CHAIN_DEPTH,
                                path=" -> ".join(path[:3]),
                            ),
                            self.file,
                        )
                # descend into the next callee not done yet
                while k < len(rules):
                    cr = rules[k]
                    k += 1
                    if cr.kind in ("jump", "goto") and cr.target in self.chains:
                        t = cr.target
                        if state.get(t) == 1:
                            loop = " -> ".join(path[path.index(t) :] + [t])
                            line = cr.location.line if cr.location else None
                            raise InputError(
                                Msg("error.firewall.chains.chain_loop", loop=loop), self.file, line
                            )
                        if state.get(t) != 2:
                            stack.append((chain, k))
                            stack.append((t, 0))
                            break
                else:
                    n = 0
                    d = 0
                    for cr in rules:
                        alts = max(1, len(cr.alts))
                        if cr.kind in ("jump", "goto") and cr.target in size:
                            n += alts * size[cr.target]
                            d = max(d, depth[cr.target] + 1)
                        elif cr.kind not in ("continue",):
                            n += alts
                    if n > MAX_FLAT_RULES:
                        raise InputError(
                            Msg(
                                "error.firewall.chains.ruleset_too_complex_inline_chain",
                                chain=chain,
                                limit=MAX_FLAT_RULES,
                            ),
                            self.file,
                        )
                    size[chain], depth[chain] = n, d
                    state[chain] = 2
                    path.pop()

    def stages(self) -> list[Stage]:
        self.check_bounds()
        out = []
        for bc in self.base:
            rules: list[Rule] = []
            self._walk(bc, bc.name, [ANY], rules, [bc.name], (), top=True)
            out.append(
                Stage(
                    name=f"{bc.table}/{bc.name}" if bc.table else bc.name,
                    hook=bc.hook,
                    priority=bc.priority,
                    rules=tuple(rules),
                    default_action=bc.policy,
                    family=bc.family,
                    table=bc.table,
                    location=bc.location,
                )
            )
        return out

    def _walk(
        self,
        bc: BaseChain,
        chain: str,
        guards: list[Match],
        out: list[Rule],
        stack: list[str],
        via: tuple[Location, ...],
        top: bool,
    ) -> None:
        for cr in self.chains.get(chain, []):
            if not guards:
                return
            if len(guards) > MAX_ALTERNATIVES or len(out) > 50 * MAX_ALTERNATIVES:
                raise InputError(
                    Msg("error.firewall.chains.ruleset_too_complex_inline_return"),
                    self.file,
                    cr.location.line if cr.location else None,
                )
            if cr.kind == "continue":
                continue
            hits = conj_all(guards, cr.alts)
            if cr.kind in ("accept", "drop", "reject", "unknown"):
                for h in hits:
                    out.append(_rule(cr.kind, h, cr, stack, via))
            elif cr.kind == "return":
                if top:
                    for h in hits:
                        out.append(_rule(bc.policy, h, cr, stack, via))
                else:
                    guards = minus(guards, cr.alts)
            elif cr.kind in ("jump", "goto"):
                if cr.target not in self.chains:
                    raise InputError(
                        Msg(
                            "error.firewall.chains.undefined_chain", kind=cr.kind, target=cr.target
                        ),
                        self.file,
                        cr.location.line if cr.location else None,
                    )
                if cr.target in stack:
                    loop = " -> ".join(stack[stack.index(cr.target) :] + [cr.target])
                    raise InputError(
                        Msg("error.firewall.chains.chain_loop", loop=loop),
                        self.file,
                        cr.location.line if cr.location else None,
                    )
                if hits:
                    loc = (cr.location,) if cr.location else ()
                    self._walk(bc, cr.target, hits, out, stack + [cr.target], via + loc, top=False)
                if cr.kind == "goto":
                    if top:
                        for h in hits:
                            out.append(_rule(bc.policy, h, cr, stack, via))
                    else:
                        guards = minus(guards, cr.alts)
            else:  # pragma: no cover - parsers only produce the kinds above
                raise ValueError(cr.kind)


def _rule(
    action: str, m: Match, cr: ChainRule, stack: list[str], via: tuple[Location, ...]
) -> Rule:
    return rule_from_match(
        action,
        m,
        location=cr.location,
        text=cr.text,
        comment=cr.comment,
        chain=">".join(stack),
        via=via,
    )


def rule_from_match(action: str, m: Match, **meta: object) -> Rule:
    kw = {f.name: getattr(m, f.name) for f in fields(Match)}
    it = m.icmp_types
    kw["icmp_type"] = (
        it[0] if it is not None and len(it) == 1 and not m.icmp_types_negated else None
    )
    return Rule(action=action, **kw, **meta)  # type: ignore[arg-type]


def match_of(rule: Rule) -> Match:
    return Match(**{f.name: getattr(rule, f.name) for f in fields(Match)})
