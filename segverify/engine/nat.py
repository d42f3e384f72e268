"""Destination NAT in header space: the packets the policy and the topology see.

``Device.dnat`` rules apply first match, before the policy. For a set ``S`` of packets as
they arrive, the translated rule ``i`` takes ``M_i`` = its match minus the earlier rules'
matches, and maps it to ``img_i(M_i)``: the destination (and, for port protocols, the
destination port) replaced. Upper semantics (fail closed) take a rule's *may* match and
remove only the earlier rules' *must* matches; lower semantics the reverse.

The permitted sets the checks read are *post-NAT* (the real destination, which the
topology judges). With ``policy_addresses == "translated"`` the policy already matched the
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
        if not self.rules:
            return accepted
        rest = self.untranslated_upper if upper else self.untranslated_lower
        out = rest & accepted
        for cn in self.rules:
            m = cn.may if upper else cn.must
            if self.original:
                out = out | self.image(cn.nat, m & accepted)
            else:
                out = out | (self.image(cn.nat, m) & accepted)
        return out

    def to_post(self, s: Any) -> Any:
        """A set of packets as the policy matched them → the post-NAT packets (upper)."""
        return self.post(s, True)
