"""A few bytes of each application, enough for a capture analyser to recognise it.

Standard library only: this module runs inside lab namespaces via ``segverify.lab.agent``.
"""

from __future__ import annotations

import os
import struct


def tls_client_hello(sni: str) -> bytes:
    """A TLS 1.2-framed ClientHello with a server_name extension (and TLS 1.3 offered)."""
    host = sni.encode("idna") if sni else b""
    exts = b""
    if host:
        entry = b"\x00" + struct.pack("!H", len(host)) + host
        sni_list = struct.pack("!H", len(entry)) + entry
        exts += struct.pack("!HH", 0x0000, len(sni_list)) + sni_list
    groups = struct.pack("!HH", 4, 0x001D) + struct.pack("!H", 0x0017)
    exts += struct.pack("!HH", 0x000A, len(groups)) + groups
    versions = b"\x04\x03\x04\x03\x03"
    exts += struct.pack("!HH", 0x002B, len(versions)) + versions
    sigalgs = struct.pack("!H", 4) + struct.pack("!HH", 0x0403, 0x0804)
    exts += struct.pack("!HH", 0x000D, len(sigalgs)) + sigalgs
    ciphers = struct.pack("!HHHH", 0x1301, 0x1302, 0xC02F, 0x009C)
    body = (
        b"\x03\x03"
        + os.urandom(32)
        + b"\x00"
        + struct.pack("!H", len(ciphers))
        + ciphers
        + b"\x01\x00"
        + struct.pack("!H", len(exts))
        + exts
    )
    handshake = b"\x01" + struct.pack("!I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack("!H", len(handshake)) + handshake


TLS_ALERT = b"\x15\x03\x03\x00\x02\x02\x28"  # fatal handshake_failure: the lab has no certificates


def dns_query(name: str, qid: int) -> bytes:
    labels = b"".join(bytes([len(p)]) + p.encode("idna") for p in name.rstrip(".").split(".") if p)
    return (
        struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
        + labels
        + b"\x00"
        + struct.pack("!HH", 1, 1)
    )


def dns_answer(query: bytes) -> bytes:
    """Answer any A query with 192.0.2.1 (TEST-NET-1); garbage gets a FORMERR header."""
    if len(query) < 12:
        return b""
    qid = query[:2]
    end = 12
    while end < len(query) and query[end] != 0:
        end += query[end] + 1
    question = query[12 : end + 5]
    if len(question) < 5:
        return qid + struct.pack("!HHHHH", 0x8181, 0, 0, 0, 0)
    answer = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + bytes([192, 0, 2, 1])
    return qid + struct.pack("!HHHHH", 0x8180, 1, 1, 0, 0) + question + answer


def http_request(host: str) -> bytes:
    return (
        f"GET / HTTP/1.1\r\nHost: {host or 'lab.invalid'}\r\nUser-Agent: segverify-lab\r\n"
        "Connection: close\r\n\r\n"
    ).encode()


def proxy_request(host: str) -> bytes:
    target = f"{host or 'lab.invalid'}:443"
    return (
        f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\nUser-Agent: segverify-lab\r\n\r\n".encode()
    )


HTTP_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n"
PROXY_RESPONSE = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"

# RDP: TPKT + X.224 Connection Request with an RDP negotiation request (TLS)
RDP_REQUEST = bytes.fromhex("030000130ee000000000000100080003000000")
RDP_CONFIRM = bytes.fromhex("030000130ed000001234000200080001000000")
ICA_BANNER = b"\x7f\x7fICA\x00"
# NetBIOS session header + an SMB2 NEGOTIATE request (64-byte header, one dialect 2.0.2)
_SMB2 = (
    b"\xfeSMB"
    + struct.pack("<HHIHHIIQIIQ", 64, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0)
    + b"\x00" * 16
    + struct.pack("<HHHHI", 36, 1, 1, 0, 0)
    + b"\x00" * 24
    + struct.pack("<H", 0x0202)
)
SMB_NEGOTIATE = struct.pack("!I", len(_SMB2)) + _SMB2
SMB_RESPONSE = b"\x00\x00\x00\x08\xfeSMB\x00\x00\x00\x00"
SSH_BANNER = b"SSH-2.0-segverify-lab\r\n"
GENERIC = b"segverify-lab\n"


def server_greeting(app: str) -> bytes:
    """Bytes a server of ``app`` sends first (server-speaks-first protocols)."""
    return {
        "smtp": b"220 lab.invalid ESMTP segverify-lab\r\n",
        "submission": b"220 lab.invalid ESMTP segverify-lab\r\n",
        "ica": ICA_BANNER,
        "ssh": SSH_BANNER,
    }.get(app, b"")


def server_reply(app: str, data: bytes) -> bytes:
    """The server's answer to one chunk the client sent."""
    if app in ("smtp", "submission"):
        line = data.strip().upper()
        if line.startswith(b"QUIT"):
            return b"221 bye\r\n"
        return b"250 lab.invalid\r\n"
    return {
        "tls": TLS_ALERT,
        "http": HTTP_RESPONSE,
        "proxy": PROXY_RESPONSE,
        "rdp": RDP_CONFIRM,
        "smb": SMB_RESPONSE,
        "ica": ICA_BANNER,
        "ssh": b"",
    }.get(app, GENERIC)


def client_messages(app: str, name: str) -> list[bytes]:
    """What the client sends, in order (one chunk per round trip)."""
    if app in ("smtp", "submission"):
        return [f"EHLO {name or 'lab.invalid'}\r\n".encode(), b"QUIT\r\n"]
    return [
        {
            "tls": tls_client_hello(name),
            "http": http_request(name),
            "proxy": proxy_request(name),
            "rdp": RDP_REQUEST,
            "smb": SMB_NEGOTIATE,
            "ica": ICA_BANNER,
            "ssh": SSH_BANNER,
        }.get(app, GENERIC)
    ]
