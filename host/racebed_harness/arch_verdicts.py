"""Checking the architecture's verdicts in a finished boot (docs/output-format.md):

- every `# observation` line carries a known `arch=VERDICT` (never `unknown`: a
  rule is missing from the experiment's ARCH_RULES table) and a `ref=` section;
- every `# control NAME=COUNT` is non-zero (a window never hit);
- the observations that printed `Unreached` (their precondition never occurred) are listed
  apart: they are no evidence, so no expectation may pin them and none can deviate;
- the run's `# deviations:` line lists exactly the observations whose platform
  word contradicts their verdict (recomputed here from the observation lines);
- that list matches the expectation file's `deviation` rules (required, for
  each test that ran) and `deviation?` rules (allowed, for timing-dependent
  ones): a platform that starts or stops deviating shows up.
"""

import dataclasses
import fnmatch
import re
from typing import Dict, List, Optional, Set, Tuple

from .expectations import Expectations
from .ktap import KtapLog
from .report import Result

VERDICTS = ("never", "always", "allowed", "model-specific", "control")
VENDORS = ("intel", "amd")
OBS_LINE_RE = re.compile(r"^#\s*observation\s+([^\s=]+)=(\S+)\s+(\d+)/(\d+)(.*)$")
ARCH_RE = re.compile(r"\barch=(\S+)")
REF_RE = re.compile(r"\bref=(\S+)")
VENDOR_RE = re.compile(r"\bvendor=(\S+)")
CONTROL_RE = re.compile(r"^#\s*control\s+([^\s=]+)=(\d+)\b")
DEVIATIONS_RE = re.compile(r"^#\s*deviations:\s*(.*?)\s*$", re.MULTILINE)


@dataclasses.dataclass
class Observation:
    test: str
    name: str
    word: str
    hits: int
    trials: int
    verdict: str  # "" when the line has no arch= token
    ref: str
    vendor: str = ""  # whose manual: intel or amd ("" in logs from before vendor-aware rules)

    @property
    def key(self) -> str:
        return f"{self.test}.{self.name}"


def deviates(verdict: str, hits: int, trials: int) -> bool:
    """Whether the platform's counts contradict the verdict (kernel/arch_rules.c)."""
    if trials == 0:
        return False
    if verdict == "never":
        return hits != 0
    if verdict == "always":
        return hits != trials
    return False


def parse_observations(log: KtapLog) -> Tuple[List[Observation], List[str]]:
    """The observation lines of every test; and the lines that look like
    observations but do not parse."""
    found, bad = [], []
    for test in log.tests:
        for line in test.diagnostics:
            if not re.match(r"^#\s*observation\b", line):
                continue
            m = OBS_LINE_RE.match(line)
            if not m:
                bad.append(f"{test.name}: {line}")
                continue
            rest = m.group(5)
            arch, ref, vendor = ARCH_RE.search(rest), REF_RE.search(rest), VENDOR_RE.search(rest)
            found.append(Observation(test.name, m.group(1), m.group(2), int(m.group(3)), int(m.group(4)),
                                     arch.group(1) if arch else "", ref.group(1) if ref else "",
                                     vendor.group(1) if vendor else ""))
    return found, bad


def parse_deviations(text: str) -> Optional[List[str]]:
    """The `# deviations:` list, [] for `none`, None when the line is missing."""
    m = DEVIATIONS_RE.search(text)
    if not m:
        return None
    body = m.group(1)
    if body == "none":
        return []
    body = re.sub(r",\.\.\. \(\d+ in all\)$", "", body)
    return [item for item in body.split(",") if item]


def check_verdicts(config: str, observations: List[Observation], bad: List[str]) -> Result:
    label = f"{config}: arch verdicts"
    problems = list(f"unparsable: {b}" for b in bad)
    for o in observations:
        if o.verdict not in VERDICTS:
            problems.append(f"{o.key}: arch={o.verdict or '(missing)'} (add a rule to the ARCH_RULES table in the experiment's file)")
        elif o.verdict != "control" and (not o.ref or o.ref == "none"):
            problems.append(f"{o.key}: arch={o.verdict} without a ref= section")
        elif o.vendor and o.vendor not in VENDORS:
            problems.append(f"{o.key}: vendor={o.vendor} (intel or amd)")
        elif o.word == "Unreached" and o.trials != 0:
            problems.append(f"{o.key}: Unreached with {o.trials} trials")
    if problems:
        return Result("FAIL", label, f"{len(problems)} observation(s) without an architectural verdict", problems)
    # the observations whose precondition never occurred, apart: no evidence either way
    gone = [o.key for o in observations if o.trials == 0]
    return Result("PASS", label, f"{len(observations)} observations"
                  + (f", {len(gone)} unreached (no evidence): {', '.join(gone)}" if gone else ""))


def check_controls(config: str, log: KtapLog, expectations: Optional[Expectations] = None) -> Result:
    """Every `# control` count must be > 0, except in a test the expectation file expects to
    fail (not-ok): there the zero control is the failure the file records for this platform."""
    label = f"{config}: positive controls"
    zero, n = [], 0
    for test in log.tests:
        if expectations is not None and expectations.expected_result(config, test.name)[0] == "not-ok":
            continue
        for line in test.diagnostics:
            m = CONTROL_RE.match(line)
            if m:
                n += 1
                if int(m.group(2)) == 0:
                    zero.append(f"{test.name}: {line}")
    if zero:
        return Result("FAIL", label, f"{len(zero)} window(s) never hit", zero)
    return Result("PASS", label, f"{n} controls")


def check_deviations(config: str, log: KtapLog, observations: List[Observation], expectations: Expectations,
                     ran: Set[str]) -> List[Result]:
    label = f"{config}: deviations"
    reported = parse_deviations(log.text)
    if reported is None:
        if not observations:
            return []  # nothing ran that could deviate (a bad command line, say)
        return [Result("FAIL", label, "no `# deviations:` line before the summary")]
    computed = [o.key for o in observations if deviates(o.verdict, o.hits, o.trials)]
    results = []
    if sorted(set(reported)) != sorted(set(computed)):
        missing = sorted(set(computed) - set(reported))
        extra = sorted(set(reported) - set(computed))
        results.append(Result("FAIL", f"{label} line", "does not match the observation lines",
                              [f"contradicted but not listed: {m}" for m in missing] +
                              [f"listed but not contradicted: {e}" for e in extra]))
    required: Dict[str, str] = {}
    optional: List[Tuple[str, str]] = []
    for rule in expectations.deviation_rules(config):
        for test in sorted(ran):
            if fnmatch.fnmatchcase(test, rule.test_glob):
                if rule.kind == "deviation":
                    required.setdefault(f"{test}.{rule.obs_name}", rule.where)
                else:
                    optional.append((f"{test}.{rule.obs_name}", rule.where))
    details = []
    for key, where in sorted(required.items()):
        if key not in reported:
            details.append(f"expected deviation missing: {key} ({where})")
    for key in reported:
        if key not in required and not any(fnmatch.fnmatchcase(key, pat) for pat, _ in optional):
            details.append(f"unexpected deviation: {key} (not in a deviation rule)")
    if details:
        results.append(Result("FAIL", label, "differ from the expectation file", details))
    else:
        results.append(Result("PASS", label, f"{len(reported)} listed, {len(required)} required"))
    return results


def check_arch(config: str, log: KtapLog, expectations: Expectations) -> List[Result]:
    """The arch-verdict, control and deviation checks of one completed boot
    (nothing when the run did not reach its summary: that is reported elsewhere)."""
    if log.summary is None:
        return []
    observations, bad = parse_observations(log)
    ran = {t.name for t in log.tests if t.outcome != "skip"}
    results = [check_verdicts(config, observations, bad), check_controls(config, log, expectations)]
    results += check_deviations(config, log, observations, expectations, ran)
    return results
