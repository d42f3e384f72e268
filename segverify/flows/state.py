"""Connection state in Zeek's ``conn_state`` vocabulary, from per-direction TCP flags.

Vectorised (numpy): one call classifies every flow of a table. Zeek keeps a state machine
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


def _endpoint(
    pkts: np.ndarray, flags: np.ndarray, peer_pkts: np.ndarray, peer_flags: np.ndarray
) -> np.ndarray:
    syn = (flags & SYN) != 0
    ack = (flags & ACK) != 0
    peer_syn = (peer_flags & SYN) != 0
    peer_synack = peer_syn & ((peer_flags & ACK) != 0)
    out = np.full(len(pkts), PARTIAL, dtype=np.uint8)
    out[syn & ack] = SYN_ACK_SENT
    out[syn & ~ack] = SYN_SENT
    out[syn & peer_syn] = ESTABLISHED
    # a SYN+ACK answered by the peer, and the peer that answers it without its SYN seen
    out[syn & ack & ~peer_syn & (peer_pkts > 0)] = ESTABLISHED
    out[~syn & peer_synack & ack] = ESTABLISHED
    fin = (flags & FIN) != 0
    both_fin = fin & ((peer_flags & FIN) != 0)
    out[fin] = CLOSED
    out[((flags & RST) != 0) & ~both_fin] = RESET  # a RST after both FINs changes nothing
    out[pkts == 0] = INACTIVE
    return out


def conn_states(
    proto: np.ndarray,
    pkts_fwd: np.ndarray,
    pkts_rev: np.ndarray,
    flags_fwd: np.ndarray,
    flags_rev: np.ndarray,
) -> np.ndarray:
    """``uint8`` codes into :data:`CONN_STATES`, one per flow (fwd = originator)."""
    n = len(proto)
    state = np.full(n, OTH, dtype=np.uint8)
    fl_o = flags_fwd.astype(np.int64)
    fl_r = flags_rev.astype(np.int64)
    os_ = _endpoint(pkts_fwd, fl_o, pkts_rev, fl_r)
    rs = _endpoint(pkts_rev, fl_r, pkts_fwd, fl_o)
    o_inactive = (os_ == INACTIVE) | (os_ == PARTIAL)
    r_inactive = (rs == INACTIVE) | (rs == PARTIAL)
    any_syn = ((fl_o | fl_r) & SYN) != 0
    # Zeek's if/else chain, applied from the last branch to the first so the first wins
    tcp = proto == TCP
    choices = [
        (rs == RESET, np.where((os_ == SYN_SENT) | (os_ == SYN_ACK_SENT), REJ,
                               np.where(o_inactive, RSTRH, RSTR))),
        (os_ == RESET, np.where(r_inactive & any_syn, RSTOS0, RSTO)),
        ((rs == CLOSED) & (os_ == CLOSED), SF),
        (os_ == CLOSED, np.where(r_inactive, SH, S2)),
        (rs == CLOSED, np.where(o_inactive, SHR, S3)),
        ((os_ == SYN_SENT) & (rs == INACTIVE), S0),
        ((os_ == ESTABLISHED) & (rs == ESTABLISHED), S1),
    ]  # fmt: skip
    tcp_state = np.full(n, OTH, dtype=np.uint8)
    decided = np.zeros(n, dtype=bool)
    for cond, value in choices:
        take = cond & ~decided
        tcp_state[take] = value[take] if isinstance(value, np.ndarray) else value
        decided |= cond
    state[tcp] = tcp_state[tcp]
    udp = proto == UDP
    o_act = pkts_fwd > 0
    r_act = pkts_rev > 0
    udp_state = np.where(o_act, np.where(r_act, SF, S0), np.where(r_act, SHR, OTH))
    state[udp] = udp_state[udp]
    return state


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
    fl_o = flags_fwd.astype(np.int64)
    fl_r = flags_rev.astype(np.int64)
    synack = (fl_r & (SYN | ACK)) == (SYN | ACK)
    midstream = (fl_o & SYN) == 0
    lone_rst = ((fl_r & RST) != 0) & (pkts_rev <= 1)
    tcp_ok = synack | (midstream & (pkts_rev > 0) & ~lone_rst)
    return np.where(proto == TCP, tcp_ok, pkts_rev > 0)


def conn_state(proto: int, pkts_fwd: int, pkts_rev: int, flags_fwd: int, flags_rev: int) -> str:
    """One flow's state name (the vectorised function on one row)."""
    code = conn_states(
        np.array([proto]),
        np.array([pkts_fwd]),
        np.array([pkts_rev]),
        np.array([flags_fwd]),
        np.array([flags_rev]),
    )[0]
    return CONN_STATES[int(code)]
