"""The serial line of a boot: where QEMU puts the console UART (COM1, a PCI 16550 card, or a
UART at 0x2f8 named by an ACPI SPCR table with no COM1 at all), and sending keys on it (GRUB
reads its menu keys from the serial line; `+keys=` in host/matrix.txt).

Every layout ends up with what the guest sends in the serial log file (a chardev `file`
backend, or for a socket, what the harness reads from it), so the rest of the harness reads
the log the same way.  (Not the socket chardev's `logfile=`: QEMU logs a byte whose write
failed and again when the UART retries it, so a busy socket doubles characters there.)"""

import os
import socket
import struct
from typing import BinaryIO, List, Optional, Tuple

from .ktap import KTAP_HEADER
from .runner import RunHook

KEY_INTERVAL_S = 0.5
SPCR_COM2_PORT = 0x2F8


def _esc(value: str) -> str:
    return value.replace(",", ",,")


def serial_qemu_args(layout: str, log_path: str, socket_path: Optional[str]) -> Tuple[str, List[str]]:
    """For a serial layout (com1, pci or spcr-com2): the `serial` value for
    qemu.build_command (COM1's backend, or "none": no COM1) and the extra QEMU arguments,
    writing the guest's output to log_path; with socket_path, the UART's backend is a unix
    socket server there (for sending keys; KeySender writes what it reads to log_path)."""
    if socket_path:
        backend = f"socket,id=racebed_ser,path={_esc(socket_path)},server=on,wait=off"
    else:
        backend = f"file,id=racebed_ser,path={_esc(log_path)}"
    args = ["-chardev", backend]
    if layout == "com1":
        return "chardev:racebed_ser", args
    if layout == "pci":
        args += ["-device", "pci-serial,chardev=racebed_ser"]
    elif layout == "spcr-com2":
        args += ["-device", f"isa-serial,chardev=racebed_ser,iobase={SPCR_COM2_PORT:#x},irq=3"]
    else:
        raise ValueError(f"unknown serial layout {layout!r}")
    return "none", args


def spcr_table(port: int, interface_type: int = 0, space: int = 1, width: int = 8) -> bytes:
    """An ACPI SPCR table (revision 2) naming a 16550-compatible UART (interface type 0;
    0x12 is "16550 with a Generic Address Structure") at port in address space `space` (1 I/O,
    0 memory), 115200 baud (code 7), 8N1, no flow control.  The whole table, checksummed, for
    QEMU's `-acpi-table file=`."""
    body = struct.pack("<B3x", interface_type)                     # interface type, reserved
    body += struct.pack("<BBBBQ", space, width, 0, 1, port)        # base address (GAS)
    body += struct.pack("<BBIBBBBBB", 0, 0, 0, 7, 0, 1, 0, 0, 0)   # irq type/number, baud..
    body += struct.pack("<HHBBBIB", 0xFFFF, 0xFFFF, 0, 0, 0, 0, 0)  # PCI ids 0xFFFF: not PCI
    body += struct.pack("<I", 0)                                  # reserved (clock in rev 3)
    length = 36 + len(body)
    header = struct.pack("<4sIBB6s8sI4sI", b"SPCR", length, 2, 0, b"RACEBD", b"RACEBED ", 1,
                         b"RBED", 1)
    table = bytearray(header + body)
    table[9] = (-sum(table)) & 0xFF
    return bytes(table)


def write_spcr(path: str, port: int = SPCR_COM2_PORT) -> str:
    with open(path, "wb") as f:
        f.write(spcr_table(port))
    return path


class KeySender(RunHook):
    """Sends `keys` on the serial socket every KEY_INTERVAL_S seconds until the KTAP header
    appears: GRUB may not be reading yet when the first ones arrive (its `serial` command
    resets the UART), and the kernel ignores any that come after GRUB booted it.  Everything
    the guest sends on the socket is appended to log_path as it comes."""

    def __init__(self, socket_path: str, keys: str, log_path: str):
        self.socket_path = socket_path
        self.keys = keys.encode("latin-1")
        self.sock: Optional[socket.socket] = None
        self.last_sent = -KEY_INTERVAL_S
        self.sent = 0
        self.log_path = log_path
        self.log: Optional[BinaryIO] = None  # opened at the first data (run_qemu clears old logs before it polls)

    def _drain(self, sock: socket.socket) -> None:
        while True:
            data = sock.recv(65536)
            if not data:
                return
            if self.log is None:
                self.log = open(self.log_path, "ab")
            self.log.write(data)
            self.log.flush()

    def _connect(self) -> None:
        if not os.path.exists(self.socket_path):
            return
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(self.socket_path)
        except OSError:
            s.close()
            return
        s.setblocking(False)
        self.sock = s

    def poll(self, serial: bytes, qemu_output_path: str, elapsed: float) -> str:
        if self.sock is None:
            self._connect()
            if self.sock is None:
                return ""
        try:
            self._drain(self.sock)
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            return ""
        if KTAP_HEADER.encode() in serial:
            return ""
        if elapsed - self.last_sent >= KEY_INTERVAL_S:
            try:
                self.sock.send(self.keys)
                self.sent += 1
            except OSError:
                pass
            self.last_sent = elapsed
        return ""

    def finish(self) -> None:
        if self.sock is not None:
            self.sock.settimeout(1.0)  # what QEMU wrote before it went
            try:
                self._drain(self.sock)
            except OSError:
                pass
            self.sock.close()
            self.sock = None
        if self.log is not None:
            self.log.close()
