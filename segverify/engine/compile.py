"""Rules → match sets, stages → first-match effective sets, paths → permitted sets.

Unknown matches are kept exact in two semantics: ``may`` (the unknown part matches) and
``must`` (it does not). The *upper* fold over-approximates what a stage accepts (accept
rules use ``may``, other rules ``must``) and is what forbidden-permit checks use (fail
closed); the *lower* fold under-approximates it. Without unknown matches both are equal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from segverify.engine.space import ICMP_PROTOS, HeaderSpace
from segverify.firewall.model import (
    PATHS,
    UNKNOWN_ACTION,
    AddressSet,
    PortSet,
    Rule,
    Ruleset,
    Stage,
)


class RuleEncoder:
    """Builds the match set of one rule, caching shared objects (address/service groups)."""

    def __init__(
        self, space: HeaderSpace, zone_ifaces: dict[str, tuple[str, ...]] | None = None
    ) -> None:
        self.space = space
        self.zone_ifaces = zone_ifaces  # zone → device interfaces; set when a topology is known
        self._addr: dict[tuple[str, AddressSet], Any] = {}
        self._ports: dict[tuple[str, PortSet], Any] = {}
        self._misc: dict[Any, Any] = {}

    def address_set(self, fname: str, aset: AddressSet) -> Any:
        key = (fname, aset)
        hit = self._addr.get(key)
        if hit is None:
            sp = self.space
            u = sp.addresses(fname, aset.prefixes)
            for lo, hi in aset.ranges:
                u = u | sp.address_range(fname, lo, hi)
            if aset.negated:
                u = ~u
            self._addr[key] = hit = u
        return hit

    def port_set(self, fname: str, pset: PortSet) -> Any:
        key = (fname, pset)
        hit = self._ports.get(key)
        if hit is None:
            sp = self.space
            u = sp.false
            for r in pset.ranges:
                u = u | sp.interval(fname, r.lo, r.hi)
            if pset.negated:
                u = ~u
            # ports exist only for port protocols: keep other protocols out of the set
            self._ports[key] = hit = u & sp.port_protos()
        return hit

    def _cached(self, key: Any, build: Any) -> Any:
        hit = self._misc.get(key)
        if hit is None:
            hit = build()
            self._misc[key] = hit
        return hit

    def _icmp(self, types: tuple[int, ...] | None, negated: bool, code: int | None) -> Any:
        sp = self.space
        u = sp.true
        if types is not None:
            t = sp.false
            for ty in types:
                t = t | sp.interval("dport", ty << 8, (ty << 8) | 0xFF)
            u = ~t if negated else t
        if code is not None:
            c = sp.false
            for ty in range(256):
                c = c | sp.value("dport", (ty << 8) | code)
            u = u & c
        return u & sp.protos(ICMP_PROTOS)

    def known_match(self, rule: Rule) -> Any:
        """The rule's match set ignoring its unknown matches."""
        sp = self.space
        u = sp.true
        if rule.protocols is not None:
            protos = rule.protocols
            neg = rule.protocols_negated
            p = self._cached(
                ("proto", protos, neg), lambda: (~sp.protos(protos)) if neg else sp.protos(protos)
            )
            u = u & p
        if rule.ct_states is not None:
            states = rule.ct_states
            u = u & self._cached(("ct", states), lambda: sp.ct(states))
        if rule.family is not None:
            u = u & sp.version(rule.family)
        for fname, names, neg, excepts, zones in (
            (
                "iif",
                rule.in_interfaces,
                rule.in_interfaces_negated,
                rule.in_interfaces_except,
                rule.in_zones,
            ),
            (
                "oif",
                rule.out_interfaces,
                rule.out_interfaces_negated,
                rule.out_interfaces_except,
                rule.out_zones,
            ),
        ):
            # names are exact; zones (set by the topology binding) only stand in for them
            # when the export matched zones rather than interfaces (e.g. CSV)
            if names is None and not excepts and zones is not None and self.zone_ifaces is not None:
                key = (fname, "zones", zones)
                names_z = tuple(sorted({i for z in zones for i in self.zone_ifaces.get(z, ())}))
                u = u & self._cached(
                    key, lambda f=fname, n=names_z: sp.ifaces_matching(f, n, wildcard_other=False)
                )
            elif names is not None:
                m = self._cached((fname, names), lambda f=fname, n=names: sp.ifaces_matching(f, n))
                u = u & (~m if neg else m)
            if excepts:
                m = self._cached(
                    (fname, excepts), lambda f=fname, n=excepts: sp.ifaces_matching(f, n)
                )
                u = u & ~m
        types = rule.icmp_types
        if types is None and rule.icmp_type is not None:
            types = (rule.icmp_type,)
        if types is not None or rule.icmp_code is not None:
            key = ("icmp", types, rule.icmp_types_negated, rule.icmp_code)
            u = u & self._cached(
                key, lambda: self._icmp(types, rule.icmp_types_negated, rule.icmp_code)
            )
        if rule.sports is not None:
            u = u & self.port_set("sport", rule.sports)
        if rule.dports is not None:
            u = u & self.port_set("dport", rule.dports)
        if rule.src is not None:
            u = u & self.address_set("src", rule.src)
        if rule.dst is not None:
            u = u & self.address_set("dst", rule.dst)
        return u


@dataclass
class CompiledRule:
    rule: Rule
    index: int  # position in its stage
    may: Any
    must: Any

    @property
    def accept(self) -> bool:
        return self.rule.action == "accept"

    @property
    def may_accept(self) -> bool:
        """Accepts in the upper fold: accept, or an unknown verdict (fail closed)."""
        return self.rule.action in ("accept", UNKNOWN_ACTION)

    @property
    def exact(self) -> bool:
        return not self.rule.unknown and self.rule.action != UNKNOWN_ACTION


@dataclass
class CompiledStage:
    stage: Stage
    family: Any  # the packets the stage sees (its IP family)
    rules: list[CompiledRule]
    eff: list[Any]  # upper-fold effective set of each rule (inside the family)
    default_eff: Any  # packets no rule matches (upper fold)
    accept_upper: Any  # accepted or outside the family
    accept_lower: Any
    covered_must: list[Any] = field(default_factory=list)  # before rule i, by certain matches
    exact: bool = True
    cov_prefix: list[Any] = field(default_factory=list)  # [k]: union of rules < k (upper)
    acc_prefix: list[Any] = field(default_factory=list)  # [k]: accepted by rules < k (upper)

    def deciders(
        self, target: Any, lo: int, hi: int, accepting: bool | None, limit: int
    ) -> list[int]:
        """Rules in [lo, hi) whose effective set meets ``target`` (only accepting or only
        refusing ones when ``accepting`` is set), in order, at most ``limit``: a bisection
        over prefix unions, O(found · log n) BDD operations instead of a scan."""
        false = self.cov_prefix[0]  # the empty union
        cov, accp = self.cov_prefix, self.acc_prefix
        out: list[int] = []
        stack = [(lo, hi)]
        while stack and len(out) < limit:
            a, b = stack.pop()
            if a >= b:
                continue
            u = cov[b] & target & ~cov[a]
            if accepting is not None:
                u = u & (accp[b] & ~accp[a]) if accepting else u & ~accp[b]
            if u == false:
                continue
            if b - a == 1:
                out.append(a)
                continue
            mid = (a + b) // 2
            stack.append((mid, b))  # right half after the left one: results stay in order
            stack.append((a, mid))
        return out

    @property
    def default_accept(self) -> bool:
        return self.stage.default_action == "accept"


def _fold(
    space: HeaderSpace,
    matches: list[tuple[Any, bool]],
    default_accept: bool,
    prefixes: tuple[list[Any], list[Any]] | None = None,
) -> tuple[list[Any], Any, Any]:
    """First-match fold: effective sets, the unmatched rest and the accepted set. With
    ``prefixes``, also records after each rule the union of the matches so far and of
    the accepting effective sets so far (for fast "which earlier rules" searches)."""
    covered = space.false
    accepted = space.false
    effs = []
    for m, acc in matches:
        if prefixes is not None:
            prefixes[0].append(covered)
            prefixes[1].append(accepted)
        eff = m & ~covered
        effs.append(eff)
        covered = covered | m
        if acc:
            accepted = accepted | eff
    if prefixes is not None:
        prefixes[0].append(covered)
        prefixes[1].append(accepted)
    rest = ~covered
    if default_accept:
        accepted = accepted | rest
    return effs, rest, accepted


def compile_stage(space: HeaderSpace, encoder: RuleEncoder, stage: Stage) -> CompiledStage:
    family = space.true if stage.family is None else space.version(stage.family)
    rules: list[CompiledRule] = []
    for i, rule in enumerate(stage.rules):
        if not rule.enabled:
            rules.append(CompiledRule(rule, i, space.false, space.false))
            continue
        known = encoder.known_match(rule) & family
        must = space.false if rule.unknown else known
        rules.append(CompiledRule(rule, i, known, must))
    exact = all(r.exact for r in rules)
    default_accept = stage.default_action == "accept"
    upper = [(r.may if r.may_accept else r.must, r.may_accept) for r in rules]
    cov_prefix: list[Any] = []
    acc_prefix: list[Any] = []
    eff, rest, acc_up = _fold(space, upper, default_accept, (cov_prefix, acc_prefix))
    if exact:
        acc_low = acc_up
        covered_must = []
    else:
        lower = [(r.must if r.accept else r.may, r.accept) for r in rules]
        _, _, acc_low = _fold(space, lower, default_accept)
        covered_must = []
        cov = space.false
        for r in rules:
            covered_must.append(cov)
            cov = cov | r.must
    rest = rest & family
    outside = ~family
    return CompiledStage(
        stage=stage,
        family=family,
        rules=rules,
        eff=eff,
        default_eff=rest,
        accept_upper=acc_up | outside,
        accept_lower=acc_low | outside,
        covered_must=covered_must,
        exact=exact,
        cov_prefix=cov_prefix,
        acc_prefix=acc_prefix,
    )


@dataclass
class CompiledRuleset:
    """Compiled stages grouped by *path* (``forward``, ``input``, ``output``): the stages a
    packet on that path traverses, in order (prerouting/postrouting stages included)."""

    ruleset: Ruleset
    space: HeaderSpace
    stages: list[CompiledStage]
    paths: dict[str, list[CompiledStage]]
    permit_upper: dict[str, Any]  # path → packets accepted by every stage on it (upper)
    permit_lower: dict[str, Any]

    @property
    def exact(self) -> bool:
        return all(s.exact for s in self.stages)

    def others_accept(self, path: str, stage: CompiledStage) -> Any:
        """Packets every *other* stage of the path accepts (upper semantics)."""
        u = self.space.true
        for s in self.paths[path]:
            if s is not stage:
                u = u & s.accept_upper
        return u

    def paths_of(self, stage: CompiledStage) -> list[str]:
        return [p for p, stages in self.paths.items() if any(s is stage for s in stages)]

    def families(self) -> set[int]:
        """IP versions some stage of the export filters (4, 6)."""
        out: set[int] = set()
        for s in self.stages:
            out |= {4, 6} if s.stage.family is None else {s.stage.family}
        return out


def compile_ruleset(
    space: HeaderSpace, ruleset: Ruleset, zone_ifaces: dict[str, tuple[str, ...]] | None = None
) -> CompiledRuleset:
    encoder = RuleEncoder(space, zone_ifaces)
    compiled = {id(s): compile_stage(space, encoder, s) for s in ruleset.stages}
    order = [compiled[id(s)] for s in ruleset.stages]
    paths: dict[str, list[CompiledStage]] = {}
    upper: dict[str, Any] = {}
    lower: dict[str, Any] = {}
    for path in PATHS:
        stages = [compiled[id(s)] for s in ruleset.path_stages(path)]
        paths[path] = stages
        up = low = space.true
        for s in stages:
            up = up & s.accept_upper
            low = low & s.accept_lower
        upper[path], lower[path] = up, low
    return CompiledRuleset(ruleset, space, order, paths, upper, lower)
