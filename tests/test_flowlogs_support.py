"""Helpers shared by the flow-log tests (no tests here): real exporters and collectors.

softflowd (Debian's) reads a capture (``-r``) and exports its flows to a UDP socket we
bind on 127.0.0.1; nfcapd collects such exports on 127.0.0.1 and nfdump prints them as
CSV. Only loopback traffic.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

SOFTFLOWD = shutil.which("softflowd") or (
    "/usr/sbin/softflowd" if os.path.exists("/usr/sbin/softflowd") else None
)
NFCAPD = shutil.which("nfcapd")
NFDUMP = shutil.which("nfdump")


def softflowd_export(
    capture: Path, version: int, workdir: Path, extra: tuple[str, ...] = ()
) -> list[bytes]:
    """The export datagrams softflowd sends for ``capture`` (NetFlow v5, v9 or IPFIX=10;
    ``extra`` options such as ``-b``, IPFIX biflows).

    softflowd 1.1.0 in ``-r`` mode waits for a control-socket connection before each
    read pass; a ``statistics`` request lets it go on until the file's end, where it
    expires every flow, exports them and exits.
    """
    assert SOFTFLOWD is not None
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(1.0)
    # a control socket path must stay under 108 bytes, whatever pytest's temp dir is
    ctl = Path(tempfile.mkdtemp(prefix="sf", dir="/tmp")) / "ctl"
    cmd = [SOFTFLOWD, "-r", str(capture), "-n", f"127.0.0.1:{sock.getsockname()[1]}",
           "-v", str(version), "-6", "-d", "-p", str(workdir / f"softflowd-{version}.pid"),
           "-c", str(ctl), *extra]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                with socket.socket(socket.AF_UNIX) as c:
                    c.settimeout(5)
                    c.connect(str(ctl))
                    c.sendall(b"statistics\n")
                    while c.recv(4096):
                        pass
            except OSError:
                time.sleep(0.02)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    ctl.unlink(missing_ok=True)
    ctl.parent.rmdir()
    datagrams = []
    try:
        while True:
            datagrams.append(sock.recv(65535))
    except TimeoutError:
        pass
    sock.close()
    return datagrams


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def nfcapd_collect(datagrams: list[bytes], workdir: Path) -> Path:
    """Send ``datagrams`` to an nfcapd on 127.0.0.1; the nfcapd file it wrote."""
    assert NFCAPD is not None
    outdir = workdir / "nfcapd"
    outdir.mkdir()
    port = _free_udp_port()
    proc = subprocess.Popen(
        [NFCAPD, "-w", str(outdir), "-p", str(port), "-b", "127.0.0.1"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        time.sleep(0.5)  # nfcapd binds its socket
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for d in datagrams:
                s.sendto(d, ("127.0.0.1", port))
                time.sleep(0.001)
        time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    files = sorted(outdir.glob("nfcapd.2*"))
    assert files, proc.stdout.read() if proc.stdout else "nfcapd wrote no file"
    return files[0]


def nfdump_csv(nfcapd_file: Path, out: Path) -> Path:
    """``nfdump -r FILE -o csv`` (times in UTC) written to ``out``."""
    assert NFDUMP is not None
    text = subprocess.run(
        [NFDUMP, "-r", str(nfcapd_file), "-o", "csv"],
        capture_output=True, text=True, check=True, env={**os.environ, "TZ": "UTC"},
    ).stdout  # fmt: skip
    out.write_text(text)
    return out


def flow_key(f: Any) -> tuple[Any, ...]:
    """Direction-free flow key of a ``Flow``: protocol and the two endpoints, sorted."""
    a = (f.src, -1 if f.sport is None else f.sport)
    b = (f.dst, -1 if f.dport is None else f.dport)
    return (f.proto, *sorted((a, b)))


def sll2_as_ethernet(capture: Path, out: Path) -> Path:
    """The lab captures are Linux SLL2 (tcpdump -i any), which softflowd cannot read: the
    same IP packets and timestamps, re-framed as Ethernet (fixed MACs, SLL2's protocol
    type as EtherType)."""
    from scapy.layers.l2 import Ether
    from scapy.utils import rdpcap, wrpcap

    frames = []
    for pkt in rdpcap(str(capture)):
        frame = (
            Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02", type=pkt.proto) / pkt.payload
        )
        frame.time = pkt.time
        frames.append(frame)
    wrpcap(str(out), frames)
    return out
