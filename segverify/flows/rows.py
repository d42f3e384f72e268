"""Layout of the per-record row array the fast backend's compiled pass writes.

One chunk of records is one ``int64`` array of shape ``(chunk_records, NCOL)``; each
constant below names a column. Addresses are two 64-bit halves (IPv4: ``HI`` is 0, ``LO``
holds the 32-bit address). Ports are -1 when the protocol has none.
"""

from __future__ import annotations

FRAME = 0  # 1-based record number within the file
TS = 1  # timestamp, ns since the epoch
WIRELEN = 2  # original frame length
BUCKET = 3  # accounting bucket (see BUCKET_* below)
VER = 4  # IP version of the (innermost decoded) packet
PROTO = 5
SRC_HI = 6
SRC_LO = 7
DST_HI = 8
DST_LO = 9
SPORT = 10  # TCP/UDP/SCTP port; ICMP type (Community ID mapping)
DPORT = 11  # TCP/UDP/SCTP port; ICMP code or counterpart type
FLAGS = 12  # TCP flag byte | TCP header length (bytes) << 8
VLAN = 13  # outermost 802.1Q/802.1ad VLAN id, -1 when untagged
FRAG = 14  # FRAG_* below
IPID = 15  # IPv4 identification / IPv6 fragment id (fragments only)
PAY_OFF = 16  # transport payload offset in the chunk buffer
PAY_LEN = 17
CAND = 18  # 1 when the payload may carry a DNS name, TLS SNI or HTTP Host
TDEPTH = 19  # number of decapsulated tunnel layers
T1TYPE = 20  # outermost tunnel: TUNNEL_* | (outer IP version << 8)
T1SRC_HI = 21
T1SRC_LO = 22
T1DST_HI = 23
T1DST_LO = 24
T2TYPE = 25  # second tunnel layer, same layout
T2SRC_HI = 26
T2SRC_LO = 27
T2DST_HI = 28
T2DST_LO = 29
FLOW = 30  # flow index assigned by aggregation, -1 when not analysed
NCOL = 31

# accounting buckets, in the order of segverify.flows.model.BUCKETS
BUCKET_ANALYSED = 0
BUCKET_NON_IP = 1
BUCKET_UNSUPPORTED_LINK = 2
BUCKET_MALFORMED = 3
BUCKET_TRUNCATED = 4
BUCKET_OPAQUE = 5
BUCKET_PENDING = 9  # non-first fragment waiting for its first fragment (never reported)

FRAG_NONE = 0
FRAG_FIRST = 1  # offset 0, more fragments follow: carries the ports
FRAG_LATER = 2  # offset > 0: ports come from the first fragment

TUNNEL_GRE = 1
TUNNEL_ERSPAN = 2
TUNNEL_VXLAN = 3
TUNNEL_GENEVE = 4
TUNNEL_IPIP = 5
TUNNEL_NAMES = {
    TUNNEL_GRE: "gre",
    TUNNEL_ERSPAN: "erspan",
    TUNNEL_VXLAN: "vxlan",
    TUNNEL_GENEVE: "geneve",
    TUNNEL_IPIP: "ipip",
}
