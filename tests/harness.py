#!/usr/bin/env python3
"""racebed CI harness (`make test`).

    python3 tests/harness.py [--unit PATH]... [--only NAME[,NAME]] [--timeout S]
                             [--elf build/racebed.elf] [--out build/test]
    python3 tests/harness.py --self-test

1. Runs each host unit-test executable given with --unit: one result each,
   passed when it exits 0.
2. Boots the kernel once per configuration of tests/matrix.txt (ISO built by
   tools/mkiso.sh and cached per command line), headless, serial output to
   OUT/NAME.log, QEMU killed after --timeout seconds.
3. Parses each serial log as KTAP version 1 and checks every test result
   against tests/expect/$ACCEL.exp, and QEMU's exit status against the
   configuration's expected exit.

Every checked result is one line, PASS / FAIL / SKIP, and the output ends
with the line `N passed, N failed, N skipped`.  Exit status: 1 if anything
failed, else 0.

Environment: ACCEL (tcg or kvm, default tcg), QEMU (the QEMU binary).

Matrix file (tests/matrix.txt), one configuration a line, `#` comments:

    NAME MACHINE FIRMWARE SMP EXPECTED_EXIT [KERNEL_ARGS...]

MACHINE is pc or q35, FIRMWARE bios or uefi, EXPECTED_EXIT pass, fail, crash
or cmdline (the kernel's exit values 0, 1, 2, 3).

Expectation file (tests/expect/ACCEL.exp), one rule a line, `#` comments:

    CONFIG_GLOB TEST_GLOB ok|skip|not-ok
    CONFIG_GLOB TEST_GLOB observation NAME=VALUE

Globs are shell-style (fnmatch).  For each (configuration, test) the first
matching result rule gives the expected result, `ok` when none matches.  For
each (configuration, test, NAME) the first matching observation rule
requires a diagnostic `# observation NAME=VALUE ...` among that test's
diagnostics (VALUE is compared with the first word after `=`).
"""

import argparse
import dataclasses
import fnmatch
import hashlib
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(TESTS_DIR)
sys.path.insert(0, TESTS_DIR)
import qemu as qemu_cli  # noqa: E402  (tests/qemu.py, next to this file)

MKISO = os.path.join(REPO_DIR, "tools", "mkiso.sh")
GRUB_TEMPLATE = os.path.join(REPO_DIR, "iso", "grub.cfg.in")
DEFAULT_MATRIX = os.path.join(TESTS_DIR, "matrix.txt")
EXPECT_DIR = os.path.join(TESTS_DIR, "expect")

EXIT_NAMES = {"pass": 0, "fail": 1, "crash": 2, "cmdline": 3}
EXIT_WORDS = {value: word for word, value in EXIT_NAMES.items()}
RESULT_WORDS = ("ok", "skip", "not-ok")
MACHINES = ("pc", "q35")
FIRMWARES = ("bios", "uefi")
LOG_TAIL_LINES = 20
KILL_GRACE_S = 5.0
POLL_INTERVAL_S = 0.05
KTAP_HEADER = "KTAP version 1"


class HarnessError(Exception):
    """A problem with the harness's inputs (matrix, expectations, files)."""


# ---------------------------------------------------------------------------
# Reporting


@dataclasses.dataclass
class Result:
    """One checked result: status is PASS, FAIL or SKIP."""

    status: str
    label: str
    message: str = ""
    details: List[str] = dataclasses.field(default_factory=list)

    def line(self) -> str:
        """The one-line form: `PASS label`, `FAIL label: message`, `SKIP label (message)`."""
        if self.status == "SKIP":
            return f"SKIP {self.label} ({self.message})" if self.message else f"SKIP {self.label}"
        if self.message:
            return f"{self.status} {self.label}: {self.message}"
        return f"{self.status} {self.label}"


class Reporter:
    """Prints results as they come and counts them."""

    def __init__(self, out=None, verbose_details: bool = True):
        self.out = out or sys.stdout
        self.counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}
        self.verbose_details = verbose_details

    def info(self, text: str) -> None:
        """Prints a line that is not a result."""
        print(text, file=self.out, flush=True)

    def add(self, result: Result) -> None:
        """Counts and prints one result (with its details under a failure)."""
        self.counts[result.status] += 1
        lines = [result.line()]
        if self.verbose_details and result.status == "FAIL":
            lines += ["    " + d for d in result.details]
        print("\n".join(lines), file=self.out, flush=True)

    def extend(self, results: Sequence[Result]) -> None:
        for r in results:
            self.add(r)

    @property
    def failed(self) -> int:
        return self.counts["FAIL"]

    def summary(self) -> str:
        c = self.counts
        return f"{c['PASS']} passed, {c['FAIL']} failed, {c['SKIP']} skipped"


def shown_path(path: str) -> str:
    """path relative to the current directory when it is below it, else
    absolute: short, and unambiguous in messages."""
    full = os.path.abspath(path)
    rel = os.path.relpath(full)
    return full if rel.startswith("..") else rel


def log_tail(text: str, n: int = LOG_TAIL_LINES) -> List[str]:
    """The last n non-blank lines of a (cleaned) serial log, ready to print."""
    lines = [l for l in text.split("\n") if l.strip()]
    if not lines:
        return ["(the serial log is empty)"]
    head = [f"last {min(n, len(lines))} lines of the serial log:"]
    return head + ["| " + l for l in lines[-n:]]


# ---------------------------------------------------------------------------
# Matrix


@dataclasses.dataclass
class Config:
    """One boot configuration of the matrix."""

    name: str
    machine: str
    firmware: str
    smp: int
    expected_exit: str
    args: List[str]

    def describe(self) -> str:
        args = " ".join(self.args) if self.args else "(none)"
        return (f"{self.machine}, {self.firmware}, smp {self.smp}, "
                f"expect exit {EXIT_NAMES[self.expected_exit]} ({self.expected_exit}), args: {args}")


def strip_comment(line: str) -> List[str]:
    """Splits a line into words, dropping everything from a word that starts
    with `#`."""
    words = []
    for word in line.split():
        if word.startswith("#"):
            break
        words.append(word)
    return words


def parse_matrix(text: str, source: str = "matrix") -> List[Config]:
    """Parses the boot matrix; raises HarnessError naming file:line."""
    configs: List[Config] = []
    seen = set()
    for number, line in enumerate(text.splitlines(), 1):
        words = strip_comment(line)
        if not words:
            continue
        where = f"{source}:{number}"
        if len(words) < 5:
            raise HarnessError(f"{where}: expected `NAME MACHINE FIRMWARE SMP EXPECTED_EXIT [ARGS...]`")
        name, machine, firmware, smp, expected = words[:5]
        if not re.fullmatch(r"[A-Za-z0-9._-]+", name):
            raise HarnessError(f"{where}: bad config name {name!r} (letters, digits, . _ - only)")
        if name in seen:
            raise HarnessError(f"{where}: duplicate config name {name!r}")
        if machine not in MACHINES:
            raise HarnessError(f"{where}: machine must be one of {', '.join(MACHINES)}, not {machine!r}")
        if firmware not in FIRMWARES:
            raise HarnessError(f"{where}: firmware must be one of {', '.join(FIRMWARES)}, not {firmware!r}")
        if not smp.isdigit() or int(smp) < 1:
            raise HarnessError(f"{where}: smp must be a positive number, not {smp!r}")
        if expected not in EXIT_NAMES:
            raise HarnessError(f"{where}: expected exit must be one of {', '.join(EXIT_NAMES)}, not {expected!r}")
        seen.add(name)
        configs.append(Config(name, machine, firmware, int(smp), expected, words[5:]))
    return configs


def select_configs(configs: List[Config], only: Optional[str]) -> List[Config]:
    """Keeps the configs named in the comma-separated list `only` (all when
    None); raises HarnessError on an unknown name."""
    if not only:
        return configs
    wanted = [n for n in only.split(",") if n]
    known = {c.name for c in configs}
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise HarnessError(f"--only: unknown config {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    return [c for c in configs if c.name in wanted]


# ---------------------------------------------------------------------------
# Expectations


@dataclasses.dataclass
class Rule:
    """One expectation line.  kind is "result" (value is ok, skip or
    not-ok), "observation" (obs_name=value) or "log" (value is a regular
    expression the config's serial log must contain; the test glob is
    ignored)."""

    config_glob: str
    test_glob: str
    kind: str
    value: str
    obs_name: str = ""
    where: str = ""

    def matches(self, config: str, test: str) -> bool:
        return fnmatch.fnmatchcase(config, self.config_glob) and fnmatch.fnmatchcase(test, self.test_glob)


def parse_expectations(text: str, source: str = "expectations") -> List[Rule]:
    """Parses an expectation file; raises HarnessError naming file:line."""
    rules = []
    for number, line in enumerate(text.splitlines(), 1):
        words = strip_comment(line)
        if not words:
            continue
        where = f"{source}:{number}"
        if len(words) == 3:
            config_glob, test_glob, result = words
            if result not in RESULT_WORDS:
                raise HarnessError(f"{where}: result must be one of {', '.join(RESULT_WORDS)}, not {result!r}")
            rules.append(Rule(config_glob, test_glob, "result", result, where=where))
        elif len(words) == 4 and words[2] == "observation":
            config_glob, test_glob, _, pair = words
            name, sep, value = pair.partition("=")
            if not sep or not name or not value:
                raise HarnessError(f"{where}: observation must be NAME=VALUE, not {pair!r}")
            rules.append(Rule(config_glob, test_glob, "observation", value, obs_name=name, where=where))
        elif len(words) >= 4 and words[2] == "log":
            pattern = " ".join(words[3:])
            try:
                re.compile(pattern)
            except re.error as e:
                raise HarnessError(f"{where}: bad log pattern {pattern!r}: {e}") from None
            rules.append(Rule(words[0], words[1], "log", pattern, where=where))
        else:
            raise HarnessError(
                f"{where}: expected `CONFIG_GLOB TEST RESULT`, `CONFIG_GLOB TEST observation NAME=VALUE`"
                " or `CONFIG_GLOB * log REGEX`")
    return rules


class Expectations:
    """Answers what a (config, test) pair is expected to do."""

    def __init__(self, rules: List[Rule]):
        self.rules = rules

    def expected_result(self, config: str, test: str) -> Tuple[str, Optional[Rule]]:
        """The first matching result rule's value (and the rule), else ok."""
        for rule in self.rules:
            if rule.kind == "result" and rule.matches(config, test):
                return rule.value, rule
        return "ok", None

    def log_patterns(self, config: str) -> List[Rule]:
        """Every log rule whose config glob matches, in file order."""
        return [r for r in self.rules if r.kind == "log" and fnmatch.fnmatchcase(config, r.config_glob)]

    def observations(self, config: str, test: str) -> List[Rule]:
        """The observation rules that apply: the first match per NAME, in
        file order."""
        chosen: Dict[str, Rule] = {}
        for rule in self.rules:
            if rule.kind == "observation" and rule.obs_name not in chosen and rule.matches(config, test):
                chosen[rule.obs_name] = rule
        return list(chosen.values())


def load_expectations(path: str) -> Expectations:
    """Reads and parses an expectation file."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise HarnessError(f"cannot read expectation file {path}: {e.strerror}")
    return Expectations(parse_expectations(text, shown_path(path)))


# ---------------------------------------------------------------------------
# KTAP parsing

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


# ---------------------------------------------------------------------------
# Checking


def check_test(config: str, test: KtapTest, expectations: Expectations) -> List[Result]:
    """Checks one test's result and observations against the expectations."""
    label = f"{config} {test.name}"
    expected, _ = expectations.expected_result(config, test.name)
    got = test.outcome
    details = list(test.diagnostics)
    results = []
    if got == expected == "skip":
        results.append(Result("SKIP", label, f"expected: {test.reason}" if test.reason else "expected skip"))
    elif got == expected:
        results.append(Result("PASS", label))
    else:
        shown = {"ok": "ok", "skip": "skip", "not-ok": "not ok"}
        got_text = shown[got]
        if test.directive and test.directive != "SKIP":
            got_text += f" # {test.directive}"
        if test.reason:
            got_text += f" ({test.reason})"
        results.append(Result("FAIL", label, f"expected {shown[expected]}, got {got_text}", details))

    if got != "skip":
        for rule in expectations.observations(config, test.name):
            results.append(check_observation(label, test, rule))
    return results


def check_observation(label: str, test: KtapTest, rule: Rule) -> Result:
    """Checks that test has a `# observation NAME=VALUE` diagnostic."""
    obs_label = f"{label} observation {rule.obs_name}={rule.value}"
    values = test.observation(rule.obs_name)
    if rule.value in values:
        return Result("PASS", obs_label)
    got = ", ".join(values) if values else f"no `# observation {rule.obs_name}=` line"
    return Result("FAIL", obs_label, f"expected {rule.value}, got {got} ({rule.where})", list(test.diagnostics))


def check_ktap(config: Config, log: KtapLog, expectations: Expectations, timed_out: bool = False) -> List[Result]:
    """Checks a parsed log: one failure for a broken KTAP stream (unless the
    run timed out, which is reported with the exit, or a crash is the
    expected outcome), then every test result."""
    results = []
    if log.errors and not timed_out and config.expected_exit != "crash":
        reason = "; ".join(log.errors)
        results.append(Result("FAIL", f"{config.name}: ktap", f"crashed: {reason}", log_tail(log.text)))
    for test in log.tests:
        results.extend(check_test(config.name, test, expectations))
    return results


@dataclasses.dataclass
class BootOutcome:
    """What happened to one QEMU run."""

    status: Optional[int]  # QEMU's exit status (negative: signal); None if it never ran
    timed_out: bool = False
    wall_s: float = 0.0
    header_s: Optional[float] = None  # seconds from QEMU start to the KTAP header
    qemu_output: str = ""
    error: str = ""  # why QEMU could not be started
    timeout_s: float = 0.0


def check_exit(config: Config, boot: BootOutcome, log: KtapLog, show_tail: bool = True) -> Result:
    """Checks QEMU's exit status against the config's expected exit.  A
    failure shows the serial log's tail unless show_tail is False (when an
    earlier result of the same boot showed it already)."""
    label = f"{config.name}: exit"
    want = EXIT_NAMES[config.expected_exit]
    want_text = f"{want} ({config.expected_exit})"
    if boot.error:
        return Result("FAIL", label, boot.error)
    if boot.timed_out:
        return Result("FAIL", label, f"TIMEOUT after {boot.timeout_s:g} s (QEMU killed)",
                      log_tail(log.text) if show_tail else [])
    decoded = qemu_cli.decode_exit(boot.status, boot.qemu_output)
    if decoded.kind == "value" and decoded.value == want:
        return Result("PASS", label)
    if decoded.kind == "value":
        got = f"{decoded.value} ({EXIT_WORDS.get(decoded.value, 'unknown value')})"
    else:
        got = decoded.text
    details = []
    if boot.qemu_output.strip():
        details += ["QEMU output:"] + ["| " + l for l in boot.qemu_output.strip().splitlines()[-10:]]
    if show_tail:
        details += log_tail(log.text)
    return Result("FAIL", label, f"expected {want_text}, got {got}", details)


def timing_line(config: Config, boot: BootOutcome, log: KtapLog) -> str:
    """One informational line with the boot's timings."""
    header = f"KTAP header after {boot.header_s:.2f} s" if boot.header_s is not None else "no KTAP header"
    boot_ms = f"kernel boot_ms={log.boot_ms}" if log.boot_ms is not None else "no boot_ms"
    return f"TIME {config.name}: wall {boot.wall_s:.2f} s, {header}, {boot_ms}"


# ---------------------------------------------------------------------------
# Running QEMU


def kill_group(proc: subprocess.Popen) -> None:
    """Stops the process group we started for proc (SIGTERM, then SIGKILL)."""
    for sig, wait_s in ((signal.SIGTERM, KILL_GRACE_S), (signal.SIGKILL, KILL_GRACE_S)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait_s)
            return
        except subprocess.TimeoutExpired:
            continue


class SerialWatcher:
    """Follows a growing serial log file and notes when the KTAP header
    first appears."""

    def __init__(self, path: str, start: float):
        self.path = path
        self.start = start
        self.data = b""
        self.header_s: Optional[float] = None
        self._file = None

    def poll(self) -> None:
        if self._file is None:
            try:
                self._file = open(self.path, "rb")
            except FileNotFoundError:
                return
        chunk = self._file.read()
        if not chunk:
            return
        scan_from = max(0, len(self.data) - len(KTAP_HEADER))
        self.data += chunk
        if self.header_s is None and KTAP_HEADER.encode() in self.data[scan_from:]:
            self.header_s = time.monotonic() - self.start

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


def run_qemu(cmd: Sequence[str], log_path: str, output_path: str, timeout: float) -> BootOutcome:
    """Runs cmd (which writes the serial port to log_path), killing it after
    timeout seconds.  QEMU's own stdout/stderr go to output_path."""
    for path in (log_path, output_path):
        if os.path.exists(path):
            os.unlink(path)
    start = time.monotonic()
    with open(output_path, "wb") as output:
        try:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        except OSError as e:
            return BootOutcome(None, error=f"cannot run {cmd[0]}: {e.strerror}", timeout_s=timeout)
        watcher = SerialWatcher(log_path, start)
        timed_out = False
        try:
            while proc.poll() is None:
                watcher.poll()
                if time.monotonic() - start > timeout:
                    timed_out = True
                    kill_group(proc)
                    break
                time.sleep(POLL_INTERVAL_S)
        finally:
            if proc.poll() is None:  # interrupted (e.g. Ctrl-C): never leave QEMU behind
                kill_group(proc)
            watcher.poll()
            watcher.close()
    wall = time.monotonic() - start
    with open(output_path, "rb") as f:
        qemu_output = f.read().decode("utf-8", "replace")
    return BootOutcome(proc.returncode, timed_out, wall, watcher.header_s, qemu_output, timeout_s=timeout)


def read_log(path: str) -> str:
    """The serial log as text ("" if missing)."""
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""


def iso_path_for(out_dir: str, args: Sequence[str]) -> str:
    """The cached ISO for a kernel command line: named by a hash of the
    argument words, so configs with equal command lines share one ISO."""
    digest = hashlib.sha256("\0".join(args).encode()).hexdigest()[:12]
    return os.path.join(out_dir, "iso", f"racebed-{digest}.iso")


def iso_is_fresh(iso: str, inputs: Sequence[str]) -> bool:
    """True if iso exists and is newer than every input file."""
    try:
        built = os.stat(iso).st_mtime
    except FileNotFoundError:
        return False
    return all(os.stat(p).st_mtime <= built for p in inputs if os.path.exists(p))


def build_iso(elf: str, args: Sequence[str], out_dir: str) -> Tuple[str, bool]:
    """Builds (or reuses) the ISO for args; returns (path, rebuilt).  Raises
    HarnessError with mkiso.sh's output on failure."""
    iso = iso_path_for(out_dir, args)
    if iso_is_fresh(iso, (elf, MKISO, GRUB_TEMPLATE)):
        return iso, False
    proc = subprocess.run(["bash", MKISO, elf, iso, *args], stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        output = proc.stdout.decode("utf-8", "replace").strip().splitlines()
        raise HarnessError("\n".join([f"tools/mkiso.sh failed (exit {proc.returncode}):"] + output[-30:]))
    return iso, True


def boot_command(config: Config, iso: str, log_path: str, out_dir: str, accel: str,
                 qemu: Optional[str]) -> List[str]:
    """The QEMU command line for one config (headless, serial to log_path)."""
    uefi_vars = None
    if config.firmware == "uefi":
        uefi_vars = qemu_cli.prepare_uefi_vars(os.path.join(out_dir, f"{config.name}.vars.fd"))
    return qemu_cli.build_command(
        iso, smp=config.smp, accel=accel, machine=config.machine, uefi_vars=uefi_vars,
        serial=log_path, display=False, qemu=qemu)


def run_config(config: Config, opts: argparse.Namespace, expectations: Expectations,
               reporter: Reporter) -> None:
    """Builds, boots and checks one config, reporting its results."""
    reporter.info(f"== {config.name}: {config.describe()}")
    try:
        iso, rebuilt = build_iso(opts.elf, config.args, opts.out)
    except HarnessError as e:
        lines = str(e).splitlines()
        reporter.add(Result("FAIL", f"{config.name}: iso", lines[0], lines[1:]))
        return
    log_path = os.path.join(opts.out, f"{config.name}.log")
    try:
        cmd = boot_command(config, iso, log_path, opts.out, opts.accel, opts.qemu)
    except OSError as e:
        reporter.add(Result("FAIL", f"{config.name}: exit", str(e)))
        return
    reporter.info(f"   {'built' if rebuilt else 'reusing'} {shown_path(iso)}; log {shown_path(log_path)}")
    reporter.info(f"   {shlex.join(cmd)}")
    boot = run_qemu(cmd, log_path, os.path.join(opts.out, f"{config.name}.qemu.txt"), opts.timeout)
    evaluate_boot(config, boot, read_log(log_path), expectations, reporter)


def check_log_patterns(config: Config, text: str, expectations: Expectations) -> List[Result]:
    """One result per log rule: the pattern must occur in the serial log."""
    results = []
    for rule in expectations.log_patterns(config.name):
        label = f"{config.name}: log /{rule.value}/"
        if re.search(rule.value, text, re.MULTILINE):
            results.append(Result("PASS", label))
        else:
            results.append(Result("FAIL", label, f"not in the serial log ({rule.where})", log_tail(text)))
    return results


def evaluate_boot(config: Config, boot: BootOutcome, raw_log: str, expectations: Expectations,
                  reporter: Reporter) -> KtapLog:
    """Reports the timing line, the KTAP checks and the exit check of one
    finished boot; returns the parsed log."""
    log = parse_ktap(raw_log)
    reporter.info(timing_line(config, boot, log))
    for warning in log.warnings:
        reporter.info(f"WARN {config.name}: {warning}")
    results = check_ktap(config, log, expectations, timed_out=boot.timed_out)
    results += check_log_patterns(config, clean_serial(raw_log), expectations)
    reporter.extend(results)
    tail_shown = any(r.label == f"{config.name}: ktap" for r in results)
    reporter.add(check_exit(config, boot, log, show_tail=not tail_shown))
    return log


# ---------------------------------------------------------------------------
# Unit tests


def run_unit(path: str, timeout: float, reporter: Reporter) -> None:
    """Runs one host unit-test executable, printing its output."""
    label = f"unit {path}"
    if not os.path.isfile(path) or not os.access(path, os.X_OK):
        reporter.add(Result("FAIL", label, "not an executable file"))
        return
    reporter.info(f"== {label}")
    proc = subprocess.Popen([os.path.abspath(path)], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    timed_out = False
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        kill_group(proc)
        output, _ = proc.communicate()
    finally:
        if proc.poll() is None:  # interrupted: leave nothing running
            kill_group(proc)
    text = output.decode("utf-8", "replace").rstrip("\n")
    if text:
        reporter.info(text)
    if timed_out:
        reporter.add(Result("FAIL", label, f"TIMEOUT after {timeout:g} s"))
    elif proc.returncode == 0:
        reporter.add(Result("PASS", label))
    else:
        reporter.add(Result("FAIL", label, f"exit status {proc.returncode}"))


# ---------------------------------------------------------------------------
# Self-test

SAMPLE_GOOD = """\
KTAP version 1
1..6
# racebed: 8 cpus, x2apic
# boot_ms=137
ok 1 boot
# observation delivered=8 of 8
ok 2 ipi_fixed
ok 3 ipi_nmi
ok 4 ipi_broadcast
ok 5 exceptions
# observation lapic_timer=periodic extra words
# observation tsc=invariant
ok 6 timer
# summary: 6 passed, 0 failed, 0 skipped
racebed: exiting with 0
"""

# What OVMF and GRUB put on the serial port first: escapes, \r, a header
# line glued to the end of an escape-laden line.
SAMPLE_JUNK = (
    "\x1b[2J\x1b[01;01H\x1b[=3h\x1b[2J\x1b[01;01HBdsDxe: loading Boot0001 \"UEFI QEMU DVD-ROM\"\r\n"
    "\x1b[0m\x1b[30m\x1b[47mWelcome to GRUB!\n\r\x1b[0m\x1b[37m\x1b[40m  Booting `racebed'\n\r\n\r"
    "\x1b]0;title\x07\x1b(B\x00\x7f"
) + SAMPLE_GOOD.replace("\n", "\r\n")

SAMPLE_CRASHED = """\
KTAP version 1
1..6
ok 1 boot
# ipi_fixed: sending to cpu 3
PANIC: page fault at 0xdeadbeef
"""

SAMPLE_NO_HEADER = "SeaBIOS (version 1.16)\nBooting from DVD/CD...\n"

SAMPLE_NO_PLAN = """\
KTAP version 1
ok 1 boot
# summary: 1 passed, 0 failed, 0 skipped
"""

SAMPLE_OUT_OF_ORDER = """\
KTAP version 1
1..3
ok 1 boot
ok 3 ipi_fixed
ok 2 ipi_nmi
# summary: 3 passed, 0 failed, 0 skipped
"""

SAMPLE_TIMEOUT = """\
KTAP version 1
1..2
ok 1 boot
# timer: waiting for tick 3 of 10
not ok 2 timer # TIMEOUT after 5 s
# summary: 1 passed, 1 failed, 0 skipped
"""

SAMPLE_SMP1 = """\
KTAP version 1
1..4
ok 1 boot
ok 2 ipi_fixed # SKIP needs 2 cpus
ok 3 ipi_broadcast # SKIP needs 2 cpus
ok 4 timer
# summary: 2 passed, 0 failed, 2 skipped
"""

SAMPLE_BAD_CMDLINE = """\
KTAP version 1
1..1
# cmdline: unknown key in `bogus=1`
not ok 1 cmdline
# summary: 0 passed, 1 failed, 0 skipped
"""

SAMPLE_EXPECT = """\
# a comment line
bios-smp1  ipi_fixed     skip   # trailing comment
bios-smp1  ipi_broadcast skip
nosmp      ipi_*         skip
bad-*      cmdline       not-ok
bios-smp8  timer         observation lapic_timer=oneshot
*          timer         observation lapic_timer=periodic
*          timer         observation tsc=invariant
*          boot          observation missing=yes
*          ipi_fixed     not-ok
"""

SAMPLE_MATRIX = """\
# name machine firmware smp expected_exit args...
bios-smp8      pc  bios 8 pass
uefi-q35-smp8  q35 uefi 8 pass
bad-test-name  pc  bios 2 cmdline tests=no_such_experiment seed=7   # comment
"""


class _NullOut:
    """A write-only sink for a Reporter whose output is not wanted."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


def _cfg(name: str, expected_exit: str = "pass") -> Config:
    return Config(name, "pc", "bios", 8, expected_exit, [])


def _statuses(results: Sequence[Result]) -> List[str]:
    return [f"{r.status} {r.label}" for r in results]


def _assert_eq(got, want, what: str) -> None:
    if got != want:
        raise AssertionError(f"{what}: got {got!r}, want {want!r}")


def _assert_true(cond: bool, what: str) -> None:
    if not cond:
        raise AssertionError(what)


def _selftest_expectations() -> Expectations:
    return Expectations(parse_expectations(SAMPLE_EXPECT, "sample.exp"))


def st_good_log() -> None:
    log = parse_ktap(SAMPLE_GOOD)
    _assert_eq(log.errors, [], "errors")
    _assert_eq(log.warnings, [], "warnings")
    _assert_eq(log.plan, 6, "plan")
    _assert_eq([t.name for t in log.tests], ["boot", "ipi_fixed", "ipi_nmi", "ipi_broadcast", "exceptions", "timer"],
               "test names")
    _assert_eq(log.summary, (6, 0, 0), "summary")
    _assert_eq(log.boot_ms, "137", "boot_ms")
    _assert_eq(log.tests[0].diagnostics, ["# racebed: 8 cpus, x2apic", "# boot_ms=137"],
               "diagnostics before `ok 1` belong to test 1")
    _assert_eq(log.tests[5].observation("lapic_timer"), ["periodic"], "observation value is the first word")
    exp = Expectations(parse_expectations("*  timer observation lapic_timer=periodic\n", "x"))
    results = check_ktap(_cfg("bios-smp4"), log, exp)
    _assert_eq({r.status for r in results}, {"PASS"}, "all results pass")
    _assert_eq(len(results), 7, "six tests plus one observation")


def st_junk_before_header() -> None:
    clean = parse_ktap(SAMPLE_GOOD)
    log = parse_ktap(SAMPLE_JUNK)
    _assert_eq(log.errors, [], "errors")
    _assert_eq([(t.number, t.name, t.outcome, t.diagnostics) for t in log.tests],
               [(t.number, t.name, t.outcome, t.diagnostics) for t in clean.tests], "same tests as the clean log")
    _assert_true("\x1b" not in log.text and "\r" not in log.text, "escapes and \\r removed")
    glued = parse_ktap("\x1b[0m\x1b[37mjunk without newline KTAP version 1\r\n1..0\r\n"
                       "# summary: 0 passed, 0 failed, 0 skipped\r\n")
    _assert_eq((glued.header_found, glued.errors), (True, []), "header glued to junk")


def st_crashed_log() -> None:
    log = parse_ktap(SAMPLE_CRASHED)
    _assert_eq(len(log.tests), 1, "results before the crash")
    _assert_true(any("plan says 6 tests but the log has 1" in e for e in log.errors), f"plan error in {log.errors}")
    _assert_true(any("summary" in e for e in log.errors), f"summary error in {log.errors}")
    results = check_ktap(_cfg("bios-smp8"), log, Expectations([]))
    _assert_eq(_statuses(results), ["FAIL bios-smp8: ktap", "PASS bios-smp8 boot"], "results")
    _assert_true(any("PANIC: page fault" in d for d in results[0].details), "log tail shown")
    expected_crash = check_ktap(_cfg("panic", "crash"), log, Expectations([]))
    _assert_eq(_statuses(expected_crash), ["PASS panic boot"], "no ktap failure when a crash is expected")


def st_structural_errors() -> None:
    log = parse_ktap(SAMPLE_NO_HEADER)
    _assert_eq(log.errors, ["no `KTAP version 1` line in the serial log"], "missing header")
    _assert_eq(_statuses(check_ktap(_cfg("c"), log, Expectations([]))), ["FAIL c: ktap"], "missing header fails")
    log = parse_ktap(SAMPLE_NO_PLAN)
    _assert_true(any("no plan" in e for e in log.errors), f"missing plan in {log.errors}")
    log = parse_ktap(SAMPLE_OUT_OF_ORDER)
    _assert_eq(len([e for e in log.errors if "out of order" in e]), 1, f"one out-of-order error in {log.errors}")
    log = parse_ktap("KTAP version 1\n1..1\nok 1 boot\n")
    _assert_eq(log.errors, ["no `# summary: N passed, N failed, N skipped` line"], "missing summary")
    log = parse_ktap("KTAP version 1\n1..2\nok 1 boot\n# summary: 1 passed, 0 failed, 0 skipped\n")
    _assert_eq(log.errors, ["plan says 2 tests but the log has 1 results"], "plan count")
    log = parse_ktap("KTAP version 1\n1..1\nok 1 boot\n# summary: 0 passed, 1 failed, 0 skipped\n")
    _assert_eq((log.errors, len(log.warnings)), ([], 1), "summary mismatch is a warning")


def st_timeout_result() -> None:
    log = parse_ktap(SAMPLE_TIMEOUT)
    _assert_eq(log.errors, [], "errors")
    timer = log.tests[1]
    _assert_eq((timer.outcome, timer.directive, timer.reason), ("not-ok", "TIMEOUT", "after 5 s"), "timeout test")
    results = check_ktap(_cfg("bios-smp8"), log, Expectations([]))
    _assert_eq(_statuses(results), ["PASS bios-smp8 boot", "FAIL bios-smp8 timer"], "results")
    _assert_eq(results[1].line(), "FAIL bios-smp8 timer: expected ok, got not ok # TIMEOUT (after 5 s)", "line")
    _assert_eq(results[1].details, ["# timer: waiting for tick 3 of 10"], "diagnostics shown")


def st_skips() -> None:
    exp = Expectations(parse_expectations(
        "bios-smp1 ipi_fixed skip\nbios-smp1 ipi_broadcast skip\nnosmp ipi_* skip\n* ipi_fixed not-ok\n", "x"))
    log = parse_ktap(SAMPLE_SMP1)
    _assert_eq(log.errors, [], "errors")
    got = check_ktap(_cfg("bios-smp1"), log, exp)
    _assert_eq(_statuses(got), ["PASS bios-smp1 boot", "SKIP bios-smp1 ipi_fixed", "SKIP bios-smp1 ipi_broadcast",
                                "PASS bios-smp1 timer"], "expected skips")
    _assert_eq(got[1].line(), "SKIP bios-smp1 ipi_fixed (expected: needs 2 cpus)", "skip line")
    unexpected = check_ktap(_cfg("bios-smp8"), log, exp)
    _assert_eq(_statuses(unexpected), ["PASS bios-smp8 boot", "FAIL bios-smp8 ipi_fixed",
                                       "FAIL bios-smp8 ipi_broadcast", "PASS bios-smp8 timer"], "unexpected skips")
    _assert_eq(unexpected[2].line(), "FAIL bios-smp8 ipi_broadcast: expected ok, got skip (needs 2 cpus)",
               "unexpected skip line")
    _assert_eq(unexpected[1].message, "expected not ok, got skip (needs 2 cpus)", "skip where not-ok expected")
    nosmp = check_ktap(_cfg("nosmp"), log, exp)
    _assert_eq([r.status for r in nosmp], ["PASS", "SKIP", "SKIP", "PASS"], "test globs")
    reporter_counts = Reporter(out=_NullOut())
    reporter_counts.extend(got + unexpected)
    _assert_eq(reporter_counts.summary(), "4 passed, 2 failed, 2 skipped", "skips counted as skipped only if expected")


def st_observations() -> None:
    exp = _selftest_expectations()
    log = parse_ktap(SAMPLE_GOOD)
    timer = log.tests[5]
    got = check_test("uefi-q35-smp8", timer, exp)
    _assert_eq(_statuses(got), ["PASS uefi-q35-smp8 timer", "PASS uefi-q35-smp8 timer observation lapic_timer=periodic",
                                "PASS uefi-q35-smp8 timer observation tsc=invariant"], "observations present")
    got = check_test("bios-smp8", timer, exp)
    _assert_eq(got[1].line(), "FAIL bios-smp8 timer observation lapic_timer=oneshot: "
                              "expected oneshot, got periodic (sample.exp:6)", "first matching rule per NAME wins")
    _assert_eq(got[2].status, "PASS", "other NAMEs still apply")
    got = check_test("bios-smp8", log.tests[0], exp)
    _assert_eq(got[1].status, "FAIL", "absent observation fails")
    _assert_true("no `# observation missing=` line" in got[1].message, got[1].message)


def st_log_patterns() -> None:
    rules = parse_expectations("crash-*  *  log ^\\# crash: .* vector 14\n"
                               "crash-*  *  log ^\\# backtrace:\\n\\#\\s+0x\n", "sample.exp")
    exp = Expectations(rules)
    text = "KTAP version 1\n# crash: unexpected exception on cpu 1: vector 14 #PF\n# backtrace:\n#   0x10\n"
    got = check_log_patterns(_cfg("crash-ap", "crash"), text, exp)
    _assert_eq([r.status for r in got], ["PASS", "PASS"], "patterns present")
    got = check_log_patterns(_cfg("crash-ap", "crash"), "KTAP version 1\n# crash: vector 13\n", exp)
    _assert_eq([r.status for r in got], ["FAIL", "FAIL"], "patterns absent")
    _assert_eq(check_log_patterns(_cfg("other"), text, exp), [], "config glob limits log rules")
    try:
        parse_expectations("x * log ([\n", "bad.exp")
    except HarnessError as e:
        _assert_true("bad.exp:1" in str(e), str(e))
    else:
        raise AssertionError("a bad regular expression was accepted")


def st_first_rule_wins() -> None:
    exp = Expectations(parse_expectations("bios-* timer skip\n* timer not-ok\nbios-smp1 timer ok\n", "x"))
    _assert_eq(exp.expected_result("bios-smp1", "timer")[0], "skip", "first rule")
    _assert_eq(exp.expected_result("uefi", "timer")[0], "not-ok", "second rule")
    _assert_eq(exp.expected_result("uefi", "boot")[0], "ok", "default ok")
    bad_cmdline = check_ktap(_cfg("bad-cmdline", "cmdline"), parse_ktap(SAMPLE_BAD_CMDLINE), _selftest_expectations())
    _assert_eq(_statuses(bad_cmdline), ["PASS bad-cmdline cmdline"], "expected not-ok passes")
    other = check_ktap(_cfg("bios-smp8", "cmdline"), parse_ktap(SAMPLE_BAD_CMDLINE), _selftest_expectations())
    _assert_eq(_statuses(other), ["FAIL bios-smp8 cmdline"], "not-ok restricted to bad-* configs")


def st_parse_errors() -> None:
    for text, needle in (("* boot okay\n", "result must be"), ("* boot observation x\n", "NAME=VALUE"),
                         ("* boot\n", "expected `CONFIG_GLOB"), ("* t observation =1\n", "NAME=VALUE")):
        try:
            parse_expectations(text, "e")
        except HarnessError as e:
            _assert_true(needle in str(e) and "e:1" in str(e), f"{text.strip()!r}: {e}")
        else:
            raise AssertionError(f"{text.strip()!r} accepted")
    configs = parse_matrix(SAMPLE_MATRIX, "m")
    _assert_eq([(c.name, c.machine, c.firmware, c.smp, c.expected_exit, c.args) for c in configs],
               [("bios-smp8", "pc", "bios", 8, "pass", []), ("uefi-q35-smp8", "q35", "uefi", 8, "pass", []),
                ("bad-test-name", "pc", "bios", 2, "cmdline", ["tests=no_such_experiment", "seed=7"])], "matrix")
    for text in ("a pc bios 8\n", "a pc efi 8 pass\n", "a pc bios 0 pass\n", "a pc bios 8 ok\n",
                 "a pc bios 1 pass\na q35 uefi 1 pass\n", "a arm bios 1 pass\n"):
        try:
            parse_matrix(text, "m")
        except HarnessError:
            continue
        raise AssertionError(f"bad matrix {text!r} accepted")
    _assert_eq([c.name for c in select_configs(configs, "bad-test-name,bios-smp8")], ["bios-smp8", "bad-test-name"],
               "--only keeps matrix order")


def st_repo_files() -> None:
    """The real matrix and expectation files parse, and name known configs."""
    with open(DEFAULT_MATRIX, encoding="utf-8") as f:
        configs = parse_matrix(f.read(), "tests/matrix.txt")
    _assert_true(len(configs) > 0, "matrix has configs")
    names = [c.name for c in configs]
    for accel in qemu_cli.ACCELS:
        exp = load_expectations(os.path.join(EXPECT_DIR, f"{accel}.exp"))
        for rule in exp.rules:
            _assert_true(any(fnmatch.fnmatchcase(n, rule.config_glob) for n in names),
                         f"{rule.where}: {rule.config_glob} matches no config of tests/matrix.txt")


def st_exit_decoding() -> None:
    cases = [(1, "value", 0), (3, "value", 1), (5, "value", 2), (7, "value", 3), (0, "reset", None),
             (2, "qemu-error", None), (-9, "qemu-error", None)]
    for status, kind, value in cases:
        d = qemu_cli.decode_exit(status)
        _assert_eq((d.kind, d.value), (kind, value), f"decode_exit({status})")
    d = qemu_cli.decode_exit(1, "qemu-system-x86_64: -cdrom x.iso: Could not open 'x.iso'\n")
    _assert_eq(d.kind, "qemu-error", "exit 1 with a QEMU error message")
    d = qemu_cli.decode_exit(1, "qemu-system-x86_64: warning: host doesn't support requested feature\n")
    _assert_eq(d.kind, "value", "exit 1 with only a warning")
    _assert_eq(qemu_cli.decode_exit(1).text, "racebed: exit value 0 (all passed)", "text")
    exit_result = check_exit(_cfg("c"), BootOutcome(5), parse_ktap(""))
    _assert_eq(exit_result.line(), "FAIL c: exit: expected 0 (pass), got 2 (crash)", "exit mismatch line")
    _assert_eq(check_exit(_cfg("c", "cmdline"), BootOutcome(7), parse_ktap("")).status, "PASS", "cmdline exit")
    _assert_eq(iso_path_for("o", ["a", "b"]) == iso_path_for("o", ["a", "b"]), True, "ISO name stable")
    _assert_eq(iso_path_for("o", ["a b"]) == iso_path_for("o", ["a", "b"]), False, "ISO name keyed on words")


FAKE_QEMU = """\
#!/usr/bin/env python3
# Fake QEMU for the harness self-test: copies $FAKE_LOG to the -serial file,
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


def st_fake_qemu() -> None:
    """Runs the boot path against a fake QEMU: exit mapping, log capture,
    header timing, and killing a hung run at the timeout."""
    with tempfile.TemporaryDirectory(prefix="racebed-selftest.") as tmp:
        fake = os.path.join(tmp, "qemu")
        with open(fake, "w") as f:
            f.write(FAKE_QEMU)
        os.chmod(fake, 0o755)
        sample = os.path.join(tmp, "sample.log")
        with open(sample, "w") as f:
            f.write(SAMPLE_JUNK)
        iso = os.path.join(tmp, "dummy.iso")
        open(iso, "w").close()
        old_env = {k: os.environ.get(k) for k in ("FAKE_LOG", "FAKE_EXIT", "OVMF_VARS")}
        os.environ["FAKE_LOG"] = sample
        try:
            for fake_exit, config, want in (("1", _cfg("good"), "PASS"), ("7", _cfg("good"), "FAIL"),
                                            ("7", _cfg("bad", "cmdline"), "PASS"), ("0", _cfg("reset"), "FAIL")):
                os.environ["FAKE_EXIT"] = fake_exit
                log_path = os.path.join(tmp, "serial.log")
                cmd = boot_command(config, iso, log_path, tmp, "tcg", fake)
                boot = run_qemu(cmd, log_path, os.path.join(tmp, "qemu.txt"), timeout=30)
                _assert_eq((boot.status, boot.timed_out), (int(fake_exit), False), f"fake exit {fake_exit}")
                _assert_true(boot.header_s is not None, "KTAP header time recorded")
                reporter = Reporter(out=_NullOut())
                log = evaluate_boot(config, boot, read_log(log_path), Expectations([]), reporter)
                _assert_eq(log.boot_ms, "137", "boot_ms from the serial log")
                _assert_eq(check_exit(config, boot, log).status, want, f"exit check for fake exit {fake_exit}")
            # A UEFI config gets its own copy of the variable store.
            vars_template = os.path.join(tmp, "VARS.fd")
            with open(vars_template, "wb") as f:
                f.write(b"\0" * 64)
            os.environ["OVMF_VARS"] = vars_template
            cmd = boot_command(Config("u", "q35", "uefi", 2, "pass", []), iso, "s.log", tmp, "tcg", fake)
            _assert_true(os.path.exists(os.path.join(tmp, "u.vars.fd")), "variable store copied")
            _assert_true(any("unit=1" in c and "u.vars.fd" in c for c in cmd), "variable store on pflash unit 1")
            # A hung guest is killed at the timeout.
            os.environ["FAKE_EXIT"] = "hang"
            start = time.monotonic()
            boot = run_qemu([fake, "-serial", f"file:{log_path}"], log_path, os.path.join(tmp, "q.txt"), timeout=1)
            _assert_true(boot.timed_out and time.monotonic() - start < 10, "hung fake QEMU killed")
            exit_result = check_exit(_cfg("hang"), boot, parse_ktap(read_log(log_path)))
            _assert_true(exit_result.message.startswith("TIMEOUT after 1 s"), exit_result.line())
            _assert_true(any("summary:" in d for d in exit_result.details), "timeout shows the log tail")
            missing = run_qemu([os.path.join(tmp, "no-such-qemu")], log_path, os.path.join(tmp, "q.txt"), 5)
            _assert_true(missing.error.startswith("cannot run"), "missing QEMU binary reported")
        finally:
            for k, v in old_env.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


SELF_TESTS: List[Tuple[str, Callable[[], None]]] = [
    ("good log", st_good_log),
    ("junk before header", st_junk_before_header),
    ("crashed log", st_crashed_log),
    ("structural errors", st_structural_errors),
    ("timeout result", st_timeout_result),
    ("skip expected/unexpected", st_skips),
    ("observations present/absent", st_observations),
    ("first matching rule wins", st_first_rule_wins),
    ("log patterns present/absent", st_log_patterns),
    ("matrix and expectation syntax", st_parse_errors),
    ("repository matrix and expectations", st_repo_files),
    ("exit status decoding", st_exit_decoding),
    ("fake QEMU boots", st_fake_qemu),
]


def run_self_test(reporter: Reporter) -> None:
    """Runs the built-in checks of the parser, matcher and boot runner."""
    for name, fn in SELF_TESTS:
        label = f"self-test {name}"
        try:
            fn()
        except Exception as e:  # report any failure, including crashes, as one result
            kind = "" if isinstance(e, AssertionError) else f"{type(e).__name__}: "
            reporter.add(Result("FAIL", label, f"{kind}{e}"))
        else:
            reporter.add(Result("PASS", label))


# ---------------------------------------------------------------------------
# Main


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="harness.py", description="racebed CI harness: unit tests, then the boot matrix.",
        epilog="Environment: ACCEL=tcg|kvm (default tcg), QEMU=path of the QEMU binary.")
    p.add_argument("--unit", action="append", default=[], metavar="PATH",
                   help="a host unit-test executable (repeatable)")
    p.add_argument("--only", metavar="NAME[,NAME]", help="boot only these configs of the matrix")
    p.add_argument("--timeout", type=float, default=240, metavar="SECONDS", help="per boot (default 240)")
    p.add_argument("--elf", default="build/racebed.elf", help="the kernel (default build/racebed.elf)")
    p.add_argument("--out", default="build/test", help="directory for ISOs and logs (default build/test)")
    p.add_argument("--matrix", default=DEFAULT_MATRIX, help="boot matrix (default tests/matrix.txt)")
    p.add_argument("--expect", help="expectation file (default tests/expect/$ACCEL.exp)")
    p.add_argument("--qemu", help="QEMU binary (default $QEMU or qemu-system-x86_64)")
    p.add_argument("--no-boot", action="store_true", help="run the unit tests only")
    p.add_argument("--self-test", action="store_true",
                   help="check the harness itself against built-in samples, then exit")
    args = p.parse_args(argv)
    args.accel = os.environ.get("ACCEL") or "tcg"
    if args.accel not in qemu_cli.ACCELS:
        p.error(f"ACCEL must be one of {', '.join(qemu_cli.ACCELS)}, not {args.accel!r}")
    if args.timeout <= 0:
        p.error("--timeout must be positive")
    args.expect = args.expect or os.path.join(EXPECT_DIR, f"{args.accel}.exp")
    return args


def run_boot_matrix(opts: argparse.Namespace, reporter: Reporter) -> None:
    """Boots and checks every selected config."""
    try:
        with open(opts.matrix, encoding="utf-8") as f:
            configs = select_configs(parse_matrix(f.read(), shown_path(opts.matrix)), opts.only)
    except OSError as e:
        raise HarnessError(f"cannot read matrix {opts.matrix}: {e.strerror}")
    expectations = load_expectations(opts.expect)
    if not os.path.isfile(opts.elf):
        raise HarnessError(f"kernel {opts.elf} not found (build it first)")
    os.makedirs(opts.out, exist_ok=True)
    reporter.info(f"== boot matrix: {len(configs)} configs, ACCEL={opts.accel}, "
                  f"expectations {shown_path(opts.expect)}, timeout {opts.timeout:g} s")
    for config in configs:
        run_config(config, opts, expectations, reporter)


def _interrupt(signum, frame):
    """SIGTERM/SIGHUP handler: unwinds like Ctrl-C, so that a running QEMU
    (in a session of its own) is killed on the way out."""
    raise KeyboardInterrupt


def main(argv: Optional[Sequence[str]] = None) -> int:
    opts = parse_args(sys.argv[1:] if argv is None else argv)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _interrupt)
    reporter = Reporter()
    try:
        if opts.self_test:
            run_self_test(reporter)
        else:
            for path in opts.unit:
                run_unit(path, opts.timeout, reporter)
            if not opts.no_boot:
                run_boot_matrix(opts, reporter)
    except HarnessError as e:
        lines = str(e).splitlines()
        reporter.add(Result("FAIL", "harness", lines[0], lines[1:]))
    except KeyboardInterrupt:
        reporter.add(Result("FAIL", "harness", "interrupted"))
    reporter.info(reporter.summary())
    return 1 if reporter.failed else 0


if __name__ == "__main__":
    sys.exit(main())
