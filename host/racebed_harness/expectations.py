"""The expectation files (host/expect/ACCEL.exp; format in host/harness.py)."""

import dataclasses
import fnmatch
import re
from typing import Dict, List, Optional, Tuple

from .inputs import HarnessError, strip_comment
from .matrix import EXIT_NAMES
from .paths import shown_path

# ok|not-ok: this platform gives either from run to run (reported, not pinned; a skip, or no
# result at all, still fails).
RESULT_WORDS = ("ok", "skip", "not-ok", "ok|not-ok")
# platform-stop (exit rules only): the platform stops the boot before the kernel's plan.
EXIT_WORDS_EXTRA = ("platform-stop",)
# The skips the kernel's runner gives by an experiment's own declaration (kernel/runner.c
# run_one: .min_cpus, .features): the reason says why, so they need no expectation line.
RULE_SKIP_RE = re.compile(r"needs (\d+) cpus, (\d+) online|needs (x2APIC mode|MONITOR/MWAIT|TSC-deadline timer)")


def rule_skip(reason: str) -> bool:
    """Whether a SKIP reason is the runner's min_cpus or feature rule (fewer CPUs online than
    needed, or a named feature missing)."""
    m = RULE_SKIP_RE.fullmatch(reason.strip())
    if m is None:
        return False
    return m.group(3) is not None or int(m.group(2)) < int(m.group(1))


@dataclasses.dataclass
class Rule:
    """One expectation line.  kind is "result" (value is ok, skip or
    not-ok), "observation" (obs_name=value), "log" (value is a regular
    expression the config's serial log must contain; the test glob is
    ignored), "deviation" (obs_name: an observation of the tests the glob
    matches that must be in the run's `# deviations:` list whenever such a
    test ran), "deviation?" (obs_name, a glob: may be in the list) or "exit"
    (value is the exit the config must end with under this accelerator,
    instead of its host/matrix.txt one; the test glob is ignored)."""

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
            if value == "Unreached":
                raise HarnessError(f"{where}: {name}=Unreached pins nothing: an observation whose precondition "
                                   "never occurred is no evidence (leave it out)")
            rules.append(Rule(config_glob, test_glob, "observation", value, obs_name=name, where=where))
        elif len(words) == 4 and words[2] in ("deviation", "deviation?"):
            config_glob, test_glob, kind, name = words
            if "." in name or not name:
                raise HarnessError(f"{where}: {kind} takes an observation name (the test is the second word), not {name!r}")
            rules.append(Rule(config_glob, test_glob, kind, "", obs_name=name, where=where))
        elif len(words) == 4 and words[2] == "exit":
            if words[3] not in EXIT_NAMES and words[3] not in EXIT_WORDS_EXTRA:
                raise HarnessError(f"{where}: exit must be one of "
                                   f"{', '.join(list(EXIT_NAMES) + list(EXIT_WORDS_EXTRA))}, not {words[3]!r}")
            rules.append(Rule(words[0], words[1], "exit", words[3], where=where))
        elif len(words) >= 4 and words[2] == "log":
            pattern = " ".join(words[3:])
            try:
                re.compile(pattern)
            except re.error as e:
                raise HarnessError(f"{where}: bad log pattern {pattern!r}: {e}") from None
            rules.append(Rule(words[0], words[1], "log", pattern, where=where))
        else:
            raise HarnessError(
                f"{where}: expected `CONFIG_GLOB TEST RESULT`, `CONFIG_GLOB TEST observation NAME=VALUE`,"
                " `CONFIG_GLOB TEST deviation[?] NAME`, `CONFIG_GLOB * log REGEX`"
                " or `CONFIG_GLOB * exit pass|fail|crash|cmdline|platform-stop`")
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

    def expected_of(self, config: str, test: str, skip_reason: Optional[str] = None) -> str:
        """expected_result's value, except that a test no result rule names may skip for the
        runner's own min_cpus / feature rule (skip_reason: its SKIP reason, if it skipped)."""
        value, rule = self.expected_result(config, test)
        if rule is None and skip_reason is not None and rule_skip(skip_reason):
            return "skip"
        return value

    def expected_exit(self, config: str, default: str) -> str:
        """The first matching exit rule's value, else default (the matrix's)."""
        for rule in self.rules:
            if rule.kind == "exit" and fnmatch.fnmatchcase(config, rule.config_glob):
                return rule.value
        return default

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


    def deviation_rules(self, config: str) -> List[Rule]:
        """Every deviation / deviation? rule whose config glob matches."""
        return [r for r in self.rules if r.kind in ("deviation", "deviation?")
                and fnmatch.fnmatchcase(config, r.config_glob)]


def load_expectations(path: str) -> Expectations:
    """Reads and parses an expectation file."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise HarnessError(f"cannot read expectation file {path}: {e.strerror}")
    return Expectations(parse_expectations(text, shown_path(path)))
