#!/usr/bin/env python3
"""Boot the racebed ISO on Bochs (a second, independent x86 implementation), headless.

As a library (used by host/harness.py):

    write_bochsrc(path, plan)        -> the bochsrc for one run
    build_command(rc, commands)      -> argv for Bochs (in a network namespace of its own when
                                        the host allows one)
    run_end(bochs_log, serial_text)  -> how the run ended (power-off, panic, bochsrc error, ...)

As a CLI (`make run-bochs`):

    python3 host/bochs.py --iso build/racebed.iso [--smp 2] [--cpu corei7_skylake_x] [--ips N]

runs Bochs with the serial port written to a file that is copied to this terminal as it grows,
then prints one line saying how the run ended and exits with the kernel's exit value (0..3, read
from its last line `# exit value N`), 2 for a Bochs panic, 125 when Bochs could not run.

Facts about Debian's Bochs 2.7 this relies on:
- It is built with its internal debugger, which waits at a prompt before the first instruction:
  the debugger commands file (-rc) says `c` (continue).
- Its display libraries are rfb, term and x; none is headless.  rfb with `timeout=0` does not
  wait for a viewer, but listens on every interface (INADDR_ANY, ports 5900-5949, gui/rfb.cc):
  Bochs runs in a private network namespace (`unshare --net --map-root-user`) where that port
  reaches no one and cannot collide with another run.  term draws the text screen on a tty
  and panics on a 32 bpp graphics mode.
- Time is simulated: `cpu: ips=` instructions make one second (the TSC counts them, the PM
  timer and the LAPIC timer follow them), with `clock: sync=none`.  The kernel's budgets and
  watchdog are simulated seconds; wall time depends on how fast this host emulates.
- There is no isa-debug-exit device.  The kernel's `exit=poweroff` writes ACPI S5 (SLP_TYP 0 on
  the PIIX4 PM block), which Bochs ends with "ACPI control: soft power off" (iodev/acpi.cc,
  bx_acpi_ctrl_c::write), exit status 1 like any fatal end: the log says which it was.

Environment: BOCHS (the Bochs binary, default bochs-bin, else bochs), BOCHS_BIOS, BOCHS_VGABIOS.
"""

import argparse
import dataclasses
import functools
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from typing import List, Optional, Sequence

DEFAULT_BIOS = "/usr/share/bochs/BIOS-bochs-latest"
DEFAULT_VGABIOS = "/usr/share/vgabios/vgabios.bin"
DEFAULT_CPU = "corei7_skylake_x"
# Instructions per simulated second.  The kernel's budgets are simulated time; a lower rate
# runs a time-budgeted experiment in fewer instructions (less wall time), a higher one gives
# count-based loops more simulated time.  20M: one simulated second is ~1-2 s of wall time here.
DEFAULT_IPS = 20_000_000
STATUS_BOCHS_ERROR = 125
INSTALL_HINT = "install the bochs, bochsbios and vgabios packages (tools/host-deps.sh)"

# What ended a run, from Bochs' own log.
POWEROFF_WORDS = "ACPI control: soft power off"


def bochs_binary() -> Optional[str]:
    """The Bochs executable: $BOCHS, else bochs-bin (Debian's binary; `bochs` is a wrapper
    script that adds -q), else bochs.  None when none is installed."""
    wanted = os.environ.get("BOCHS")
    if wanted:
        return shutil.which(wanted)
    return shutil.which("bochs-bin") or shutil.which("bochs")


@dataclasses.dataclass
class Plan:
    """One Bochs run."""

    iso: str
    serial: str             # file the guest's COM1 is written to
    log: str                # Bochs' own log
    smp: int = 2
    cpu: str = DEFAULT_CPU
    ips: int = DEFAULT_IPS
    memory: int = 256
    bios: str = ""
    vgabios: str = ""

    def __post_init__(self) -> None:
        self.bios = self.bios or os.environ.get("BOCHS_BIOS") or DEFAULT_BIOS
        self.vgabios = self.vgabios or os.environ.get("BOCHS_VGABIOS") or DEFAULT_VGABIOS


def _quote(value: str) -> str:
    if any(c in value for c in "\"\n,"):
        raise ValueError(f"path {value!r} cannot be written into a bochsrc (quote, comma or newline)")
    return value


def bochsrc_text(plan: Plan) -> str:
    """The bochsrc: Debian's default BIOS and VGA BIOS, the ISO on the first IDE channel,
    `smp` CPUs of model `cpu` (one core, one thread each), COM1 to a file, no sound, no
    mouse, simulated time only."""
    if plan.smp < 1:
        raise ValueError("smp must be positive")
    if plan.ips < 1_000_000:
        raise ValueError("ips below 1000000 is not accepted by Bochs")
    for path, what in ((plan.iso, "ISO"), (plan.bios, "BIOS image"), (plan.vgabios, "VGA BIOS image")):
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{what} {path} not found" + ("" if what == "ISO" else f" ({INSTALL_HINT})"))
    return "\n".join([
        "# written by host/bochs.py",
        f"megs: {plan.memory}",
        f"cpu: model={plan.cpu}, count=1:{plan.smp}:1, ips={plan.ips}, reset_on_triple_fault=0",
        f"romimage: file=\"{_quote(plan.bios)}\"",
        f"vgaromimage: file=\"{_quote(plan.vgabios)}\"",
        f"ata0-master: type=cdrom, path=\"{_quote(os.path.abspath(plan.iso))}\", status=inserted",
        "boot: cdrom",
        f"com1: enabled=1, mode=file, dev=\"{_quote(os.path.abspath(plan.serial))}\"",
        "display_library: rfb, options=\"timeout=0\"",
        "clock: sync=none, time0=1",
        "mouse: enabled=0",
        "sound: waveoutdrv=dummy, waveindrv=dummy, midioutdrv=dummy",
        "speaker: enabled=0",
        f"log: \"{_quote(os.path.abspath(plan.log))}\"",
        "panic: action=fatal",
        "error: action=report",
        "info: action=report",
        "debug: action=ignore",
        "",
    ])


def write_bochsrc(path: str, plan: Plan) -> str:
    with open(path, "w", encoding="utf-8") as f:
        f.write(bochsrc_text(plan))
    return path


def write_debugger_commands(path: str) -> str:
    """Commands for Bochs' internal debugger: continue at once; at the end, quit."""
    with open(path, "w", encoding="utf-8") as f:
        f.write("c\nq\n")
    return path


@functools.lru_cache(maxsize=1)
def private_network() -> List[str]:
    """The command prefix that puts Bochs in a network namespace of its own (its RFB server
    then listens where no one can reach it), or [] when this host does not allow one."""
    unshare = shutil.which("unshare")
    if not unshare:
        return []
    prefix = [unshare, "--net", "--map-root-user"]
    try:
        done = subprocess.run(prefix + ["true"], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return prefix if done.returncode == 0 else []


def build_command(rc: str, commands: str, bochs: Optional[str] = None) -> List[str]:
    """argv running Bochs on bochsrc rc with the debugger commands file; raises
    FileNotFoundError when Bochs is not installed."""
    binary = bochs or bochs_binary()
    if not binary:
        raise FileNotFoundError(f"Bochs not found (no bochs-bin or bochs on PATH; {INSTALL_HINT})")
    return private_network() + [binary, "-q", "-f", rc, "-rc", commands]


@dataclasses.dataclass
class RunEnd:
    """How a Bochs run ended."""

    kind: str       # "value" (the kernel's exit value), "panic", "config", "no-value", "not-run"
    value: int = -1  # the kernel's exit value for "value"
    text: str = ""   # in words


EXIT_LINE = re.compile(r"^# exit value (\d+) \(([^)]*)\)", re.MULTILINE)
PANIC_LINE = re.compile(r"^\d+p\[([^\]]*)\] >>PANIC<< (.*)$", re.MULTILINE)
ERROR_LINE = re.compile(r"^\d+e\[([^\]]*)\] (.*)$", re.MULTILINE)
# bochsrc problems are reported before the log file is opened: on Bochs' own output
CONFIG_WORDS = re.compile(r"(bochsrc|\.rc|\.txt):\d+:|unknown option|Parameter|not a valid|could not open",
                          re.IGNORECASE)


def run_end(bochs_log: str, serial: str, output: str = "") -> RunEnd:
    """Reads how the run ended from Bochs' log (its panics, the ACPI power-off), its console
    output (bochsrc errors come before the log is opened) and the guest's last line."""
    m = None
    for m in EXIT_LINE.finditer(serial):
        pass
    value = int(m.group(1)) if m else -1
    panic = PANIC_LINE.search(bochs_log) or PANIC_LINE.search(output)
    powered_off = POWEROFF_WORDS in bochs_log
    if panic and not powered_off:
        where, words = panic.group(1).strip(), panic.group(2).strip()
        errors = list(dict.fromkeys(f"{e.group(1).strip()}: {e.group(2).strip()}"
                                    for e in ERROR_LINE.finditer(bochs_log)))[-3:]
        if not bochs_log.strip() or (not serial and CONFIG_WORDS.search(words)):
            return RunEnd("config", text=f"Bochs refused its configuration: {words}")
        extra = f" (after: {'; '.join(errors)})" if errors else ""
        return RunEnd("panic", value, f"Bochs panic in {where or 'Bochs'}: {words}{extra}")
    if value >= 0:
        how = "powered off (ACPI S5)" if powered_off else "its last line"
        return RunEnd("value", value, f"exit value {value} ({m.group(2)}), {how}")
    if not bochs_log.strip():
        lines = [l for l in output.strip().splitlines() if l.strip() and "ALSA" not in l][-3:]
        return RunEnd("config", text="Bochs did not start: " + (" | ".join(lines) or "no output"))
    if powered_off:
        return RunEnd("no-value", text="powered off without printing `# exit value`")
    return RunEnd("no-value", text="ended without printing `# exit value`")


def run_foreground(plan: Plan, timeout: float) -> int:
    """The CLI: runs Bochs, copies the serial file to stdout as it grows, returns the status."""
    workdir = tempfile.mkdtemp(prefix="racebed-bochs.")
    rc = write_bochsrc(os.path.join(workdir, "bochsrc"), plan)
    commands = write_debugger_commands(os.path.join(workdir, "debugger.rc"))
    cmd = build_command(rc, commands)
    if not private_network():
        print("bochs.py: no network namespace (unshare --net --map-root-user failed): Bochs' RFB server "
              "listens on every interface, port 5900 or the next free one", file=sys.stderr)
    output_path = os.path.join(workdir, "bochs.out")
    start = time.monotonic()
    with open(output_path, "wb") as output:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                                start_new_session=True)
        shown = 0
        try:
            while True:
                done = proc.poll() is not None
                try:
                    with open(plan.serial, "rb") as f:
                        f.seek(shown)
                        chunk = f.read()
                except FileNotFoundError:
                    chunk = b""
                if chunk:
                    sys.stdout.write(chunk.decode("utf-8", "replace"))
                    sys.stdout.flush()
                    shown += len(chunk)
                if done:
                    break
                if time.monotonic() - start > timeout:
                    print(f"\nbochs.py: killed after {timeout:g} s of wall time", file=sys.stderr)
                    break
                time.sleep(0.2)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, 15)
                proc.wait()
    wall = time.monotonic() - start

    def read(path: str) -> str:
        try:
            with open(path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""
    end = run_end(read(plan.log), read(plan.serial), read(output_path))
    print(f"bochs: {end.text} after {wall:.1f} s of wall time (Bochs log {plan.log})", file=sys.stderr)
    if end.kind == "value":
        return end.value
    return 2 if end.kind == "panic" else STATUS_BOCHS_ERROR


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="bochs.py", description="Boot the racebed ISO on Bochs, headless.")
    p.add_argument("--iso", required=True, help="the ISO (built with the command line it should run)")
    p.add_argument("--smp", type=int, default=2, help="CPUs (default 2)")
    p.add_argument("--cpu", default=DEFAULT_CPU, help=f"Bochs CPU model (default {DEFAULT_CPU}; `bochs --help cpu`)")
    p.add_argument("--ips", type=int, default=DEFAULT_IPS, help=f"instructions per simulated second (default {DEFAULT_IPS})")
    p.add_argument("--serial", default="build/bochs.serial.log", help="COM1 output file")
    p.add_argument("--log", default="build/bochs.log", help="Bochs' own log")
    p.add_argument("--timeout", type=float, default=3600, help="wall seconds before Bochs is killed")
    args = p.parse_args(argv)
    for path in (args.serial, args.log):
        if os.path.dirname(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
        if os.path.exists(path):
            os.unlink(path)
    try:
        plan = Plan(args.iso, args.serial, args.log, smp=args.smp, cpu=args.cpu, ips=args.ips)
        return run_foreground(plan, args.timeout)
    except (OSError, ValueError) as e:
        print(f"bochs.py: error: {e}", file=sys.stderr)
        return STATUS_BOCHS_ERROR


if __name__ == "__main__":
    sys.exit(main())
