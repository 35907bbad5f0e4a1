"""host/bochs.py and the harness's Bochs configs: the bochsrc, how a run ended (power-off,
panic, bochsrc error, no exit line), the exit check and the matrix syntax."""

import os
import tempfile
import unittest
from unittest import mock

from racebed_harness import bochs as bochs_cli
from racebed_harness.checks import check_exit
from racebed_harness.inputs import HarnessError
from racebed_harness.ktap import parse_ktap
from racebed_harness.matrix import parse_matrix
from racebed_harness.runner import BootOutcome

POWEROFF_LOG = ("00000000000i[BIOS  ] Starting rombios32\n"
                "00326377170p[ACPI  ] >>PANIC<< ACPI control: soft power off\n")
PANIC_LOG = ("00530607320e[CPU0  ] interrupt(): vector must be within IDT table limits, IDT.limit = 0x0\n"
             "00530607320p[CPU0  ] >>PANIC<< exception(): 3rd (13) exception with no resolution\n")
SERIAL_OK = ("KTAP version 1\n1..1\nok 1 boot\n# Totals: pass:1 fail:0 skip:0 total:1\n"
             "# exit value 0 (all passed), powering off\n")
SERIAL_FAIL = SERIAL_OK.replace("ok 1 boot", "not ok 1 boot").replace(
    "# exit value 0 (all passed)", "# exit value 1 (some failed)")


class TestBochsrc(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.iso = os.path.join(self.dir.name, "r.iso")
        self.bios = os.path.join(self.dir.name, "bios")
        for path in (self.iso, self.bios):
            open(path, "wb").close()

    def tearDown(self):
        self.dir.cleanup()

    def plan(self, **kw):
        kw = {"bios": self.bios, "vgabios": self.bios, **kw}
        return bochs_cli.Plan(self.iso, os.path.join(self.dir.name, "s.log"), os.path.join(self.dir.name, "b.log"), **kw)

    def test_text(self):
        text = bochs_cli.bochsrc_text(self.plan(smp=4, cpu="ryzen", ips=30_000_000))
        self.assertIn("cpu: model=ryzen, count=1:4:1, ips=30000000", text)
        self.assertIn(f'romimage: file="{self.bios}"', text)
        self.assertIn("com1: enabled=1, mode=file, dev=", text)
        self.assertIn('display_library: rfb, options="timeout=0"', text)
        self.assertIn("clock: sync=none", text)

    def test_bad_input(self):
        with self.assertRaisesRegex(FileNotFoundError, "ISO"):
            bochs_cli.bochsrc_text(bochs_cli.Plan("/nonexistent.iso", "s", "b", bios=self.bios, vgabios=self.bios))
        with self.assertRaisesRegex(FileNotFoundError, "vgabios"):
            bochs_cli.bochsrc_text(self.plan(vgabios="/nonexistent"))
        with self.assertRaisesRegex(ValueError, "ips"):
            bochs_cli.bochsrc_text(self.plan(ips=10))
        with self.assertRaisesRegex(ValueError, "comma"):
            bochs_cli.bochsrc_text(bochs_cli.Plan(self.iso, "a,b", "b", bios=self.bios, vgabios=self.bios))

    def test_missing_bochs_named(self):
        with mock.patch.dict(os.environ, {"BOCHS": "/nonexistent/bochs"}):
            with self.assertRaisesRegex(FileNotFoundError, "Bochs not found.*bochsbios"):
                bochs_cli.build_command("rc", "cmds")


class TestRunEnd(unittest.TestCase):
    def test_poweroff_with_value(self):
        end = bochs_cli.run_end(POWEROFF_LOG, SERIAL_FAIL)
        self.assertEqual((end.kind, end.value), ("value", 1))
        self.assertIn("powered off", end.text)

    def test_panic_names_the_cause(self):
        end = bochs_cli.run_end(PANIC_LOG, "")
        self.assertEqual(end.kind, "panic")
        self.assertIn("CPU0: exception(): 3rd (13) exception", end.text)
        self.assertIn("IDT table limits", end.text)

    def test_panic_after_the_exit_line_is_still_a_panic(self):
        self.assertEqual(bochs_cli.run_end(PANIC_LOG, SERIAL_OK).kind, "panic")

    def test_bochsrc_error(self):
        output = ("00000000000p[      ] >>PANIC<< build/test/x.bochsrc:3: cpu directive malformed.\n")
        end = bochs_cli.run_end("", "", output)
        self.assertEqual(end.kind, "config")
        self.assertIn("cpu directive malformed", end.text)

    def test_no_exit_line(self):
        end = bochs_cli.run_end("00000000000i[BIOS  ] Starting rombios32\n", "KTAP version 1\n1..3\n")
        self.assertEqual(end.kind, "no-value")

    def test_last_exit_line_wins(self):
        end = bochs_cli.run_end(POWEROFF_LOG, "# exit value 3 (bad command line), x\n" + SERIAL_OK)
        self.assertEqual(end.value, 0)


class TestExitCheck(unittest.TestCase):
    def config(self, expected="pass"):
        text = f"bochs-x pc bochs 2 {expected} exit=poweroff +cpu=corei7_skylake_x\n"
        return parse_matrix(text)[0]

    def test_value_from_the_log(self):
        boot = BootOutcome(1, platform_log=POWEROFF_LOG)
        self.assertEqual(check_exit(self.config(), boot, parse_ktap(SERIAL_OK)).status, "PASS")
        got = check_exit(self.config(), boot, parse_ktap(SERIAL_FAIL))
        self.assertEqual(got.status, "FAIL")
        self.assertIn("exit value 1", got.message)
        self.assertEqual(check_exit(self.config("fail"), boot, parse_ktap(SERIAL_FAIL)).status, "PASS")

    def test_panic_fails_with_its_words(self):
        got = check_exit(self.config(), BootOutcome(1, platform_log=PANIC_LOG), parse_ktap(""))
        self.assertEqual(got.status, "FAIL")
        self.assertIn("Bochs panic", got.message)

    def test_hang_is_the_hook_words(self):
        boot = BootOutcome(-15, stopped_by="no serial output for 180 s", platform_log="")
        got = check_exit(self.config(), boot, parse_ktap(SERIAL_OK))
        self.assertIn("no serial output", got.message)


class TestMatrix(unittest.TestCase):
    def test_bochs_config(self):
        c = parse_matrix("b pc bochs 2 pass exit=poweroff +cpu=ryzen +ips=30000000\n")[0]
        self.assertEqual((c.firmware, c.options["cpu"], c.options["ips"]), ("bochs", "ryzen", "30000000"))
        self.assertEqual(c.args, ["exit=poweroff"])

    def test_bochs_is_one_machine(self):
        with self.assertRaisesRegex(HarnessError, "Bochs emulates one machine"):
            parse_matrix("b q35 bochs 2 pass\n")
        with self.assertRaisesRegex(HarnessError, "bad value"):
            parse_matrix("b pc bochs 2 pass +ips=12\n")


if __name__ == "__main__":
    unittest.main()
