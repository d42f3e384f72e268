"""Chain inlining: a vendor's chains (``ChainRule`` lists with jump/goto/RETURN) flattened
into first-match ``Stage`` s.

Parsers describe each source rule as a list of alternative matches (a disjunction, e.g.
``multiport --ports`` = sport or dport) plus a target; ``ChainProgram`` then inlines:

* a terminal rule emits one flat rule per (live guard ∧ alternative);
* ``jump`` walks the callee with guard ∧ match (packets that come back simply continue:
  those that got a verdict inside are already taken by the earlier flat rules);
* ``RETURN`` / ``goto`` remove their packets from the rest of the chain (guard ∧ ¬match,
  split into disjoint alternatives); in a base chain they send them to the policy.

Inlining copies a chain into every caller, so a chain called twice per level doubles the
rules per level. When the inlined size would pass ``INLINE_LIMIT`` flat rules (or the
RETURN/goto alternatives explode), the program is lowered with **shared chains**
instead: the base chains' own rules stay as they are, and each jump/goto of a base chain
becomes one rule per outcome of the called chain (``Rule.call``, lowered to
``ir.ChainVerdict``); every user chain is lowered once into an ``ir.Chain`` whatever the
number of its callers. Both forms give every packet the same verdict (the differential
tests check that); the shared form names the base chain's jump line as the deciding rule
and leaves the rules inside user chains out of the shadowed/redundant check (the
``firewall`` summary counts them: ``shared_chain_rules_not_judged``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from segverify.errors import InputError
from segverify.firewall.match import ANY, Match, conj_all, minus
from segverify.firewall.model import (
    BLANK_RULE,
    ChainCall,
    Rule,
    Stage,
    evolve,
)
from segverify.i18n import Msg
from segverify.topology.model import Location

MAX_ALTERNATIVES = 20000
MAX_CHAIN_DEPTH = 64  # nested jumps; nf_tables itself refuses more than 16
INLINE_LIMIT = 20_000  # inlined rules past which chains are kept shared, not copied
VERDICT_KINDS = ("accept", "drop", "reject", "unknown")


class _TooComplex(Exception):
    """Inlining exploded (RETURN/goto alternatives): use shared chains."""


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
    # every alternative is a ``normalise`` result (met with ``ANY`` it stays itself)
    normalised: bool = False


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
    table: str = ""  # iptables table or nft "family table", for names in messages

    def check_bounds(self, limit: int = INLINE_LIMIT) -> int:
        """Refuse chains nested deeper than MAX_CHAIN_DEPTH and chain loops; return the
        number of rules inlining would produce (saturated past ``limit``), computed
        per chain once (two jumps a level double it a level)."""
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
                    size[chain], depth[chain] = min(n, limit + 1), d
                    state[chain] = 2
                    path.pop()
        return sum(size.get(bc.name, 0) for bc in self.base)

    def stages(self, inline_limit: int | None = None) -> list[Stage]:
        """One stage per base chain: user chains inlined when that stays within
        ``inline_limit`` (default ``INLINE_LIMIT``) rules, else kept shared."""
        limit = INLINE_LIMIT if inline_limit is None else inline_limit
        shared = self.check_bounds(limit) > limit
        if not shared:
            try:
                return self._stages(inline=True)
            except _TooComplex:
                pass
        return self._stages(inline=False)

    def _stages(self, inline: bool) -> list[Stage]:
        out = []
        for bc in self.base:
            rules: list[Rule] = []
            if inline:
                self._walk(bc, bc.name, [ANY], rules, [bc.name], (), top=True)
            else:
                self._shared(bc, rules)
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
                raise _TooComplex()
            if cr.kind == "continue":
                continue
            if cr.normalised and len(guards) == 1 and guards[0] is ANY:
                hits = list(cr.alts)  # = conj_all([ANY], alts): normalise(a) is a
            else:
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

    # ------------------------------------------------------------ shared chains

    def _shared(self, bc: BaseChain, out: list[Rule]) -> None:
        """The base chain's rules; each jump/goto one rule per outcome of its callee."""
        stack = [bc.name]
        verdicts: dict[str, frozenset[str]] = {}
        unknown: dict[str, bool] = {}
        for cr in self.chains.get(bc.name, []):
            if cr.kind == "continue":
                continue
            if cr.kind in VERDICT_KINDS:
                for m in cr.alts:
                    out.append(_rule(cr.kind, m, cr, stack, ()))
            elif cr.kind == "return":
                for m in cr.alts:
                    out.append(_rule(bc.policy, m, cr, stack, ()))
            elif cr.kind in ("jump", "goto"):
                self._check_calls(cr, stack, set())
                outcomes = sorted(self._verdicts(cr.target, verdicts))
                if cr.kind == "goto":
                    outcomes.append("return")
                incomplete = self._unknown(cr.target, unknown)
                for o in outcomes:
                    call = ChainCall(self, cr.target, o, incomplete)
                    action = bc.policy if o == "return" else o
                    for m in cr.alts:
                        out.append(_rule(action, m, cr, stack, (), call))
            else:  # pragma: no cover - parsers only produce the kinds above
                raise ValueError(cr.kind)

    def _check_calls(self, cr: ChainRule, stack: list[str], done: set[str]) -> None:
        """Refuse a jump/goto to an undefined chain, in the called chain's closure too
        (chain loops are refused by ``check_bounds``)."""
        todo = [cr]
        while todo:
            r = todo.pop()
            if r.target not in self.chains:
                raise InputError(
                    Msg("error.firewall.chains.undefined_chain", kind=r.kind, target=r.target),
                    self.file,
                    r.location.line if r.location else None,
                )
            if r.target in done:
                continue
            done.add(r.target)
            todo.extend(x for x in self.chains[r.target] if x.kind in ("jump", "goto"))

    def _verdicts(self, chain: str, memo: dict[str, frozenset[str]]) -> frozenset[str]:
        """The verdicts a chain (with its callees) can give."""
        hit = memo.get(chain)
        if hit is None:
            out: set[str] = set()
            for cr in self.chains.get(chain, []):
                if cr.kind in VERDICT_KINDS:
                    out.add(cr.kind)
                elif cr.kind in ("jump", "goto"):
                    out |= self._verdicts(cr.target, memo)
            hit = memo[chain] = frozenset(out)
        return hit

    def _unknown(self, chain: str, memo: dict[str, bool]) -> bool:
        """The chain (with its callees) holds a match not understood."""
        hit = memo.get(chain)
        if hit is None:
            memo[chain] = False
            hit = any(
                u.kind == "unknown"
                for cr in self.chains.get(chain, [])
                for m in cr.alts
                for u in m.unknown
            ) or any(
                self._unknown(cr.target, memo)
                for cr in self.chains.get(chain, [])
                if cr.kind in ("jump", "goto")
            )
            memo[chain] = hit
        return hit


def _rule(
    action: str,
    m: Match,
    cr: ChainRule,
    stack: list[str],
    via: tuple[Location, ...],
    call: ChainCall | None = None,
) -> Rule:
    return rule_from_match(
        action,
        m,
        location=cr.location,
        text=cr.text,
        comment=cr.comment,
        chain=">".join(stack),
        via=via,
        call=call,
    )


def rule_from_match(action: str, m: Match, **meta: object) -> Rule:
    it = m.icmp_types
    icmp_type = it[0] if it is not None and len(it) == 1 and not m.icmp_types_negated else None
    return evolve(BLANK_RULE, action=action, **m.__dict__, icmp_type=icmp_type, **meta)


def match_of(rule: Rule) -> Match:
    return Match(**{f.name: getattr(rule, f.name) for f in fields(Match)})
