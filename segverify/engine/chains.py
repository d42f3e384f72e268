"""User chains (``ir.Chain``) → BDD sets of their outcomes, each chain compiled once.

A ``ChainVerdict(chain, outcome)`` atom encodes as ``(may, must)``: the packets for which
the chain may end with ``outcome`` and those for which it is the only possible outcome,
exactly as the concrete evaluator (``ir.evaluate``) reads the chain. The fold mirrors the
evaluator rule by rule, on sets: ``live`` holds the packets that may still be walking the
chain; a rule's ``must`` set removes the packets it certainly stops (a jump only stops
those its callee certainly does not return). A chain called from many places is compiled
once and its sets reused at every call (the cache is keyed by the chain object), so the
work is linear in the size of the export, not in the size of its inlined expansion.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from segverify.engine.space import HeaderSpace
from segverify.firewall.ir import CHAIN_OUTCOMES, Chain, Expr

Outcomes = dict[str, tuple[Any, Any]]


class ChainCompiler:
    """Compiles user chains against one header space, memoised per chain object."""

    def __init__(self, space: HeaderSpace, encode: Callable[[Expr], tuple[Any, Any]]) -> None:
        self.space = space
        self.encode = encode
        self._done: dict[int, tuple[Chain, Outcomes]] = {}
        self.rules_compiled = 0  # chain rules folded (each chain's rules once)

    def __len__(self) -> int:
        return len(self._done)

    def outcomes(self, chain: Chain) -> Outcomes:
        """outcome → (may, must) packet sets of ``chain``."""
        hit = self._done.get(id(chain))
        if hit is not None:
            return hit[1]
        sp = self.space
        possible = {o: sp.false for o in CHAIN_OUTCOMES}
        live = sp.true
        for rule in chain.rules:
            if not rule.enabled:
                continue
            self.rules_compiled += 1
            may, must = self.encode(rule.match)
            here = live & may
            if rule.action in ("jump", "goto"):
                assert rule.target is not None
                sub = self.outcomes(rule.target)
                for o in CHAIN_OUTCOMES:
                    if o != "return" or rule.action == "goto":
                        possible[o] = possible[o] | (here & sub[o][0])
                stop = must if rule.action == "goto" else must & ~sub["return"][0]
            else:
                possible[rule.action] = possible[rule.action] | here
                stop = must
            live = live & ~stop
        possible["return"] = possible["return"] | live
        out: Outcomes = {}
        for o in CHAIN_OUTCOMES:
            others = sp.false
            for p in CHAIN_OUTCOMES:
                if p != o:
                    others = others | possible[p]
            out[o] = (possible[o], possible[o] & ~others)
        self._done[id(chain)] = (chain, out)
        return out
