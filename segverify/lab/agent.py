"""The traffic agent run inside lab namespaces: ``python -m segverify.lab.agent serve|client``.

Standard library only (it starts once per namespace and must start fast). Every socket
has a short timeout and every process a bounded lifetime.

serve SPEC   SPEC is JSON ``[[proto, port, app], ...]``; binds them all on 0.0.0.0, prints
             ``READY`` and answers until SIGTERM or ``--lifetime`` seconds.
client SPEC  SPEC is JSON ``[{id, src, dst, proto, dport, app, name}, ...]``; plays the flows
             in order and prints one JSON result per line.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import random
import selectors
import signal
import socket
import struct
import sys
import threading
import time

from segverify.lab import payloads

CONN_TIMEOUT = 2.0


def _serve_tcp(conn: socket.socket, app: str) -> None:
    try:
        conn.settimeout(CONN_TIMEOUT)
        greeting = payloads.server_greeting(app)
        if greeting:
            conn.sendall(greeting)
        for _ in range(4):
            data = conn.recv(4096)
            if not data:
                break
            reply = payloads.server_reply(app, data)
            if reply:
                conn.sendall(reply)
            if app not in ("smtp", "submission") or data.strip().upper().startswith(b"QUIT"):
                break
    except OSError:
        pass
    finally:
        conn.close()


def serve(spec: list[list], lifetime: float) -> int:
    sel = selectors.DefaultSelector()
    sockets: list[socket.socket] = []
    for proto, port, app in spec:
        kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
        s = socket.socket(socket.AF_INET, kind)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", int(port)))
        if proto == "tcp":
            s.listen(16)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, (proto, app))
        sockets.append(s)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print("READY", flush=True)
    deadline = time.monotonic() + lifetime
    while not stop.is_set() and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.2):
            proto, app = key.data
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            try:
                if proto == "tcp":
                    conn, _addr = sock.accept()
                    conn.setblocking(True)
                    threading.Thread(target=_serve_tcp, args=(conn, app), daemon=True).start()
                else:
                    data, addr = sock.recvfrom(4096)
                    reply = payloads.dns_answer(data) if app == "dns" else payloads.GENERIC
                    if reply:
                        sock.sendto(reply, addr)
            except OSError:
                continue
    for s in sockets:
        s.close()
    return 0


def _outcome_of(exc: OSError) -> str:
    if isinstance(exc, socket.timeout):
        return "timeout"
    return {
        errno.ECONNREFUSED: "refused",
        errno.EHOSTUNREACH: "unreachable",
        errno.ENETUNREACH: "unreachable",
        errno.EACCES: "prohibited",
        errno.EPERM: "prohibited",
        errno.ECONNRESET: "reset",
    }.get(exc.errno or 0, f"error-{exc.errno}")


def _bound(f: dict, kind: int, timeout: float) -> tuple[socket.socket, dict]:
    """A socket bound to the flow's source address (ephemeral port) and its result record."""
    s = socket.socket(socket.AF_INET, kind)
    s.settimeout(timeout)
    result: dict = {"id": f["id"], "passed": False, "sent": 0, "received": 0}
    try:
        s.bind((f["src"], 0))
    except OSError:
        s.close()
        raise
    result["sport"] = s.getsockname()[1]
    return s, result


def tcp_flow(f: dict, timeout: float) -> dict:
    s, result = _bound(f, socket.SOCK_STREAM, timeout)
    try:
        try:
            s.connect((f["dst"], f["dport"]))
        except OSError as exc:
            result["outcome"] = _outcome_of(exc)
            return result
        result["passed"] = True
        result["outcome"] = "established"
        app, name = f["app"], f.get("name", "")
        try:
            if payloads.server_greeting(app):
                result["received"] += len(s.recv(4096))
            for chunk in payloads.client_messages(app, name):
                s.sendall(chunk)
                result["sent"] += len(chunk)
                data = s.recv(4096)
                result["received"] += len(data)
                if not data:
                    break
        except OSError as exc:
            result["exchange"] = _outcome_of(exc)
        return result
    finally:
        s.close()


def udp_flow(f: dict, timeout: float) -> dict:
    s, result = _bound(f, socket.SOCK_DGRAM, timeout)
    try:
        s.connect((f["dst"], f["dport"]))
        if f["app"] == "dns":
            data = payloads.dns_query(f.get("name") or "lab.invalid", random.randrange(1, 65535))
        else:
            data = payloads.GENERIC
        s.send(data)
        result["sent"] = len(data)
        try:
            reply = s.recv(4096)
        except OSError as exc:
            result["outcome"] = "no-answer" if isinstance(exc, socket.timeout) else _outcome_of(exc)
            return result
        result.update(passed=True, outcome="answered", received=len(reply))
        return result
    finally:
        s.close()


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def icmp_flow(f: dict, timeout: float) -> dict:
    result: dict = {"id": f["id"], "passed": False, "sent": 0, "received": 0}
    ident = os.getpid() & 0xFFFF
    body = b"segverify-lab"
    header = struct.pack("!BBHHH", 8, 0, 0, ident, 1)
    packet = struct.pack("!BBHHH", 8, 0, _checksum(header + body), ident, 1) + body
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s.settimeout(timeout)
    try:
        s.bind((f["src"], 0))
        s.sendto(packet, (f["dst"], 0))
        result["sent"] = len(packet)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data, addr = s.recvfrom(2048)
            except OSError:
                break
            ihl = (data[0] & 0x0F) * 4
            icmp_type, _code, _ck, rid, _seq = struct.unpack("!BBHHH", data[ihl : ihl + 8])
            if addr[0] == f["dst"] and icmp_type == 0 and rid == ident:
                result.update(passed=True, outcome="answered", received=len(data) - ihl)
                return result
            if icmp_type == 3:
                result["outcome"] = "unreachable"
                return result
        result["outcome"] = "no-answer"
        return result
    finally:
        s.close()


def client(spec: list[dict], timeout: float) -> int:
    for f in spec:
        try:
            if f["proto"] == "tcp":
                res = tcp_flow(f, timeout)
            elif f["proto"] == "udp":
                res = udp_flow(f, timeout)
            else:
                res = icmp_flow(f, timeout)
        except OSError as exc:
            res = {"id": f["id"], "passed": False, "outcome": _outcome_of(exc)}
        print(json.dumps(res), flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="segverify.lab.agent")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p_serve = sub.add_parser("serve")
    p_serve.add_argument("spec")
    p_serve.add_argument("--lifetime", type=float, default=60.0)
    p_client = sub.add_parser("client")
    p_client.add_argument("spec")
    p_client.add_argument("--timeout", type=float, default=1.0)
    args = parser.parse_args(argv)
    if args.cmd == "serve":
        return serve(json.loads(args.spec), min(args.lifetime, 600.0))
    return client(json.loads(args.spec), min(args.timeout, 10.0))


if __name__ == "__main__":
    sys.exit(main())
