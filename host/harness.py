#!/usr/bin/env python3
"""racebed CI harness (`make test`).

    python3 host/harness.py [--unit PATH]... [--only NAME[,NAME]] [--timeout S]
                             [--elf build/racebed.elf] [--out build/test]

1. Runs each host unit-test executable given with --unit: one result each,
   passed when it exits 0.
2. Boots the kernel once per configuration of host/matrix.txt (ISO built by
   tools/mkiso.sh and cached per command line), headless, serial output to
   OUT/NAME.log, QEMU killed after --timeout seconds.
3. Parses each serial log as KTAP version 1 and checks every test result
   against host/expect/$ACCEL.exp, and QEMU's exit status against the
   configuration's expected exit.
4. Runs each log through Linux's own KTAP parser (kunit.py parse, log on
   stdin) and requires the same pass/fail/skip counts (leaves: subtests
   count instead of their parent).
5. Writes OUT/junit.xml and OUT/results.json (docs/results-json.md) for
   every config booted.

Every checked result is one line, PASS / FAIL / SKIP, and the output ends
with the line `N passed, N failed, N skipped`.  Exit status: 1 if anything
failed, else 0.

Environment: ACCEL (tcg or kvm, default tcg), QEMU (the QEMU binary).

Matrix file (host/matrix.txt), one configuration a line, `#` comments:

    NAME MACHINE FIRMWARE SMP EXPECTED_EXIT [KERNEL_ARGS...] [+OPTION[=VALUE]...]

MACHINE is pc or q35, FIRMWARE bios, uefi, multiboot1 or bochs (the ISO on Bochs through
host/bochs.py, checked against host/expect/bochs.exp whatever ACCEL is), EXPECTED_EXIT pass,
fail, crash or cmdline (the kernel's exit values 0, 1, 2, 3).  Words starting
with `+` are harness options, not kernel arguments: +keys=CHARS (sent on the
serial line until the KTAP header appears: GRUB menu hotkeys), +screendump
(QMP screendump of the results screen, checked; needs exit=halt),
+serial=com1|pci|spcr-com2 (where the UART is: no COM1 for pci and
spcr-com2), +accel=tcg|kvm (boot this config only under that accelerator),
+quick=GLOBS (boots tests=GLOBS unless --full: the whole suite runs elsewhere),
+cpu=MODEL and +ips=N (Bochs: CPU model, instructions per simulated second),
+alone (booted first, nothing beside it; the other configs boot --jobs at once).

When the platform stops a boot in the middle (a KVM internal error, a reset, a
crash, or no serial output for 75 s), the running experiment is reported as
failed in the platform's words and the rest runs in new boots (tests= the
remainder); the boots are checked as one run (racebed_harness/platform_stop.py).

Expectation file (host/expect/ACCEL.exp), one rule a line, `#` comments:

    CONFIG_GLOB TEST_GLOB ok|skip|not-ok
    CONFIG_GLOB TEST_GLOB observation NAME=VALUE
    CONFIG_GLOB * log REGEX
    CONFIG_GLOB * exit pass|fail|crash|cmdline   (instead of the matrix's exit)

Globs are shell-style (fnmatch).  For each (configuration, test) the first
matching result rule gives the expected result, `ok` when none matches.  For
each (configuration, test, NAME) the first matching observation rule
requires a diagnostic `# observation NAME=VALUE ...` among that test's
diagnostics (VALUE is compared with the first word after `=`).
"""

import argparse
import os
import signal
import sys
from types import FrameType
from typing import Optional, Sequence

from racebed_harness import qemu as qemu_cli  # host/racebed_harness/, next to this script
from racebed_harness.boot import run_boot_matrix
from racebed_harness.inputs import HarnessError
from racebed_harness.iso import build_iso
from racebed_harness.lab import run_lab
from racebed_harness.paths import DEFAULT_MATRIX, EXPECT_DIR, KUNIT_PY
from racebed_harness.report import Reporter, Result
from racebed_harness.unit import run_unit


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="harness.py", description="racebed CI harness: unit tests, then the boot matrix.",
        epilog="Environment: ACCEL=tcg|kvm (default tcg), QEMU=path of the QEMU binary.")
    p.add_argument("--unit", action="append", default=[], metavar="PATH",
                   help="a host unit-test executable (repeatable)")
    p.add_argument("--only", metavar="NAME[,NAME]", help="boot only these configs of the matrix")
    p.add_argument("--timeout", type=float, default=240, metavar="SECONDS", help="per boot (default 240)")
    p.add_argument("--elf", default="build/racebed.elf", help="the kernel (default build/racebed.elf)")
    p.add_argument("--out", default="build/test", help="directory for ISOs and logs (default build/test)")
    p.add_argument("--matrix", default=DEFAULT_MATRIX, help="boot matrix (default host/matrix.txt)")
    p.add_argument("--expect", help="expectation file (default host/expect/$ACCEL.exp)")
    p.add_argument("--qemu", help="QEMU binary (default $QEMU or qemu-system-x86_64)")
    p.add_argument("--kunit", default=KUNIT_PY, metavar="KUNIT_PY",
                   help="Linux's tools/testing/kunit/kunit.py, run on every log (default: unpacked in build/)")
    p.add_argument("--jobs", type=int, default=2, metavar="N",
                   help="configs without +alone booted side by side, N at once (default 2)")
    p.add_argument("--full", action="store_true", help="boot the whole suite in every config (a +quick= config "
                   "boots only its subset otherwise) and run the LAVA job on --lab's ISO, not --lab-tests")
    p.add_argument("--no-boot", action="store_true", help="run the unit tests only")
    p.add_argument("--lab", metavar="ISO", help="also validate the LAVA jobs and run the QEMU one on ISO "
                   "(lab/lava/lab.py; the run is skipped where lava-run is not installed)")
    p.add_argument("--lab-tests", metavar="GLOBS", help="the LAVA run boots an ISO of --elf with tests=GLOBS "
                   "instead of --lab's ISO (built and cached like the matrix's)")
    args = p.parse_args(argv)
    args.accel = os.environ.get("ACCEL") or "tcg"
    if args.accel not in qemu_cli.ACCELS:
        p.error(f"ACCEL must be one of {', '.join(qemu_cli.ACCELS)}, not {args.accel!r}")
    if args.jobs < 1:
        p.error("--jobs must be at least 1")
    if args.timeout <= 0:
        p.error("--timeout must be positive")
    args.expect = args.expect or os.path.join(EXPECT_DIR, f"{args.accel}.exp")
    return args


def _interrupt(signum: int, frame: Optional[FrameType]) -> None:
    """SIGTERM/SIGHUP handler: unwinds like Ctrl-C, so that a running QEMU
    (in a session of its own) is killed on the way out."""
    raise KeyboardInterrupt


def main(argv: Optional[Sequence[str]] = None) -> int:
    opts = parse_args(sys.argv[1:] if argv is None else argv)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _interrupt)
    reporter = Reporter()
    try:
        for path in opts.unit:
            run_unit(path, opts.timeout, reporter)
        if not opts.no_boot:
            run_boot_matrix(opts, reporter)
        if opts.lab:
            iso = opts.lab
            if opts.lab_tests and not opts.full:
                iso, _ = build_iso(opts.elf, [f"tests={opts.lab_tests}"], opts.out)
            run_lab(iso, opts.out, opts.timeout, reporter)
    except HarnessError as e:
        lines = str(e).splitlines()
        reporter.add(Result("FAIL", "harness", lines[0], lines[1:]))
    except KeyboardInterrupt:
        reporter.add(Result("FAIL", "harness", "interrupted"))
    reporter.info(reporter.summary())
    return 1 if reporter.failed else 0


if __name__ == "__main__":
    sys.exit(main())
