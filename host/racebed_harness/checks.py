"""Checking a finished boot: its KTAP results, log patterns and exit status
against the config and the expectations."""

import re
from typing import List, Optional

from . import bochs as bochs_cli  # the Bochs driver (its CLI: host/bochs.py)
from . import qemu as qemu_cli  # the QEMU driver (its CLI: host/qemu.py)
from .arch_verdicts import check_arch
from .expectations import Expectations, Rule
from .ktap import KtapLog, KtapTest, clean_serial, parse_ktap
from .matrix import EXIT_NAMES, EXIT_WORDS, Config
from .report import Reporter, Result, log_tail
from .runner import BootOutcome


def check_test(config: str, test: KtapTest, expectations: Expectations) -> List[Result]:
    """Checks one test's result and observations against the expectations."""
    label = f"{config} {test.name}"
    got = test.outcome
    expected = expectations.expected_of(config, test.name, test.reason if got == "skip" else None)
    details = list(test.diagnostics)
    results = []
    if got == expected == "skip":
        results.append(Result("SKIP", label, f"expected: {test.reason}" if test.reason else "expected skip"))
    elif got == expected:
        results.append(Result("PASS", label))
    elif expected == "ok|not-ok" and got in ("ok", "not-ok"):
        results.append(Result("PASS", label, f"either expected here, got {got}"))
    else:
        shown = {"ok": "ok", "skip": "skip", "not-ok": "not ok", "ok|not-ok": "ok or not ok"}
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
    if log.errors and not timed_out and config.expected_exit not in ("crash", "platform-stop"):
        reason = "; ".join(log.errors)
        results.append(Result("FAIL", f"{config.name}: ktap", f"crashed: {reason}", log_tail(log.text)))
    for test in log.tests:
        results.extend(check_test(config.name, test, expectations))
    return results


def check_exit(config: Config, boot: BootOutcome, log: KtapLog, show_tail: bool = True) -> Result:
    """Checks QEMU's exit status against the config's expected exit.  A
    failure shows the serial log's tail unless show_tail is False (when an
    earlier result of the same boot showed it already)."""
    label = f"{config.name}: exit"
    if config.expected_exit == "platform-stop":
        if boot.stopped_by and not log.header_found:
            return Result("PASS", label, f"stopped by the platform before the kernel, as expected: {boot.stopped_by}")
        return Result("FAIL", label, "expected the platform to stop this boot before the kernel started",
                      log_tail(log.text) if show_tail else [])
    want = EXIT_NAMES[config.expected_exit]
    want_text = f"{want} ({config.expected_exit})"
    if boot.error:
        return Result("FAIL", label, boot.error)
    if boot.stopped_by:
        return Result("FAIL", label, f"stopped by the platform: {boot.stopped_by}",
                      log_tail(log.text) if show_tail else [])
    if boot.timed_out:
        return Result("FAIL", label, f"TIMEOUT after {boot.timeout_s:g} s (QEMU killed)",
                      log_tail(log.text) if show_tail else [])
    if boot.quit_by_harness:
        # the guest halted on its results screen and the harness quit QEMU: judge the results
        value = 1 if any(t.outcome == "not-ok" for t in log.tests) or log.errors else 0
        if value == want:
            return Result("PASS", label, f"halted, quit by the harness ({boot.stopped_by or 'done'})")
        return Result("FAIL", label, f"expected {want_text}, got {value} ({EXIT_WORDS[value]}) from the results",
                      log_tail(log.text) if show_tail else [])
    if config.firmware == "bochs":
        return check_bochs_exit(config, boot, log, want, show_tail)
    if boot.status is None:
        return Result("FAIL", label, "QEMU never ran (no exit status)")
    decoded = qemu_cli.decode_exit(boot.status, boot.qemu_output)
    if decoded.kind == "value" and decoded.value == want:
        return Result("PASS", label)
    if decoded.value is not None:  # only kind "value" has a value
        got = f"{decoded.value} ({EXIT_WORDS.get(decoded.value, 'unknown value')})"
    else:
        got = decoded.text
    details = []
    if boot.qemu_output.strip():
        details += ["QEMU output:"] + ["| " + l for l in boot.qemu_output.strip().splitlines()[-10:]]
    if show_tail:
        details += log_tail(log.text)
    return Result("FAIL", label, f"expected {want_text}, got {got}", details)


def check_bochs_exit(config: Config, boot: BootOutcome, log: KtapLog, want: int, show_tail: bool) -> Result:
    """Bochs has no exit device: the kernel's value is its last line (`# exit value N`), and
    Bochs' own log says whether it powered off, panicked or refused its bochsrc."""
    label = f"{config.name}: exit"
    end = bochs_cli.run_end(boot.platform_log, log.text, boot.qemu_output)
    if end.kind == "value" and end.value == want:
        return Result("PASS", label, end.text)
    details = [] if not show_tail else log_tail(log.text)
    if end.kind == "value":
        return Result("FAIL", label, f"expected {want} ({config.expected_exit}), got {end.text}", details)
    return Result("FAIL", label, end.text, details)


def timing_line(config: Config, boot: BootOutcome, log: KtapLog) -> str:
    """One informational line with the boot's timings."""
    header = f"KTAP header after {boot.header_s:.2f} s" if boot.header_s is not None else "no KTAP header"
    boot_ms = f"kernel boot_ms={log.boot_ms}" if log.boot_ms is not None else "no boot_ms"
    return f"TIME {config.name}: wall {boot.wall_s:.2f} s, {header}, {boot_ms}"


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
                  reporter: Reporter, log: Optional[KtapLog] = None) -> KtapLog:
    """Reports the timing line, the KTAP checks and the exit check of one
    finished boot (or of a resumed run's boots, given as one merged log);
    returns the parsed log."""
    if log is None:
        log = parse_ktap(raw_log)
    reporter.info(timing_line(config, boot, log))
    for warning in log.warnings:
        reporter.info(f"WARN {config.name}: {warning}")
    results = check_ktap(config, log, expectations, timed_out=boot.timed_out)
    results += check_log_patterns(config, clean_serial(raw_log), expectations)
    results += check_arch(config.name, log, expectations)
    reporter.extend(results)
    tail_shown = any(r.label == f"{config.name}: ktap" for r in results)
    reporter.add(check_exit(config, boot, log, show_tail=not tail_shown))
    return log
