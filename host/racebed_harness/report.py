"""Reporting: one PASS / FAIL / SKIP line per checked result, and the counts."""

import dataclasses
import sys
from typing import List, Optional, Protocol, Sequence

LOG_TAIL_LINES = 20


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


class Output(Protocol):
    """Where a Reporter prints: sys.stdout, a StringIO, a sink."""

    def write(self, text: str) -> int: ...

    def flush(self) -> None: ...


class Reporter:
    """Prints results as they come and counts them."""

    def __init__(self, out: Optional[Output] = None, verbose_details: bool = True) -> None:
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


def log_tail(text: str, n: int = LOG_TAIL_LINES) -> List[str]:
    """The last n non-blank lines of a (cleaned) serial log, ready to print."""
    lines = [l for l in text.split("\n") if l.strip()]
    if not lines:
        return ["(the serial log is empty)"]
    head = [f"last {min(n, len(lines))} lines of the serial log:"]
    return head + ["| " + l for l in lines[-n:]]
