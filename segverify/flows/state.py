"""Connection state in Zeek's ``conn_state`` vocabulary, from per-direction TCP flags.

Kernels (``segverify.jit``): one call classifies every flow of a table, compiled for large
tables; the scalar functions are the same code. Zeek keeps a state machine
per endpoint; the flow table keeps, per direction, the packet count and the OR of every
TCP flag byte, from which each endpoint's final state is derived:

- no packet: INACTIVE; RST sent: RESET, unless both sides sent a FIN (Zeek keeps a
  connection closed by both sides SF whatever RST follows); else FIN sent: CLOSED;
- SYN sent and a SYN seen from the peer too (three-way handshake), a SYN+ACK the peer
  answered, or an ACK answering the peer's SYN+ACK (own SYN not captured): ESTABLISHED;
- SYN sent without the peer's: SYN_SENT (pure SYN) or SYN_ACK_SENT (SYN+ACK);
- packets without any SYN: PARTIAL (midstream).

Then ``conn_state`` follows Zeek's ``base/protocols/conn/main.zeek`` (``conn_state``)
literally. UDP: SF when both sides sent, S0 when only the originator did, SHR when only
the responder did. Every other protocol (ICMP included) is OTH, as in Zeek; ``answered``
says whether the other side replied for every protocol.
"""

from __future__ import annotations

import numpy as np

from segverify.jit import Kernels, for_rows, kernel

CONN_STATES = (
    "S0",
    "S1",
    "SF",
    "REJ",
    "S2",
    "S3",
    "RSTO",
    "RSTR",
    "RSTOS0",
    "RSTRH",
    "SH",
    "SHR",
    "OTH",
)
(S0, S1, SF, REJ, S2, S3, RSTO, RSTR, RSTOS0, RSTRH, SH, SHR, OTH) = range(len(CONN_STATES))

# endpoint states (Zeek's TCP_* endpoint states)
INACTIVE, SYN_SENT, SYN_ACK_SENT, PARTIAL, ESTABLISHED, CLOSED, RESET = range(7)
FIN, SYN, RST, ACK = 0x01, 0x02, 0x04, 0x10
TCP, UDP = 6, 17


@kernel
def _endpoint(pkts, flags, peer_pkts, peer_flags):  # type: ignore[no-untyped-def]
    if pkts == 0:
        return INACTIVE
    fin = (flags & FIN) != 0
    if (flags & RST) != 0 and not (fin and (peer_flags & FIN) != 0):
        return RESET  # a RST after both FINs changes nothing
    if fin:
        return CLOSED
    syn = (flags & SYN) != 0
    ack = (flags & ACK) != 0
    peer_syn = (peer_flags & SYN) != 0
    if syn:
        if peer_syn or (ack and peer_pkts > 0):  # handshake, or a SYN+ACK answered
            return ESTABLISHED
        return SYN_ACK_SENT if ack else SYN_SENT
    if peer_syn and (peer_flags & ACK) != 0 and ack:  # answers the peer's SYN+ACK
        return ESTABLISHED
    return PARTIAL


@kernel
def _state(proto, pkts_fwd, pkts_rev, flags_fwd, flags_rev):  # type: ignore[no-untyped-def]
    if proto == UDP:
        if pkts_fwd > 0:
            return SF if pkts_rev > 0 else S0
        return SHR if pkts_rev > 0 else OTH
    if proto != TCP:
        return OTH
    os_ = _endpoint(pkts_fwd, flags_fwd, pkts_rev, flags_rev)
    rs = _endpoint(pkts_rev, flags_rev, pkts_fwd, flags_fwd)
    o_inactive = os_ in (INACTIVE, PARTIAL)
    r_inactive = rs in (INACTIVE, PARTIAL)
    if rs == RESET:  # Zeek's if/else chain, literally
        if os_ in (SYN_SENT, SYN_ACK_SENT):
            return REJ
        return RSTRH if o_inactive else RSTR
    if os_ == RESET:
        if r_inactive and ((flags_fwd | flags_rev) & SYN) != 0:
            return RSTOS0
        return RSTO
    if rs == CLOSED and os_ == CLOSED:
        return SF
    if os_ == CLOSED:
        return SH if r_inactive else S2
    if rs == CLOSED:
        return SHR if o_inactive else S3
    if os_ == SYN_SENT and rs == INACTIVE:
        return S0
    if os_ == ESTABLISHED and rs == ESTABLISHED:
        return S1
    return OTH


@kernel
def _answered(proto, pkts_rev, flags_fwd, flags_rev):  # type: ignore[no-untyped-def]
    if proto != TCP:
        return pkts_rev > 0
    if (flags_rev & (SYN | ACK)) == (SYN | ACK):
        return True
    lone_rst = (flags_rev & RST) != 0 and pkts_rev <= 1
    return (flags_fwd & SYN) == 0 and pkts_rev > 0 and not lone_rst


@kernel(
    exports=(
        "none(int64[::1], int64[::1], int64[::1], int64[::1], int64[::1], uint8[::1], boolean[::1])",
    )
)
def _states(proto, pkts_fwd, pkts_rev, flags_fwd, flags_rev, out_state, out_answered):  # type: ignore[no-untyped-def]
    for i in range(len(proto)):
        out_state[i] = _state(proto[i], pkts_fwd[i], pkts_rev[i], flags_fwd[i], flags_rev[i])
        out_answered[i] = _answered(proto[i], pkts_rev[i], flags_fwd[i], flags_rev[i])


def states_and_answered(
    proto: np.ndarray,
    pkts_fwd: np.ndarray,
    pkts_rev: np.ndarray,
    flags_fwd: np.ndarray,
    flags_rev: np.ndarray,
    kernels: Kernels | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    n = len(proto)
    state = np.empty(n, dtype=np.uint8)
    ans = np.empty(n, dtype=np.bool_)
    as64 = [np.ascontiguousarray(a, dtype=np.int64) for a in (proto, pkts_fwd, pkts_rev)]
    flags = [np.ascontiguousarray(a, dtype=np.int64) for a in (flags_fwd, flags_rev)]
    run = (for_rows(n) if kernels is None else kernels)(_states)
    run(*as64, *flags, state, ans)
    return state, ans


def conn_states(
    proto: np.ndarray,
    pkts_fwd: np.ndarray,
    pkts_rev: np.ndarray,
    flags_fwd: np.ndarray,
    flags_rev: np.ndarray,
) -> np.ndarray:
    """``uint8`` codes into :data:`CONN_STATES`, one per flow (fwd = originator)."""
    return states_and_answered(proto, pkts_fwd, pkts_rev, flags_fwd, flags_rev)[0]


def answered(
    proto: np.ndarray,
    pkts_rev: np.ndarray,
    flags_fwd: np.ndarray,
    flags_rev: np.ndarray,
) -> np.ndarray:
    """True where the responder answered: for TCP a SYN+ACK from the responder, or (no
    SYN from the originator: midstream) responder packets that are not a lone RST; for
    every other protocol any packet from the responder. An ICMP error about a UDP flow is
    a flow of its own and does not answer it."""
    zeros = np.zeros(len(proto), dtype=np.int64)
    return states_and_answered(proto, zeros, pkts_rev, flags_fwd, flags_rev)[1]


def conn_state(proto: int, pkts_fwd: int, pkts_rev: int, flags_fwd: int, flags_rev: int) -> str:
    """One flow's state name."""
    return CONN_STATES[int(_state(proto, pkts_fwd, pkts_rev, flags_fwd, flags_rev))]
