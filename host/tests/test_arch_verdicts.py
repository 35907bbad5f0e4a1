"""The architectural-verdict checks (racebed_harness/arch_verdicts.py) on a sample log."""

import unittest
from typing import Dict, List

from racebed_harness.arch_verdicts import check_arch, deviates, parse_deviations
from racebed_harness.expectations import Expectations, parse_expectations
from racebed_harness.inputs import HarnessError
from racebed_harness.ktap import parse_ktap
from racebed_harness.report import Result

SAMPLE = """KTAP version 1
1..3
# observation irq_before_hlt=Never 0/10 arch=never ref=SDM-2B-STI
# observation db_held=Always 4/4 arch=never ref=SDM-3A-6.8.3
# control irq_taken=7
ok 1 alpha
# observation late=Sometimes 2/9 arch=allowed ref=SDM-2B-STI
ok 2 beta
ok 3 gamma # SKIP needs 2 cpus
# deviations: alpha.db_held
# summary: 2 passed, 0 failed, 1 skipped
"""

RULES = """*  alpha  deviation   db_held
*  beta   deviation?  lat*
*  gamma  deviation   never_ran
"""


def statuses(results: List[Result]) -> Dict[str, str]:
    return {r.label.split(": ", 1)[1]: r.status for r in results}


def run(text: str, rules: str = RULES) -> List[Result]:
    return check_arch("cfg", parse_ktap(text), Expectations(parse_expectations(rules, "x")))


class ArchVerdicts(unittest.TestCase):
    """check_arch on a sample log: verdicts, positive controls, the deviations line."""

    def test_arch_verdicts(self) -> None:
        self.assertTrue(deviates("never", 1, 5) and deviates("always", 4, 5) and not deviates("always", 0, 0),
                        "deviates() follows the verdict")
        self.assertTrue(not deviates("allowed", 3, 5) and not deviates("model-specific", 5, 5),
                        "no claim, no deviation")
        self.assertEqual(parse_deviations("# deviations: none\n"), [], "none")
        self.assertEqual(parse_deviations("# deviations: a.x,b.y,... (40 in all)\n"), ["a.x", "b.y"],
                         "truncated list")
        self.assertEqual(parse_deviations("no such line"), None, "missing line")

        got = statuses(run(SAMPLE))
        self.assertEqual(got, {"arch verdicts": "PASS", "positive controls": "PASS", "deviations": "PASS"},
                         "a consistent log passes (gamma was skipped: its required deviation does not apply)")

        bad = SAMPLE.replace("arch=allowed ref=SDM-2B-STI", "arch=unknown ref=none")
        self.assertEqual(statuses(run(bad))["arch verdicts"], "FAIL", "arch=unknown fails")
        noref = SAMPLE.replace("arch=allowed ref=SDM-2B-STI", "arch=allowed ref=none")
        self.assertEqual(statuses(run(noref))["arch verdicts"], "FAIL", "a verdict without a section fails")
        zero = SAMPLE.replace("control irq_taken=7", "control irq_taken=0")
        self.assertEqual(statuses(run(zero))["positive controls"], "FAIL", "a zero control fails")

        lying = SAMPLE.replace("# deviations: alpha.db_held", "# deviations: none")
        got = statuses(run(lying))
        self.assertEqual(got.get("deviations line"), "FAIL", "a list that hides a contradiction fails")
        self.assertEqual(got.get("deviations"), "FAIL", "and the required deviation is missing")

        fixed = SAMPLE.replace("db_held=Always 4/4", "db_held=Never 0/4").replace(
            "# deviations: alpha.db_held", "# deviations: none")
        self.assertEqual(statuses(run(fixed)).get("deviations"), "FAIL",
                         "a platform that stops deviating shows up")
        extra = SAMPLE.replace("late=Sometimes 2/9 arch=allowed", "late=Sometimes 2/9 arch=never").replace(
            "# deviations: alpha.db_held", "# deviations: alpha.db_held,beta.late")
        self.assertEqual(statuses(run(extra)).get("deviations"), "PASS", "an optional deviation may appear")
        self.assertEqual(statuses(run(extra, RULES.replace("lat*", "other"))).get("deviations"), "FAIL",
                         "a deviation no rule names fails")
        missing = SAMPLE.replace("# deviations: alpha.db_held\n", "")
        self.assertEqual(statuses(run(missing)).get("deviations"), "FAIL",
                         "a run with observations must list deviations")
        # a deviation rule naming EXP.OBS is rejected (the test is the second word)
        with self.assertRaises(HarnessError):
            parse_expectations("*  alpha  deviation  alpha.db_held\n", "x")


    def test_vendor_and_unreached(self) -> None:
        # vendor-aware rules: the line names whose manual it is; an unknown vendor fails
        amd = SAMPLE.replace("ref=SDM-2B-STI\n", "ref=APM-3-STI vendor=amd\n")
        self.assertEqual(statuses(run(amd))["arch verdicts"], "PASS", "vendor=amd is read")
        odd = SAMPLE.replace("ref=SDM-2B-STI\n", "ref=SDM-2B-STI vendor=via\n")
        self.assertEqual(statuses(run(odd))["arch verdicts"], "FAIL", "a vendor other than intel/amd fails")
        # Unreached: listed apart, never a deviation, never pinned
        gone = SAMPLE.replace("db_held=Always 4/4 arch=never", "db_held=Unreached 0/0 arch=never").replace(
            "# deviations: alpha.db_held", "# deviations: none")
        results = run(gone, RULES.replace("*  alpha  deviation   db_held\n", ""))
        self.assertEqual(statuses(results)["deviations"], "PASS", "an unreached window cannot deviate")
        self.assertIn("unreached (no evidence): alpha.db_held", results[0].message,
                      "the unreached observation is named apart")
        with self.assertRaises(HarnessError):
            parse_expectations("*  alpha  observation  db_held=Unreached\n", "x")
