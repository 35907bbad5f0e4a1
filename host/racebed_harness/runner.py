"""Running QEMU: a timeout, the process group killed on the way out, and the
serial log followed to time the KTAP header."""

import dataclasses
import os
import signal
import subprocess
import threading
import time
from typing import BinaryIO, Callable, List, Optional, Sequence

from .ktap import KTAP_HEADER

KILL_GRACE_S = 5.0
POLL_INTERVAL_S = 0.05


@dataclasses.dataclass
class BootOutcome:
    """What happened to one QEMU run."""

    status: Optional[int]  # QEMU's exit status (negative: signal); None if it never ran
    timed_out: bool = False
    wall_s: float = 0.0
    header_s: Optional[float] = None  # seconds from QEMU start to the KTAP header
    qemu_output: str = ""
    error: str = ""  # why QEMU could not be started
    timeout_s: float = 0.0
    stopped_by: str = ""  # a hook stopped QEMU: its words (e.g. QEMU's "KVM internal error" lines)
    quit_by_harness: bool = False  # a hook ended the run on purpose (screendump taken, then quit)
    platform_log: str = ""  # the emulator's own log where it keeps one apart (Bochs)


class RunHook:
    """Something that watches a running QEMU (serial bytes so far, QEMU's output file) and
    may act on it: send keys, take a screendump, or stop QEMU.  poll() returns a reason to
    kill QEMU now ("" to go on); finish() is called once QEMU is gone."""

    quit_on_purpose = False

    def poll(self, serial: bytes, qemu_output_path: str, elapsed: float) -> str:
        return ""

    def finish(self) -> None:
        pass


# Set by the harness when interrupted while configs boot in worker threads (which get no
# KeyboardInterrupt of their own): every running boot kills its QEMU and unwinds.
CANCEL = threading.Event()


def kill_group(proc: subprocess.Popen) -> None:
    """Stops the process group we started for proc (SIGTERM, then SIGKILL)."""
    for sig, wait_s in ((signal.SIGTERM, KILL_GRACE_S), (signal.SIGKILL, KILL_GRACE_S)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait_s)
            return
        except subprocess.TimeoutExpired:
            continue


class SerialWatcher:
    """Follows a growing serial log file and notes when the KTAP header
    first appears."""

    def __init__(self, path: str, start: float):
        self.path = path
        self.start = start
        self.data = b""
        self.header_s: Optional[float] = None
        self._file: Optional[BinaryIO] = None

    def poll(self) -> None:
        if self._file is None:
            try:
                self._file = open(self.path, "rb")
            except FileNotFoundError:
                return
        chunk = self._file.read()
        if not chunk:
            return
        scan_from = max(0, len(self.data) - len(KTAP_HEADER))
        self.data += chunk
        if self.header_s is None and KTAP_HEADER.encode() in self.data[scan_from:]:
            self.header_s = time.monotonic() - self.start

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


def run_qemu(cmd: Sequence[str], log_path: str, output_path: str, timeout: float,
             hooks: Sequence[RunHook] = ()) -> BootOutcome:
    """Runs cmd (which writes the serial port to log_path), killing it after
    timeout seconds.  QEMU's own stdout/stderr go to output_path.  Each hook is
    polled while QEMU runs; the first that gives a reason has QEMU killed."""
    for path in (log_path, output_path):
        if os.path.exists(path):
            os.unlink(path)
    start = time.monotonic()
    with open(output_path, "wb") as output:
        try:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        except OSError as e:
            return BootOutcome(None, error=f"cannot run {cmd[0]}: {e.strerror}", timeout_s=timeout)
        watcher = SerialWatcher(log_path, start)
        timed_out = False
        stopped_by, on_purpose = "", False
        try:
            while proc.poll() is None:
                if CANCEL.is_set():
                    raise KeyboardInterrupt
                watcher.poll()
                elapsed = time.monotonic() - start
                for hook in hooks:
                    stopped_by = hook.poll(watcher.data, output_path, elapsed)
                    if stopped_by:
                        on_purpose = hook.quit_on_purpose
                        break
                if stopped_by:
                    kill_group(proc)
                    break
                if elapsed > timeout:
                    timed_out = True
                    kill_group(proc)
                    break
                time.sleep(POLL_INTERVAL_S)
        finally:
            if proc.poll() is None:  # interrupted (e.g. Ctrl-C): never leave QEMU behind
                kill_group(proc)
            for hook in hooks:
                hook.finish()
            watcher.poll()
            watcher.close()
    wall = time.monotonic() - start
    with open(output_path, "rb") as f:
        qemu_output = f.read().decode("utf-8", "replace")
    return BootOutcome(proc.returncode, timed_out, wall, watcher.header_s, qemu_output, timeout_s=timeout,
                       stopped_by="" if on_purpose else stopped_by, quit_by_harness=on_purpose)


def read_log(path: str) -> str:
    """The serial log as text ("" if missing)."""
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""
