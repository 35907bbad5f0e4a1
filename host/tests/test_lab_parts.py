"""The lab-facing parts of the harness: matrix options, resuming after a platform stop, the
screendump check, the GRUB menu's family entries, KVM error parsing, the SPCR table."""

import os
import struct
import tempfile
import unittest

from racebed_harness import qemu
from racebed_harness.checks import check_test
from racebed_harness.expectations import Expectations, parse_expectations
from racebed_harness.inputs import HarnessError
from racebed_harness.ktap import parse_ktap
from racebed_harness.matrix import for_accel, for_scope, parse_matrix
from racebed_harness.menu import check_menu
from racebed_harness.platform_stop import (
    PlatformStop, booted_args, merge_boots, merge_logs, parse_list, platform_stop, resume_args, selection,
    stopped_test, trimmed)
from racebed_harness.runner import BootOutcome
from racebed_harness.screen import ScreenDump, check_screendump
from racebed_harness.serial_line import spcr_table

from .common import not_none

SAMPLE_LIST = """\
KTAP version 1
1..0
# experiment boot: CPUs online (min cpus 1, default iterations 1)
# experiment exceptions: vectors (min cpus 1, default iterations 1)
# experiment ring3: ring 3 (min cpus 1, default iterations 1)
# experiment sti_a: x (min cpus 1, default iterations 1)
# experiment sti_b: x (min cpus 1, default iterations 1)
# experiment nmi_storm: x (min cpus 2, default iterations 1)
# experiment db_on_entry: x (min cpus 1, default iterations 1)
# experiment selftest_hang: x (min cpus 2, default iterations 1, runs only when named)
# summary: 0 passed, 0 failed, 0 skipped
"""

KVM_ERROR = """\
KVM internal error. Suberror: 1
extra data[0]: 0x0000000000000001
emulation failure
RAX=000000000010d628 RBX=00000000001224a8 RCX=0000000000000004 RDX=0000000000000001
RIP=000000000010d627 RFL=00000287 [--S--PC] CPL=0 II=0 A20=1 SMM=0 HLT=0
Code=00 00 48 8d 05 01 00 00 00 <cc> 48 c7 07 51 4c 12 00
KVM internal error. Suberror: 1
emulation failure
"""

STOPPED_LOG = """\
KTAP version 1
1..5
ok 1 boot
# exceptions: raising #BP on cpu 0
"""

RESUMED_LOG = """\
KTAP version 1
1..3
ok 1 ring3
ok 2 sti_a
not ok 3 sti_b
# summary: 2 passed, 1 failed, 0 skipped
"""


def _ppm(path: str, w: int, h: int, lit_rows: int) -> None:
    """lit_rows rows lit a quarter across (text-like), or everything lit when lit_rows >= h."""
    quarter = w if lit_rows >= h else w // 4
    row_lit = b"\xaa\xaa\xaa" * quarter + b"\0\0\0" * (w - quarter)
    with open(path, "wb") as f:
        f.write(b"P6\n# comment\n%d %d\n255\n" % (w, h))
        for y in range(h):
            f.write(row_lit if y < lit_rows else b"\0" * (3 * w))


FAKE_KVM_QEMU = """\
#!/bin/sh
# Fake QEMU for kvm_plan: -cpu host aborts on MSR 0x10a, more than 2 vCPUs draw KVM's warning.
cpu= smp=
while [ $# -gt 0 ]; do
    case $1 in -cpu) cpu=$2; shift ;; -smp) smp=$2; shift ;; esac
    shift
done
if [ "$smp" -gt 2 ]; then
    echo "qemu-system-x86_64: -accel kvm: warning: Number of SMP cpus requested ($smp) exceeds the recommended cpus supported by KVM (2)" >&2
fi
if [ "$cpu" = host ]; then
    echo "qemu-system-x86_64: ../target/i386/kvm/kvm.c:3073: kvm_buf_set_msrs: Assertion failed to set MSR 0x10a to 0x0" >&2
    exit 134
fi
cat >/dev/null
exit 0
"""


class MatrixOptions(unittest.TestCase):
    """The +OPTION words of the matrix and the rules that go with them."""

    def test_matrix_options(self) -> None:
        configs = parse_matrix("a pc bios 2 pass +keys=1 tests=boot\nb pc bios 2 pass +accel=kvm\n"
                               "c pc bios 2 pass +screendump +serial=pci\n", "m")
        self.assertEqual((configs[0].args, configs[0].options), (["tests=boot"], {"keys": "1"}),
                         "options not kernel args")
        self.assertEqual([c.name for c in for_accel(configs, "tcg")], ["a", "c"], "+accel=kvm left out under tcg")
        self.assertEqual(configs[2].options, {"screendump": "", "serial": "pci"}, "flag and value options")
        quick = parse_matrix("q q35 uefi 8 pass seed=1 +quick=boot,ipi_*\n", "m")
        self.assertEqual(for_scope(quick, False)[0].args, ["seed=1", "tests=boot,ipi_*"], "+quick= boots its subset")
        self.assertEqual(for_scope(quick, True)[0].args, ["seed=1"], "--full boots the whole suite")
        for bad in ("x pc bios 2 pass +bogus", "x pc bios 2 pass +serial=com9", "x pc bios 2 pass +keys="):
            with self.assertRaises(HarnessError, msg=f"accepted {bad!r}"):
                parse_matrix(bad, "m")
        exp = Expectations(parse_expectations("c  timer  ok|not-ok\n", "e"))
        log = parse_ktap("KTAP version 1\n1..1\nnot ok 1 timer\n# summary: 0 passed, 1 failed, 0 skipped\n")
        self.assertEqual(check_test("c", log.tests[0], exp)[0].status, "PASS", "ok|not-ok takes not ok")
        log = parse_ktap("KTAP version 1\n1..1\nok 1 timer # SKIP x\n# summary: 0 passed, 0 failed, 1 skipped\n")
        self.assertEqual(check_test("c", log.tests[0], exp)[0].status, "FAIL", "ok|not-ok refuses a skip")
        exp = Expectations(parse_expectations("bios-*  *  exit fail\n", "e"))
        self.assertEqual((exp.expected_exit("bios-smp8", "pass"), exp.expected_exit("uefi", "pass")), ("fail", "pass"),
                         "exit rule overrides the matrix")


class ResumeAfterStop(unittest.TestCase):
    """A run the platform stopped: detected, resumed in new boots, checked as one log."""

    def test_resume(self) -> None:
        reg = parse_list(SAMPLE_LIST)
        self.assertEqual(reg.manual, ["selftest_hang"], "manual experiments")
        self.assertEqual(selection(reg, ["tests=sti_*,boot"]), ["boot", "sti_a", "sti_b"], "selection in run order")
        self.assertEqual(selection(reg, ["skip=sti_*"]), ["boot", "exceptions", "ring3", "nmi_storm", "db_on_entry"],
                         "skip; manual ones only when named")
        args, rest = resume_args(reg, ["seed=3"], 2)
        self.assertEqual(args, ["seed=3", "tests=ring3,sti_*,nmi_storm,db_on_entry"], "remainder as globs")
        self.assertEqual(selection(reg, args), rest, "the remainder selects exactly the rest")
        self.assertEqual(resume_args(reg, ["tests=boot"], 1), ([], []), "nothing left")
        picked = parse_ktap("KTAP version 1\n# racebed: loader 'GRUB 2.06', command line 'tests=sti_* seed=2'\n")
        self.assertEqual(booted_args(picked, ["x"]), ["tests=sti_*", "seed=2"], "resume what the kernel booted")
        self.assertEqual(booted_args(parse_ktap(""), ["x"]), ["x"], "else the config's arguments")
        # a KVM internal error stopped boot 1 in `exceptions`
        first = parse_ktap(STOPPED_LOG)
        words = qemu.kvm_internal_error(KVM_ERROR)
        self.assertEqual(words, "KVM internal error. Suberror: 1; emulation failure; rip=0x000000000010d627; "
                         "instruction bytes cc 48 c7 07", "internal error words")
        stop = not_none(platform_stop(BootOutcome(0, stopped_by=words), first))
        self.assertEqual((stop.kind, stop.value), ("internal-error", 1), "stop detected")
        self.assertEqual(platform_stop(BootOutcome(3), parse_ktap(RESUMED_LOG)), None, "a complete run is no stop")
        self.assertEqual(platform_stop(BootOutcome(0, stopped_by=words), parse_ktap("SeaBIOS\n")), None,
                         "a stop in the firmware blames no experiment (nothing to resume)")
        reset = platform_stop(BootOutcome(0), first)
        self.assertEqual(reset.kind if reset else None, "reset", "a reset in the middle")
        crash_log = parse_ktap(STOPPED_LOG + "# crash: unexpected exception on cpu 1\n")
        self.assertEqual(not_none(platform_stop(BootOutcome(5), crash_log)).kind, "crash", "a crash in the middle")
        self.assertEqual(platform_stop(BootOutcome(5), crash_log, crashes=False), None, "an expected crash")
        timed = parse_ktap("KTAP version 1\n1..3\nok 1 boot\nnot ok 2 exceptions # TIMEOUT after 60 s\n"
                           "ok 3 ring3 # SKIP not run: the run timed out in exceptions\n"
                           "# Totals: pass:1 fail:1 skip:1 total:3\n")
        stop_t = not_none(platform_stop(BootOutcome(3), timed))
        self.assertEqual((stop_t.kind, stop_t.reported), ("timeout", 2), "a kernel TIMEOUT resumes the not-run rest")
        self.assertEqual([t.name for t in trimmed(timed, stop_t).tests], ["boot", "exceptions"],
                         "not-run results dropped")
        crashed = parse_ktap("KTAP version 1\n1..3\nok 1 boot\n# crash: unexpected exception on cpu 1 during ring3\n"
                             "# ring3: failed: the run crashed (see the crash report above)\nnot ok 2 ring3\n"
                             "ok 3 sti_a # SKIP not run: the run crashed in ring3\n"
                             "# Totals: pass:1 fail:1 skip:1 total:3\n")
        stop_c = not_none(platform_stop(BootOutcome(5), crashed))
        self.assertEqual((stop_c.kind, stop_c.value, stop_c.reported), ("crash", 2, 2),
                         "a reported crash resumes the rest")
        self.assertTrue(stop_c.words.startswith("crash: unexpected exception on cpu 1"), stop_c.words)
        self.assertEqual(platform_stop(BootOutcome(5), crashed, crashes=False), None, "unless the crash is the point")
        failed = stopped_test(0, "exceptions", stop, first)
        self.assertTrue(failed.outcome == "not-ok" and "KVM internal error" in failed.reason, "stopped test fails")
        self.assertTrue(any("raising #BP" in d for d in failed.diagnostics), "its diagnostics kept")
        merged = merge_logs([(first, failed), (parse_ktap(RESUMED_LOG), None)], 5)
        self.assertEqual([(t.number, t.name, t.outcome) for t in merged.tests],
                         [(1, "boot", "ok"), (2, "exceptions", "not-ok"), (3, "ring3", "ok"), (4, "sti_a", "ok"),
                          (5, "sti_b", "not-ok")], "merged and renumbered")
        self.assertEqual(merged.errors, [], "no structural error")
        short = merge_logs([(first, failed)], 5)
        self.assertTrue(any("2 results for 5" in e for e in short.errors), "missing results are an error")
        boot = merge_boots([BootOutcome(0, stopped_by=words), BootOutcome(1)], [stop, None])
        self.assertEqual(qemu.decode_exit(not_none(boot.status)).value, 1, "a stopped run ends as `some failed`")
        boot = merge_boots([BootOutcome(5), BootOutcome(1)], [PlatformStop("crash", "c", 2), None])
        self.assertEqual(qemu.decode_exit(not_none(boot.status)).value, 2, "a crash in any boot counts")


class BootChecks(unittest.TestCase):
    """The results screen's screendump and the GRUB menu's family entries."""

    def test_screendump(self) -> None:
        with tempfile.TemporaryDirectory(prefix="racebed-test.") as tmp:
            for lit_rows, want in ((0, "FAIL"), (20, "PASS"), (600, "FAIL")):
                hook = ScreenDump(os.path.join(tmp, "q.sock"), os.path.join(tmp, f"s{lit_rows}.ppm"))
                hook.seen_at = 1.0
                _ppm(hook.ppm_path, 640, 480 if lit_rows < 600 else 600, lit_rows)
                result = check_screendump("screen", hook, parse_ktap(""))
                self.assertEqual(result.status, want, f"{lit_rows} lit rows: {result.line()}")
            self.assertTrue(os.path.exists(os.path.join(tmp, "s20.png")), "PNG written beside the PPM")
            never = ScreenDump("q", os.path.join(tmp, "none.ppm"))
            self.assertEqual(check_screendump("screen", never, parse_ktap("")).status, "FAIL", "no results screen line")

    def test_menu(self) -> None:
        reg = parse_list(SAMPLE_LIST)
        with tempfile.TemporaryDirectory(prefix="racebed-test.") as tmp:
            for fam, names in (("core", ("boot", "exceptions", "ring3")), ("sti", ("sti_a", "sti_b")),
                               ("nmi", ("nmi_storm", "db_on_entry"))):
                os.makedirs(os.path.join(tmp, "tests", fam))
                with open(os.path.join(tmp, "tests", fam, "x.c"), "w") as f:
                    f.write("".join(f'.name = "{n}",\n' for n in names))
            good = ('menuentry "1 family core: x" --hotkey=1 {\n\tracebed_boot \'tests=boot,exceptions,ring3\'\n}\n'
                    'menuentry "2 family sti" {\n\tracebed_boot \'tests=sti_*\'\n}\n'
                    'menuentry "family nmi" {\n\tracebed_boot \'tests=nmi_*,db_on_entry\'\n}\n')
            template = os.path.join(tmp, "grub.cfg.in")
            for text, want in ((good, "PASS"), (good.replace(",db_on_entry", ""), "FAIL"),
                               (good.replace("tests=sti_*", "tests=sti_*,ring3"), "FAIL")):
                with open(template, "w") as f:
                    f.write(text)
                result = check_menu(reg, template, tmp)
                self.assertEqual(result.status, want, f"menu check: {result.line()} {result.details}")


class QemuSetup(unittest.TestCase):
    """What the harness gives QEMU: the SPCR table, and KVM's -cpu fallback and -smp cap."""

    def test_spcr(self) -> None:
        t = spcr_table(0x2F8)
        self.assertEqual((t[:4], len(t), sum(t) & 0xFF), (b"SPCR", 80, 0), "signature, length, checksum")
        self.assertEqual(struct.unpack_from("<BBBBQ", t, 40), (1, 8, 0, 1, 0x2F8), "base address: I/O port 0x2f8")
        self.assertEqual(t[58], 7, "115200 baud")

    def test_kvm_plan(self) -> None:
        with tempfile.TemporaryDirectory(prefix="racebed-test.") as tmp:
            fake = os.path.join(tmp, "qemu")
            with open(fake, "w") as f:
                f.write(FAKE_KVM_QEMU)
            os.chmod(fake, 0o755)
            plan = qemu.kvm_plan(8, "pc", fake)
            self.assertEqual((plan.cpu, plan.smp, plan.error), ("host,-arch-capabilities", 2, ""), "fallback and cap")
            self.assertTrue(any("capped to 2" in n for n in plan.notes), f"cap noted: {plan.notes}")
            self.assertTrue(any("failed to set MSR 0x10a" in n for n in plan.notes), f"fallback noted: {plan.notes}")
            cmd = qemu.build_command("x.iso", accel="kvm", cpu=plan.cpu, smp=plan.smp)
            self.assertTrue("host,-arch-capabilities" in cmd and cmd[cmd.index("-smp") + 1] == "2",
                            "used on the command line")
