"""Destination NAT in header space: the packets the policy and the topology see.

``Device.dnat`` rules apply first match, before the policy. For a set ``S`` of packets as
they arrive, the translated rule ``i`` takes ``M_i`` = its match minus the earlier rules'
matches, and maps it to ``img_i(M_i)``: the destination (and, for port protocols, the
destination port) replaced. Upper semantics (fail closed) take a rule's *may* match and
remove only the earlier rules' *must* matches; lower semantics the reverse.

The permitted sets the checks read are *post-NAT* (the real destination, which the
topology judges), with the ``nat`` bit saying how a packet arrived: 0 = untranslated (it
was sent to that destination), 1 = translated by a rule here. So a packet sent directly to
a mapped server is judged as the policy judges it, not as its translated twin is (they
differ when the policy matches original addresses). With ``policy_addresses == "translated"`` the policy already matched the
translated packet: post = (untranslated ∧ accepted) ∪ ⋃ img_i(M_i) ∧ accepted. With
``"original"`` it matched the arriving packet: post = … ∪ ⋃ img_i(M_i ∧ accepted).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from segverify.engine.encode import ExprEncoder
from segverify.engine.space import HeaderSpace
from segverify.firewall.ir import DestNat, Device


@dataclass
class CompiledNat:
    nat: DestNat
    may: Any  # may be translated by this rule (earlier rules' certain matches removed)
    must: Any  # certainly translated by it (earlier rules' possible matches removed)


class NatImage:
    """The device's destination NAT as set transformers (identity when it has none)."""

    def __init__(self, space: HeaderSpace, device: Device, encoder: ExprEncoder) -> None:
        self.space = space
        self.device = device
        self.original = device.policy_addresses == "original"
        self.rules: list[CompiledNat] = []
        sp = space
        cov_may = cov_must = sp.false
        for n in device.dnat:
            may, must = encoder.encode(n.match)
            self.rules.append(CompiledNat(n, may & ~cov_must, must & ~cov_may))
            cov_may, cov_must = cov_may | may, cov_must | must
        self.untranslated_upper = ~cov_must  # may arrive untranslated
        self.untranslated_lower = ~cov_may  # certainly untranslated
        self._dst_vars = sp.fields["dst"].vars
        self._dport_vars = sp.fields["dport"].vars

    @property
    def active(self) -> bool:
        return bool(self.rules)

    def image(self, n: DestNat, s: Any) -> Any:
        """``s`` with the destination rewritten as ``n`` does."""
        sp = self.space
        bdd = sp.bdd
        out = s
        if n.to_address is not None:
            addr = ipaddress.ip_address(n.to_address)
            net = ipaddress.ip_network(f"{addr}/{addr.max_prefixlen}")
            out = bdd.exist(self._dst_vars, out & sp.version(addr.version)) & sp.prefix("dst", net)
        if n.to_port is not None:
            ports = sp.port_protos()
            moved = bdd.exist(self._dport_vars, out & ports) & sp.value("dport", n.to_port)
            out = moved | (out & ~ports)
        return out

    def post(self, accepted: Any, upper: bool) -> Any:
        """Post-NAT packets the device lets through, from the policy's accepted set."""
        return self.forward(self.space.true, accepted, upper)

    def forward(self, arriving: Any, accepted: Any, upper: bool) -> Any:
        """Post-NAT packets the device lets through of those ``arriving`` (as they were
        sent), given the policy's ``accepted`` set (in the coordinates the policy matches)."""
        if not self.rules:
            return arriving & accepted
        sp = self.space
        rest = self.untranslated_upper if upper else self.untranslated_lower
        out = rest & arriving & accepted & sp.value("nat", 0)
        translated = sp.value("nat", 1)
        for cn in self.rules:
            m = (cn.may if upper else cn.must) & arriving
            if self.original:
                out = out | (self.image(cn.nat, m & accepted) & translated)
            else:
                out = out | (self.image(cn.nat, m) & accepted & translated)
        return out

    def backward(self, arriving: Any, accepted: Any, upper: bool, leaving: Any) -> Any:
        """The packets of ``arriving`` that ``forward`` maps into ``leaving`` (post-NAT,
        ``nat`` bit free): the pre-image, to walk an example back to what was sent."""
        sp = self.space
        if not self.rules:
            return arriving & accepted & leaving
        rest = self.untranslated_upper if upper else self.untranslated_lower
        out = rest & arriving & accepted & sp.bdd.exist(sp.fields["nat"].vars, leaving)
        for cn in self.rules:
            m = (cn.may if upper else cn.must) & arriving
            lands = self._lands_in(cn.nat, leaving)
            if self.original:
                out = out | (m & accepted & lands)
            else:
                out = out | (m & lands & self._lands_in(cn.nat, accepted))
        return out

    def _lands_in(self, n: DestNat, t: Any) -> Any:
        """Packets whose translation by ``n`` is in ``t``."""
        sp = self.space
        bdd = sp.bdd
        t = bdd.exist(sp.fields["nat"].vars, t)
        changed = list(self._dst_vars) if n.to_address is not None else []
        target = sp.true
        if n.to_address is not None:
            addr = ipaddress.ip_address(n.to_address)
            net = ipaddress.ip_network(f"{addr}/{addr.max_prefixlen}")
            target = sp.prefix("dst", net)
        if n.to_port is None:
            return bdd.exist(changed, t & target) if changed else t
        ports = sp.port_protos()
        with_port = bdd.exist(
            changed + list(self._dport_vars), t & target & sp.value("dport", n.to_port)
        )
        without = bdd.exist(changed, t & target) if changed else t
        return (ports & with_port) | (~ports & without)

    def to_post(self, s: Any) -> Any:
        """A set of packets as the policy matched them → the post-NAT packets (upper)."""
        return self.post(s, True)
