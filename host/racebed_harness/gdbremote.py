"""A small client of the GDB remote serial protocol, enough to drive QEMU's gdbstub: stop and
resume the guest, breakpoints, one thread's single step, registers and memory.

QEMU stops the whole guest when a client connects and lets it run again on `c`/`vCont` or
when the client detaches (`D`).  Threads are vCPUs: QEMU numbers them from 1 (CPU index + 1).
"""

import socket
import time
from typing import Optional, Tuple

RIP_OFFSET = 16 * 8  # `g` in 64-bit mode: rax ... r15 (8 bytes each, target order), then rip


class GdbError(Exception):
    pass


def checksum(payload: bytes) -> int:
    return sum(payload) & 0xFF


def frame(payload: str) -> bytes:
    """One packet: $payload#checksum (payload without the characters that need escaping)."""
    data = payload.encode("latin-1")
    return b"$" + data + b"#" + b"%02x" % checksum(data)


def parse_stop(reply: str) -> Tuple[int, Optional[int]]:
    """(signal, thread) of a stop reply such as `T05thread:02;` (thread None when absent)."""
    if not reply or reply[0] not in "TS" or len(reply) < 3:
        raise GdbError(f"not a stop reply: {reply!r}")
    sig = int(reply[1:3], 16)
    thread = None
    for field in reply[3:].split(";"):
        if field.startswith("thread:"):
            thread = int(field[len("thread:"):].split(".")[-1], 16)
    return sig, thread


class GdbRemote:
    """One connection to a gdbstub on a unix socket (QEMU: -gdb unix:PATH,server=on,wait=off).
    QEMU serves one client at a time and listens again only once the last one is gone, so a
    connection refused or reset right after another session is retried for a while."""

    def __init__(self, path: str, timeout_s: float = 5.0, retry_s: float = 2.0):
        deadline = time.monotonic() + retry_s
        while True:
            try:
                self._connect(path, timeout_s)
                return
            except (OSError, GdbError) as e:
                self.sock.close()
                if time.monotonic() > deadline or isinstance(e, FileNotFoundError):
                    raise GdbError(f"cannot talk to the gdbstub at {path}: {e}") from e
                time.sleep(0.05)

    def _connect(self, path: str, timeout_s: float) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout_s)
        self.sock.connect(path)
        self.buf = b""
        self.acks = True  # QEMU 7.2 has no QStartNoAckMode
        # QEMU announces the stop its connection caused (T02) when the guest was running:
        # skip stop replies until qSupported's answer
        self.send("qSupported:swbreak+;hwbreak+")
        while self.recv()[:1] in ("T", "S"):
            pass

    def close(self) -> None:
        self.sock.close()

    def _read_more(self, deadline: float) -> None:
        self.sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout as e:
            raise GdbError("the gdbstub did not answer in time") from e
        if not chunk:
            raise GdbError("the gdbstub closed the connection")
        self.buf += chunk

    def send(self, payload: str) -> None:
        self.sock.sendall(frame(payload))
        if self.acks:
            deadline = time.monotonic() + 5.0
            while not self.buf:
                self._read_more(deadline)
            if self.buf[:1] == b"+":
                self.buf = self.buf[1:]

    def recv(self, timeout_s: float = 5.0) -> str:
        """The next packet's payload (acknowledged when acks are on; notifications skipped)."""
        deadline = time.monotonic() + timeout_s
        while True:
            start = self.buf.find(b"$")
            end = self.buf.find(b"#", start + 1) if start >= 0 else -1
            if start >= 0 and end >= 0 and len(self.buf) >= end + 3:
                payload = self.buf[start + 1:end]
                self.buf = self.buf[end + 3:]
                if self.acks:
                    self.sock.sendall(b"+")
                return payload.decode("latin-1")
            self._read_more(deadline)

    def command(self, payload: str, timeout_s: float = 5.0) -> str:
        self.send(payload)
        return self.recv(timeout_s)

    def expect_ok(self, payload: str) -> None:
        reply = self.command(payload)
        if reply != "OK":
            raise GdbError(f"{payload.split(',')[0]}: the gdbstub answered {reply!r}")

    # ---- what the harness uses ----
    def stop_reason(self) -> Tuple[int, Optional[int]]:
        return parse_stop(self.command("?"))

    def select_thread(self, thread: int) -> None:
        self.expect_ok(f"Hg{thread:x}")

    def read_rip(self, thread: int) -> int:
        """RIP of a vCPU in 64-bit mode (QEMU answers `p` only to clients that read its XML
        target description, so this reads every register with `g`)."""
        self.select_thread(thread)
        reply = self.command("g")
        if len(reply) < 2 * (RIP_OFFSET + 8):
            raise GdbError(f"reading registers: {reply[:40]!r}")
        return int.from_bytes(bytes.fromhex(reply[2 * RIP_OFFSET:2 * (RIP_OFFSET + 8)]), "little")

    def write_memory(self, addr: int, data: bytes) -> None:
        self.expect_ok(f"M{addr:x},{len(data):x}:{data.hex()}")

    def read_memory(self, addr: int, length: int) -> bytes:
        reply = self.command(f"m{addr:x},{length:x}")
        if reply.startswith("E") and len(reply) == 3:
            raise GdbError(f"reading memory at {addr:#x}: {reply}")
        return bytes.fromhex(reply)

    def breakpoint(self, addr: int, insert: bool = True) -> None:
        self.expect_ok(f"{'Z' if insert else 'z'}0,{addr:x},1")

    def set_sstep(self, flags: int) -> None:
        """QEMU's single-step mode: bit 0 enable, bit 1 no IRQs, bit 2 no timers."""
        self.expect_ok(f"Qqemu.sstep={flags:x}")

    def cont(self, timeout_s: float) -> Tuple[int, Optional[int]]:
        """Runs every vCPU until the next stop (a breakpoint)."""
        self.send("vCont;c")
        return parse_stop(self.recv(timeout_s))

    def step(self, thread: int, timeout_s: float = 5.0) -> Tuple[int, Optional[int]]:
        """Steps one instruction on one vCPU; the others stay stopped."""
        self.send(f"vCont;s:{thread:x}")
        return parse_stop(self.recv(timeout_s))

    def detach(self) -> None:
        """Lets the guest run on and ends the session."""
        try:
            self.send("D")
            self.recv(2.0)
        except OSError as e:
            raise GdbError(f"detaching: {e}") from e
        finally:
            self.close()
