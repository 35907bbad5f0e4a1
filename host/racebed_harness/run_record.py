"""The run record of the results screen's QR codes (docs/run-record.md, version 1).

- join_codes(text): the record from the decoded text of its codes (zbarimg's output, with or
  without its `QR-Code:` prefixes, or what a phone's scanner shows), the codes in any order;
  missing and unreadable codes are problems.
- record_to_ktap(record): the record as a KTAP log, for the harness's parser (so
  tools/racebed-report turns it into the same JSON, JUnit and HTML as a serial log).
- record_from_log(log): the record the kernel should have made for a parsed serial log (make
  test compares it with the one decoded from the screendump).
"""

import dataclasses
import re
from typing import Dict, List, Optional, Tuple

from .ktap import KtapLog, KtapTest
from .live import failure_reason

RECORD_VERSION = 1
MAGIC = "racebed-record"
HEADER_RE = re.compile(r"(?:QR-Code:)?RB1 (\d+)/(\d+)\r?\n")
VERDICT_LETTER = {"unknown": "u", "never": "n", "always": "a", "allowed": "l", "model-specific": "m",
                  "control": "c"}
LETTER_VERDICT = {v: k for k, v in VERDICT_LETTER.items()}


def looks_like_codes(text: str) -> bool:
    """True when text holds decoded QR codes of a run record rather than a serial log."""
    return bool(HEADER_RE.search(text)) and "KTAP version 1" not in text


@dataclasses.dataclass
class Joined:
    record: str
    codes: int = 0       # distinct codes read
    expected: int = 0    # N of their `RB1 K/N` headers
    problems: List[str] = dataclasses.field(default_factory=list)


def join_codes(text: str) -> Joined:
    """The record from the codes' text, in K order; each code's trailing newlines are dropped
    (scanners add or strip one) and the codes joined by one (codes hold whole lines)."""
    text = text.replace("\r\n", "\n")
    found = list(HEADER_RE.finditer(text))
    parts: Dict[int, str] = {}
    totals = set()
    problems = []
    for i, m in enumerate(found):
        end = found[i + 1].start() if i + 1 < len(found) else len(text)
        k, n = int(m.group(1)), int(m.group(2))
        body = text[m.end():end].rstrip("\n")
        if k in parts and parts[k] != body:
            problems.append(f"code {k} of {n} read twice with different text")
        parts[k] = body
        totals.add(n)
    if not found:
        return Joined("", problems=["no `RB1 K/N` code header in the text: not a run record's QR codes"])
    if len(totals) > 1:
        problems.append(f"the codes disagree on how many there are: {sorted(totals)} (two runs mixed?)")
    n = max(totals)
    missing = [k for k in range(1, n + 1) if k not in parts]
    if missing:
        problems.append(f"{len(missing)} of {n} codes missing: {', '.join(map(str, missing))} "
                        f"(scan them too; the screen shows each code's K of N)")
    record = "\n".join(parts[k] for k in sorted(parts)) + "\n"
    if not record.startswith(f"{MAGIC} "):
        problems.append(f"the record does not start with `{MAGIC} VERSION`")
    elif not record.startswith(f"{MAGIC} {RECORD_VERSION}\n"):
        problems.append(f"record version {record.split()[1]}: this reader knows version {RECORD_VERSION}")
    overflow = re.search(r"^! truncated (\d+) bytes$", record, re.MULTILINE)
    if overflow:
        problems.append(f"the kernel's record overflowed: {overflow.group(1)} bytes were not recorded")
    return Joined(record, len(parts), n, problems)


def _word(hits: int, trials: int) -> str:
    if trials == 0:
        return "Unreached"
    return "Never" if hits == 0 else "Always" if hits == trials else "Sometimes"


def record_to_ktap(record: str) -> str:
    """The record as the serial log it stands for (no figures, histograms or subtests: the
    record does not hold them)."""
    head = ["", "# racebed: run record from QR codes (docs/run-record.md)"]
    body: List[str] = []
    devs: List[str] = []       # EXPERIMENT.OBSERVATION, in run order
    deviating: List[str] = []  # the running experiment's deviating observations
    number, totals = 0, None  # type: Tuple[int, Optional[List[str]]]
    for line in record.split("\n"):
        if line.startswith("P "):
            head.append(f"# platform {line[2:]}")
        elif line.startswith("O "):
            f = line.split()
            if len(f) != 5 or not (f[2].isdigit() and f[3].isdigit()):
                body.append(f"# record: unreadable line `{line}`")
                continue
            hits, trials, verdict = int(f[2]), int(f[3]), LETTER_VERDICT.get(f[4], "unknown")
            body.append(f"# observation {f[1]}={_word(hits, trials)} {hits}/{trials} arch={verdict}")
            if trials and ((verdict == "never" and hits) or (verdict == "always" and hits != trials)):
                deviating.append(f[1])
        elif line.startswith(("ok ", "not ok ", "skip ")):
            word = "not ok" if line.startswith("not ok ") else line.split()[0]
            name, _, reason = line[len(word) + 1:].partition(" ")
            number += 1
            if word == "ok":
                body.append(f"ok {number} {name}")
            elif word == "skip":
                body.append(f"ok {number} {name} # SKIP {reason}")
            elif reason.startswith("TIMEOUT "):
                body.append(f"not ok {number} {name} # {reason}")
            else:
                body += [f"# {name}: failed: {reason}", f"not ok {number} {name}"]
            devs += [f"{name}.{o}" for o in deviating]
            deviating = []
        elif line.startswith("T "):
            totals = line.split()[1:]
    done = totals if totals is not None and len(totals) == 4 else None
    out = head + ["KTAP version 1", f"1..{done[3] if done else number}"] + body
    out.append(f"# deviations: {','.join(devs) if devs else 'none'}")
    if done:
        out.append("# Totals: pass:{} fail:{} skip:{} total:{}".format(*done))
    return "\n".join(out) + "\n"


def record_from_log(log: KtapLog) -> str:
    """The record the kernel makes for the run this log shows."""
    platform = next((l[len("# platform "):] for l in log.run_diagnostics if l.startswith("# platform ")), "")
    out = [f"{MAGIC} {RECORD_VERSION}", f"P {platform}"]
    deviations = 0
    for t in log.tests:
        for o in t.records.observations:
            out.append(f"O {o.name} {o.hits} {o.trials} {VERDICT_LETTER.get(o.arch or 'unknown', 'u')}")
            deviations += o.deviation
        if t.outcome == "ok":
            out.append(f"ok {t.name}")
        else:
            out.append(f"{'skip' if t.outcome == 'skip' else 'not ok'} {t.name} {failure_reason(t)}")
    c = log.counts()
    out += [f"D {deviations}", f"T {c.passed} {c.failed} {c.skipped} {c.total}"]
    return "\n".join(out) + "\n"
