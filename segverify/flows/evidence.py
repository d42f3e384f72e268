"""Application evidence from one packet payload: DNS query names, TLS SNI, HTTP Host.

Every backend calls :func:`extract_names` on the transport payload of each packet. The
payload is attacker-controlled: parsing is bounded (length, count, compression hops),
never raises, and the names come back as data only, exactly as they appear on the wire
(UTF-8, undecodable bytes as ``\\xNN``), with a trailing dot removed. Nothing here
interprets a name.

Bounds, the same for every backend: names are read from the first
:data:`MAX_NAME_PAYLOADS` payloads of a flow that may carry one (UDP/TCP port 53, a TCP
payload starting ``16 03``, an HTTP request line) and at most :data:`MAX_FLOW_NAMES`
distinct names are kept per flow. A TLS ClientHello or HTTP request split across TCP
segments is found by reassembling, for each direction whose first data segment may carry
a name, its first :data:`REASM_SEGMENTS` data segments in sequence order, up to
:data:`REASM_BYTES` bytes (:func:`reassemble`). DNS over TCP is read from the 2-byte
length prefix at the start of a segment.
"""

from __future__ import annotations

MAX_NAME_LEN = 255  # characters kept of one name (DNS names are at most 255 octets)
MAX_NAMES = 8  # names returned for one payload
MAX_FLOW_NAMES = 16  # names a backend keeps for one flow
MAX_NAME_PAYLOADS = 32  # candidate payloads per flow handed to extract_names
REASM_SEGMENTS = 8  # data segments per TCP direction kept for reassembly
REASM_BYTES = 16384  # bytes of a TCP direction's stream reassembled
DNS_PORTS = frozenset({53})
MAX_DNS_QUESTIONS = 8
_MAX_POINTER_HOPS = 16
_MAX_HTTP_HEAD = 8192
_HTTP_METHODS = (
    b"GET ",
    b"POST ",
    b"HEAD ",
    b"PUT ",
    b"DELETE ",
    b"OPTIONS ",
    b"CONNECT ",
    b"PATCH ",
    b"TRACE ",
    b"PROPFIND ",
    b"PROPPATCH ",
    b"MKCOL ",
    b"COPY ",
    b"MOVE ",
    b"LOCK ",
    b"UNLOCK ",
    b"REPORT ",
    b"SEARCH ",
)
TCP = 6
UDP = 17


def extract_names(payload: bytes, proto: int, sport: int, dport: int) -> tuple[str, ...]:
    """Names seen in one transport payload (``proto`` 6 TCP or 17 UDP), in wire order.

    DNS question names for port 53 (UDP, or TCP with its length prefix), the TLS
    ClientHello server name on TCP, the HTTP/1.x ``Host`` header (port removed) on TCP.
    Returns at most :data:`MAX_NAMES` distinct names of at most :data:`MAX_NAME_LEN`
    characters each; an empty tuple for anything else, including garbage.
    """
    if not payload or proto not in (TCP, UDP):
        return ()
    try:
        names: list[str] = []
        if sport in DNS_PORTS or dport in DNS_PORTS:
            if proto == UDP:
                names = _dns_names(payload)
            elif len(payload) >= 14:
                length = int.from_bytes(payload[:2], "big")
                if length >= 12:
                    names = _dns_names(payload[2 : 2 + length])
        elif proto == TCP:
            first = payload[0]
            if first == 0x16:
                sni = _tls_sni(payload)
                names = [sni] if sni is not None else []
            elif 0x41 <= first <= 0x5A:
                host = _http_host(payload)
                names = [host] if host is not None else []
        return _clean(names)
    except Exception:  # garbage in, nothing out: never raise on a packet
        return ()


def _clean(names: list[str]) -> tuple[str, ...]:
    out: list[str] = []
    for name in names:
        if name.endswith("."):
            name = name[:-1]
        name = name[:MAX_NAME_LEN]
        if name and name not in out:
            out.append(name)
            if len(out) >= MAX_NAMES:
                break
    return tuple(out)


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", errors="backslashreplace")


# --- DNS -------------------------------------------------------------------------------


def _dns_names(msg: bytes) -> list[str]:
    if len(msg) < 12:
        return []
    flags = int.from_bytes(msg[2:4], "big")
    opcode = (flags >> 11) & 0xF
    if opcode > 6:
        return []
    qdcount = int.from_bytes(msg[4:6], "big")
    if qdcount == 0 or qdcount > MAX_DNS_QUESTIONS:
        return []
    names: list[str] = []
    pos = 12
    for _ in range(qdcount):
        parsed = _dns_name(msg, pos)
        if parsed is None:
            break
        name, pos = parsed
        if pos + 4 > len(msg):  # qtype/qclass cut off: name complete, keep it, stop
            if name:
                names.append(name)
            break
        pos += 4
        if name:
            names.append(name)
    return names


def _dns_name(msg: bytes, pos: int) -> tuple[str, int] | None:
    """Read a (possibly compressed) name at ``pos``; return it and the offset after it."""
    labels: list[bytes] = []
    total = 0
    hops = 0
    end: int | None = None  # offset after the name in the original position
    while True:
        if pos >= len(msg):
            return None
        length = msg[pos]
        kind = length & 0xC0
        if kind == 0xC0:
            if pos + 1 >= len(msg):
                return None
            hops += 1
            if hops > _MAX_POINTER_HOPS:
                return None
            target = ((length & 0x3F) << 8) | msg[pos + 1]
            if end is None:
                end = pos + 2
            if target >= len(msg):
                return None
            pos = target
            continue
        if kind != 0:  # 0x40 / 0x80: extended or reserved label types
            return None
        if length == 0:
            pos += 1
            break
        label = msg[pos + 1 : pos + 1 + length]
        if len(label) < length:
            return None
        total += length + 1
        if total > 255:
            return None
        labels.append(label)
        pos += 1 + length
    return _decode(b".".join(labels)), (end if end is not None else pos)


# --- TLS -------------------------------------------------------------------------------


def _tls_sni(data: bytes) -> str | None:
    # record header: type 0x16, version 3.x, length; handshake: type 1 (ClientHello)
    if len(data) < 9 or data[1] != 3 or data[5] != 1:
        return None
    record_len = int.from_bytes(data[3:5], "big")
    hs_len = int.from_bytes(data[6:9], "big")
    end = min(len(data), 5 + record_len, 9 + hs_len)
    pos = 9 + 2 + 32  # client version, random
    if pos >= end:
        return None
    pos += 1 + data[pos]  # session id
    if pos + 2 > end:
        return None
    pos += 2 + int.from_bytes(data[pos : pos + 2], "big")  # cipher suites
    if pos + 1 > end:
        return None
    pos += 1 + data[pos]  # compression methods
    if pos + 2 > end:
        return None
    ext_end = min(end, pos + 2 + int.from_bytes(data[pos : pos + 2], "big"))
    pos += 2
    while pos + 4 <= ext_end:
        ext_type = int.from_bytes(data[pos : pos + 2], "big")
        ext_len = int.from_bytes(data[pos + 2 : pos + 4], "big")
        pos += 4
        if ext_type == 0:
            body = data[pos : min(pos + ext_len, ext_end)]
            # server_name_list length, then entries of (type, length, name)
            i = 2
            while i + 3 <= len(body):
                name_type = body[i]
                name_len = int.from_bytes(body[i + 1 : i + 3], "big")
                name = body[i + 3 : i + 3 + name_len]
                if name_type == 0 and name and len(name) == name_len:
                    return _decode(name)
                i += 3 + name_len
            return None
        pos += ext_len
    return None


# --- HTTP ------------------------------------------------------------------------------


def _http_host(data: bytes) -> str | None:
    if not data.startswith(_HTTP_METHODS):
        return None
    head = data[:_MAX_HTTP_HEAD]
    cut = head.find(b"\r\n\r\n")
    if cut >= 0:
        head = head[:cut]
    lines = head.split(b"\n")
    if b" HTTP/1." not in lines[0]:
        return None
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if sep and name.strip().lower() == b"host":
            return _strip_port(_decode(value.strip(b" \t\r")))
    return None


def _strip_port(host: str) -> str:
    if host.startswith("["):  # IPv6 literal: keep the brackets, drop the port
        close = host.find("]")
        return host[: close + 1] if close > 0 else host
    name, sep, port = host.rpartition(":")
    if sep and port.isdigit() and name:
        return name
    return host


def may_carry_name(payload: bytes, proto: int, sport: int, dport: int) -> bool:
    """The payload is a name candidate (the fast backend's compiled test, in Python)."""
    if not payload:
        return False
    if sport == 53 or dport == 53:
        return proto in (TCP, UDP)
    if proto != TCP:
        return False
    if len(payload) >= 3 and payload[0] == 0x16 and payload[1] == 0x03:
        return True
    return len(payload) >= 4 and payload[:4] in _CANDIDATE_PREFIXES


_CANDIDATE_PREFIXES = frozenset(
    (b"GET ", b"POST", b"HEAD", b"PUT ", b"CONN", b"OPTI", b"DELE", b"PATC")
)


def reassemble(segments: list[tuple[int, bytes]], limit: int = REASM_BYTES) -> bytes:
    """The start of a TCP stream from ``(sequence number, payload)`` segments, the first
    one being where the stream starts: ordered by sequence number (modulo 2**32),
    retransmitted bytes taken once, up to the first gap or ``limit`` bytes."""
    if not segments:
        return b""
    base = segments[0][0]
    out = bytearray()
    for off, data in sorted(((seq - base) % (1 << 32), data) for seq, data in segments):
        if off > len(out):
            break  # a gap: what follows cannot be placed
        if off + len(data) > len(out):
            out += data[len(out) - off :]
        if len(out) >= limit:
            break
    return bytes(out[:limit])
