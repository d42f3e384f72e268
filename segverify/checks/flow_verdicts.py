"""Verdicts for whole flow tables, computed once per equivalence class and broadcast.

A flow's verdict depends only on (source class, destination class, protocol, destination
port) — the address classes of :mod:`segverify.checks.addrclass` already separate the
addresses any allow rule names by prefix — and, for the few classes an FQDN-restricted
rule could allow, on the names observed in the flow. So the evaluator runs once per
distinct key (``np.unique``) and once per (key, names) where names can matter; every flow
gets the index of its verdict in a small table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from segverify.checks.addrclass import AddressClass
from segverify.checks.policy import Endpoint, PolicyEvaluator, Verdict
from segverify.flows.distinct import unique_inverse
from segverify.jit import for_rows

PORT_SPAN = 65537  # dport + 1 (0 stands for "no port")
PROTO_SPAN = 256


@dataclass(frozen=True)
class VerdictRow:
    """One distinct verdict (what every flow pointing at it shares)."""

    allowed: bool
    decided_by: str
    rule: str | None
    clauses: tuple[str, ...]
    reason: str


@dataclass
class VerdictTable:
    """Per flow: ``verdict`` index into ``rows``; ``forbidden`` mask."""

    rows: list[VerdictRow]
    verdict: np.ndarray  # int32 per flow
    forbidden: np.ndarray  # bool per flow
    classes_evaluated: int  # distinct keys the evaluator saw


def equivalence_keys(
    src_cls: np.ndarray, dst_cls: np.ndarray, proto: np.ndarray, dport: np.ndarray, nclasses: int
) -> np.ndarray:
    """One ``int64`` per flow, equal exactly when (src class, dst class, proto, dport) are."""
    pair = src_cls.astype(np.int64) * max(nclasses, 1) + dst_cls.astype(np.int64)
    port = np.where(dport < 0, 0, dport.astype(np.int64) + 1)
    return (pair * PROTO_SPAN + proto.astype(np.int64)) * PORT_SPAN + port


def decode_key(key: int, nclasses: int) -> tuple[int, int, int, int | None]:
    rest, port = divmod(int(key), PORT_SPAN)
    pair, proto = divmod(rest, PROTO_SPAN)
    src, dst = divmod(pair, max(nclasses, 1))
    return src, dst, proto, (port - 1 if port else None)


def evaluate_table(
    evaluator: PolicyEvaluator,
    classes: Sequence[AddressClass],
    src_cls: np.ndarray,
    dst_cls: np.ndarray,
    proto: np.ndarray,
    dport: np.ndarray,
    names_of: Callable[[int], tuple[str, ...]],
    named: np.ndarray | None = None,
) -> VerdictTable:
    """Verdict per flow. ``dport`` is -1 for no port; ``names_of(i)`` the names of flow
    ``i``; ``named`` (bool per flow, optional) marks flows with any name at all."""
    n = len(src_cls)
    keys = equivalence_keys(src_cls, dst_cls, proto, dport, len(classes))
    uniq, inverse = unique_inverse(keys, for_rows(n))
    rows: list[VerdictRow] = []
    row_ids: dict[VerdictRow, int] = {}

    def row_id(v: Verdict) -> int:
        row = VerdictRow(v.allowed, v.decided_by, v.rule, v.clauses, v.reason)
        rid = row_ids.get(row)
        if rid is None:
            rid = row_ids[row] = len(rows)
            rows.append(row)
        return rid

    endpoints = [c.endpoint() for c in classes]
    per_key = np.empty(len(uniq), dtype=np.int32)
    sensitive: list[int] = []
    # the port enters a verdict only through the allow rules' services: keys whose
    # (proto, port) every service matches alike share their verdict and sensitivity
    services = [svc for r in evaluator.topology.policy.allow for svc in r.services]
    signature: dict[tuple[int, int | None], tuple[object, ...]] = {}
    decided: dict[tuple[int, int, tuple[object, ...]], tuple[int, bool]] = {}
    for k, key in enumerate(uniq.tolist()):
        s, d, p, port = decode_key(key, len(classes))
        sig = signature.get((p, port))
        if sig is None:
            sig = signature[(p, port)] = (p, *(svc.matches(p, port) for svc in services))
        got = decided.get((s, d, sig))
        if got is None:
            got = decided[(s, d, sig)] = (
                row_id(evaluator.evaluate_endpoints(endpoints[s], endpoints[d], p, port)),
                fqdn_sensitive(evaluator, endpoints[s], endpoints[d], p, port),
            )
        per_key[k] = got[0]
        if got[1]:
            sensitive.append(k)
    verdict = per_key[inverse] if n else np.empty(0, dtype=np.int32)
    evaluated = len(uniq)
    if sensitive:
        # names decide for these keys: evaluate per flow that has names (memoised by names)
        mask = np.isin(inverse, np.asarray(sensitive))
        if named is not None:
            mask &= named
        for i in np.nonzero(mask)[0].tolist():
            names = names_of(i)
            if not names:
                continue
            s, d, p, port = decode_key(int(uniq[inverse[i]]), len(classes))
            v = evaluator.evaluate_endpoints(endpoints[s], endpoints[d], p, port, names)
            verdict[i] = row_id(v)
            evaluated += 1
    allowed = np.array([r.allowed for r in rows], dtype=bool)
    forbidden = ~allowed[verdict] if n else np.zeros(0, dtype=bool)
    return VerdictTable(rows, verdict.astype(np.int32), forbidden, evaluated)


def fqdn_sensitive(
    evaluator: PolicyEvaluator, s: Endpoint, d: Endpoint, proto: int, dport: int | None
) -> bool:
    """True when some FQDN-restricted allow rule would match but for the names, so the
    names seen in a flow can change its verdict."""
    if s.zone == d.zone or s.tier == d.tier:
        return False
    return evaluator.fqdn_gap(s, d, proto, dport)
