"""The parsers and checks on hand-written samples: KTAP logs, expectation rules, the matrix."""

import fnmatch
import os
import unittest

from racebed_harness import qemu
from racebed_harness.checks import check_ktap, check_log_patterns, check_test
from racebed_harness.expectations import Expectations, load_expectations, parse_expectations
from racebed_harness.inputs import HarnessError
from racebed_harness.ktap import parse_ktap
from racebed_harness.matrix import parse_matrix, select_configs
from racebed_harness.paths import DEFAULT_MATRIX, EXPECT_DIR
from racebed_harness.report import Reporter

from .fixtures import (
    SAMPLE_BAD_CMDLINE, SAMPLE_CRASHED, SAMPLE_GOOD, SAMPLE_JUNK, SAMPLE_MATRIX, SAMPLE_NO_HEADER, SAMPLE_NO_PLAN,
    SAMPLE_OUT_OF_ORDER, SAMPLE_SMP1, SAMPLE_TIMEOUT, NullOut, cfg, sample_expectations, statuses)


class KtapLogs(unittest.TestCase):
    """A serial log parsed as KTAP and checked: good, junk before the header, crashed, broken."""

    def test_good_log(self) -> None:
        log = parse_ktap(SAMPLE_GOOD)
        self.assertEqual(log.errors, [], "errors")
        self.assertEqual(log.warnings, [], "warnings")
        self.assertEqual(log.plan, 6, "plan")
        self.assertEqual([t.name for t in log.tests],
                         ["boot", "ipi_fixed", "ipi_nmi", "ipi_broadcast", "exceptions", "timer"], "test names")
        self.assertEqual(log.summary, (6, 0, 0), "summary")
        self.assertEqual(log.boot_ms, "137", "boot_ms")
        self.assertEqual(log.tests[0].diagnostics, ["# racebed: 8 cpus, x2apic", "# boot_ms=137"],
                         "diagnostics before `ok 1` belong to test 1")
        self.assertEqual(log.tests[5].observation("lapic_timer"), ["periodic"],
                         "observation value is the first word")
        exp = Expectations(parse_expectations("*  timer observation lapic_timer=periodic\n", "x"))
        results = check_ktap(cfg("bios-smp4"), log, exp)
        self.assertEqual({r.status for r in results}, {"PASS"}, "all results pass")
        self.assertEqual(len(results), 7, "six tests plus one observation")

    def test_junk_before_header(self) -> None:
        clean = parse_ktap(SAMPLE_GOOD)
        log = parse_ktap(SAMPLE_JUNK)
        self.assertEqual(log.errors, [], "errors")
        self.assertEqual([(t.number, t.name, t.outcome, t.diagnostics) for t in log.tests],
                         [(t.number, t.name, t.outcome, t.diagnostics) for t in clean.tests],
                         "same tests as the clean log")
        self.assertTrue("\x1b" not in log.text and "\r" not in log.text, "escapes and \\r removed")
        glued = parse_ktap("\x1b[0m\x1b[37mjunk without newline KTAP version 1\r\n1..0\r\n"
                           "# summary: 0 passed, 0 failed, 0 skipped\r\n")
        self.assertEqual((glued.header_found, glued.errors), (True, []), "header glued to junk")

    def test_crashed_log(self) -> None:
        log = parse_ktap(SAMPLE_CRASHED)
        self.assertEqual(len(log.tests), 1, "results before the crash")
        self.assertTrue(any(e.startswith("line 5: expected a `#` diagnostic") and "PANIC" in e for e in log.errors),
                        f"garbled line named in {log.errors}")
        self.assertTrue(any("5 of the plan 1..6 missing" in e and "# Totals:" in e for e in log.errors),
                        f"truncation error names what was expected in {log.errors}")
        results = check_ktap(cfg("bios-smp8"), log, Expectations([]))
        self.assertEqual(statuses(results), ["FAIL bios-smp8: ktap", "PASS bios-smp8 boot"], "results")
        self.assertTrue(any("PANIC: page fault" in d for d in results[0].details), "log tail shown")
        expected_crash = check_ktap(cfg("panic", "crash"), log, Expectations([]))
        self.assertEqual(statuses(expected_crash), ["PASS panic boot"], "no ktap failure when a crash is expected")

    def test_structural_errors(self) -> None:
        log = parse_ktap(SAMPLE_NO_HEADER)
        self.assertEqual(log.errors, ["no `KTAP version 1` line in the serial log (3 lines read)"], "missing header")
        self.assertEqual(statuses(check_ktap(cfg("c"), log, Expectations([]))), ["FAIL c: ktap"],
                         "missing header fails")
        log = parse_ktap(SAMPLE_NO_PLAN)
        self.assertTrue(any("expected the plan `1..N` before the first result" in e for e in log.errors),
                        f"missing plan in {log.errors}")
        log = parse_ktap(SAMPLE_OUT_OF_ORDER)
        self.assertEqual(len([e for e in log.errors if "out of order" in e]), 1,
                         f"one out-of-order error in {log.errors}")
        log = parse_ktap("KTAP version 1\n1..1\nok 1 boot\n")
        self.assertEqual(log.errors, ["line 3: the log ends after `ok 1 boot`: expected `# Totals: pass:P "
                                      "fail:F skip:S total:T` (the run did not complete)"], "missing totals")
        log = parse_ktap("KTAP version 1\n1..2\nok 1 boot\n# Totals: pass:1 fail:0 skip:0 total:1\n")
        self.assertEqual(log.errors, ["line 4: plan says 2 tests but the log has 1 results"], "plan count")
        log = parse_ktap("KTAP version 1\n1..1\nok 1 boot\n# Totals: pass:0 fail:1 skip:0 total:1\n")
        self.assertEqual((log.errors, len(log.warnings)), ([], 1), "totals mismatch is a warning")
        log = parse_ktap("KTAP version 1\n1..1\nok 1 boot\n# summary: 1 passed, 0 failed, 0 skipped\n")
        self.assertEqual((log.errors, log.warnings, log.summary), ([], [], (1, 0, 0)),
                         "the older summary line is read")

    def test_timeout_result(self) -> None:
        log = parse_ktap(SAMPLE_TIMEOUT)
        self.assertEqual(log.errors, [], "errors")
        timer = log.tests[1]
        self.assertEqual((timer.outcome, timer.directive, timer.reason), ("not-ok", "TIMEOUT", "after 5 s"),
                         "timeout test")
        results = check_ktap(cfg("bios-smp8"), log, Expectations([]))
        self.assertEqual(statuses(results), ["PASS bios-smp8 boot", "FAIL bios-smp8 timer"], "results")
        self.assertEqual(results[1].line(), "FAIL bios-smp8 timer: expected ok, got not ok # TIMEOUT (after 5 s)",
                         "line")
        self.assertEqual(results[1].details, ["# timer: waiting for tick 3 of 10"], "diagnostics shown")


class ExpectationRules(unittest.TestCase):
    """Expectation rules applied to parsed logs (skips, observations, log patterns, the first
    matching rule), their syntax errors, the matrix's, and the repository's own files."""

    def test_skips(self) -> None:
        exp = Expectations(parse_expectations(
            "bios-smp1 ipi_fixed skip\nbios-smp1 ipi_broadcast skip\nnosmp ipi_* skip\n* ipi_fixed not-ok\n", "x"))
        log = parse_ktap(SAMPLE_SMP1)
        self.assertEqual(log.errors, [], "errors")
        got = check_ktap(cfg("bios-smp1"), log, exp)
        self.assertEqual(statuses(got), ["PASS bios-smp1 boot", "SKIP bios-smp1 ipi_fixed",
                                         "SKIP bios-smp1 ipi_broadcast", "PASS bios-smp1 timer"], "expected skips")
        self.assertEqual(got[1].line(), "SKIP bios-smp1 ipi_fixed (expected: needs 2 cpus)", "skip line")
        unexpected = check_ktap(cfg("bios-smp8"), log, exp)
        self.assertEqual(statuses(unexpected), ["PASS bios-smp8 boot", "FAIL bios-smp8 ipi_fixed",
                                                "FAIL bios-smp8 ipi_broadcast", "PASS bios-smp8 timer"],
                         "unexpected skips")
        self.assertEqual(unexpected[2].line(), "FAIL bios-smp8 ipi_broadcast: expected ok, got skip (needs 2 cpus)",
                         "unexpected skip line")
        self.assertEqual(unexpected[1].message, "expected not ok, got skip (needs 2 cpus)",
                         "skip where not-ok expected")
        nosmp = check_ktap(cfg("nosmp"), log, exp)
        self.assertEqual([r.status for r in nosmp], ["PASS", "SKIP", "SKIP", "PASS"], "test globs")
        reporter_counts = Reporter(out=NullOut())
        reporter_counts.extend(got + unexpected)
        self.assertEqual(reporter_counts.summary(), "4 passed, 2 failed, 2 skipped",
                         "skips counted as skipped only if expected")

    def test_observations(self) -> None:
        exp = sample_expectations()
        log = parse_ktap(SAMPLE_GOOD)
        timer = log.tests[5]
        got = check_test("uefi-q35-smp8", timer, exp)
        self.assertEqual(statuses(got), ["PASS uefi-q35-smp8 timer",
                                         "PASS uefi-q35-smp8 timer observation lapic_timer=periodic",
                                         "PASS uefi-q35-smp8 timer observation tsc=invariant"], "observations present")
        got = check_test("bios-smp8", timer, exp)
        self.assertEqual(got[1].line(), "FAIL bios-smp8 timer observation lapic_timer=oneshot: "
                                        "expected oneshot, got periodic (sample.exp:6)",
                         "first matching rule per NAME wins")
        self.assertEqual(got[2].status, "PASS", "other NAMEs still apply")
        got = check_test("bios-smp8", log.tests[0], exp)
        self.assertEqual(got[1].status, "FAIL", "absent observation fails")
        self.assertIn("no `# observation missing=` line", got[1].message)

    def test_log_patterns(self) -> None:
        rules = parse_expectations("crash-*  *  log ^\\# crash: .* vector 14\n"
                                   "crash-*  *  log ^\\# backtrace:\\n\\#\\s+0x\n", "sample.exp")
        exp = Expectations(rules)
        text = "KTAP version 1\n# crash: unexpected exception on cpu 1: vector 14 #PF\n# backtrace:\n#   0x10\n"
        got = check_log_patterns(cfg("crash-ap", "crash"), text, exp)
        self.assertEqual([r.status for r in got], ["PASS", "PASS"], "patterns present")
        got = check_log_patterns(cfg("crash-ap", "crash"), "KTAP version 1\n# crash: vector 13\n", exp)
        self.assertEqual([r.status for r in got], ["FAIL", "FAIL"], "patterns absent")
        self.assertEqual(check_log_patterns(cfg("other"), text, exp), [], "config glob limits log rules")
        with self.assertRaises(HarnessError, msg="a bad regular expression was accepted") as caught:
            parse_expectations("x * log ([\n", "bad.exp")
        self.assertIn("bad.exp:1", str(caught.exception))

    def test_first_rule_wins(self) -> None:
        exp = Expectations(parse_expectations("bios-* timer skip\n* timer not-ok\nbios-smp1 timer ok\n", "x"))
        self.assertEqual(exp.expected_result("bios-smp1", "timer")[0], "skip", "first rule")
        self.assertEqual(exp.expected_result("uefi", "timer")[0], "not-ok", "second rule")
        self.assertEqual(exp.expected_result("uefi", "boot")[0], "ok", "default ok")
        bad_cmdline = check_ktap(cfg("bad-cmdline", "cmdline"), parse_ktap(SAMPLE_BAD_CMDLINE),
                                 sample_expectations())
        self.assertEqual(statuses(bad_cmdline), ["PASS bad-cmdline cmdline"], "expected not-ok passes")
        other = check_ktap(cfg("bios-smp8", "cmdline"), parse_ktap(SAMPLE_BAD_CMDLINE), sample_expectations())
        self.assertEqual(statuses(other), ["FAIL bios-smp8 cmdline"], "not-ok restricted to bad-* configs")

    def test_parse_errors(self) -> None:
        for text, needle in (("* boot okay\n", "result must be"), ("* boot observation x\n", "NAME=VALUE"),
                             ("* boot\n", "expected `CONFIG_GLOB"), ("* t observation =1\n", "NAME=VALUE")):
            with self.assertRaises(HarnessError, msg=f"{text.strip()!r} accepted") as caught:
                parse_expectations(text, "e")
            e = caught.exception
            self.assertTrue(needle in str(e) and "e:1" in str(e), f"{text.strip()!r}: {e}")
        configs = parse_matrix(SAMPLE_MATRIX, "m")
        self.assertEqual([(c.name, c.machine, c.firmware, c.smp, c.expected_exit, c.args) for c in configs],
                         [("bios-smp8", "pc", "bios", 8, "pass", []), ("uefi-q35-smp8", "q35", "uefi", 8, "pass", []),
                          ("bad-test-name", "pc", "bios", 2, "cmdline", ["tests=no_such_experiment", "seed=7"])],
                         "matrix")
        for text in ("a pc bios 8\n", "a pc efi 8 pass\n", "a pc bios 0 pass\n", "a pc bios 8 ok\n",
                     "a pc bios 1 pass\na q35 uefi 1 pass\n", "a arm bios 1 pass\n"):
            with self.assertRaises(HarnessError, msg=f"bad matrix {text!r} accepted"):
                parse_matrix(text, "m")
        machine = parse_matrix("a pc bios 1 pass +machine=pit=off,hpet=off\n", "m")[0]
        self.assertEqual(machine.options, {"machine": "pit=off,hpet=off"}, "+machine= properties")
        for word in ("+machine=pit", "+machine=pit=off,", "+machine=pit=off;x"):
            with self.assertRaises(HarnessError, msg=f"{word!r} accepted"):
                parse_matrix(f"a pc bios 1 pass {word}\n", "m")
        self.assertEqual([c.name for c in select_configs(configs, "bad-test-name,bios-smp8")],
                         ["bios-smp8", "bad-test-name"], "--only keeps matrix order")

    def test_repo_files(self) -> None:
        """The real matrix and expectation files parse, and name known configs."""
        with open(DEFAULT_MATRIX, encoding="utf-8") as f:
            configs = parse_matrix(f.read(), "host/matrix.txt")
        self.assertGreater(len(configs), 0, "matrix has configs")
        names = [c.name for c in configs]
        for accel in qemu.ACCELS:
            exp = load_expectations(os.path.join(EXPECT_DIR, f"{accel}.exp"))
            for rule in exp.rules:
                self.assertTrue(any(fnmatch.fnmatchcase(n, rule.config_glob) for n in names),
                                f"{rule.where}: {rule.config_glob} matches no config of host/matrix.txt")
