"""Parsing a serial log as KTAP version 1 (docs/output-format.md).

The raw log is cleaned of terminal escapes, carriage returns and other
control characters first.  The run diagnostics (`# racebed: ...`,
`# platform ...`, ...) come just before the `KTAP version 1` header; the
firmware and GRUB output before them is ignored.  Then come the plan `1..N`
(diagnostics between the header and the plan are run diagnostics too), the
results `ok N NAME` / `not ok N NAME` (optionally with a
directive: `# SKIP reason`, `# TIMEOUT reason`, ...), each after its `#`
diagnostics and its nested subtests (a block indented by 4 spaces with its
own version line, `# Subtest: NAME` and plan), and the last line
`# Totals: pass:P fail:F skip:S total:T` (the older
`# summary: N passed, N failed, N skipped` is still read).

Structural problems (no header, no plan, results out of order, a line that
is not KTAP, a log that ends before the plan is complete or before the
totals) are errors, each naming the line and what was expected: the run did
not complete.  Totals that disagree with the results are a warning.
"""

import dataclasses
import re
from typing import Dict, List, Optional, Tuple

from .records import Records, parse_deviations, parse_platform, parse_records

KTAP_HEADER = "KTAP version 1"
INDENT = 4

# ESC sequences: CSI (ESC [ ... final), OSC (ESC ] ... BEL or ST), charset
# designation (ESC ( B and friends), and two-byte ESC sequences.
ANSI_RE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[()*+\-./][ -~]|[ -~])")
CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
PLAN_RE = re.compile(r"^1\.\.(\d+)\s*$")
RESULT_RE = re.compile(r"^(ok|not ok)\s+(\d+)\b\s*(?:-\s+)?(.*)$")
DIRECTIVE_RE = re.compile(r"^(.*?)\s*#\s*(SKIP|TODO|XFAIL|TIMEOUT|ERROR)\b\s*(.*)$", re.IGNORECASE)
SUMMARY_RE = re.compile(r"^#\s*summary:\s*(\d+)\s+passed,\s*(\d+)\s+failed,\s*(\d+)\s+skipped\b")
TOTALS_RE = re.compile(r"^#\s*Totals:\s*pass:(\d+)\s+fail:(\d+)\s+(?:xfail:\d+\s+xpass:\d+\s+)?skip:(\d+)"
                       r"(?:\s+error:\d+)?(?:\s+total:(\d+))?\s*$")
SUBTEST_RE = re.compile(r"^#\s*Subtest:\s*(\S.*)$")
OBSERVATION_RE = re.compile(r"^#\s*observation\s+([^\s=]+)=(\S*)")
BOOT_MS_RE = re.compile(r"#.*\bboot_ms=(\d+(?:\.\d+)?)")
SHOWN_LEN = 80


def clean_serial(text: str) -> str:
    """Removes terminal escape sequences, carriage returns and other control
    characters (keeping tabs and newlines) from raw serial output."""
    return CONTROL_RE.sub("", ANSI_RE.sub("", text))


def shown(line: str) -> str:
    """A line quoted for an error message, cut to a readable length."""
    line = line.strip()
    return f"`{line[:SHOWN_LEN]}...`" if len(line) > SHOWN_LEN else f"`{line}`"


@dataclasses.dataclass
class Counts:
    passed: int = 0
    failed: int = 0
    skipped: int = 0

    def as_tuple(self) -> Tuple[int, int, int]:
        return (self.passed, self.failed, self.skipped)

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.skipped


@dataclasses.dataclass
class KtapTest:
    """One KTAP result line, the diagnostics printed before it and its
    nested subtests.  diagnostics holds every line before the result (the
    subtests' lines stripped of their indent, so observation lookups see
    them); own holds only this test's own `#` lines."""

    number: int
    name: str
    ok: bool
    directive: str = ""  # SKIP, TIMEOUT, TODO, ... (upper case) or ""
    reason: str = ""
    diagnostics: List[str] = dataclasses.field(default_factory=list)
    own: List[str] = dataclasses.field(default_factory=list)
    subtests: List["KtapTest"] = dataclasses.field(default_factory=list)
    line: int = 0  # line number of the result line in the log
    _records: Optional[Records] = dataclasses.field(default=None, repr=False, compare=False)

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

    @property
    def records(self) -> Records:
        """The structured lines among this test's own diagnostics."""
        if self._records is None:
            self._records = parse_records(self.own if self.own or not self.diagnostics else self.diagnostics)
        return self._records

    def leaf_counts(self, into: Counts) -> None:
        """Adds this test's leaves (the test itself when it has no subtests)
        to into: the way Linux's kunit.py counts."""
        if self.subtests:
            for sub in self.subtests:
                sub.leaf_counts(into)
            return
        if self.outcome == "ok":
            into.passed += 1
        elif self.outcome == "skip":
            into.skipped += 1
        else:
            into.failed += 1


@dataclasses.dataclass
class KtapLog:
    """A parsed serial log.  errors are structural problems that mean the
    run did not complete (truncated, garbled); crashed says a crash report
    (`# crash:`) is in the log."""

    text: str  # the cleaned log
    header_found: bool = False
    plan: Optional[int] = None
    tests: List[KtapTest] = dataclasses.field(default_factory=list)
    summary: Optional[Tuple[int, int, int]] = None  # from `# Totals:` (or the older `# summary:`)
    totals_total: Optional[int] = None
    errors: List[str] = dataclasses.field(default_factory=list)
    warnings: List[str] = dataclasses.field(default_factory=list)
    boot_ms: Optional[str] = None
    run_diagnostics: List[str] = dataclasses.field(default_factory=list)  # before the plan
    trailing: List[str] = dataclasses.field(default_factory=list)  # after the last result
    platform: Dict[str, str] = dataclasses.field(default_factory=dict)
    deviations: Optional[List[str]] = None
    crashed: bool = False
    crash_in: Optional[str] = None  # the test whose diagnostics hold the crash report

    def counts(self) -> Counts:
        """Top-level results: what the plan and `# Totals:` count."""
        c = Counts()
        for t in self.tests:
            c.passed += t.outcome == "ok"
            c.failed += t.outcome == "not-ok"
            c.skipped += t.outcome == "skip"
        return c

    def leaf_counts(self) -> Counts:
        """Leaf results (subtests instead of their parent), as kunit.py counts."""
        c = Counts()
        for t in self.tests:
            t.leaf_counts(c)
        return c


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


@dataclasses.dataclass
class _Block:
    """A (sub)test list being read: the top level or one nested block."""

    depth: int
    name: str = ""
    plan: Optional[int] = None
    plan_line: int = 0
    tests: List[KtapTest] = dataclasses.field(default_factory=list)
    pending: List[str] = dataclasses.field(default_factory=list)  # all lines, stripped
    own: List[str] = dataclasses.field(default_factory=list)  # this block's own `#` lines
    reported_order: bool = False


class _Parser:
    def __init__(self, log: KtapLog, header_line: int):
        self.log = log
        self.header_line = header_line
        self.top = _Block(0)
        self.stack: List[_Block] = [self.top]
        self.last_line = 0
        self.last_text = ""
        self.held: Dict[int, List[KtapTest]] = {}  # closed subtest blocks waiting for their parent's result

    def error(self, number: int, message: str) -> None:
        self.log.errors.append(f"line {number}: {message}")

    def close_deeper(self, depth: int, number: int) -> None:
        """Closes the blocks deeper than depth; each closed block's tests wait
        (in held) for the next result line one level up: their parent."""
        while len(self.stack) > 1 and self.stack[-1].depth > depth:
            block = self.stack.pop()
            self.check_plan(block, number)
            self.held.setdefault(block.depth - 1, []).extend(block.tests)

    def check_plan(self, block: _Block, number: int) -> None:
        if block.plan is not None and block.plan != len(block.tests):
            what = f"subtest {block.name or '(unnamed)'}" if block.depth else "the run"
            self.error(number, f"{what}: plan 1..{block.plan} (line {block.plan_line}) but "
                               f"{len(block.tests)} results")

    def line(self, number: int, raw: str) -> bool:
        """Handles one line; returns False after the totals (stop reading)."""
        text = raw.rstrip()
        if not text.strip():
            return True
        expanded = text.expandtabs(INDENT)
        indent = len(expanded) - len(expanded.lstrip(" "))
        depth = (indent + INDENT - 1) // INDENT
        body = expanded.strip()
        self.last_line, self.last_text = number, body
        if depth > 0:
            return self.nested(number, depth, body)
        self.close_deeper(0, number)
        top = self.top
        plan = PLAN_RE.match(body)
        result = RESULT_RE.match(body)
        totals = TOTALS_RE.match(body)
        summary = SUMMARY_RE.match(body)
        if plan:
            if top.plan is None and not top.tests:
                top.plan, top.plan_line = int(plan.group(1)), number
                self.log.plan = top.plan
                self.log.run_diagnostics = list(top.own)
                top.pending, top.own = [], []
            else:
                self.error(number, f"unexpected plan line {shown(body)}: the plan was "
                                   f"{'given on line %d' % top.plan_line if top.plan is not None else 'missing'}")
        elif result:
            self.result(number, top, result, body)
        elif totals or summary:
            if totals:
                self.log.summary = (int(totals.group(1)), int(totals.group(2)), int(totals.group(3)))
                self.log.totals_total = int(totals.group(4)) if totals.group(4) else None
            elif summary:
                self.log.summary = (int(summary.group(1)), int(summary.group(2)), int(summary.group(3)))
            self.log.trailing = list(top.own)
            return False
        elif body.startswith("#"):
            top.pending.append(body)
            top.own.append(body)
        elif body == KTAP_HEADER:
            self.error(number, "a second `KTAP version 1` at the top level (the machine rebooted?)")
        else:
            self.error(number, f"expected a `#` diagnostic, a result line (`ok N NAME`) or the totals, "
                               f"got {shown(body)}")
            top.pending.append(body)
        return True

    def result(self, number: int, block: _Block, match: "re.Match", body: str) -> None:
        test = parse_result_line(match, block.pending)
        test.own, test.subtests, test.line = block.own, self.held.pop(block.depth, []), number
        block.pending, block.own = [], []
        if block.depth == 0 and block.plan is None and not block.tests:
            self.error(number, f"expected the plan `1..N` before the first result, got {shown(body)}")
        expected = len(block.tests) + 1
        if test.number != expected and not block.reported_order:
            where = f" in subtest {block.name}" if block.depth else ""
            self.error(number, f"result {shown(body)} out of order{where}: expected test number {expected}")
            block.reported_order = True
        block.tests.append(test)

    def nested(self, number: int, depth: int, body: str) -> bool:
        # every nested line is also context for the enclosing top-level test
        self.top.pending.append(body)
        if body == KTAP_HEADER:
            self.close_deeper(depth - 1, number)
            if self.stack[-1].depth != depth - 1:
                self.error(number, f"nested `KTAP version 1` at depth {depth} without an enclosing block")
            self.stack.append(_Block(depth))
            return True
        block = self.stack[-1]
        if block.depth < depth:
            self.error(number, f"expected `{' ' * INDENT * depth}KTAP version 1` to open a subtest block, "
                               f"got {shown(body)}")
            self.stack.append(_Block(depth))
            block = self.stack[-1]
        elif block.depth > depth:
            self.close_deeper(depth, number)
            block = self.stack[-1]
        if block.depth != depth:
            return True
        plan = PLAN_RE.match(body)
        result = RESULT_RE.match(body)
        header = SUBTEST_RE.match(body)
        if header and not block.tests and block.plan is None:
            block.name = header.group(1).strip()
        elif plan and block.plan is None and not block.tests:
            block.plan, block.plan_line = int(plan.group(1)), number
        elif result:
            self.result(number, block, result, body)
        elif body.startswith("#"):
            block.pending.append(body)
            block.own.append(body)
        else:
            self.error(number, f"expected a `#` diagnostic or a result line in subtest "
                               f"{block.name or '(unnamed)'}, got {shown(body)}")
        return True

    def finish(self, end_line: int) -> None:
        log, top = self.log, self.top
        self.close_deeper(0, end_line)
        log.tests = top.tests
        if top.pending and log.summary is None:
            log.trailing = list(top.own)
        if top.plan is None and not top.tests:
            self.error(self.last_line or self.header_line,
                       "expected the plan `1..N` after the KTAP header, the log ends first")
        if log.summary is None:
            after = f"after {shown(self.last_text)}" if self.last_text else "after the header"
            missing = ""
            if top.plan is not None and len(top.tests) < top.plan:
                n = len(top.tests) + 1
                missing = (f"result line `ok {n} ...` / `not ok {n} ...` ({top.plan - len(top.tests)} "
                           f"of the plan 1..{top.plan} missing), then ")
            self.error(self.last_line or self.header_line,
                       f"the log ends {after}: expected {missing}`# Totals: pass:P fail:F skip:S total:T` "
                       f"(the run did not complete)")
        elif top.plan is not None and len(top.tests) != top.plan:
            self.error(self.last_line, f"plan says {top.plan} tests but the log has {len(top.tests)} results")
        if log.summary is not None:
            counted = log.counts().as_tuple()
            if counted != log.summary:
                log.warnings.append(
                    "totals line says pass:{} fail:{} skip:{} but the results give pass:{} fail:{} skip:{}"
                    .format(*log.summary, *counted))
            if log.totals_total is not None and log.totals_total != sum(log.summary):
                log.warnings.append(f"totals line says total:{log.totals_total} but pass+fail+skip is "
                                    f"{sum(log.summary)}")


def parse_ktap(raw: str) -> KtapLog:
    """Parses a raw serial log as KTAP version 1 (see the module docstring)."""
    text = clean_serial(raw)
    log = KtapLog(text=text)
    lines = text.split("\n")
    start = next((i for i, l in enumerate(lines) if l.rstrip().endswith(KTAP_HEADER)), None)
    if start is None:
        log.errors.append(f"no `{KTAP_HEADER}` line in the serial log ({len(lines)} lines read)")
        return log
    log.header_found = True
    preamble = [l.strip() for l in lines[:start]]
    first = max((i for i, l in enumerate(preamble) if l.startswith("# racebed:")), default=None)
    if first is None:  # no banner: the `#` lines right before the header
        first = len(preamble)
        while first > 0 and preamble[first - 1].startswith("#"):
            first -= 1
    preamble_diagnostics = [l for l in preamble[first:] if l.startswith("#")]
    parser = _Parser(log, start + 1)
    for number, line in enumerate(lines[start + 1:], start + 2):
        if not parser.line(number, line):
            break
    parser.finish(len(lines))
    log.run_diagnostics = preamble_diagnostics + log.run_diagnostics

    for line in log.run_diagnostics + log.trailing:
        body = line[1:].strip()
        platform = parse_platform(body)
        if platform is not None:
            log.platform = platform
        deviations = parse_deviations(body)
        if deviations is not None:
            log.deviations = deviations
    m = BOOT_MS_RE.search("\n".join(log.run_diagnostics) or text)
    if m:
        log.boot_ms = m.group(1)
    for test in log.tests:
        if any(d.startswith("# crash:") for d in test.diagnostics):
            log.crashed, log.crash_in = True, test.name
            break
    if not log.crashed and re.search(r"^# crash:", text, re.MULTILINE):
        log.crashed = True
    return log
