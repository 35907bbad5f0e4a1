"""Self-tests of the architectural-verdict checks (arch_verdicts.py)."""

from .arch_verdicts import check_arch, deviates, parse_deviations
from .expectations import Expectations, parse_expectations
from .inputs import HarnessError
from .ktap import parse_ktap
from .selftest_fixtures import assert_eq, assert_true

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


def statuses(results):
    return {r.label.split(": ", 1)[1]: r.status for r in results}


def run(text, rules=RULES):
    return check_arch("cfg", parse_ktap(text), Expectations(parse_expectations(rules, "x")))


def st_arch_verdicts() -> None:
    assert_true(deviates("never", 1, 5) and deviates("always", 4, 5) and not deviates("always", 0, 0),
                "deviates() follows the verdict")
    assert_true(not deviates("allowed", 3, 5) and not deviates("model-specific", 5, 5), "no claim, no deviation")
    assert_eq(parse_deviations("# deviations: none\n"), [], "none")
    assert_eq(parse_deviations("# deviations: a.x,b.y,... (40 in all)\n"), ["a.x", "b.y"], "truncated list")
    assert_eq(parse_deviations("no such line"), None, "missing line")

    got = statuses(run(SAMPLE))
    assert_eq(got, {"arch verdicts": "PASS", "positive controls": "PASS", "deviations": "PASS"},
              "a consistent log passes (gamma was skipped: its required deviation does not apply)")

    bad = SAMPLE.replace("arch=allowed ref=SDM-2B-STI", "arch=unknown ref=none")
    assert_eq(statuses(run(bad))["arch verdicts"], "FAIL", "arch=unknown fails")
    noref = SAMPLE.replace("arch=allowed ref=SDM-2B-STI", "arch=allowed ref=none")
    assert_eq(statuses(run(noref))["arch verdicts"], "FAIL", "a verdict without a section fails")
    zero = SAMPLE.replace("control irq_taken=7", "control irq_taken=0")
    assert_eq(statuses(run(zero))["positive controls"], "FAIL", "a zero control fails")

    lying = SAMPLE.replace("# deviations: alpha.db_held", "# deviations: none")
    got = statuses(run(lying))
    assert_eq(got.get("deviations line"), "FAIL", "a list that hides a contradiction fails")
    assert_eq(got.get("deviations"), "FAIL", "and the required deviation is missing")

    fixed = SAMPLE.replace("db_held=Always 4/4", "db_held=Never 0/4").replace(
        "# deviations: alpha.db_held", "# deviations: none")
    assert_eq(statuses(run(fixed)).get("deviations"), "FAIL", "a platform that stops deviating shows up")
    extra = SAMPLE.replace("late=Sometimes 2/9 arch=allowed", "late=Sometimes 2/9 arch=never").replace(
        "# deviations: alpha.db_held", "# deviations: alpha.db_held,beta.late")
    assert_eq(statuses(run(extra)).get("deviations"), "PASS", "an optional deviation may appear")
    assert_eq(statuses(run(extra, RULES.replace("lat*", "other"))).get("deviations"), "FAIL",
              "a deviation no rule names fails")
    missing = SAMPLE.replace("# deviations: alpha.db_held\n", "")
    assert_eq(statuses(run(missing)).get("deviations"), "FAIL", "a run with observations must list deviations")
    try:
        parse_expectations("*  alpha  deviation  alpha.db_held\n", "x")
    except HarnessError:
        pass
    else:
        raise AssertionError("a deviation rule naming EXP.OBS must be rejected (the test is the second word)")
