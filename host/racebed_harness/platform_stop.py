"""Runs the platform stopped: resume the rest in a new boot.

Some platforms end a run in the middle of an experiment without the kernel having a say: KVM
stops QEMU with "KVM internal error ... emulation failure" (QEMU then waits, it does not exit),
a real machine (or QEMU under -no-reboot) may reset, or the machine goes silent where the
kernel's watchdog cannot see it; and the kernel may end the run on a crash.  The harness then reports the
experiment that was running as failed, in the platform's words, and boots again with
`tests=` selecting the experiments that had not run yet, until the selection is done.  The
results of all boots make one log, checked like any other.
"""

import dataclasses
import fnmatch
import os
import re
import subprocess
import tempfile
from typing import List, Optional, Sequence, Tuple

from . import qemu as qemu_cli  # the QEMU driver (its CLI: host/qemu.py)
from .inputs import HarnessError
from .arch_verdicts import deviates, parse_observations
from .ktap import KTAP_HEADER, KtapLog, KtapTest
from .runner import BootOutcome, RunHook

# How long QEMU may take to write its register dump (ending in Code=) after the first
# internal-error line.
DUMP_GRACE_S = 3.0
LIST_LINE_RE = re.compile(r"^# experiment (\S+?)(?: family=\S+)?: .*?(, runs only when named)?\)\s*$")
MAX_CMDLINE_WORD = 255  # the kernel's tests= field holds 255 characters


class InternalErrorWatch(RunHook):
    """Stops QEMU when it reports a KVM internal error (the guest is stopped for good)."""

    def __init__(self) -> None:
        self.offset = 0
        self.text = ""
        self.seen_at: Optional[float] = None

    def poll(self, serial: bytes, qemu_output_path: str, elapsed: float) -> str:
        try:
            with open(qemu_output_path, "rb") as f:
                f.seek(self.offset)
                chunk = f.read()
        except OSError:
            return ""
        self.offset += len(chunk)
        self.text += chunk.decode("utf-8", "replace")
        if self.seen_at is None and "KVM internal error" in self.text:
            self.seen_at = elapsed
        if self.seen_at is not None and (re.search(r"\nCode=[^\n]*\n", self.text)
                                         or elapsed - self.seen_at >= DUMP_GRACE_S):
            return qemu_cli.kvm_internal_error(self.text)
        return ""


class SilenceWatch(RunHook):
    """Stops QEMU when the kernel, once started, prints nothing for limit seconds: longer than
    its own watchdog (60 s per experiment), so the machine is stuck where the watchdog cannot
    see it (the boot CPU spinning with interrupts off, or the platform itself)."""

    def __init__(self, limit: float = 75.0):
        self.limit = limit
        self.length = 0
        self.since = 0.0

    def poll(self, serial: bytes, qemu_output_path: str, elapsed: float) -> str:
        if len(serial) != self.length or KTAP_HEADER.encode() not in serial:
            self.length, self.since = len(serial), elapsed
            return ""
        if elapsed - self.since >= self.limit:
            return f"{HANG_WORDS} for {self.limit:g} s (the kernel's watchdog did not end the experiment)"
        return ""


HANG_WORDS = "no serial output"


@dataclasses.dataclass
class PlatformStop:
    kind: str   # "internal-error", "hang", "crash", "reset", "early-end" or "timeout"
    words: str  # what the platform (or the kernel's crash report) said
    value: int  # the exit value this boot counts as: 1 (some failed), 2 (crash)
    reported: int = -1  # "timeout": the kernel reported the hung experiment itself, and the
    #                     rest as not run from this result index on (dropped, then resumed)


# How the kernel reports the experiments after one that timed out or crashed (kernel/runner.c:
# "not run: the run timed out in NAME" / "... crashed in NAME"; older kernels said the first).
NOT_RUN_PREFIXES = ("not run: the run ", "not run: an earlier experiment timed out")


CRASH_RE = re.compile(r"^# crash: (.*)$", re.MULTILINE)
DEVIATIONS_LINE_RE = re.compile(r"^#\s*deviations:.*\n?", re.MULTILINE)


def platform_stop(boot: BootOutcome, log: KtapLog, crashes: bool = True) -> Optional[PlatformStop]:
    """What ended this boot before its plan was done, if it can be resumed: a KVM internal
    error, silence, and with crashes also a crash the kernel reported (a `# crash:` line), a
    reset (QEMU exit 0 under -no-reboot) or any other end in the middle of the plan.  (A config
    that expects its crash passes crashes=False: that end is its result.)"""
    not_run = next((i for i, t in enumerate(log.tests)
                    if t.directive == "SKIP" and t.reason.startswith(NOT_RUN_PREFIXES)), None)
    if not_run is not None and crashes:
        ended = log.tests[not_run - 1].name if not_run else "?"
        if "crashed" in log.tests[not_run].reason:
            crash = CRASH_RE.search(log.text)
            words = "crash: " + crash.group(1).strip() if crash else f"the run crashed in {ended}"
            return PlatformStop("crash", words, 2, not_run)
        return PlatformStop("timeout", f"{ended} timed out (kernel watchdog); the rest was not run", 1, not_run)
    if log.plan is None or len(log.tests) >= log.plan or log.summary is not None:
        return None  # stopped before the kernel's plan (firmware, GRUB): no experiment to blame
    if boot.stopped_by.startswith("KVM internal error"):
        return PlatformStop("internal-error", boot.stopped_by, 1)
    if boot.stopped_by.startswith(HANG_WORDS):
        return PlatformStop("hang", boot.stopped_by, 1)
    if boot.error or boot.timed_out or boot.quit_by_harness or boot.status is None:
        return None
    decoded = qemu_cli.decode_exit(boot.status, boot.qemu_output)
    if decoded.kind == "qemu-error" or not crashes:
        return None
    crash = CRASH_RE.search(log.text)
    if crash:
        return PlatformStop("crash", "crash: " + crash.group(1).strip(), 2)
    if decoded.kind == "reset":
        return PlatformStop("reset", "the machine reset (reset or triple fault) in the middle of the run", 1)
    return PlatformStop("early-end", f"the run ended ({decoded.text}) before its plan was done", 2)


@dataclasses.dataclass
class Registry:
    """The experiments in run order (from the kernel's `list`), and which run only when named."""

    names: List[str]
    manual: List[str]


def parse_list(log_text: str) -> Registry:
    """Reads the `# experiment NAME: ...` lines of a `list` run."""
    names, manual = [], []
    for line in log_text.replace("\r", "").splitlines():
        m = LIST_LINE_RE.match(line)
        if m:
            names.append(m.group(1))
            if m.group(2):
                manual.append(m.group(1))
    if not names:
        raise HarnessError("the kernel's `list` printed no experiments")
    return Registry(names, manual)


_registry_cache: dict = {}


def kernel_registry(elf32: str, qemu: Optional[str], timeout: float = 60) -> Registry:
    """Boots the kernel once with `list` (QEMU's multiboot loader, TCG, one CPU) and reads the
    run order; cached per kernel file."""
    key = (os.path.abspath(elf32), os.path.getmtime(elf32))
    if key in _registry_cache:
        return _registry_cache[key]
    with tempfile.TemporaryDirectory(prefix="racebed-list.") as tmp:
        log_path = os.path.join(tmp, "list.log")
        cmd = qemu_cli.build_command(None, kernel=elf32, append="list", smp=1, accel="tcg",
                                     serial=log_path, qemu=qemu)
        try:
            subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
            with open(log_path, "rb") as f:
                text = f.read().decode("utf-8", "replace")
        except (OSError, subprocess.TimeoutExpired) as e:
            raise HarnessError(f"cannot list the experiments: {e}")
    reg = parse_list(text)
    _registry_cache[key] = reg
    return reg


CMDLINE_RE = re.compile(r"^# racebed: loader '[^']*', command line '([^']*)'", re.MULTILINE)


def booted_args(log: KtapLog, default: Sequence[str]) -> List[str]:
    """The command line the kernel says it booted with (a GRUB menu entry picked by keys may
    differ from the config's), else default."""
    m = CMDLINE_RE.search(log.text)
    return m.group(1).split() if m else list(default)


def _words(args: Sequence[str], key: str) -> str:
    value = ""
    for word in args:
        if word.startswith(key + "="):
            value = word[len(key) + 1:]
    return value


def _matches(glob_list: str, name: str) -> bool:
    return any(fnmatch.fnmatchcase(name, g) for g in glob_list.split(",") if g)


def selection(reg: Registry, args: Sequence[str]) -> List[str]:
    """The experiments a command line selects, in run order (the kernel's rules: tests= globs,
    or all; skip= globs removed; a manual experiment only when tests= names it exactly)."""
    tests, skip = _words(args, "tests"), _words(args, "skip")
    chosen = []
    for name in reg.names:
        if name in reg.manual:
            want = name in tests.split(",")
        else:
            want = not tests or _matches(tests, name)
        if want and not _matches(skip, name):
            chosen.append(name)
    return chosen


def covering_globs(reg: Registry, rest: Sequence[str]) -> List[str]:
    """Globs that select exactly `rest` among the registry: per name the shortest `PREFIX_*`
    (cut at an underscore) matching several names and nothing outside rest, else the name."""
    wanted = set(rest)
    plain = [n for n in reg.names if n not in reg.manual]
    globs: List[str] = []
    covered = set()
    for name in rest:
        if name in covered:
            continue
        choice = name
        if name not in reg.manual:
            cuts = [i for i, ch in enumerate(name) if ch == "_"]
            for i in cuts:
                glob = name[:i + 1] + "*"
                hits = {n for n in plain if fnmatch.fnmatchcase(n, glob)}
                if hits <= wanted and len(hits) > 1:
                    choice = glob
                    covered |= hits
                    break
        covered.add(name)
        globs.append(choice)
    return globs


def resume_args(reg: Registry, args: Sequence[str], done: int) -> Tuple[List[str], List[str]]:
    """The command line for the boot after `done` experiments of args' selection are over (the
    stopped one included), and the names it runs.  Empty names: nothing is left."""
    chosen = selection(reg, args)
    rest = chosen[done:]
    if not rest:
        return [], []
    tests = "tests=" + ",".join(covering_globs(reg, rest))
    if len(tests) > MAX_CMDLINE_WORD:
        raise HarnessError(f"cannot resume: `{tests[:60]}...` is longer than the kernel's "
                           f"{MAX_CMDLINE_WORD} characters")
    kept = [w for w in args if not w.startswith("tests=") and not w.startswith("skip=")]
    return kept + [tests], rest


def trimmed(log: KtapLog, stop: Optional[PlatformStop]) -> KtapLog:
    """The log without the results a kernel-reported timeout marked as not run."""
    if stop is None or stop.reported < 0:
        return log
    return dataclasses.replace(log, tests=log.tests[:stop.reported])


def stopped_test(number: int, name: str, stop: PlatformStop, log: KtapLog) -> KtapTest:
    """The result the kernel could not print: the running experiment failed, in the
    platform's words, with the diagnostics it printed before the stop."""
    pending = []
    lines = log.text.split("\n")
    last = max((i for i, l in enumerate(lines) if re.match(r"^(ok|not ok) \d+ ", l)), default=None)
    if last is not None:
        pending = [l for l in lines[last + 1:] if l.strip()][-30:]
    diagnostics = pending + [f"# {name}: failed: stopped by the platform: {stop.words}"]
    return KtapTest(number, name, False, "", f"platform stop: {stop.words}", diagnostics)


def merge_logs(parts: Sequence[Tuple[KtapLog, Optional[KtapTest]]], total: int) -> KtapLog:
    """One log from the boots of a resumed run: each boot's results in order, the stopped
    experiment's synthesized result after its boot's, renumbered from 1, and the union of their
    deviation lists.  Structural errors are the last boot's (the earlier ones ended early on
    purpose), plus a plan check over all."""
    tests: List[KtapTest] = []
    texts = []
    for i, (log, stopped) in enumerate(parts):
        texts.append(log.text if i == 0 else f"# ---- resumed in boot {i + 1} ----\n{log.text}")
        for t in log.tests + ([stopped] if stopped else []):
            tests.append(dataclasses.replace(t, number=len(tests) + 1))
        if stopped:  # what the kernel would have printed, in the merged log as well
            texts.append(f"{stopped.diagnostics[-1]}\nnot ok {len(tests)} {stopped.name}")
    last, last_stopped = parts[-1]
    # the last boot's own structural errors count unless it was stopped too (then it ended early)
    errors = [] if last_stopped else [e for e in last.errors if not e.startswith("plan says")]
    if len(tests) != total:
        errors.append(f"the boots together gave {len(tests)} results for {total} selected experiments")
    # The kernel prints its `# deviations:` list at the end of a run, which a stopped boot never
    # reached: the merged log gets one list, computed from every boot's observation lines.
    merged = dataclasses.replace(last, plan=total, tests=tests, errors=errors, boot_ms=parts[0][0].boot_ms,
                                 header_found=parts[0][0].header_found)
    observations, _ = parse_observations(merged)
    deviations = []
    for o in observations:
        if deviates(o.verdict, o.hits, o.trials) and o.key not in deviations:
            deviations.append(o.key)
    text = DEVIATIONS_LINE_RE.sub("", "\n".join(texts))
    text += ("\n# harness: the deviation list below is computed over all boots\n# deviations: "
             + (",".join(deviations) if deviations else "none") + "\n")
    return dataclasses.replace(merged, text=text, deviations=deviations)


def merge_boots(boots: Sequence[BootOutcome], stops: Sequence[Optional[PlatformStop]]) -> BootOutcome:
    """One outcome for the exit check: the worst exit value of the boots, where a stopped boot
    counts as its stop's value (a run the platform stopped cannot have passed)."""
    worst: Optional[int] = None
    for boot, stop in zip(boots, stops):
        if stop is not None:
            value = stop.value
        else:
            decoded = qemu_cli.decode_exit(boot.status, boot.qemu_output) if boot.status is not None else None
            if decoded is None or decoded.value is None:  # only kind "value" has a value
                return boot  # the exit check reports this boot's own trouble
            value = decoded.value
        worst = value if worst is None else max(worst, value)
    assert worst is not None, "merge_boots() of no boots"
    last = boots[-1]
    return dataclasses.replace(last, status=2 * worst + 1, stopped_by="", qemu_output="",
                               wall_s=sum(b.wall_s for b in boots), header_s=boots[0].header_s)
