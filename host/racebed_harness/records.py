"""The structured diagnostic lines of docs/output-format.md, parsed from a
test's `# ...` lines: figures, outcomes, observations, controls, log2
histograms, CPU pairs, the aimed-vs-blind race line, the platform line.

Every parser here takes the text after `# ` and returns None when the line
is not of its kind; unknown `key=value` tokens at the end of a line are
ignored, so new fields can be added to the kernel without breaking readers.
"""

import dataclasses
import re
from typing import Dict, List, Optional, Union

Number = Union[int, float, str]

KV_RE = re.compile(r"^([A-Za-z_][A-Za-z0-9_.]*)=(\S*)$")
OBSERVATION_RE = re.compile(r"^observation\s+([^\s=]+)=(\S+)(?:\s+(\d+)/(\d+))?(.*)$")
OUTCOME_RE = re.compile(r"^outcome\s+(\S+)=(\d+)\s*$")
CONTROL_RE = re.compile(r"^control\s+([^\s=]+)=(\d+)(.*)$")
HIST_RE = re.compile(r"^hist\s+(\S+)\s+(.*)$")
BUCKET_RE = re.compile(r"^(z|\d+):(\d+)$")
PAIR_RE = re.compile(r"^pair\s+(\d+)->(\d+)\s+(.*)$")
RACE_RE = re.compile(r"^race\s+(.*)$")
RACE_SHAPE_RE = re.compile(r"^race_shape\s+(\S+)\s+(.*)$")
RACE_SCHEDULE_RE = re.compile(r"^race_schedule\s+(.*)$")
DEVIATIONS_MORE_RE = re.compile(r"^\.\.\. \((\d+) in all\)$")
RUNNING_RE = re.compile(r"^(\S+): running, budget (\d+) ms\s*$")
DEVIATIONS_RE = re.compile(r"^deviations:\s*(.*)$")
# `roundtrip_ns=min/median/p99/max 5941/13186/3985904/8334149`: named values, then the numbers
SLASHED_RE = re.compile(r"^([A-Za-z_][A-Za-z0-9_.]*)=([A-Za-z0-9_]+(?:/[A-Za-z0-9_]+)+)\s+(-?[0-9.]+(?:/-?[0-9.]+)+)\s*$")
PLATFORM_RE = re.compile(r"^platform\s+(.*)$")

WORDS = ("Never", "Sometimes", "Always", "Unreached")
VERDICTS = ("never", "always", "allowed", "model-specific", "control")


def number(text: str) -> Number:
    """An int or float when text is one, else text itself."""
    if re.fullmatch(r"-?0x[0-9a-fA-F]+", text):
        return int(text, 16)
    if re.fullmatch(r"-?\d+", text):
        return int(text, 10)  # "08" too
    # a decimal only: "inf" or "nan" stay strings (JSON has no infinity)
    return float(text) if re.fullmatch(r"-?\d*\.\d+(e-?\d+)?|-?\d+e-?\d+", text) else text


def key_values(text: str) -> Dict[str, str]:
    """Every `key=value` token of a line, in order (later repeats ignored)."""
    out: Dict[str, str] = {}
    for token in text.split():
        m = KV_RE.match(token)
        if m and m.group(1) not in out:
            out[m.group(1)] = m.group(2)
    return out


@dataclasses.dataclass
class Observation:
    name: str
    word: str  # Never, Sometimes, Always, Unreached (or what the log says)
    hits: Optional[int] = None
    trials: Optional[int] = None
    arch: Optional[str] = None  # the architecture's verdict (never/always/allowed/...)
    ref: Optional[str] = None
    vendor: Optional[str] = None  # whose manual the verdict is from: intel or amd

    @property
    def unreached(self) -> bool:
        """True when the observation's precondition never occurred (0 trials): no evidence."""
        return self.word == "Unreached"

    @property
    def deviation(self) -> bool:
        """True when the platform contradicts the architectural verdict."""
        if self.arch == "never":
            return self.word in ("Sometimes", "Always")
        if self.arch == "always":
            return self.word in ("Never", "Sometimes")
        return False


@dataclasses.dataclass
class Histogram:
    name: str
    unit: str
    n: int
    buckets: Dict[str, int]  # "z" or the log2 exponent as a string -> count

    def bounds(self) -> List[tuple]:
        """(low, high, count) per bucket in ascending order: [2^k, 2^(k+1)), z is [0, 1)."""
        rows = []
        for key, count in self.buckets.items():
            if key == "z":
                rows.append((0, 1, count))
            else:
                k = int(key)
                rows.append((2 ** k, 2 ** (k + 1), count))
        return sorted(rows)

    def quantile_bucket(self, q: float) -> Optional[tuple]:
        """[low, high) of the bucket that holds the q-quantile (0 < q <= 1); None when empty."""
        rank, seen = max(1, -(-int(q * 1000000) * self.n // 1000000)), 0
        for low, high, count in self.bounds():
            seen += count
            if seen >= rank:
                return (low, high)
        return None


@dataclasses.dataclass
class Pair:
    sender: int
    victim: int
    trials: int
    hits: int
    # the line's other key=value fields, typed (the race engine's blind_trials, blind_hits,
    # aimed_trials, aimed_hits, shape, period_ns, delay_ns)
    fields: Dict[str, Number] = dataclasses.field(default_factory=dict)


def parse_observation(text: str) -> Optional[Observation]:
    m = OBSERVATION_RE.match(text)
    if not m:
        return None
    kv = key_values(m.group(5) or "")
    hits = int(m.group(3)) if m.group(3) is not None else None
    trials = int(m.group(4)) if m.group(4) is not None else None
    return Observation(m.group(1), m.group(2), hits, trials, kv.get("arch"), kv.get("ref"),
                       kv.get("vendor"))


def parse_hist(text: str) -> Optional[Histogram]:
    """`hist NAME unit=UNIT n=N K:C ...`; None if not a histogram line,
    ValueError if it is one but malformed."""
    m = HIST_RE.match(text)
    if not m:
        return None
    unit, n, buckets = "", None, {}
    for token in m.group(2).split():
        b = BUCKET_RE.match(token)
        kv = KV_RE.match(token)
        if b:
            buckets[b.group(1)] = int(b.group(2))
        elif kv and kv.group(1) == "unit":
            unit = kv.group(2)
        elif kv and kv.group(1) == "n":
            if not kv.group(2).isdigit():
                raise ValueError(f"histogram {m.group(1)}: n={kv.group(2)} is not a number")
            n = int(kv.group(2))
        elif kv:
            continue  # an unknown field: ignored
        else:
            raise ValueError(f"histogram {m.group(1)}: bucket `{token}` is not K:COUNT")
    if n is None:
        raise ValueError(f"histogram {m.group(1)}: no n=N field")
    if sum(buckets.values()) != n:
        raise ValueError(f"histogram {m.group(1)}: buckets add up to {sum(buckets.values())}, n={n}")
    return Histogram(m.group(1), unit or "?", n, buckets)


def parse_pair(text: str) -> Optional[Pair]:
    m = PAIR_RE.match(text)
    if not m:
        return None
    kv = key_values(m.group(3))
    try:
        trials, hits = int(kv.pop("trials")), int(kv.pop("hits"))
    except (KeyError, ValueError):
        raise ValueError(f"pair {m.group(1)}->{m.group(2)}: expected trials=T hits=H") from None
    if hits > trials:
        raise ValueError(f"pair {m.group(1)}->{m.group(2)}: hits={hits} > trials={trials}")
    return Pair(int(m.group(1)), int(m.group(2)), trials, hits, {k: number(v) for k, v in kv.items()})


def parse_race(text: str) -> Optional[Dict[str, Number]]:
    m = RACE_RE.match(text)
    if not m:
        return None
    return {k: number(v) for k, v in key_values(m.group(1)).items()}


def parse_race_shape(text: str) -> Optional[Dict[str, Number]]:
    """`race_shape NAME trials=T hits=H hits_per_s=S chosen_by_pairs=C` as a dict with name."""
    m = RACE_SHAPE_RE.match(text)
    if not m:
        return None
    return dict({"name": m.group(1)}, **{k: number(v) for k, v in key_values(m.group(2)).items()})


def parse_platform(text: str) -> Optional[Dict[str, str]]:
    m = PLATFORM_RE.match(text)
    return key_values(m.group(1)) if m else None


def parse_deviations(text: str) -> Optional[List[str]]:
    m = DEVIATIONS_RE.match(text)
    if not m:
        return None
    value = m.group(1).strip()
    # a list of more than 96 ends in `,... (N in all)`: the names printed are kept
    return [] if value in ("", "none") else [v for v in value.split(",") if v and not DEVIATIONS_MORE_RE.match(v)]


@dataclasses.dataclass
class Records:
    """Everything structured in one test's own diagnostics."""

    figures: Dict[str, Number] = dataclasses.field(default_factory=dict)
    outcomes: Dict[str, int] = dataclasses.field(default_factory=dict)
    observations: List[Observation] = dataclasses.field(default_factory=list)
    controls: Dict[str, int] = dataclasses.field(default_factory=dict)
    hists: List[Histogram] = dataclasses.field(default_factory=list)
    pairs: List[Pair] = dataclasses.field(default_factory=list)
    race: Optional[Dict[str, Number]] = None
    race_shapes: List[Dict[str, Number]] = dataclasses.field(default_factory=list)
    race_schedule: Optional[Dict[str, Number]] = None
    budget_ms: Optional[int] = None
    duration_ms: Optional[int] = None
    crash: List[str] = dataclasses.field(default_factory=list)
    problems: List[str] = dataclasses.field(default_factory=list)  # malformed lines


def parse_records(lines: List[str]) -> Records:
    """Parses a test's own diagnostic lines (each starting with `#`)."""
    rec = Records()
    in_crash = False
    for raw in lines:
        if not raw.startswith("#"):
            continue
        text = raw[1:].strip()
        if text.startswith("crash:"):
            in_crash = True
        if in_crash:
            rec.crash.append(raw)
            continue
        try:
            obs = parse_observation(text)
            hist = parse_hist(text) if obs is None else None
            pair = parse_pair(text) if obs is None and hist is None else None
        except ValueError as e:
            rec.problems.append(f"`{raw}`: {e}")
            continue
        if obs:
            rec.observations.append(obs)
            continue
        if hist:
            rec.hists.append(hist)
            continue
        if pair:
            rec.pairs.append(pair)
            continue
        m = OUTCOME_RE.match(text)
        if m:
            rec.outcomes[m.group(1)] = int(m.group(2))
            continue
        m = CONTROL_RE.match(text)
        if m:  # a control printed again (a second phase) gets `.2`, `.3` as figures do
            name, i = m.group(1), 2
            while name in rec.controls:
                name, i = f"{m.group(1)}.{i}", i + 1
            rec.controls[name] = int(m.group(2))
            continue
        race = parse_race(text)
        if race is not None:
            rec.race = race
            continue
        shape = parse_race_shape(text)
        if shape is not None:
            rec.race_shapes.append(shape)
            continue
        m = RACE_SCHEDULE_RE.match(text)
        if m:
            rec.race_schedule = {k: number(v) for k, v in key_values(m.group(1)).items()}
            continue
        m = RUNNING_RE.match(text)
        if m:
            rec.budget_ms = int(m.group(2))
            continue
        m = SLASHED_RE.match(text)
        if m and len(m.group(2).split("/")) == len(m.group(3).split("/")):
            for name, value in zip(m.group(2).split("/"), m.group(3).split("/")):
                rec.figures.setdefault(f"{m.group(1)}.{name}", number(value))
            continue
        for key, value in key_values(text).items():
            if key == "duration_ms" and value.isdigit():
                rec.duration_ms = int(value)
                continue
            name, i = key, 2
            while name in rec.figures:
                name, i = f"{key}.{i}", i + 1
            rec.figures[name] = number(value)
    return rec
