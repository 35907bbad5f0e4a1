"""The QEMU driver: builds (and optionally runs) the QEMU command line for a racebed
ISO, or for the kernel ELF booted by QEMU's own Multiboot 1 loader (`-kernel`).

As a library (used by the harness: boot, checks, platform_stop):

    build_command(iso, smp=8, ...)  -> argv list for QEMU
    prepare_uefi_vars(path)         -> writable copy of the OVMF variable store
    decode_exit(status, stderr)     -> what QEMU's exit status means
    kvm_plan(smp, machine)          -> the -cpu model and -smp count this KVM accepts
    kvm_internal_error(text)        -> QEMU's "KVM internal error" report in its output, or ""

As a CLI through host/qemu.py (used by `make run`, run-fast, debug, bench):

    python3 host/qemu.py --iso build/racebed.iso --smp 8 [options] [-- QEMU_ARGS...]
    python3 host/qemu.py --kernel build/racebed32.elf --append "ARGS" [options]

--kernel (used by `make run-fast`) skips GRUB and the ISO: QEMU loads the
kernel itself, which must be an ELF32 file (QEMU refuses ELF64 multiboot
kernels), and --append is its command line.  It needs the BIOS (no --uefi).

The CLI runs QEMU in the foreground (serial console on the terminal through
`-serial mon:stdio`, so Ctrl-A X quits and Ctrl-A C opens the monitor), then
prints one line saying how the guest ended and exits with a matching status:
the guest's isa-debug-exit value 0..3, 2 for a reset or triple fault, 125
when the guest could not run (bad arguments, missing files, QEMU failed).

The QEMU binary is $QEMU, or qemu-system-x86_64.  The OVMF images are
$OVMF_CODE and $OVMF_VARS, or Debian's 4M builds.
"""

import argparse
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
from typing import IO, List, NamedTuple, NoReturn, Optional, Sequence, Tuple

DEFAULT_QEMU = "qemu-system-x86_64"
DEFAULT_OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
DEFAULT_OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"
DEBUG_EXIT_PORT = 0xF4
GDB_PORT = 1234

# The kernel's exit values (written to the isa-debug-exit port).
EXIT_PASS, EXIT_FAIL, EXIT_CRASH, EXIT_CMDLINE = 0, 1, 2, 3
EXIT_VALUE_TEXT = {
    EXIT_PASS: "all passed",
    EXIT_FAIL: "some failed",
    EXIT_CRASH: "crash or panic",
    EXIT_CMDLINE: "bad command line",
}
# CLI status when the guest could not run: bad qemu.py arguments, a missing
# file, or QEMU itself failed or was killed.
STATUS_QEMU_ERROR = 125

ACCELS = ("tcg", "kvm")
MACHINES = ("pc", "q35")

# -cpu models tried under KVM, in order: the host's own CPU, then the same without the
# IA32_ARCH_CAPABILITIES MSR (0x10a), which some KVMs (nested, or software ones without
# VMX/SVM) refuse to set: QEMU then aborts with "failed to set MSR 0x10a".
KVM_CPU_MODELS = ("host", "host,-arch-capabilities")
KVM_PROBE_TIMEOUT_S = 20


def qemu_binary() -> str:
    """The QEMU executable: $QEMU if set, else qemu-system-x86_64."""
    return os.environ.get("QEMU") or DEFAULT_QEMU


def ovmf_code_path() -> str:
    """The OVMF firmware image (read-only): $OVMF_CODE or Debian's default."""
    return os.environ.get("OVMF_CODE") or DEFAULT_OVMF_CODE


def ovmf_vars_template() -> str:
    """The pristine OVMF variable store: $OVMF_VARS or Debian's default."""
    return os.environ.get("OVMF_VARS") or DEFAULT_OVMF_VARS


def prepare_uefi_vars(dest: str) -> str:
    """Copies the OVMF variable store template to dest (fresh on every boot,
    so no boot entries survive from an earlier run) and returns dest."""
    template = ovmf_vars_template()
    if not os.path.isfile(template):
        raise FileNotFoundError(f"OVMF variable store {template} not found (install the ovmf package)")
    parent = os.path.dirname(dest)
    if parent:
        os.makedirs(parent, exist_ok=True)
    shutil.copyfile(template, dest)
    os.chmod(dest, 0o644)
    return dest


def _opt_escape(value: str) -> str:
    """Escapes a value for a QEMU `key=value,...` option string (commas are
    doubled)."""
    return value.replace(",", ",,")


def build_command(
    iso: Optional[str],
    *,
    smp: int = 8,
    accel: str = "tcg",
    machine: str = "pc",
    memory: int = 256,
    uefi_vars: Optional[str] = None,
    serial: str = "stdio",
    display: bool = False,
    debug: bool = False,
    monitor: Optional[str] = None,
    monitor_proto: str = "hmp",
    extra: Sequence[str] = (),
    qemu: Optional[str] = None,
    kernel: Optional[str] = None,
    append: str = "",
    cpu: Optional[str] = None,
) -> List[str]:
    """Returns the QEMU argv booting iso, or with kernel set (iso None),
    booting that ELF32 file through QEMU's Multiboot 1 loader with the
    command line append.

    uefi_vars: None boots with the machine's BIOS (SeaBIOS); a path boots
        OVMF, with that file as the writable variable store (see
        prepare_uefi_vars).  The machine type is not changed for UEFI.
    serial: "stdio" puts the serial port, multiplexed with the HMP monitor,
        on standard I/O; "none" or "null" disconnect it (no COM1 at all for
        "none"); "chardev:ID" connects it to a -chardev given in extra;
        anything else is a file name the serial output is written to.
    monitor: a unix socket path for a monitor server (HMP or QMP as given by
        monitor_proto) that a caller can connect to, e.g. for `screendump`.
    extra: more QEMU arguments, appended last.
    cpu: the -cpu model (default: host under KVM, max under TCG; see kvm_plan).
    """
    if accel not in ACCELS:
        raise ValueError(f"accel must be one of {', '.join(ACCELS)}, not {accel!r}")
    if machine not in MACHINES:
        raise ValueError(f"machine must be one of {', '.join(MACHINES)}, not {machine!r}")
    if smp < 1 or memory < 1:
        raise ValueError("smp and memory must be positive")
    if monitor_proto not in ("hmp", "qmp"):
        raise ValueError(f"monitor_proto must be hmp or qmp, not {monitor_proto!r}")
    if (iso is None) == (kernel is None):
        raise ValueError("give exactly one of iso and kernel")
    if kernel is not None and uefi_vars is not None:
        raise ValueError("QEMU's multiboot loader (kernel) needs the BIOS, not UEFI")

    cmd = [qemu or qemu_binary(), "-machine", machine]
    if accel == "kvm":
        cmd += ["-accel", "kvm", "-cpu", cpu or "host"]
    else:
        cmd += ["-accel", "tcg", "-cpu", cpu or "max"]
    cmd += ["-smp", str(smp), "-m", str(memory)]

    if uefi_vars is not None:
        cmd += [
            "-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={_opt_escape(ovmf_code_path())}",
            "-drive", f"if=pflash,format=raw,unit=1,file={_opt_escape(uefi_vars)}",
        ]

    if kernel is not None:
        cmd += ["-kernel", kernel, "-append", append]
    elif iso is not None:
        cmd += ["-cdrom", _opt_escape(iso), "-boot", "d"]
    else:
        raise ValueError("build_command: neither an ISO nor a kernel to boot")
    cmd += ["-device", f"isa-debug-exit,iobase={DEBUG_EXIT_PORT:#x},iosize=0x04"]
    cmd += ["-no-reboot"]

    if serial == "stdio":
        cmd += ["-serial", "mon:stdio"]
    elif serial in ("none", "null") or serial.startswith("chardev:"):
        cmd += ["-serial", serial]
    else:
        cmd += ["-serial", f"file:{serial}"]

    if not display:
        cmd += ["-display", "none"]
    if monitor:
        kind = "-qmp" if monitor_proto == "qmp" else "-monitor"
        cmd += [kind, f"unix:{_opt_escape(monitor)},server=on,wait=off"]
    if debug:
        cmd += ["-s", "-S"]
    cmd += list(extra)
    return cmd


class ExitStatus(NamedTuple):
    """How a QEMU run ended.

    kind: "value" (the guest wrote `value` to isa-debug-exit), "reset" (QEMU
        exited 0: reset, triple fault or power-off, as -no-reboot turns a
        reset into an exit), "qemu-error" (QEMU failed or was killed).
    value: the guest's exit value for kind "value", else None.
    text: one human-readable line.
    status: the matching CLI exit status.
    """

    kind: str
    value: Optional[int]
    text: str
    status: int


class KvmPlan(NamedTuple):
    """What this host's KVM accepts: the -cpu model, the -smp count, and one line per choice
    that differs from what was asked (for the user), or error when KVM cannot run at all."""

    cpu: str
    smp: int
    notes: tuple
    error: str = ""


_KVM_RECOMMENDED_RE = re.compile(r"exceeds the recommended cpus supported by KVM \((\d+)\)")
_KVM_MAX_RE = re.compile(r"(?:exceeds the maximum cpus supported by KVM|max CPUs supported by machine "
                         r"'[^']*' is) \(?(\d+)\)?")


def _probe_kvm(cpu: str, smp: int, machine: str, qemu: Optional[str]) -> Tuple[bool, str]:
    """Starts QEMU paused with this -cpu and -smp (the vCPUs are created and reset, which is
    where a refused MSR aborts), quits it through the monitor; returns (ok, QEMU's output)."""
    cmd = [qemu or qemu_binary(), "-machine", machine, "-accel", "kvm", "-cpu", cpu, "-smp", str(smp),
           "-m", "64", "-display", "none", "-nodefaults", "-S", "-monitor", "stdio"]
    try:
        done = subprocess.run(cmd, input="quit\n", capture_output=True, text=True, timeout=KVM_PROBE_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, str(e)
    output = done.stderr.strip()
    return done.returncode == 0 and "failed to set MSR" not in output, output


_kvm_plans: dict = {}


def kvm_plan(smp: int, machine: str = "pc", qemu: Optional[str] = None) -> KvmPlan:
    """Finds the -cpu model (KVM_CPU_MODELS in order) and -smp count this KVM runs: more vCPUs
    than KVM recommends (its KVM_CAP_NR_VCPUS, which QEMU names in a warning) or than the
    machine allows are capped, with a note.  Probed once per (smp, machine, qemu)."""
    key = (smp, machine, qemu)
    if key in _kvm_plans:
        return _kvm_plans[key]
    notes = []
    last = ""
    for cpu in KVM_CPU_MODELS:
        ok, output = _probe_kvm(cpu, smp, machine, qemu)
        m = _KVM_MAX_RE.search(output)
        if not ok and m and int(m.group(1)) < smp:
            notes.append(f"-smp {smp} capped to {m.group(1)}: {_first_error(output)}")
            smp = int(m.group(1))
            ok, output = _probe_kvm(cpu, smp, machine, qemu)
        if ok:
            m = _KVM_RECOMMENDED_RE.search(output)
            if m and int(m.group(1)) < smp:
                notes.append(f"-smp {smp} capped to {m.group(1)}, the vCPUs this KVM recommends "
                             f"(QEMU: {_first_error(output, warnings=True)})")
                smp = int(m.group(1))
            if cpu != KVM_CPU_MODELS[0]:
                notes.append(f"-cpu {cpu}: -cpu {KVM_CPU_MODELS[0]} failed here ({last})")
            plan = KvmPlan(cpu, smp, tuple(notes))
            break
        last = _first_error(output) or "QEMU did not start"
    else:
        plan = KvmPlan(KVM_CPU_MODELS[0], smp, tuple(notes), f"KVM cannot run: {last}")
    _kvm_plans[key] = plan
    return plan


def _first_error(output: str, warnings: bool = False) -> str:
    """The first QEMU error line (or warning, if asked) of output, without the program name."""
    for line in output.splitlines():
        if line.startswith("qemu-system") and (warnings or "warning:" not in line):
            return line.split(": ", 1)[-1].strip()
    return ""


def kvm_internal_error(output: str) -> str:
    """QEMU's report of a KVM internal error (it stops the guest and waits, it does not exit)
    in its output: the `KVM internal error. Suberror: N` line, the `emulation failure` line,
    the RIP and the instruction bytes at it (from Code=), joined with "; " (first report
    only: every vCPU may print one).  "" when there is none."""
    lines = output.splitlines()
    start = next((i for i, l in enumerate(lines) if l.startswith("KVM internal error")), None)
    if start is None:
        return ""
    words = [lines[start].strip()]
    for line in lines[start + 1:start + 40]:
        if line.startswith("KVM internal error"):
            break
        if line.startswith("emulation failure"):
            words.append(line.strip())
        elif line.startswith("RIP="):
            words.append(line.split()[0].replace("RIP=", "rip=0x"))
        elif line.startswith("Code="):
            m = re.search(r"<([0-9a-f]{2})>((?: [0-9a-f]{2}){0,3})", line)
            if m:
                words.append(f"instruction bytes {m.group(1)}{m.group(2)}")
    return "; ".join(words)


def qemu_reported_error(stderr_text: str) -> bool:
    """True if QEMU's stderr holds an error message (not just warnings)."""
    for line in stderr_text.splitlines():
        if line.startswith("qemu-system") or line.startswith("qemu:"):
            if "warning:" not in line:
                return True
    return False


def decode_exit(status: int, stderr_text: str = "") -> ExitStatus:
    """Translates QEMU's exit status.  isa-debug-exit value V makes QEMU exit
    with 2*V+1; QEMU's own errors also exit 1, so stderr_text (QEMU's stderr,
    if known) is used to tell an error from value 0."""
    if status < 0:
        name = signal.Signals(-status).name if -status in signal.valid_signals() else str(-status)
        return ExitStatus("qemu-error", None, f"QEMU killed by signal {name}", STATUS_QEMU_ERROR)
    if status == 0:
        return ExitStatus("reset", None, "QEMU exited 0: guest reset or triple fault", EXIT_CRASH)
    if status == 1 and qemu_reported_error(stderr_text):
        return ExitStatus("qemu-error", None, "QEMU failed (exit status 1)", STATUS_QEMU_ERROR)
    if status % 2 == 1:
        value = (status - 1) // 2
        meaning = EXIT_VALUE_TEXT.get(value, "unknown exit value")
        cli_status = value if value in EXIT_VALUE_TEXT else EXIT_CRASH
        return ExitStatus("value", value, f"racebed: exit value {value} ({meaning})", cli_status)
    return ExitStatus("qemu-error", None, f"QEMU exited {status} (not an isa-debug-exit status)", STATUS_QEMU_ERROR)


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose usage errors exit with STATUS_QEMU_ERROR, so they
    cannot be mistaken for the kernel's exit value 2 (crash)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(STATUS_QEMU_ERROR, f"{self.prog}: error: {message}\n")


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Parses the CLI arguments; everything after `--` is passed to QEMU."""
    argv = list(argv)
    extra = []
    if "--" in argv:
        split = argv.index("--")
        argv, extra = argv[:split], argv[split + 1:]

    p = _Parser(
        prog="qemu.py",
        description="Boot a racebed ISO (or kernel ELF32) in QEMU and report the kernel's exit value.",
        epilog="Arguments after -- are passed to QEMU unchanged. Environment: QEMU, OVMF_CODE, OVMF_VARS.",
    )
    image = p.add_mutually_exclusive_group(required=True)
    image.add_argument("--iso", help="the ISO to boot (build/racebed.iso)")
    image.add_argument("--kernel", metavar="ELF32",
                       help="boot this ELF32 kernel with QEMU's Multiboot 1 loader instead (build/racebed32.elf)")
    p.add_argument("--append", metavar="ARGS",
                   help="kernel command line for --kernel (default empty); use --append=ARGS if ARGS starts with -")
    p.add_argument("--smp", type=int, default=8, help="number of CPUs (default 8)")
    p.add_argument("--accel", choices=ACCELS, default="tcg", help="accelerator (default tcg)")
    p.add_argument("--machine", choices=MACHINES, default="pc", help="machine type (default pc)")
    p.add_argument("--uefi", action="store_true", help="boot with OVMF instead of SeaBIOS")
    p.add_argument("--uefi-vars", metavar="PATH",
                   help="where to put the writable OVMF variable store (default: next to the ISO)")
    p.add_argument("--memory", type=int, default=256, metavar="MB", help="guest RAM in MiB (default 256)")
    p.add_argument("--serial", default="stdio", metavar="stdio|FILE",
                   help="serial port on the terminal (default; Ctrl-A X quits) or written to FILE")
    p.add_argument("--live", metavar="LOG",
                   help="serial port to the file LOG, shown as a live view (racebed_harness/live.py)")
    p.add_argument("--display", action="store_true", help="show a window (default: -display none)")
    p.add_argument("--debug", action="store_true", help="start paused with a gdb server on port 1234 (-s -S)")
    p.add_argument("--elf", default="build/racebed.elf", help="kernel ELF named in the gdb hint")
    p.add_argument("--monitor", metavar="SOCKETPATH", help="also serve a monitor on this unix socket")
    p.add_argument("--monitor-proto", choices=("hmp", "qmp"), default="hmp",
                   help="protocol of the --monitor socket (default hmp)")
    p.add_argument("--dry-run", action="store_true", help="print the QEMU command line and exit")
    args = p.parse_args(argv)
    args.extra = extra
    if args.smp < 1:
        p.error("--smp must be at least 1")
    if args.memory < 1:
        p.error("--memory must be positive")
    if args.append is not None and args.kernel is None:
        p.error("--append needs --kernel (an ISO's command line is in its grub.cfg)")
    if args.kernel is not None and args.uefi:
        p.error("--kernel boots through QEMU's multiboot loader, which needs the BIOS: drop --uefi")
    return args


def print_gdb_hint(elf: str) -> None:
    """Tells the user how to attach gdb to a --debug run."""
    print(
        f"racebed: QEMU is paused with a gdb server on localhost:{GDB_PORT}; attach with\n"
        f"    gdb {elf} -ex 'target remote localhost:{GDB_PORT}'\n"
        f"  (then `continue`; the kernel starts in 32-bit mode, so use hardware\n"
        f"  breakpoints, `hbreak`, on 64-bit code)",
        file=sys.stderr,
    )


def run_foreground(cmd: Sequence[str]) -> ExitStatus:
    """Runs QEMU with the terminal as its stdin/stdout.  QEMU's stderr is
    copied to ours as it comes and kept, to tell QEMU errors from exit value
    0.  Ctrl-C is left to QEMU (which exits on SIGINT)."""
    old_handler = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        try:
            proc = subprocess.Popen(cmd, stderr=subprocess.PIPE)
        except OSError as e:
            return ExitStatus("qemu-error", None, f"cannot run {cmd[0]}: {e.strerror}", STATUS_QEMU_ERROR)
        captured: List[str] = []

        def copy_stderr(stream: IO[bytes]) -> None:
            for raw in stream:
                sys.stderr.buffer.write(raw)
                sys.stderr.buffer.flush()
                captured.append(raw.decode("utf-8", "replace"))

        copier = threading.Thread(target=copy_stderr, args=(proc.stderr,), daemon=True)
        copier.start()
        status = proc.wait()
        copier.join(timeout=2)
        return decode_exit(status, "".join(captured))
    finally:
        signal.signal(signal.SIGINT, old_handler)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """CLI entry point; returns the process exit status."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.iso is not None and not os.path.isfile(args.iso):
        print(f"qemu.py: error: ISO {args.iso} not found", file=sys.stderr)
        return STATUS_QEMU_ERROR
    if args.kernel is not None and not os.path.isfile(args.kernel):
        print(f"qemu.py: error: kernel {args.kernel} not found", file=sys.stderr)
        return STATUS_QEMU_ERROR
    if args.accel == "kvm" and not args.dry_run and not os.access("/dev/kvm", os.R_OK | os.W_OK):
        print("qemu.py: error: --accel kvm needs a usable /dev/kvm", file=sys.stderr)
        return STATUS_QEMU_ERROR

    uefi_vars = None
    if args.uefi:
        uefi_vars = args.uefi_vars or os.path.join(os.path.dirname(os.path.abspath(args.iso)), "ovmf-vars.fd")
        if not os.path.isfile(ovmf_code_path()):
            print(f"qemu.py: error: OVMF firmware {ovmf_code_path()} not found", file=sys.stderr)
            return STATUS_QEMU_ERROR
        if not args.dry_run:
            try:
                prepare_uefi_vars(uefi_vars)
            except OSError as e:
                print(f"qemu.py: error: {e}", file=sys.stderr)
                return STATUS_QEMU_ERROR

    cpu = None
    if args.accel == "kvm" and not args.dry_run:
        plan = kvm_plan(args.smp, args.machine)
        if plan.error:
            print(f"qemu.py: error: {plan.error}", file=sys.stderr)
            return STATUS_QEMU_ERROR
        for note in plan.notes:
            print(f"qemu.py: {note}", file=sys.stderr)
        cpu, args.smp = plan.cpu, plan.smp
    cmd = build_command(
        args.iso, cpu=cpu, smp=args.smp, accel=args.accel, machine=args.machine, memory=args.memory,
        uefi_vars=uefi_vars, serial=args.live or args.serial, display=args.display, debug=args.debug,
        monitor=args.monitor, monitor_proto=args.monitor_proto, extra=args.extra,
        kernel=args.kernel, append=args.append or "",
    )
    if args.dry_run:
        print(shlex.join(cmd))
        return 0
    if args.debug:
        print_gdb_hint(args.elf)

    if args.live:
        from . import live
        from .host_requests import HostRequests
        hooks = []
        if not args.debug:  # the kernel's host requests, served through a gdbstub and a monitor
            base = os.path.splitext(os.path.abspath(args.live))[0]
            gdb_sock, qmp_sock = base + ".gdb.sock", base + ".qmp.sock"
            for path in (gdb_sock, qmp_sock):
                if os.path.exists(path):
                    os.unlink(path)
            cmd += ["-gdb", f"unix:{gdb_sock},server=on,wait=off",
                    "-qmp", f"unix:{qmp_sock},server=on,wait=off"]
            hooks.append(HostRequests(gdb_sock, args.smp, None, qmp_sock))
        return live.run(cmd, args.live, decode_exit, hooks=hooks)
    result = run_foreground(cmd)
    text = result.text
    if result.kind == "reset" and args.serial == "stdio":
        text += " (or QEMU was quit with Ctrl-A X)"
    print(text, file=sys.stderr)
    return result.status

