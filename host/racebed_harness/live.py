"""`make run` for a person: a live view of the serial log instead of the raw KTAP.

QEMU writes the serial port to a file (build/run/serial.log, the raw log, kept whatever
happens); this module follows that file and shows

- on a terminal, a status line: the experiment running, N of M, the elapsed time, a bar;
- one line per finished experiment: ok / not ok / skip (in colour on a terminal), its
  duration and its headline observation (or the reason it failed or was skipped);
- at the end a summary: totals, answers (headlines.py), failures with reasons, deviations,
  the platform, and how the run ended (Ctrl-C, QEMU gone mid-way: what was seen until then).

Without a terminal (or one narrower than MIN_WIDTH, or TERM=dumb) the same lines come plain:
no status line, no escape codes.  Every finished experiment is read with the harness's KTAP
parser (ktap.py) from the log so far.
"""

import os
import shutil
import subprocess
import sys
import threading
import time
from typing import IO, Callable, List, Optional, Sequence, TextIO

from .headlines import log_headlines, test_headline
from .ktap import KTAP_HEADER, PLAN_RE, RESULT_RE, KtapLog, KtapTest, clean_serial, parse_ktap
from .records import RUNNING_RE
from .runner import RunHook

MIN_WIDTH = 60
NAME_WIDTH = 24
BAR_WIDTH = 20
POLL_S = 0.2
MAX_DEVIATIONS_SHOWN = 12
COLOURS = {"ok": "\x1b[32m", "not ok": "\x1b[1;31m", "skip": "\x1b[33m"}
RESET = "\x1b[0m"
CLEAR_LINE = "\r\x1b[K"


def clock_text(seconds: float) -> str:
    """Elapsed time as M:SS (H:MM:SS past an hour)."""
    s = int(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[:max(width - 3, 0)] + "..."


def result_word(t: KtapTest) -> str:
    return {"ok": "ok", "skip": "skip"}.get(t.outcome, "not ok")


def failure_reason(t: KtapTest) -> str:
    """Why a test failed or was skipped: its directive's reason or `# NAME: failed: ...`."""
    prefix = f"# {t.name}: failed: "
    for line in reversed(t.own):
        if line.startswith(prefix):
            return line[len(prefix):]
    if t.directive and t.directive != "SKIP":
        return f"{t.directive} {t.reason}".strip()
    return t.reason


def result_line(t: KtapTest, width: int, colour: bool) -> str:
    """One finished experiment: `  ok      NAME   1.2 s  headline`, cut to width."""
    word = result_word(t)
    ms = t.records.duration_ms
    took = f"{ms / 1000:6.1f} s" if ms is not None else " " * 8
    what = failure_reason(t) if t.outcome != "ok" else test_headline(t)
    plain = cut(f"  {word:<7} {t.name:<{NAME_WIDTH}} {took}  {what}".rstrip(), width)
    if not colour:
        return plain
    return plain.replace(word, COLOURS[word] + word + RESET, 1)


def status_line(running: Optional[str], done: int, planned: Optional[int], elapsed: float,
                running_for: float, width: int) -> str:
    """The live line: bar, N of M, elapsed time and the experiment running, cut to width."""
    if planned is None:
        return cut(f"  booting (firmware, GRUB menu) {clock_text(elapsed)}", width)
    fill = BAR_WIDTH * done // planned if planned else BAR_WIDTH
    bar = "#" * fill + "." * (BAR_WIDTH - fill)
    now = f"  {running} ({clock_text(running_for)})" if running else ""
    return cut(f"  [{bar}] {min(done + 1, planned)} of {planned}  {clock_text(elapsed)}{now}", width)


def platform_text(log: KtapLog) -> str:
    p = log.platform
    if not p:
        return "not reported"
    brand = p.get("brand", "unreported").replace("_", " ")
    return (f"{p.get('vendor', '?')} family {p.get('family', '?')} model {p.get('model', '?')} "
            f"stepping {p.get('stepping', '?')}, microcode {p.get('microcode', '?')}, {brand}; "
            f"hypervisor {p.get('hypervisor', '?')}, APIC {p.get('apic', '?')}, "
            f"{p.get('cpus', '?')} CPUs, firmware {p.get('firmware', '?')}")


def summary_lines(log: KtapLog, elapsed: float, ending: str, log_path: str, width: int,
                  running: Optional[str] = None) -> List[str]:
    """The table at the end: totals, answers, failures, deviations, platform, the log."""
    c = log.counts()
    planned = log.plan if log.plan is not None else "?"
    out = ["", f"racebed: {c.passed} passed, {c.failed} failed, {c.skipped} skipped of {planned} "
               f"in {clock_text(elapsed)}  ({ending})"]
    if log.summary is None:
        where = f", stopped in {running}" if running else ""
        out.append(f"  the run did not complete: {len(log.tests)} of {planned} results seen{where}")
        if not log.header_found:
            out.append("  (no KTAP output at all: the kernel never started its report)")
    answers = [h for h in log_headlines(log) if h.seen]
    if answers:
        out.append("Answers (hits/trials on this machine, and what the architecture says):")
        out += [f"  {cut(h.text(), width - 2)}" for h in answers]
    failed = [t for t in log.tests if t.outcome == "not-ok"]
    out.append(f"Failures: {len(failed) or 'none'}")
    out += [cut(f"  {t.name:<{NAME_WIDTH}} {failure_reason(t)}", width) for t in failed]
    devs = [(t, o) for t in log.tests for o in t.records.observations if o.deviation]
    out.append(f"Deviations from the architecture: {len(devs) or 'none'}")
    for t, o in devs[:MAX_DEVIATIONS_SHOWN]:
        out.append(cut(f"  {t.name}.{o.name}: {o.word} {o.hits}/{o.trials}, architecture: {o.arch}",
                       width))
    if len(devs) > MAX_DEVIATIONS_SHOWN:
        out.append(f"  ... and {len(devs) - MAX_DEVIATIONS_SHOWN} more (tools/racebed-report {log_path})")
    out.append(cut(f"Platform: {platform_text(log)}", width))
    out.append(f"Serial log: {log_path}")
    return out


class LiveView:
    """Follows the serial text as it comes (feed) and writes the view to out."""

    def __init__(self, out: TextIO, fancy: bool, width: int, clock: Callable[[], float] = time.monotonic):
        self.out = out
        self.fancy = fancy and width >= MIN_WIDTH
        self.width = width if self.fancy else 10 ** 6
        self.clock = clock
        self.started = clock()
        self.partial = ""
        self.lines: List[str] = []
        self.in_ktap = False
        self.planned: Optional[int] = None
        self.done = 0
        self.running: Optional[str] = None
        self.running_since = self.started
        self.status_shown = False

    def feed(self, text: str) -> None:
        text = self.partial + text
        *complete, self.partial = text.split("\n")
        for raw in complete:
            self.line(clean_serial(raw).rstrip())
        self.redraw()

    def line(self, line: str) -> None:
        self.lines.append(line)
        if line.endswith(KTAP_HEADER) and not line.startswith(" "):
            self.in_ktap = True
            return
        if not self.in_ktap or line.startswith(" "):
            return
        m = PLAN_RE.match(line)
        if m and self.planned is None:
            self.planned = int(m.group(1))
            return
        m = RUNNING_RE.match(line[1:].strip()) if line.startswith("#") else None
        if m:
            self.running, self.running_since = m.group(1), self.clock()
            return
        if RESULT_RE.match(line):
            log = parse_ktap("\n".join(self.lines))
            if log.tests:
                self.done = len(log.tests)
                self.running = None
                self.emit(result_line(log.tests[-1], self.width, self.fancy))

    def emit(self, text: str) -> None:
        if self.status_shown:
            self.out.write(CLEAR_LINE)
            self.status_shown = False
        self.out.write(text + "\n")
        self.out.flush()

    def redraw(self) -> None:
        if not self.fancy:
            return
        now = self.clock()
        text = status_line(self.running, self.done, self.planned, now - self.started,
                           now - self.running_since, self.width - 1)
        self.out.write(CLEAR_LINE + text)
        self.out.flush()
        self.status_shown = True

    def finish(self, ending: str, log_path: str) -> KtapLog:
        """Takes the last partial line, clears the status line, prints the summary."""
        if self.partial:
            self.line(clean_serial(self.partial).rstrip())
            self.partial = ""
        if self.status_shown:
            self.out.write(CLEAR_LINE)
            self.status_shown = False
        log = parse_ktap("\n".join(self.lines))
        for text in summary_lines(log, self.clock() - self.started, ending, log_path, self.width,
                                  self.running):
            self.out.write(text + "\n")
        self.out.flush()
        return log


def terminal_view(out: TextIO) -> LiveView:
    """A fancy view on a real terminal wide enough, plain lines otherwise."""
    tty = out.isatty() and os.environ.get("TERM", "dumb") != "dumb"
    width = shutil.get_terminal_size((80, 24)).columns
    return LiveView(out, tty, width)


def run(cmd: List[str], log_path: str, decode: Callable, out: TextIO = sys.stdout,
        hooks: Sequence[RunHook] = ()) -> int:
    """Runs QEMU (its serial port already a file at log_path in cmd), shows the live view,
    returns the exit status decode(status, stderr) gives (130 after Ctrl-C). hooks see the
    serial output as it grows (the kernel's host requests are served by one)."""
    os.makedirs(os.path.dirname(os.path.abspath(log_path)), exist_ok=True)
    open(log_path, "wb").close()
    print(f"racebed: raw serial log in {log_path} (make run RAW=1 shows it here); Ctrl-C stops",
          file=out, flush=True)
    view = terminal_view(out)
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)
    except OSError as e:
        print(f"racebed: cannot run {cmd[0]}: {e.strerror}", file=sys.stderr)
        return 125
    captured: List[bytes] = []
    pipe = proc.stdout
    assert pipe is not None  # stdout=PIPE

    def drain(stream: IO[bytes]) -> None:
        captured.extend(stream)

    reader = threading.Thread(target=drain, args=(pipe,), daemon=True)
    reader.start()
    interrupted = False
    serial = b""
    start = time.monotonic()
    with open(log_path, "rb") as log:
        try:
            while proc.poll() is None:
                chunk = log.read()
                serial += chunk
                view.feed(chunk.decode("utf-8", "replace"))
                for hook in hooks:
                    hook.poll(serial, "", time.monotonic() - start)
                time.sleep(POLL_S)
        except KeyboardInterrupt:
            interrupted = True
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
        status = proc.wait()
        reader.join(timeout=2)
        view.feed(log.read().decode("utf-8", "replace"))
    qemu_text = b"".join(captured).decode("utf-8", "replace")
    ended = decode(status, qemu_text)
    ending = "stopped with Ctrl-C" if interrupted else ended.text
    view.finish(ending, log_path)
    if qemu_text.strip() and not interrupted:
        print("QEMU said:\n" + qemu_text.rstrip(), file=out)
    return 130 if interrupted else ended.status
