"""Logs from several platforms side by side (tools/racebed-report --compare): every observation
(experiment.observation) one row, one column per log, the rows whose words differ between the
platforms first, then the ones that agree, then those no log reached (0 trials everywhere: no
evidence, listed apart). Each row carries the architecture's verdict per vendor (Intel SDM, AMD
APM) as the logs print it. Also the headline table of the README (tools/platforms-table.py):
the answers per platform, one line each."""

import dataclasses
from typing import Dict, List, Optional, Sequence, Set

from .export import BootRecord, platform_dict
from .headlines import Headline, add, matches
from .records import Observation

VENDOR_ORDER = ("intel", "amd", "")


@dataclasses.dataclass
class Row:
    key: str                          # experiment.observation
    cells: Dict[int, Observation]     # column index -> the observation in that log
    verdicts: Dict[str, str]          # vendor ("" when the log names none) -> verdict
    differs: bool = False             # the reached cells' words are not all the same
    odd: Set[int] = dataclasses.field(default_factory=set)  # columns off the row's usual word

    def arch_text(self) -> str:
        """`never` when every vendor agrees, else `intel never, amd model-specific`."""
        if not self.verdicts:
            return "?"
        if len(set(self.verdicts.values())) == 1:
            return next(iter(self.verdicts.values()))
        return ", ".join(f"{v or '(no vendor)'} {self.verdicts[v]}"
                         for v in sorted(self.verdicts, key=vendor_rank))


@dataclasses.dataclass
class Comparison:
    columns: List[str]     # log names; the first `references` are the reference logs
    references: int
    differ: List[Row]
    agree: List[Row]
    unreached: List[Row]
    left_out: int = 0      # rows none of the user's logs has (shown with show_all)
    without: List[str] = dataclasses.field(default_factory=list)  # logs without observations


def vendor_rank(vendor: str) -> int:
    return VENDOR_ORDER.index(vendor) if vendor in VENDOR_ORDER else len(VENDOR_ORDER)


def classify(row: Row) -> None:
    """Sets differs and odd: Unreached cells are never compared; the usual word is the most
    common one among the reached cells (on a tie every reached cell is odd)."""
    words = {c: o.word for c, o in row.cells.items() if not o.unreached}
    tally: Dict[str, int] = {}
    for w in words.values():
        tally[w] = tally.get(w, 0) + 1
    row.differs = len(tally) > 1
    if not row.differs:
        row.odd = set()
        return
    top = max(tally.values())
    usual = {w for w, n in tally.items() if n == top}
    row.odd = {c for c, w in words.items() if w not in usual or len(usual) > 1}


def compare(records: Sequence[BootRecord], references: int = 0,
            show_all: bool = False) -> Comparison:
    """The comparison of records, whose first `references` are the reference logs. With user
    logs after them, rows none of those has are left out (counted) unless show_all."""
    columns = [r for r in records if any(t.records.observations for t in r.log.tests)]
    refs = sum(1 for r in records[:references] if r in columns)
    rows: Dict[str, Row] = {}
    for col, rec in enumerate(columns):
        for t in rec.log.tests:
            for o in t.records.observations:
                key = f"{t.name}.{o.name}"
                row = rows.setdefault(key, Row(key, {}, {}))
                row.cells[col] = o
                if o.arch:
                    row.verdicts.setdefault(o.vendor or "", o.arch)
    users = set(range(refs, len(columns)))
    left_out = 0
    out = Comparison([r.name for r in columns], refs, [], [], [],
                     without=[r.name for r in records if r not in columns])
    for row in rows.values():
        if users and not show_all and not users & set(row.cells):
            left_out += 1
            continue
        classify(row)
        if all(o.unreached for o in row.cells.values()):
            out.unreached.append(row)
        else:
            (out.differ if row.differs else out.agree).append(row)
    out.left_out = left_out
    return out


def cell_text(o: Optional[Observation]) -> str:
    if o is None:
        return "-"
    counts = f" {o.hits}/{o.trials}" if o.hits is not None and o.trials is not None else ""
    return f"{o.word}{counts}{'!' if o.deviation else ''}"


def table_lines(cmp: Comparison, rows: Sequence[Row], markdown: bool) -> List[str]:
    """One table: observation, architecture, a cell per log (`*` marks the odd cells)."""
    head = ["observation", "architecture"] + [
        name + (" (yours)" if i >= cmp.references and cmp.references else "")
        for i, name in enumerate(cmp.columns)]
    body = []
    for row in rows:
        cells = []
        for c in range(len(cmp.columns)):
            text = cell_text(row.cells.get(c))
            if c in row.odd:
                text = f"**{text}**" if markdown else f"*{text}"
            cells.append(text)
        body.append([f"`{row.key}`" if markdown else row.key, row.arch_text()] + cells)
    if markdown:
        return (["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
                + ["| " + " | ".join(r) + " |" for r in body])
    widths = [max(len(r[i]) for r in [head] + body) for i in range(len(head))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return [fmt.format(*head).rstrip(), fmt.format(*("-" * w for w in widths))] + [
        fmt.format(*r).rstrip() for r in body]


def render_text(cmp: Comparison, markdown: bool = False) -> str:
    """The comparison as plain text (markdown: headings and pipe tables)."""
    h = "### " if markdown else "== "
    out = [f"{h}{len(cmp.differ)} observations differ between the platforms"]
    legend = ("(`**` marks the cells off the row's usual word; `!` a deviation from the "
              "architecture; `-` not in that log; Unreached is never compared)")
    out.append(legend if markdown else legend.replace("`**`", "`*`"))
    out.append("")
    out += table_lines(cmp, cmp.differ, markdown) if cmp.differ else ["none"]
    out += ["", f"{h}{len(cmp.agree)} observations agree", ""]
    out += table_lines(cmp, cmp.agree, markdown) if cmp.agree else ["none"]
    out += ["", f"{h}{len(cmp.unreached)} unreached in every log (no evidence either way)", ""]
    out.append(", ".join(f"`{r.key}`" if markdown else r.key for r in cmp.unreached) or "none")
    if cmp.left_out:
        out += ["", f"{cmp.left_out} observations that only the reference logs have are left out "
                "(--all shows them)."]
    if cmp.without:
        out += ["", "Logs without observations: " + ", ".join(cmp.without) + "."]
    return "\n".join(out) + "\n"


# The README's headline table: (label, experiment glob, observation glob), in family order.
PLATFORM_HEADLINES = (
    ("NMI in the STI shadow", "sti_shadow_nmi", "nmi_in_shadow"),
    ("IRQ before HLT after the NMI's IRET", "sti_shadow_nmi", "irq_before_hlt_after_nmi"),
    ("IRQ before HLT after an SMI in the STI shadow", "sti_shadow_smi", "irq_before_hlt_after_smi"),
    ("single-step #DB after STI held by the shadow", "sti_single_step", "db_held_by_sti_shadow"),
    ("MOV SS holds #DB over a NOP", "movss_db_next", "mk_nop_db_held"),
    ("MOV SS; INT3: #DB in the INT3 handler", "movss_db_next", "mk_int3_db_in_handler"),
    ("NMI in the MOV SS shadow", "movss_shadow_nmi", "event_in_movss_shadow"),
    ("IRQ in the MOV SS shadow", "movss_shadow_irq", "event_in_movss_shadow"),
    ("stale int3 run after a poke's sync", "poke_call_flip", "stale_int3_after_sync"),
    ("old code after a cross-modifying write and CPUID", "poke_sdm_flag", "old_code_cpuid_*"),
)


@dataclasses.dataclass
class HeadlineCell(Headline):
    """One log's cell of a headline row (headlines.py adds the observations up); the verdicts
    are kept per vendor, and whether any matching observation contradicts its verdict."""

    deviation: bool = False
    verdicts: Dict[str, str] = dataclasses.field(default_factory=dict)

    def text(self, short: bool = False) -> str:
        """`Sometimes 3/9`, in bold where it contradicts the architecture."""
        if self.word in ("not run", "Unreached"):
            return self.word
        text = f"{self.word} {self.hits}/{self.trials}"
        return f"**{text}**" if self.deviation else text


def headline_cell(rec: BootRecord, exp_glob: str, obs_glob: str) -> HeadlineCell:
    """One log's matching observations added up (several for an observation glob)."""
    cell = HeadlineCell("")
    row = ("", exp_glob, obs_glob)
    for t in rec.log.tests:
        for o in t.records.observations:
            if not matches(row, t.name, o.name):
                continue
            add(cell, o.hits, o.trials, o.arch)
            cell.deviation = cell.deviation or o.deviation
            if o.arch:
                old = cell.verdicts.setdefault(o.vendor or "", o.arch)
                if old != o.arch:
                    cell.verdicts[o.vendor or ""] = "mixed"
    return cell


def describe(rec: BootRecord) -> str:
    """A log's platform in a few words, from its `# platform` line."""
    p = platform_dict(rec.log)
    cpu = " ".join(x for x in (p["vendor"], f"family {p['family']:#x}" if p["family"] is not None else "",
                               f"model {p['model']:#x}" if p["model"] is not None else "") if x)
    parts = [cpu or "no platform line", p["brand"] or "",
             f"hypervisor {p['hypervisor']}" if p["hypervisor"] else "",
             f"{p['cpus']} CPUs" if p["cpus"] else "", p["firmware"] or "", p["apic"] or ""]
    return ", ".join(x for x in parts if x)


def headline_table(records: Sequence[BootRecord]) -> List[str]:
    """The markdown table: a row per headline, a column per log, the verdict per vendor."""
    head = ["headline (experiment.observation)"] + [f"`{r.name}`" for r in records] + ["architecture"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, exp, obs in PLATFORM_HEADLINES:
        cells = [headline_cell(r, exp, obs) for r in records]
        verdicts: Dict[str, str] = {}
        for c in cells:
            for vendor, v in c.verdicts.items():
                verdicts[vendor] = v if verdicts.get(vendor, v) == v else "mixed"
        if len(set(verdicts.values())) == 1:
            arch = next(iter(verdicts.values()))
        else:
            arch = ", ".join(f"{v or '(no vendor)'}: {verdicts[v]}" for v in sorted(verdicts, key=vendor_rank))
        out.append(f"| {label} (`{exp}.{obs}`) | " + " | ".join(c.text() for c in cells)
                   + f" | {arch or '?'} |")
    return out


