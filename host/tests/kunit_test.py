"""The kunit.py cross-check (racebed_harness/kunit_check.py) run with Linux's own KTAP parser on
the sample logs.  Named apart from test_*.py: make test runs it once kunit.py is unpacked, with
RACEBED_REQUIRE_KUNIT=1 (a missing kunit.py is then a failure, not a skip)."""

import os
import unittest

from racebed_harness.kunit_check import check_kunit, parse_kunit_output
from racebed_harness.ktap import parse_ktap
from racebed_harness.paths import KUNIT_PY

from .common import not_none, read_sample, sample

COMPLETE = ["bios-smp8.log", "uefi-q35-smp8.log", "crashed-smp4.log", "selftest-crash.log",
            "bios-smp8-timeout.log", "formats.log"]


class TestKunitCrossCheck(unittest.TestCase):
    def setUp(self):
        if not os.path.isfile(KUNIT_PY):
            if os.environ.get("RACEBED_REQUIRE_KUNIT"):
                self.fail(f"{KUNIT_PY} not unpacked")
            self.skipTest(f"{KUNIT_PY} not unpacked (make test unpacks it)")

    def test_same_counts_on_every_complete_sample(self):
        for name in COMPLETE:
            result = check_kunit(name, KUNIT_PY, sample(name), parse_ktap(read_sample(name)))
            self.assertEqual(result.status, "PASS", f"{name}: {result.line()} {result.details}")

    def test_kunit_sees_a_truncated_log(self):
        """The plan follows the version line directly, so Linux's parser knows
        results are missing; the cross-check then fails, as it must."""
        name = "truncated-uefi.log"
        result = check_kunit(name, KUNIT_PY, sample(name), parse_ktap(read_sample(name)))
        self.assertEqual(result.status, "FAIL")
        self.assertRegex(result.message, r"crashed [1-9]")

    def test_output_parsing(self):
        c = not_none(parse_kunit_output("[10:29:42] Testing complete. Ran 3 tests: passed: 2, crashed: 1, errors: 2\n"))
        self.assertEqual((c.ran, c.passed, c.failed, c.crashed, c.skipped, c.errors), (3, 2, 0, 1, 0, 2))
        self.assertIsNone(parse_kunit_output("nothing"))


if __name__ == "__main__":
    unittest.main()
