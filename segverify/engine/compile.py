"""Device stages → first-match effective sets, paths → permitted sets.

Rules are compiled from the device model (``segverify.firewall.ir``) by ``encode.py`` in two
semantics: ``may`` (opaque atoms true) and ``must`` (false). The *upper* fold over-
approximates what a stage accepts (accept rules use ``may``, other rules ``must``) and is
what forbidden-permit checks use (fail closed); the *lower* fold under-approximates it.
Without opaque atoms both are equal.

A stage applies to the packets its ``Scope`` selects (IP family, interface and direction,
vendor zone pair); the others pass it untouched. The default action may differ for
intrazone packets (input and output interface in one vendor zone).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from segverify.engine.encode import ExprEncoder
from segverify.engine.nat import NatImage
from segverify.engine.space import HeaderSpace, Packet
from segverify.firewall.ir import PATHS, UNKNOWN_ACTION, Device, Rule, Stage

PREFIX_STRIDE = 64  # rules between two kept prefix unions of a stage's fold


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
        return self.rule.action != UNKNOWN_ACTION and self.may == self.must


@dataclass
class CompiledStage:
    stage: Stage
    family: Any  # the packets the stage applies to (family, interface, zone pair)
    rules: list[CompiledRule]
    eff: list[Any]  # upper-fold effective set of each rule (inside the stage's packets)
    default_eff: Any  # packets no rule matches (upper fold)
    accept_upper: Any  # accepted or not seen by the stage
    accept_lower: Any
    default_accepts: Any = None  # of the unmatched packets, those the default accepts
    covered_must: list[Any] = field(default_factory=list)  # before rule i, by certain matches
    exact: bool = True
    # the upper fold's prefix unions, kept at every PREFIX_STRIDE-th rule only (all of them
    # held most of a large stage's BDD nodes, and few are ever read): [b] = rules < b·stride
    cov_marks: list[Any] = field(default_factory=list)  # union of their matches
    ref_marks: list[Any] = field(default_factory=list)  # packets they refuse (not accept)

    def deciders(
        self, target: Any, lo: int, hi: int, accepting: bool | None, limit: int
    ) -> list[int]:
        """Rules in [lo, hi) whose effective set meets ``target`` (only accepting or only
        refusing ones when ``accepting`` is set), in order, at most ``limit``: a bisection
        over the kept prefix unions (block boundaries) down to single blocks, whose rules
        are then tested one by one (effective set ∩ target); the parts of [lo, hi) that are
        not whole blocks are tested rule by rule too. O(found · (log n + stride)) BDD
        operations on small sets instead of a scan."""
        false = self.cov_marks[0]  # the empty union
        S = PREFIX_STRIDE
        out: list[int] = []

        def scan(a: int, b: int) -> None:
            for j in range(a, b):
                if accepting is not None and self.rules[j].may_accept != accepting:
                    continue
                if (self.eff[j] & target) != false:
                    out.append(j)
                    if len(out) >= limit:
                        return

        first, last = -(-lo // S) * S, hi // S * S  # whole blocks: [first, last)
        if first >= last:
            scan(lo, hi)
            return out
        # (a, b, whole blocks?) popped in order: head, the blocks, tail
        stack = [(last, hi, False), (first, last, True), (lo, first, False)]
        while stack and len(out) < limit:
            a, b, blocks = stack.pop()
            if a >= b:
                continue
            if not blocks:
                scan(a, b)
                continue
            ca, cb = self.cov_marks[a // S], self.cov_marks[b // S]
            u = cb & target & ~ca  # packets of target that rules in [a, b) decide
            if accepting is not None:  # of those, the ones such rules refuse lie in rb
                rb = self.ref_marks[b // S]
                u = u & ~rb if accepting else u & rb
            if u == false:
                continue
            if b - a == S:
                scan(a, b)
                continue
            mid = (a + b) // (2 * S) * S  # a block boundary inside (a, b)
            stack.append((mid, b, True))  # right half after the left one: results in order
            stack.append((a, mid, True))
        return out

    @property
    def default_accept(self) -> bool:
        """The default accepts some unmatched packets (all, or the intrazone ones)."""
        return self.stage.default == "accept" or self.stage.intrazone_default == "accept"

    @property
    def default_action(self) -> str:
        return self.stage.default


def _fold(
    space: HeaderSpace,
    matches: list[tuple[Any, bool]],
    default_acc: Any,
    marks: tuple[list[Any], list[Any]] | None = None,
) -> tuple[list[Any], Any, Any]:
    """First-match fold: effective sets, the unmatched rest and the accepted set. With
    ``marks``, also records before every PREFIX_STRIDE-th rule (and after the last when
    the count is a multiple) the union of the matches so far and of the refusing
    effective sets so far (for fast "which earlier rules" searches).

    The effective sets are disjoint and their union is the union of the matches, so the
    packets the rules accept are the covered ones the refusing rules do not take: one
    union per refusing rule (few) instead of one per accepting rule."""
    covered = space.false
    refused = space.false
    effs = []
    for k, (m, acc) in enumerate(matches):
        if marks is not None and k % PREFIX_STRIDE == 0:
            marks[0].append(covered)
            marks[1].append(refused)
        eff = m & ~covered
        effs.append(eff)
        covered = covered | m
        if not acc:
            refused = refused | eff
    if marks is not None and len(matches) % PREFIX_STRIDE == 0:
        marks[0].append(covered)
        marks[1].append(refused)
    rest = ~covered
    accepted = (covered & ~refused) | (rest & default_acc)
    return effs, rest, accepted


def _ifaces(space: HeaderSpace, fname: str, names: tuple[str, ...]) -> Any:
    return space.ifaces_matching(fname, names, wildcard_other=False)


def stage_domain(space: HeaderSpace, device: Device, stage: Stage) -> Any:
    """The packets a stage applies to."""
    sc = stage.scope
    u = space.true if sc.family is None else space.version(sc.family)
    if sc.interface is not None:
        u = u & _ifaces(space, "iif" if sc.direction == "in" else "oif", (sc.interface,))
    for fname, zones in (("iif", sc.from_zones), ("oif", sc.to_zones)):
        if zones is not None:
            members = tuple(
                i for z in zones if z in device.zones for i in device.zones[z].interfaces
            )
            u = u & _ifaces(space, fname, members)
    return u


def intrazone(space: HeaderSpace, device: Device) -> Any:
    """Packets whose input and output interfaces are in the same vendor zone."""
    u = space.false
    for z in device.zones.values():
        if z.interfaces:
            u = u | (_ifaces(space, "iif", z.interfaces) & _ifaces(space, "oif", z.interfaces))
    return u


def compile_stage(
    space: HeaderSpace, encoder: ExprEncoder, stage: Stage, device: Device
) -> CompiledStage:
    domain = stage_domain(space, device, stage)
    rules: list[CompiledRule] = []
    for i, rule in enumerate(stage.rules):
        if not rule.enabled:
            rules.append(CompiledRule(rule, i, space.false, space.false))
            continue
        may, must = encoder.encode(rule.match)
        m = may & domain  # ``must is may``: exact, one operation
        rules.append(CompiledRule(rule, i, m, m if must is may else must & domain))
    exact = all(r.exact for r in rules)
    acc = space.true if stage.default == "accept" else space.false
    if stage.intrazone_default is not None and stage.intrazone_default != stage.default:
        intra = intrazone(space, device)
        acc = (acc & ~intra) | (intra if stage.intrazone_default == "accept" else space.false)
    upper = [(r.may if r.may_accept else r.must, r.may_accept) for r in rules]
    cov_marks: list[Any] = []
    ref_marks: list[Any] = []
    eff, rest, acc_up = _fold(space, upper, acc, (cov_marks, ref_marks))
    covered_must: list[Any] = []
    if exact:
        acc_low = acc_up
    else:
        lower = [(r.must if r.accept else r.may, r.accept) for r in rules]
        _, _, acc_low = _fold(space, lower, acc)
        cov = space.false
        for r in rules:
            covered_must.append(cov)
            cov = cov | r.must
    rest = rest & domain
    outside = ~domain
    return CompiledStage(
        stage=stage,
        family=domain,
        rules=rules,
        eff=eff,
        default_eff=rest,
        accept_upper=(acc_up & domain) | outside,
        accept_lower=(acc_low & domain) | outside,
        default_accepts=acc,
        covered_must=covered_must,
        exact=exact,
        cov_marks=cov_marks,
        ref_marks=ref_marks,
    )


@dataclass
class CompiledRuleset:
    """Compiled stages grouped by *path* (``forward``, ``input``, ``output``): the stages a
    packet on that path traverses, in order."""

    device: Device
    space: HeaderSpace
    stages: list[CompiledStage]
    paths: dict[str, list[CompiledStage]]
    permit_upper: dict[str, Any]  # path → post-NAT packets let through (upper)
    permit_lower: dict[str, Any]
    nat: NatImage | None = None
    policy_upper: dict[str, Any] = field(default_factory=dict)  # accepted by the stages
    policy_lower: dict[str, Any] = field(default_factory=dict)

    def arrival(self, pkt: Packet, path: str = "forward") -> Packet:
        """A translated example packet with the destination it was sent to (one the
        policy may accept, from the first DNAT rule whose image holds the packet);
        other packets unchanged."""
        nat = self.nat
        if not pkt.translated or nat is None or not nat.active:
            return pkt
        sp = self.space
        here = sp.packet_cube(replace(pkt, translated=False))
        for cn in nat.rules:
            if (nat.image(cn.nat, cn.may) & here) == sp.false:
                continue
            free = list(sp.fields["dst"].vars)
            if cn.nat.to_port is not None and pkt.has_ports:
                free += sp.fields["dport"].vars
            pre = cn.may & sp.bdd.exist(free, here)
            ex = None
            if nat.original:  # the policy matched the arrival: prefer one it accepts
                ex = sp.example(pre & self.policy_upper.get(path, sp.true))
            ex = ex or sp.example(pre)
            if ex is not None:
                return replace(pkt, original_dst=ex.dst, original_dport=ex.dport)
        return pkt

    def carry(self, arriving: Any, path: str, upper: bool) -> Any:
        """The post-NAT packets the device lets through of those ``arriving``."""
        accepted = (self.policy_upper if upper else self.policy_lower)[path]
        if self.nat is None or path == "output":
            return arriving & accepted
        return self.nat.forward(arriving, accepted, upper)

    def carry_back(self, arriving: Any, path: str, upper: bool, leaving: Any) -> Any:
        """The packets of ``arriving`` that ``carry`` maps into ``leaving``."""
        accepted = (self.policy_upper if upper else self.policy_lower)[path]
        if self.nat is None or path == "output":
            return arriving & accepted & leaving
        return self.nat.backward(arriving, accepted, upper, leaving)

    def to_post(self, s: Any, path: str) -> Any:
        """Packets as the policy matched them → as they leave (destination NAT applied)."""
        if self.nat is None or not self.nat.active or path == "output":
            return s
        return self.nat.to_post(s)

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
            f = s.stage.scope.family
            out |= {4, 6} if f is None else {f}
        return out


def compile_device(space: HeaderSpace, device: Device) -> CompiledRuleset:
    device.check_zones()  # zone semantics need each interface in at most one zone
    encoder = ExprEncoder(space, device)
    order = [compile_stage(space, encoder, s, device) for s in device.stages]
    nat = NatImage(space, device, encoder)
    policy: dict[str, Any] = {}
    policy_low: dict[str, Any] = {}
    paths: dict[str, list[CompiledStage]] = {}
    upper: dict[str, Any] = {}
    lower: dict[str, Any] = {}
    for path in PATHS:
        stages = [cs for cs in order if path in cs.stage.scope.paths]
        paths[path] = stages
        up = low = space.true
        for s in stages:
            up = up & s.accept_upper
            low = low & s.accept_lower
        policy[path], policy_low[path] = up, low
        if nat.active and path != "output":
            up, low = nat.post(up, True), nat.post(low, False)
        upper[path], lower[path] = up, low
    return CompiledRuleset(device, space, order, paths, upper, lower, nat, policy, policy_low)
