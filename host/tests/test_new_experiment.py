"""Adding an experiment: the skips that need no expectation line, tools/new-experiment's
refusals and output, and the source file tools/list-experiments.py finds for each entry."""

import importlib
import importlib.machinery
import types
import importlib.util
import os
import subprocess
import sys
import unittest

from racebed_harness.checks import check_test
from racebed_harness.expectations import Expectations, parse_expectations, rule_skip
from racebed_harness.ktap import parse_ktap

from .common import LIST_TOOL, REPO

NEW_TOOL = os.path.join(REPO, "tools", "new-experiment")


def load(path: str, name: str) -> types.ModuleType:
    loader = importlib.machinery.SourceFileLoader(name, path)
    spec = importlib.util.spec_from_loader(name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


LOG = """KTAP version 1
1..3
ok 1 ipi_fixed # SKIP needs 2 cpus, 1 online
ok 2 nmi_storm # SKIP needs 2 cpus, 2 online
ok 3 timer # SKIP needs TSC-deadline timer
"""


class TestRuleSkips(unittest.TestCase):
    def test_reasons(self):
        self.assertTrue(rule_skip("needs 2 cpus, 1 online"))
        self.assertTrue(rule_skip("needs x2APIC mode"))
        self.assertFalse(rule_skip("needs 2 cpus, 2 online"))  # the runner never says that
        self.assertFalse(rule_skip("needs 2 cpus"))
        self.assertFalse(rule_skip("listed, not run"))
        self.assertFalse(rule_skip("no asynchronous #MC can be raised"))

    def test_no_line_needed_unless_a_rule_says_otherwise(self):
        tests = parse_ktap(LOG).tests
        none = Expectations([])
        self.assertEqual([check_test("bios-smp1", t, none)[0].status for t in tests], ["SKIP", "FAIL", "SKIP"])
        pinned = Expectations(parse_expectations("bios-smp1 ipi_fixed ok\n", "x"))
        self.assertEqual(check_test("bios-smp1", tests[0], pinned)[0].status, "FAIL")
        self.assertEqual(none.expected_of("bios-smp1", "ipi_fixed", "needs 2 cpus, 1 online"), "skip")
        self.assertEqual(none.expected_of("bios-smp1", "ipi_fixed"), "ok")


class TestNewExperiment(unittest.TestCase):
    def run_tool(self, *args):
        return subprocess.run([sys.executable, NEW_TOOL, *args], capture_output=True, text=True, timeout=30)

    def test_refusals_write_nothing(self):
        for args, needle in ((("Bad", "core"), "bad name"), (("timer", "core"), "exists already, in tests/core/timer.c"),
                             (("x_new", "bogus"), "unknown family"), (("ipi", "core"), "tests/core/ipi.c exists"),
                             (("only_one",), "usage")):
            done = self.run_tool(*args)
            self.assertEqual(done.returncode, 2, args)
            self.assertIn(needle, done.stderr)
        self.assertFalse(os.path.exists(os.path.join(REPO, "tests", "core", "Bad.c")))

    def test_generated_file(self):
        tool = load(NEW_TOOL, "new_experiment")
        rank = tool.next_rank("core")
        self.assertEqual(rank % 10, 0)
        self.assertLess(rank, 900)  # the template's own rank is left out
        text = tool.generate("my_check", "sti", 50)
        self.assertIn("EXP_ORDER(FAMILY_STI, 50)", text)
        self.assertIn('.name = "my_check"', text)
        self.assertIn('{ "my_check", ', text)
        self.assertTrue(text.startswith("/*\n * my_check: TODO"))
        self.assertIn("TODO: one rule per observation", text)
        for gone in (".manual", "example"):
            self.assertNotIn(gone, text)


class TestSources(unittest.TestCase):
    def test_every_experiment_has_its_file(self):
        elf = os.path.join(REPO, "build", "racebed.elf")
        if not os.path.isfile(elf):
            self.skipTest("build/racebed.elf not built")
        exps = load(LIST_TOOL, "list_experiments").experiments(elf)
        for e in exps:
            self.assertTrue(os.path.isfile(os.path.join(REPO, e.source)), (e.name, e.source))
        by_name = {e.name: e.source for e in exps}
        self.assertEqual(by_name["double_fault"], "tests/nmi/double_fault.c")
        self.assertEqual(by_name["ipi_nmi"], "tests/core/ipi.c")


if __name__ == "__main__":
    unittest.main()
