"""The headline observations: the answers people boot racebed for, one line each.

The same table as kernel/results.c's (the results screen); host/tests/test_live.py checks that
the two agree.  A headline adds up every observation whose experiment and name match its globs
(the poke_* family's several experiments give one line)."""

import dataclasses
import fnmatch
from typing import List, Optional, Sequence

from .ktap import KtapLog, KtapTest

# (label, experiment glob, observation glob), in family order
HEADLINES = (
    ("NMI inside the STI shadow", "sti_shadow_nmi", "nmi_in_shadow"),
    ("IRQ after the NMI's IRET, before HLT", "sti_shadow_nmi", "irq_before_hlt_after_nmi"),
    ("#DB after STI held by the shadow", "sti_single_step", "db_held_by_sti_shadow"),
    ("MOV SS: #DB in the INT3 handler", "movss_db_next", "mk_int3_db_in_handler"),
    ("NMI inside the MOV SS shadow", "movss_shadow_nmi", "event_in_movss_shadow"),
    ("IRQ inside the MOV SS shadow", "movss_shadow_irq", "event_in_movss_shadow"),
    ("Stale int3 run after a poke's sync", "poke_*", "stale_int3_after_sync"),
    ("Broken call while poking", "poke_*", "broken_*"),
)


@dataclasses.dataclass
class Headline:
    label: str
    hits: int = 0
    trials: int = 0
    verdict: str = ""  # the verdict all matches share, "mixed", or "" when none ran
    seen: int = 0      # observations added up

    @property
    def word(self) -> str:
        if not self.seen:
            return "not run"
        if self.trials == 0:
            return "Unreached"
        if self.hits == 0:
            return "Never"
        return "Always" if self.hits == self.trials else "Sometimes"

    def text(self, short: bool = False) -> str:
        """`LABEL: WORD HITS/TRIALS (architecture: VERDICT)` (short: `(arch: VERDICT)`)."""
        if not self.seen:
            return f"{self.label}: not run"
        arch = "arch" if short else "architecture"
        return f"{self.label}: {self.word} {self.hits}/{self.trials} ({arch}: {self.verdict})"


def matches(label_row: Sequence[str], experiment: str, observation: str) -> bool:
    _, exp_glob, obs_glob = label_row
    return fnmatch.fnmatchcase(experiment, exp_glob) and fnmatch.fnmatchcase(observation, obs_glob)


def add(h: Headline, hits: Optional[int], trials: Optional[int], verdict: Optional[str]) -> None:
    h.hits += hits or 0
    h.trials += trials or 0
    v = verdict or "unknown"
    h.verdict = v if not h.seen or h.verdict == v else "mixed"
    h.seen += 1


def headlines(tests: Sequence[KtapTest]) -> List[Headline]:
    """Every headline, added up over tests' observations (not run when none matched)."""
    out = [Headline(row[0]) for row in HEADLINES]
    for t in tests:
        for o in t.records.observations:
            for row, h in zip(HEADLINES, out):
                if matches(row, t.name, o.name):
                    add(h, o.hits, o.trials, o.arch)
    return out


def test_headline(t: KtapTest) -> str:
    """One observation that says what an experiment found: a headline's when it has one (one
    with hits first), else
    the first deviation, else its first observation that is not a control; "" when none."""
    obs = t.records.observations
    heads = [o for o in obs if any(matches(row, t.name, o.name) for row in HEADLINES)]
    pick = next((o for o in heads if o.hits), heads[0] if heads else None)
    pick = pick or next((o for o in obs if o.deviation), None)
    pick = pick or next((o for o in obs if o.arch != "control"), None)
    if pick is None:
        return ""
    counts = f" {pick.hits}/{pick.trials}" if pick.trials is not None else ""
    return f"{pick.name}={pick.word}{counts} ({pick.arch or 'unknown'})"


def log_headlines(log: KtapLog) -> List[Headline]:
    return headlines(log.tests)
