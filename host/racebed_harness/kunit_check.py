"""Cross-check with Linux's own KTAP parser: tools/testing/kunit/kunit.py
from Debian's linux-source-6.1, unpacked into build/ by the Makefile.

The log is fed on standard input (`kunit.py parse < LOG`), as a CI
pipeline feeds it; kunit.py prints `Testing complete. Ran N tests: passed:
P, failed: F, crashed: C, skipped: S, errors: E` (zero counts left out).
It counts leaves: a test with subtests counts as its subtests.
"""

import dataclasses
import os
import re
import subprocess
import sys
from typing import Optional

from .ktap import KtapLog
from .report import Result

COMPLETE_RE = re.compile(r"Testing complete\. Ran (\d+) tests?(?::\s*(.*))?$")
COUNT_RE = re.compile(r"(passed|failed|crashed|skipped|errors): (\d+)")
KUNIT_TIMEOUT_S = 60


@dataclasses.dataclass
class KunitCounts:
    ran: int = 0
    passed: int = 0
    failed: int = 0
    crashed: int = 0
    skipped: int = 0
    errors: int = 0

    def text(self) -> str:
        return (f"passed {self.passed}, failed {self.failed}, crashed {self.crashed}, "
                f"skipped {self.skipped}, errors {self.errors}")


def parse_kunit_output(output: str) -> Optional[KunitCounts]:
    """The counts of kunit.py's `Testing complete.` line (None if absent)."""
    for line in reversed(output.splitlines()):
        line = re.sub(r"\x1b\[[0-9;]*m", "", line)
        m = COMPLETE_RE.search(line)
        if m:
            counts = KunitCounts(ran=int(m.group(1)))
            for key, value in COUNT_RE.findall(m.group(2) or ""):
                setattr(counts, key, int(value))
            return counts
    return None


def run_kunit(kunit_py: str, log_path: str) -> "tuple[Optional[KunitCounts], str]":
    """Runs `kunit.py parse` with the log on stdin; returns its counts and output."""
    with open(log_path, "rb") as log:
        done = subprocess.run([sys.executable, kunit_py, "parse"], stdin=log, capture_output=True,
                              timeout=KUNIT_TIMEOUT_S)
    output = done.stdout.decode("utf-8", "replace") + done.stderr.decode("utf-8", "replace")
    return parse_kunit_output(output), output


def check_kunit(label: str, kunit_py: Optional[str], log_path: str, log: KtapLog) -> Result:
    """One result: kunit.py's pass/fail/skip counts equal the harness's leaf
    counts (kunit.py's crashed count as failed), with no parse errors."""
    label = f"{label}: kunit.py"
    if not kunit_py or not os.path.isfile(kunit_py):
        return Result("FAIL", label, f"Linux's kunit.py not found at {kunit_py} (make unpacks it from "
                                     "/usr/src/linux-source-6.1.tar.xz)")
    try:
        counts, output = run_kunit(kunit_py, log_path)
    except (OSError, subprocess.TimeoutExpired) as e:
        return Result("FAIL", label, f"cannot run kunit.py: {e}")
    tail = ["kunit.py output (last lines):"] + ["| " + l for l in output.strip().splitlines()[-12:]]
    if counts is None:
        return Result("FAIL", label, "kunit.py printed no `Testing complete.` line", tail)
    ours = log.leaf_counts()
    theirs = (counts.passed, counts.failed + counts.crashed, counts.skipped)
    if theirs != ours.as_tuple() or counts.errors:
        return Result("FAIL", label, f"kunit.py counts {counts.text()}; harness counts passed {ours.passed}, "
                                     f"failed {ours.failed}, skipped {ours.skipped}", tail)
    return Result("PASS", label, f"same counts: passed {ours.passed}, failed {ours.failed}, skipped {ours.skipped}")
