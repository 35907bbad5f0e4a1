"""The boot path: QEMU's exit status decoded, and whole boots against a fake QEMU."""

import os
import tempfile
import time
import unittest
from unittest import mock

from racebed_harness import qemu
from racebed_harness.boot import boot_command
from racebed_harness.checks import check_exit, evaluate_boot
from racebed_harness.expectations import Expectations
from racebed_harness.iso import iso_path_for
from racebed_harness.ktap import parse_ktap
from racebed_harness.matrix import Config
from racebed_harness.report import Reporter
from racebed_harness.runner import BootOutcome, read_log, run_qemu

from .fixtures import SAMPLE_JUNK, NullOut, cfg

FAKE_QEMU = """\
#!/usr/bin/env python3
# Fake QEMU for the harness's tests: copies $FAKE_LOG to the -serial file,
# then exits with $FAKE_EXIT, or sleeps forever when $FAKE_EXIT is "hang".
import os, sys, time
args = sys.argv[1:]
serial = args[args.index("-serial") + 1]
assert serial.startswith("file:"), serial
with open(serial[5:], "w") as out:
    out.write(open(os.environ["FAKE_LOG"]).read())
if os.environ["FAKE_EXIT"] == "hang":
    while True:
        time.sleep(1)
sys.exit(int(os.environ["FAKE_EXIT"]))
"""


class BootPath(unittest.TestCase):
    def test_exit_decoding(self) -> None:
        cases = [(1, "value", 0), (3, "value", 1), (5, "value", 2), (7, "value", 3), (0, "reset", None),
                 (2, "qemu-error", None), (-9, "qemu-error", None)]
        for status, kind, value in cases:
            d = qemu.decode_exit(status)
            self.assertEqual((d.kind, d.value), (kind, value), f"decode_exit({status})")
        d = qemu.decode_exit(1, "qemu-system-x86_64: -cdrom x.iso: Could not open 'x.iso'\n")
        self.assertEqual(d.kind, "qemu-error", "exit 1 with a QEMU error message")
        d = qemu.decode_exit(1, "qemu-system-x86_64: warning: host doesn't support requested feature\n")
        self.assertEqual(d.kind, "value", "exit 1 with only a warning")
        self.assertEqual(qemu.decode_exit(1).text, "racebed: exit value 0 (all passed)", "text")
        exit_result = check_exit(cfg("c"), BootOutcome(5), parse_ktap(""))
        self.assertEqual(exit_result.line(), "FAIL c: exit: expected 0 (pass), got 2 (crash)",
                         "exit mismatch line")
        self.assertEqual(check_exit(cfg("c", "cmdline"), BootOutcome(7), parse_ktap("")).status, "PASS",
                         "cmdline exit")
        self.assertEqual(iso_path_for("o", ["a", "b"]), iso_path_for("o", ["a", "b"]), "ISO name stable")
        self.assertNotEqual(iso_path_for("o", ["a b"]), iso_path_for("o", ["a", "b"]), "ISO name keyed on words")

    def test_fake_qemu(self) -> None:
        """Runs the boot path against a fake QEMU: exit mapping, log capture,
        header timing, and killing a hung run at the timeout."""
        with tempfile.TemporaryDirectory(prefix="racebed-test.") as tmp, mock.patch.dict(os.environ):
            fake = os.path.join(tmp, "qemu")
            with open(fake, "w") as f:
                f.write(FAKE_QEMU)
            os.chmod(fake, 0o755)
            sample = os.path.join(tmp, "sample.log")
            with open(sample, "w") as f:
                f.write(SAMPLE_JUNK)
            iso = os.path.join(tmp, "dummy.iso")
            open(iso, "w").close()
            os.environ["FAKE_LOG"] = sample
            log_path = os.path.join(tmp, "serial.log")
            for fake_exit, config, want in (("1", cfg("good"), "PASS"), ("7", cfg("good"), "FAIL"),
                                            ("7", cfg("bad", "cmdline"), "PASS"), ("0", cfg("reset"), "FAIL")):
                os.environ["FAKE_EXIT"] = fake_exit
                cmd = boot_command(config, iso, log_path, tmp, "tcg", fake)
                boot = run_qemu(cmd, log_path, os.path.join(tmp, "qemu.txt"), timeout=30)
                self.assertEqual((boot.status, boot.timed_out), (int(fake_exit), False), f"fake exit {fake_exit}")
                self.assertIsNotNone(boot.header_s, "KTAP header time recorded")
                reporter = Reporter(out=NullOut())
                log = evaluate_boot(config, boot, read_log(log_path), Expectations([]), reporter)
                self.assertEqual(log.boot_ms, "137", "boot_ms from the serial log")
                self.assertEqual(check_exit(config, boot, log).status, want, f"exit check for fake exit {fake_exit}")
            # A UEFI config gets its own copy of the variable store.
            vars_template = os.path.join(tmp, "VARS.fd")
            with open(vars_template, "wb") as f:
                f.write(b"\0" * 64)
            os.environ["OVMF_VARS"] = vars_template
            cmd = boot_command(Config("u", "q35", "uefi", 2, "pass", []), iso, "s.log", tmp, "tcg", fake)
            self.assertTrue(os.path.exists(os.path.join(tmp, "u.vars.fd")), "variable store copied")
            self.assertTrue(any("unit=1" in c and "u.vars.fd" in c for c in cmd), "variable store on pflash unit 1")
            # A hung guest is killed at the timeout.
            os.environ["FAKE_EXIT"] = "hang"
            start = time.monotonic()
            boot = run_qemu([fake, "-serial", f"file:{log_path}"], log_path, os.path.join(tmp, "q.txt"), timeout=1)
            self.assertTrue(boot.timed_out and time.monotonic() - start < 10, "hung fake QEMU killed")
            exit_result = check_exit(cfg("hang"), boot, parse_ktap(read_log(log_path)))
            self.assertTrue(exit_result.message.startswith("TIMEOUT after 1 s"), exit_result.line())
            self.assertTrue(any("# Totals:" in d for d in exit_result.details), "timeout shows the log tail")
            missing = run_qemu([os.path.join(tmp, "no-such-qemu")], log_path, os.path.join(tmp, "q.txt"), 5)
            self.assertTrue(missing.error.startswith("cannot run"), "missing QEMU binary reported")
