"""Parsing a serial log as KTAP version 1.

The raw log is cleaned of terminal escapes and control characters first, and
everything before the `KTAP version 1` header (firmware and GRUB output) is
ignored.  Then come the plan `1..N`, the results `ok N NAME` or
`not ok N NAME`, optionally with a directive (`# SKIP reason`,
`# TIMEOUT reason`, ...), each after its `#` diagnostics, and the line
`# summary: N passed, N failed, N skipped`.  A missing header, plan or
summary, results out of order, or a plan that does not match the number of
results is an error (the run did not complete); a summary line that does not
match the results is a warning.
"""

import dataclasses
import re
from typing import List, Optional, Tuple

KTAP_HEADER = "KTAP version 1"

# ESC sequences: CSI (ESC [ ... final), OSC (ESC ] ... BEL or ST), charset
# designation (ESC ( B and friends), and two-byte ESC sequences.
ANSI_RE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[()*+\-./][ -~]|[ -~])")
CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
PLAN_RE = re.compile(r"^1\.\.(\d+)\b")
RESULT_RE = re.compile(r"^(ok|not ok)\s+(\d+)\b\s*(?:-\s+)?(.*)$")
DIRECTIVE_RE = re.compile(r"^(.*?)\s*#\s*(SKIP|TODO|XFAIL|TIMEOUT|ERROR)\b\s*(.*)$", re.IGNORECASE)
SUMMARY_RE = re.compile(r"^#\s*summary:\s*(\d+)\s+passed,\s*(\d+)\s+failed,\s*(\d+)\s+skipped\b")
OBSERVATION_RE = re.compile(r"^#\s*observation\s+([^\s=]+)=(\S*)")
BOOT_MS_RE = re.compile(r"#.*\bboot_ms=(\d+(?:\.\d+)?)")


def clean_serial(text: str) -> str:
    """Removes terminal escape sequences, carriage returns and other control
    characters (keeping tabs and newlines) from raw serial output."""
    return CONTROL_RE.sub("", ANSI_RE.sub("", text))


@dataclasses.dataclass
class KtapTest:
    """One KTAP result line and the diagnostics printed before it."""

    number: int
    name: str
    ok: bool
    directive: str = ""  # SKIP, TIMEOUT, TODO, ... (upper case) or ""
    reason: str = ""
    diagnostics: List[str] = dataclasses.field(default_factory=list)

    @property
    def outcome(self) -> str:
        """ok, skip or not-ok (any `# SKIP` result is a skip)."""
        if self.directive == "SKIP":
            return "skip"
        return "ok" if self.ok else "not-ok"

    def observation(self, name: str) -> List[str]:
        """The values of `# observation NAME=VALUE` diagnostics for name."""
        values = []
        for line in self.diagnostics:
            m = OBSERVATION_RE.match(line)
            if m and m.group(1) == name:
                values.append(m.group(2))
        return values


@dataclasses.dataclass
class KtapLog:
    """A parsed serial log.  errors are structural problems that mean the
    run did not complete (the config crashed)."""

    text: str  # the cleaned log
    header_found: bool = False
    plan: Optional[int] = None
    tests: List[KtapTest] = dataclasses.field(default_factory=list)
    summary: Optional[Tuple[int, int, int]] = None
    errors: List[str] = dataclasses.field(default_factory=list)
    warnings: List[str] = dataclasses.field(default_factory=list)
    boot_ms: Optional[str] = None


def parse_result_line(match: "re.Match", diagnostics: List[str]) -> KtapTest:
    """Builds a KtapTest from a RESULT_RE match."""
    ok = match.group(1) == "ok"
    number = int(match.group(2))
    description = match.group(3).strip()
    directive = reason = ""
    d = DIRECTIVE_RE.match(description)
    if d:
        description, directive, reason = d.group(1), d.group(2).upper(), d.group(3).strip()
    elif "#" in description:
        description = description.split("#", 1)[0]
    name = description.strip() or f"test{number}"
    return KtapTest(number, name, ok, directive, reason, diagnostics)


def parse_ktap(raw: str) -> KtapLog:
    """Parses a raw serial log as KTAP version 1 (see the module docstring)."""
    text = clean_serial(raw)
    log = KtapLog(text=text)
    m = BOOT_MS_RE.search(text)
    if m:
        log.boot_ms = m.group(1)

    lines = text.split("\n")
    start = next((i for i, l in enumerate(lines) if l.rstrip().endswith(KTAP_HEADER)), None)
    if start is None:
        log.errors.append(f"no `{KTAP_HEADER}` line in the serial log")
        return log
    log.header_found = True

    pending: List[str] = []  # diagnostics waiting for their result line
    reported_order = reported_no_plan = False  # report each of these once
    for line in lines[start + 1:]:
        line = line.rstrip()
        if not line.strip():
            continue
        if line[0] in " \t":  # indented: nested output, kept as context
            pending.append(line.strip())
            continue
        plan = PLAN_RE.match(line)
        result = RESULT_RE.match(line)
        summary = SUMMARY_RE.match(line)
        if plan:
            if log.plan is None and not log.tests:
                log.plan = int(plan.group(1))
            else:
                log.errors.append(f"unexpected plan line `{line}`")
        elif result:
            test = parse_result_line(result, pending)
            pending = []
            if log.plan is None and not reported_no_plan:
                log.errors.append("no plan line (1..N) before the first result")
                reported_no_plan = True
            expected = len(log.tests) + 1
            if test.number != expected and not reported_order:
                log.errors.append(f"result `{line}` out of order: expected test number {expected}")
                reported_order = True
            log.tests.append(test)
        elif summary:
            log.summary = tuple(int(g) for g in summary.groups())
            break
        else:
            pending.append(line)  # a diagnostic, or unknown text kept as context

    if log.plan is None and not log.tests:
        log.errors.append("no plan line (1..N) after the KTAP header")
    if log.plan is not None and log.plan != len(log.tests):
        log.errors.append(f"plan says {log.plan} tests but the log has {len(log.tests)} results")
    if log.summary is None:
        log.errors.append("no `# summary: N passed, N failed, N skipped` line")
    else:
        counted = (
            sum(t.outcome == "ok" for t in log.tests),
            sum(t.outcome == "not-ok" for t in log.tests),
            sum(t.outcome == "skip" for t in log.tests),
        )
        if counted != log.summary:
            log.warnings.append(
                "summary line says {} passed, {} failed, {} skipped but the results give "
                "{} passed, {} failed, {} skipped".format(*log.summary, *counted))
    return log
