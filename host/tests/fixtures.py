"""Sample logs, expectations and matrix, and helpers shared by the harness's tests (test_parsing,
test_arch_verdicts, test_boot, test_lab_parts)."""

from typing import List, Sequence

from racebed_harness.expectations import Expectations, parse_expectations
from racebed_harness.matrix import Config
from racebed_harness.report import Result

SAMPLE_GOOD = """\
KTAP version 1
1..6
# racebed: 8 cpus, x2apic
# boot_ms=137
ok 1 boot
# observation delivered=8 of 8
ok 2 ipi_fixed
ok 3 ipi_nmi
ok 4 ipi_broadcast
ok 5 exceptions
# observation lapic_timer=periodic extra words
# observation tsc=invariant
ok 6 timer
# Totals: pass:6 fail:0 skip:0 total:6
racebed: exiting with 0
"""

# What OVMF and GRUB put on the serial port first: escapes, \r, a header
# line glued to the end of an escape-laden line.
SAMPLE_JUNK = (
    "\x1b[2J\x1b[01;01H\x1b[=3h\x1b[2J\x1b[01;01HBdsDxe: loading Boot0001 \"UEFI QEMU DVD-ROM\"\r\n"
    "\x1b[0m\x1b[30m\x1b[47mWelcome to GRUB!\n\r\x1b[0m\x1b[37m\x1b[40m  Booting `racebed'\n\r\n\r"
    "\x1b]0;title\x07\x1b(B\x00\x7f"
) + SAMPLE_GOOD.replace("\n", "\r\n")

SAMPLE_CRASHED = """\
KTAP version 1
1..6
ok 1 boot
# ipi_fixed: sending to cpu 3
PANIC: page fault at 0xdeadbeef
"""

SAMPLE_NO_HEADER = "SeaBIOS (version 1.16)\nBooting from DVD/CD...\n"

SAMPLE_NO_PLAN = """\
KTAP version 1
ok 1 boot
# Totals: pass:1 fail:0 skip:0 total:1
"""

SAMPLE_OUT_OF_ORDER = """\
KTAP version 1
1..3
ok 1 boot
ok 3 ipi_fixed
ok 2 ipi_nmi
# Totals: pass:3 fail:0 skip:0 total:3
"""

SAMPLE_TIMEOUT = """\
KTAP version 1
1..2
ok 1 boot
# timer: waiting for tick 3 of 10
not ok 2 timer # TIMEOUT after 5 s
# Totals: pass:1 fail:1 skip:0 total:2
"""

SAMPLE_SMP1 = """\
KTAP version 1
1..4
ok 1 boot
ok 2 ipi_fixed # SKIP needs 2 cpus
ok 3 ipi_broadcast # SKIP needs 2 cpus
ok 4 timer
# Totals: pass:2 fail:0 skip:2 total:4
"""

SAMPLE_BAD_CMDLINE = """\
KTAP version 1
1..1
# cmdline: unknown key in `bogus=1`
not ok 1 cmdline
# Totals: pass:0 fail:1 skip:0 total:1
"""

SAMPLE_EXPECT = """\
# a comment line
bios-smp1  ipi_fixed     skip   # trailing comment
bios-smp1  ipi_broadcast skip
nosmp      ipi_*         skip
bad-*      cmdline       not-ok
bios-smp8  timer         observation lapic_timer=oneshot
*          timer         observation lapic_timer=periodic
*          timer         observation tsc=invariant
*          boot          observation missing=yes
*          ipi_fixed     not-ok
"""

SAMPLE_MATRIX = """\
# name machine firmware smp expected_exit args...
bios-smp8      pc  bios 8 pass
uefi-q35-smp8  q35 uefi 8 pass
bad-test-name  pc  bios 2 cmdline tests=no_such_experiment seed=7   # comment
"""


class NullOut:
    """A write-only sink for a Reporter whose output is not wanted."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


def cfg(name: str, expected_exit: str = "pass") -> Config:
    return Config(name, "pc", "bios", 8, expected_exit, [])


def statuses(results: Sequence[Result]) -> List[str]:
    return [f"{r.status} {r.label}" for r in results]


def sample_expectations() -> Expectations:
    return Expectations(parse_expectations(SAMPLE_EXPECT, "sample.exp"))
