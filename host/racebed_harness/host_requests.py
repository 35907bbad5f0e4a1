"""Serving the kernel's host requests (kernel/hostreq.h, docs/output-format.md): a run hook
that watches the serial log for

    # host-request id=N kind=KIND cpu=C mailbox=0xADDR key=value ...

does what KIND asks through QEMU's gdbstub, and answers by writing the mailbox in guest
memory (struct host_mailbox: u32 id, u32 status, u64 value[4], char reason[64]) before the
guest runs on.  A request it cannot serve (unknown kind, bad arguments, CPU out of range) is
answered REFUSED with the reason; one it cannot even answer (no gdbstub) is left unanswered,
and the kernel's wait ends at its bound.  Every request and its answer is kept for the report.
"""

import re
import struct
from typing import Callable, Dict, List, Optional

from .gdbremote import GdbError, GdbRemote
from .runner import RunHook
from .screen import qmp_command

REQUEST_RE = re.compile(rb"^# host-request ([^\r\n]*)\r?\n", re.M)  # whole lines only
STATUS_DONE, STATUS_REFUSED = 1, 2
SSTEP_MODES = {"noirq": 0x7, "irq": 0x1}  # QEMU's SSTEP_ENABLE | SSTEP_NOIRQ | SSTEP_NOTIMER
DEFAULT_SSTEP = 0x7
STOP_TIMEOUT_S = 5.0
STATUS_CHECK_S = 0.2  # after a request, how often to look for a guest stopped in debug state


class Refused(Exception):
    """The request cannot be served: its text goes back to the guest."""


def parse_request(line: str) -> Dict[str, str]:
    words = dict(w.split("=", 1) for w in line.split() if "=" in w)
    for key in ("id", "kind", "cpu", "mailbox"):
        if key not in words:
            raise Refused(f"request without {key}=")
    return words


def mailbox_bytes(req_id: int, status: int, values: List[int], reason: str = "") -> bytes:
    vals = (values + [0, 0, 0, 0])[:4]
    text = reason.encode("ascii", "replace")[:63]
    return struct.pack("<II4Q64s", req_id, status, *vals, text)


def number(words: Dict[str, str], key: str) -> int:
    try:
        return int(words[key], 0)
    except (KeyError, ValueError) as e:
        raise Refused(f"{key}= missing or not a number") from e


class HostRequests(RunHook):
    """Answers every host request of one QEMU run through its gdbstub socket."""

    def __init__(self, gdb_socket: str, ncpus: int, note: Optional[Callable[[str], None]] = None,
                 qmp_socket: Optional[str] = None):
        self.gdb_socket = gdb_socket
        self.qmp_socket = qmp_socket
        self.ncpus = ncpus
        self.note = note or (lambda text: None)
        self.seen = 0
        self.served: List[str] = []
        self.debug_stops = 0  # the guest stopped in QEMU's debug state on its own, resumed
        self.last_status_check = 0.0

    def poll(self, serial: bytes, qemu_output_path: str, elapsed: float) -> str:
        requests = REQUEST_RE.findall(serial)
        for raw in requests[self.seen:]:
            self.seen += 1
            self.serve(raw.decode("latin-1").strip())
        if self.served and elapsed - self.last_status_check >= STATUS_CHECK_S:
            self.last_status_check = elapsed
            self.resume_debug_stop()
        return ""

    def resume_debug_stop(self) -> None:
        """QEMU 7.2 may stop the guest in its debug state with no debugger attached (after a
        host step, the guest's own data breakpoint is reported as a debugger event): resume
        it and count it, so the run neither hangs nor hides it."""
        if not self.qmp_socket:
            return
        try:
            status = qmp_command(self.qmp_socket, "query-status", {}).get("return", {})
        except (OSError, ValueError):
            return
        if status.get("status") != "debug":
            return
        self.debug_stops += 1
        self.note(f"   the guest stopped in QEMU's debug state by itself ({self.debug_stops}): resumed")
        try:
            GdbRemote(self.gdb_socket).detach()
        except (GdbError, OSError) as e:
            self.note(f"   could not resume it: {e}")

    def serve(self, line: str) -> None:
        try:
            words = parse_request(line)
            req_id, mailbox = number(words, "id"), number(words, "mailbox")
        except Refused as e:
            self.served.append(f"{line}: unanswerable: {e}")
            self.note(f"   host-request {line!r} cannot be answered: {e}")
            return
        try:
            gdb = GdbRemote(self.gdb_socket)
        except GdbError as e:
            self.served.append(f"id={req_id}: no gdbstub ({e})")
            self.note(f"   host-request id={req_id}: no gdbstub to answer through ({e})")
            return
        try:
            try:
                values = self.handle(gdb, words)
                answer = mailbox_bytes(req_id, STATUS_DONE, values)
                self.served.append(f"id={req_id} kind={words['kind']}: done {values}")
            except Refused as e:
                answer = mailbox_bytes(req_id, STATUS_REFUSED, [], str(e))
                self.served.append(f"id={req_id} kind={words['kind']}: refused: {e}")
                self.note(f"   host-request id={req_id} refused: {e}")
            gdb.write_memory(mailbox, answer)
        except GdbError as e:
            self.served.append(f"id={req_id}: gdbstub error: {e}")
            self.note(f"   host-request id={req_id}: gdbstub error: {e}")
        finally:
            try:
                gdb.detach()
            except (GdbError, OSError):
                pass

    def handle(self, gdb: GdbRemote, words: Dict[str, str]) -> List[int]:
        kind = words["kind"]
        if kind == "step":
            return self.step(gdb, words)
        if kind == "mce":
            return self.mce(words)
        if kind == "status":
            return [self.debug_stops]
        raise Refused(f"unknown kind {kind!r}")

    def mce(self, words: Dict[str, str]) -> List[int]:
        """Injects a machine check on vCPU cpu= through QEMU's monitor (HMP `mce CPU BANK STATUS
        MCG_STATUS ADDR MISC`) while the guest is stopped: it arrives when the guest runs on."""
        cpu = number(words, "cpu")
        bank, status, mcg = number(words, "bank"), number(words, "status"), number(words, "mcg_status")
        addr, misc = number(words, "addr") if "addr" in words else 0, 0
        if not 0 <= cpu < self.ncpus:
            raise Refused(f"cpu={cpu} is not a vCPU of this machine ({self.ncpus})")
        if not self.qmp_socket:
            raise Refused("no QEMU monitor to inject a machine check through")
        line = f"mce {cpu} {bank} {status:#x} {mcg:#x} {addr:#x} {misc:#x}"
        try:
            reply = qmp_command(self.qmp_socket, "human-monitor-command", {"command-line": line})
        except (OSError, ValueError) as e:
            raise Refused(f"monitor: {e}") from e
        said = str(reply.get("return", "")).strip()
        if said:  # HMP prints only when it refuses (bank out of range, no MCA, ...)
            raise Refused(f"monitor said: {said[:56]}")
        return [cpu]

    def step(self, gdb: GdbRemote, words: Dict[str, str]) -> List[int]:
        """Breakpoint at stop=, set go=, run to it, step that one instruction in mode sstep=;
        value[0] = the RIP the step stopped at."""
        cpu, stop, go = number(words, "cpu"), number(words, "stop"), number(words, "go")
        if not 0 <= cpu < self.ncpus:
            raise Refused(f"cpu={cpu} is not a vCPU of this machine ({self.ncpus})")
        mode = words.get("sstep", "noirq")
        if mode not in SSTEP_MODES:
            raise Refused(f"sstep={mode}: not one of {', '.join(SSTEP_MODES)}")
        thread = cpu + 1
        gdb.breakpoint(stop)
        try:
            gdb.write_memory(go, struct.pack("<I", 1))
            _, stopped = gdb.cont(STOP_TIMEOUT_S)
            rip = gdb.read_rip(stopped or thread)
            if stopped != thread or rip != stop:
                raise Refused(f"stopped on thread {stopped} at {rip:#x}, not cpu {cpu} at {stop:#x}")
        finally:
            gdb.breakpoint(stop, insert=False)
        gdb.set_sstep(SSTEP_MODES[mode])
        try:
            gdb.step(thread)
            after = gdb.read_rip(thread)
        finally:
            gdb.set_sstep(DEFAULT_SSTEP)
        return [after]
