"""The static HTML report of tools/racebed-report: a summary table, each
log's experiments, log2 histograms and CPU-pair heat maps as PNG plots
(matplotlib, Agg backend), and the platform matrix (observations as rows,
one column per log, cells that differ between columns highlighted)."""

import html
import os
import re
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .compare import compare
from .export import BootRecord, failure_reason, platform_dict, status_of
from .ktap import KtapTest
from .records import Histogram, Observation, Pair

CSS = """
body { font-family: sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.25em; margin-top: 1.6em; border-bottom: 1px solid #ccc; }
h3 { font-size: 1.05em; }
table { border-collapse: collapse; margin: 0.5em 0 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #bbb; padding: 3px 7px; text-align: left; vertical-align: top; }
th { background: #eee; }
td.num { text-align: right; font-variant-numeric: tabular-nums; } td.nowrap { white-space: nowrap; }
.pass { background: #d9f2d9; } .fail { background: #f8d0d0; } .skip { background: #f3f3c8; }
.crashed { background: #f0a0a0; font-weight: bold; } .incomplete { background: #f5c28c; font-weight: bold; }
.complete { background: #d9f2d9; }
.Never { background: #e8eef8; } .Always { background: #cfe3cf; } .Sometimes { background: #fbe3b5; }
.Unreached, .absent { background: #eee; color: #777; }
td.differs { outline: 3px solid #d0006f; outline-offset: -3px; font-weight: bold; }
tr.differs th { color: #d0006f; }
.deviation { color: #b00000; font-weight: bold; }
.errors { color: #b00000; }
.small { font-size: 0.8em; color: #555; }
img { border: 1px solid #ddd; margin: 0.3em 0.6em 0.6em 0; }
div.grid { display: flex; flex-wrap: wrap; } div.grid img.plot { width: 420px; }
div.pairs { margin-bottom: 1em; } div.pairs p { max-width: 1100px; }
"""


def esc(value: object) -> str:
    return html.escape("" if value is None else str(value))


def safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)


def _plt() -> Any:  # matplotlib.pyplot (no type information in Debian's matplotlib)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def human(value: float, unit: str) -> str:
    """A bucket bound in the unit people read: 4096 ns -> 4.1 us, 2^21 cycles -> 2.1 M."""
    if unit == "ns":
        steps = ((1e9, "s"), (1e6, "ms"), (1e3, "\u00b5s"), (1, "ns"))
    elif unit == "cycles":
        steps = ((1e9, "G"), (1e6, "M"), (1e3, "k"), (1, ""))
    else:
        return str(int(value))
    for scale, name in steps:
        if value >= scale or scale == 1:
            v = value / scale
            text = f"{v:.1f}" if v < 10 else f"{v:.0f}"
            return f"{text}{' ' if unit == 'ns' else ''}{name}"
    return str(value)


def bucket_keys(series: Sequence[Tuple[str, Histogram]]) -> List[str]:
    """Every bucket from the lowest to the highest exponent any series has (empty ones too, so
    the x axis is a log2 scale), with `z` first when present."""
    exps = {int(k) for _, h in series for k in h.buckets if k != "z"}
    keys = ["z"] if any("z" in h.buckets for _, h in series) else []
    if exps:
        keys += [str(k) for k in range(min(exps), max(exps) + 1)]
    return keys


def bucket_label(key: str, unit: str) -> str:
    if key == "z":
        return "0"
    k = int(key)
    if unit == "count":  # small integers: the range itself
        return str(2 ** k) if k == 0 else f"{2 ** k}-{2 ** (k + 1) - 1}"
    return human(2 ** k, unit)


def plot_histogram(name: str, series: Sequence[Tuple[str, Histogram]], path: str) -> None:
    """One bar group per log2 bucket (a contiguous log2 axis), one colour per log; the median and
    99th-percentile buckets of each series marked. Several logs: shares of their samples."""
    plt = _plt()
    keys = bucket_keys(series)
    unit = series[0][1].unit
    share = len(series) > 1
    fig, ax = plt.subplots(figsize=(4.6, 2.8), dpi=100)
    width = 0.8 / max(1, len(series))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (log_name, h) in enumerate(series):
        offset = (i - (len(series) - 1) / 2) * width
        scale = 100.0 / h.n if share and h.n else 1
        colour = colours[i % len(colours)]
        ax.bar([j + offset for j in range(len(keys))], [h.buckets.get(k, 0) * scale for k in keys],
               width=width, color=colour, label=f"{log_name} (n={h.n})")
        for q, style in ((0.5, "--"), (0.99, ":")):
            b = h.quantile_bucket(q)
            if b:
                key = "z" if b[0] == 0 and "z" in h.buckets and b[1] == 1 else str(b[0].bit_length() - 1)
                if key in keys:
                    ax.axvline(keys.index(key) + offset, color=colour, linestyle=style, linewidth=1)
    step = max(1, (len(keys) + 11) // 12)  # at most about 12 labels
    ax.set_xticks(range(0, len(keys), step))
    ax.set_xticklabels([bucket_label(k, unit) for k in keys[::step]], fontsize=7,
                       rotation=30 if len(keys) > 6 else 0)
    ax.set_xlabel(f"{unit}, log2 buckets (dashed: median, dotted: p99)", fontsize=7)
    values = [c for _, h in series for c in h.buckets.values() if c]
    if values and max(values) > 30 * min(values):
        ax.set_yscale("log")  # a long tail stays visible next to the mode
    ax.set_ylabel("% of samples" if share else "samples", fontsize=7)
    ax.tick_params(axis="y", labelsize=7)
    ax.set_title(name, fontsize=9)
    ax.legend(fontsize=6, loc="best")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_pairs(title: str, pairs: Sequence[Pair], path: str) -> None:
    """Two heat maps over (sender, victim): hits, and trials (events sent). A pair that sent
    nothing is hatched grey, the diagonal (no pair) plain grey; counts written in up to 16 CPUs."""
    plt = _plt()
    from matplotlib import colors
    cpus = sorted({p.sender for p in pairs} | {p.victim for p in pairs})
    index = {c: i for i, c in enumerate(cpus)}
    n = len(cpus)
    size = max(2.6, 0.42 * n + 1.2)
    fig, axes = plt.subplots(1, 2, figsize=(2 * size + 1.6, size + 0.5), dpi=100)
    for ax, what in zip(axes, ("hits", "trials")):
        grid = [[float("nan")] * n for _ in cpus]
        for p in pairs:
            grid[index[p.sender]][index[p.victim]] = getattr(p, what) if p.trials else float("nan")
        top = max((getattr(p, what) for p in pairs), default=0)
        cmap = plt.get_cmap("viridis").copy()
        cmap.set_bad("#dddddd")
        image = ax.imshow(grid, cmap=cmap, origin="upper", norm=colors.PowerNorm(0.4, vmin=0, vmax=max(1, top)))
        for p in pairs:
            if not p.trials:
                ax.add_patch(plt.Rectangle((index[p.victim] - 0.5, index[p.sender] - 0.5), 1, 1, fill=False,
                                           hatch="///", edgecolor="#999999", linewidth=0))
        ax.set_xticks(range(n))
        ax.set_xticklabels([str(c) for c in cpus], fontsize=7)
        ax.set_yticks(range(n))
        ax.set_yticklabels([str(c) for c in cpus], fontsize=7)
        ax.set_xlabel("victim CPU", fontsize=8)
        ax.set_ylabel("sender CPU", fontsize=8)
        ax.set_title(what if what == "hits" else "trials (events sent)", fontsize=9)
        if n <= 16:
            for p in pairs:
                if not p.trials:
                    continue
                v = getattr(p, what)
                light = top and (v / top) ** 0.4 > 0.6
                ax.text(index[p.victim], index[p.sender], str(v), ha="center", va="center", fontsize=6.5,
                        color="black" if light else "white")
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04).ax.tick_params(labelsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def race_summary(t: KtapTest, log_name: str) -> str:
    """One paragraph under a heat map: the race line and what the pair lines add up to."""
    r, pairs = t.records, t.records.pairs
    parts = []
    if r.race:
        g = r.race
        parts.append(f"aimed {esc(g.get('hits_per_s'))} hits/s vs blind {esc(g.get('blind_hits_per_s'))} "
                     f"(gain {esc(g.get('gain'))}, shape {esc(g.get('shape', '?'))}, "
                     f"hits per 1000 sent {esc(g.get('hit_permille', '?'))} vs {esc(g.get('blind_hit_permille', '?'))}"
                     + (f", unacked {esc(g['unacked'])}" if 'unacked' in g else "") + ")")
    hit = sum(1 for p in pairs if p.hits)
    idle = [f"{p.sender}&rarr;{p.victim}" for p in pairs if not p.trials]
    parts.append(f"{len(pairs)} pairs, {hit} hit, {len(pairs) - hit} without a hit"
                 + (f"; <span class='deviation'>{len(idle)} sent no event</span> (hatched)" if idle else ""))
    victims: Dict[int, int] = {}
    for p in pairs:
        victims[p.victim] = victims.get(p.victim, 0) + p.hits
    cases = {c.name: c for c in t.subtests}
    shown = []
    for v, h in sorted(victims.items()):
        case = cases.get(f"victim_cpu{v}")
        bad = case is not None and case.outcome == "not-ok"
        shown.append(f"<span class='deviation'>cpu{v} {h} (case not ok)</span>" if bad else f"cpu{v} {h}")
    parts.append("hits per victim " + ", ".join(shown))
    if r.race_schedule:
        parts.append(f"{esc(r.race_schedule.get('rounds'))} rounds, {esc(r.race_schedule.get('parallel_pairs'))} "
                     "pair(s) at a time")
    return f"<p class='small'><b>{esc(log_name)}: {esc(t.name)}</b>: " + "; ".join(parts) + ".</p>"


def summary_table(records: Sequence[BootRecord]) -> List[str]:
    out = ["<table><tr><th>log</th><th>status</th><th>platform</th><th>firmware</th><th>CPUs / APIC</th>"
           "<th>pass</th><th>fail</th><th>skip</th><th>cases pass / fail / skip</th><th>problems</th></tr>"]
    for rec in records:
        log, p = rec.log, platform_dict(rec.log)
        status = status_of(log)
        c, leaves = log.counts(), log.leaf_counts()
        cpu = " ".join(str(x) for x in (p["vendor"], f"family {p['family']:#x}" if p["family"] is not None else None,
                                        f"model {p['model']:#x}" if p["model"] is not None else None,
                                        f"stepping {p['stepping']}" if p["stepping"] is not None else None)
                       if x) or "(no # platform line)"
        hv = p["hypervisor"] or ("bare metal" if p["bare_metal"] else "")
        micro = f", microcode {p['microcode']}" if p["microcode"] else ""
        problems = "<br>".join(esc(e) for e in log.errors) or ""
        if log.crashed:
            problems = (f"crashed in {esc(log.crash_in)}<br>" if log.crash_in else "crash report<br>") + problems
        out.append(
            f"<tr><td><a href='#log-{esc(safe_name(rec.name))}'>{esc(rec.name)}</a></td>"
            f"<td class='{status}'>{status}</td><td>{esc(cpu)}{esc(micro)}<br><span class='small'>{esc(hv)} "
            f"{esc(p['brand'] or '')}</span></td><td>{esc(p['firmware'])}</td>"
            f"<td>{esc(p['cpus'])} / {esc(p['apic'])}</td>"
            f"<td class='num pass'>{c.passed}</td><td class='num {'fail' if c.failed else ''}'>{c.failed}</td>"
            f"<td class='num {'skip' if c.skipped else ''}'>{c.skipped}</td>"
            f"<td class='num'>{leaves.passed} / {leaves.failed} / {leaves.skipped}</td>"
            f"<td class='errors'>{problems}</td></tr>")
    out.append("</table>")
    return out


def experiments_table(rec: BootRecord) -> List[str]:
    out = ["<table><tr><th>#</th><th>experiment</th><th>result</th><th>ms</th><th>cases</th>"
           "<th>observations</th><th>controls</th><th>reason</th></tr>"]
    words = {"ok": "pass", "not-ok": "fail", "skip": "skip"}
    for t in rec.log.tests:
        r = t.records
        cls = words[t.outcome]
        shown = cls + (f" ({t.directive})" if t.directive and t.directive != "SKIP" else "")
        cases = ""
        if t.subtests:
            bad = [s.name for s in t.subtests if s.outcome == "not-ok"]
            cases = f"{len(t.subtests) - len(bad)}/{len(t.subtests)} ok"
            if bad:
                cases += ": failed " + ", ".join(bad[:8]) + (" ..." if len(bad) > 8 else "")
        devs = [o.name for o in r.observations if o.deviation]
        obs = f"{len(r.observations)}" if r.observations else ""
        if devs:
            obs += (f" <span class='deviation'>{len(devs)} deviation(s): " + esc(", ".join(devs[:4]))
                    + (" ..." if len(devs) > 4 else "") + "</span>")
        zero = [k for k, v in r.controls.items() if v == 0]
        ctl = ""
        if r.controls:
            ctl = f"{len(r.controls)}, min {min(r.controls.values())}"
            if zero:
                ctl += " <span class='deviation'>zero: " + esc(", ".join(zero)) + "</span>"
        reason = t.reason or failure_reason(t)
        out.append(f"<tr><td class='num'>{t.number}</td><td>{esc(t.name)}</td><td class='{cls}'>{esc(shown)}</td>"
                   f"<td class='num'>{esc(r.duration_ms)}</td><td>{esc(cases)}</td><td>{obs}</td><td class='nowrap'>{ctl}</td>"
                   f"<td>{esc(reason)}</td></tr>")
    out.append("</table>")
    return out


# observation key (TEST.NAME) -> {column (a log's index): its Observation}; key -> (verdict, ref)
ObservationRows = Dict[str, Dict[int, Observation]]
ArchVerdicts = Dict[str, List[Tuple[Optional[str], str, Optional[str]]]]  # (vendor, verdict, ref)


def collect_observations(
        records: Sequence[BootRecord]) -> Tuple[List[BootRecord], ObservationRows, ArchVerdicts]:
    """(columns, rows, arch): the logs that have observations at all (a bad command line or
    `list` has none), observation key -> {column: Observation}, key -> the distinct (vendor,
    verdict, ref) the logs give (one per vendor: the rules are the SDM's on Intel, the APM's on
    AMD)."""
    rows: Dict[str, Dict[int, Observation]] = {}
    arch: Dict[str, List[Tuple[Optional[str], str, Optional[str]]]] = {}
    columns = [r for r in records if any(t.records.observations for t in r.log.tests)]
    for col, rec in enumerate(columns):
        for t in rec.log.tests:
            for o in t.records.observations:
                key = f"{t.name}.{o.name}"
                rows.setdefault(key, {})[col] = o
                if not o.arch:
                    continue
                claim = (o.vendor, o.arch, None if o.ref in (None, "none") else o.ref)
                if claim not in arch.setdefault(key, []):
                    arch[key].append(claim)
    return columns, rows, arch


def row_differs(cells: Dict[int, Observation]) -> Tuple[bool, set]:
    """Whether the words differ between the logs, and the row's usual word(s). Unreached (0
    trials) says nothing about the platform: shown, never compared."""
    present = [cells[c].word for c in sorted(cells) if cells[c].word != "Unreached"]
    tally = {w: present.count(w) for w in set(present)}
    top = max(tally.values(), default=0)
    return len(tally) > 1, {w for w, n in tally.items() if n == top}


def matrix_table(columns: Sequence[BootRecord], rows: ObservationRows, arch: ArchVerdicts,
                 keys: Sequence[str]) -> List[str]:
    head = "".join(f"<th>{esc(r.name)}</th>" for r in columns)
    out = [f"<table><tr><th>observation</th><th>architecture</th>{head}</tr>"]
    for key in keys:
        cells = rows[key]
        differs, usual = row_differs(cells)
        tds = []
        for c in range(len(columns)):
            o = cells.get(c)
            if o is None:
                tds.append("<td class='absent' title='not in this log'>&ndash;</td>")
                continue
            # the odd ones out: cells whose word is not the row's most common one (all on a tie)
            odd = differs and o.word != "Unreached" and (o.word not in usual or len(usual) > 1)
            counts = f" {o.hits}/{o.trials}" if o.hits is not None else ""
            dev = " <span class='deviation' title='contradicts the architecture'>deviation</span>" if o.deviation else ""
            tds.append(f"<td class='{esc(o.word)}{' differs' if odd else ''}'>{esc(o.word)}{esc(counts)}{dev}</td>")
        arch_text = "<br>".join(f"{esc(verdict)} <span class='small'>{esc(ref or '')}"
                                f"{' (' + esc(vendor) + ')' if vendor else ''}</span>"
                                for vendor, verdict, ref in arch.get(key, []))
        out.append(f"<tr{' class=differs' if differs else ''}><th>{esc(key)}</th><td>{arch_text}</td>"
                   f"{''.join(tds)}</tr>")
    out.append("</table>")
    return out


def platform_matrix(records: Sequence[BootRecord]) -> List[str]:
    """Observations as rows, one column per log: Never/Sometimes/Always with counts. The rows
    whose words differ between the logs come first, the odd cells outlined; then every row."""
    columns, rows, arch = collect_observations(records)
    without = [r.name for r in records if r not in columns]
    if not rows:
        return ["<p>No observations in these logs.</p>"]
    # an observation unreached in every log that has it says nothing: listed apart, not a row
    unreached = [k for k in rows if all(o.unreached for o in rows[k].values())]
    rows = {k: v for k, v in rows.items() if k not in unreached}
    differing = [k for k in rows if row_differs(rows[k])[0]]
    out = [f"<p>{len(rows)} observations; {len(differing)} differ between the logs that have them (the odd "
           "cells outlined; &ndash;: not in that log; Unreached is not compared)."
           + (f" Logs without observations: {esc(', '.join(without))}." if without else "") + "</p>"]
    if differing and len(columns) > 1:
        out.append("<h3>Observations that differ between the logs</h3>")
        out += matrix_table(columns, rows, arch, differing)
        out.append(f"<details><summary>All {len(rows)} observations</summary>")
    out += matrix_table(columns, rows, arch, list(rows))
    if differing and len(columns) > 1:
        out.append("</details>")
    if unreached:
        out.append(f"<h3>{len(unreached)} unreached windows</h3><p class='small'>Their precondition "
                   "never occurred in any log (0 trials: the event they are about never happened), so they "
                   "are no evidence either way: " + ", ".join(f"<span class='Unreached'>{esc(k)}</span>"
                                                              for k in unreached) + ".</p>")
    return out


def comparison_section(records: Sequence[BootRecord], references: int, show_all: bool) -> List[str]:
    """racebed-report --compare: the reference logs (the first `references`) and the user's
    side by side, the rows that differ between the platforms first, then those that agree, the
    ones unreached in every log apart (compare.py orders them; matrix_table draws them)."""
    cmp = compare(records, references, show_all)
    columns, rows, arch = collect_observations(records)
    names = ", ".join(esc(n) for n in cmp.columns[cmp.references:]) or "none"
    out = [f"<p>References: {esc(', '.join(cmp.columns[:cmp.references]))}; yours: {names}. "
           f"{len(cmp.differ)} observations differ between the platforms, {len(cmp.agree)} agree, "
           f"{len(cmp.unreached)} are unreached in every log (the odd cells outlined; &ndash;: not in "
           "that log; Unreached is not compared; the architecture's verdict per vendor).</p>"]
    if cmp.left_out:
        out.append(f"<p class='small'>{cmp.left_out} observations only the reference logs have are "
                   "left out (--all shows them).</p>")
    for title, part in (("differ between the platforms", cmp.differ), ("agree", cmp.agree)):
        out.append(f"<h3>{len(part)} observations {title}</h3>")
        out += matrix_table(columns, rows, arch, [r.key for r in part]) if part else ["<p>None.</p>"]
    if cmp.unreached:
        out.append(f"<h3>{len(cmp.unreached)} unreached in every log</h3><p class='small'>No evidence "
                   "either way: " + ", ".join(f"<span class='Unreached'>{esc(r.key)}</span>"
                                              for r in cmp.unreached) + ".</p>")
    return out


def deviations_section(records: Sequence[BootRecord]) -> List[str]:
    """The observations that contradict the architecture (Intel SDM / AMD APM) in any log, as a
    matrix over the logs; a log whose `# deviations:` line lists more (truncated observation
    lines) is named."""
    columns, rows, arch = collect_observations(records)
    keys = [k for k in rows if any(o.deviation for o in rows[k].values())]
    out = []
    for rec in records:
        computed = {f"{t.name}.{o.name}" for t in rec.log.tests for o in t.records.observations if o.deviation}
        listed = set(rec.log.deviations or [])
        note = ("no <code># deviations:</code> line" if rec.log.deviations is None and computed else
                f"the kernel lists {len(listed)}, the observation lines give {len(computed)}"
                if listed != computed and rec.log.deviations is not None else "")
        if note:
            out.append(f"<p class='errors'>{esc(rec.name)}: {note}</p>")
    if not keys:
        return out + ["<p>None: every observation agrees with the architecture's verdict.</p>"]
    per_log = ", ".join(f"{esc(r.name)} {sum(1 for k in keys if rows[k].get(c) and rows[k][c].deviation)}"
                        for c, r in enumerate(columns))
    out.insert(0, f"<p>{len(keys)} observations contradict the architecture in at least one log ({per_log}).</p>")
    # the rows where the logs disagree (a word or a deviation differs) as a matrix; the rest, the
    # same in every log that has them, as a compact list
    def same(k: str) -> bool:
        cells = [o for o in rows[k].values() if o.word != "Unreached"]
        return len({(o.word, o.deviation) for o in cells}) == 1
    differ = [k for k in keys if not same(k)]
    agree = [k for k in keys if same(k)]
    if differ:
        out.append(f"<h3>{len(differ)} that differ between the logs</h3>")
        out += matrix_table(columns, rows, arch, differ)
    if agree:
        out.append(f"<h3>{len(agree)} the same in every log that has them</h3><p class='small'>"
                   + "; ".join(f"<span class='deviation'>{esc(k)}</span> {esc(next(iter(rows[k].values())).word)} "
                               f"(arch {esc('/'.join(sorted({c[1] for c in arch.get(k, [])})))}"
                               + ("" if len(rows[k]) == len(columns) else
                                  "; only in " + esc(", ".join(columns[c].name for c in sorted(rows[k]))))
                               + ")" for k in agree) + "</p>")
    return out


def write_html(records: Sequence[BootRecord], out_dir: str, references: Optional[int] = None,
               show_all: bool = False) -> str:
    """Writes out_dir/index.html and its PNG plots; returns the index path. references: the
    number of leading reference logs of --compare (the platform matrix becomes the comparison)."""
    os.makedirs(out_dir, exist_ok=True)
    body = ["<h1>racebed report</h1>",
            f"<p class='small'>{len(records)} log(s): {esc(', '.join(r.log_path for r in records))}</p>",
            "<p class='small'><a href='#summary'>summary</a> &middot; <a href='#deviations'>deviations</a> &middot; "
            "<a href='#matrix'>platform matrix</a> &middot; <a href='#pairs'>races and CPU pairs</a> &middot; "
            "<a href='#hists'>latency histograms</a> &middot; "
            + " &middot; ".join(f"<a href='#log-{esc(safe_name(r.name))}'>{esc(r.name)}</a>" for r in records)
            + "</p>",
            "<h2 id='summary'>Summary</h2>"]
    body += summary_table(records)
    body.append("<h2 id='deviations'>Deviations</h2>")
    body += deviations_section(records)
    body.append("<h2 id='matrix'>Platform matrix</h2>")
    body += platform_matrix(records) if references is None else comparison_section(records, references, show_all)

    body.append("<h2 id='pairs'>Races and CPU pairs</h2>")
    any_pairs = False
    for rec in records:
        for t in rec.log.tests:
            if not t.records.pairs:
                continue
            any_pairs = True
            png = f"pairs-{safe_name(rec.name)}-{safe_name(t.name)}.png"
            plot_pairs(f"{rec.name}: {t.name} per (sender, victim)", t.records.pairs, os.path.join(out_dir, png))
            body.append(f"<div class='pairs'><img src='{esc(png)}' alt='pairs {esc(t.name)}'>"
                        f"{race_summary(t, rec.name)}</div>")
    if not any_pairs:
        body.append("<p>No <code># pair</code> lines in these logs.</p>")

    # histograms: one plot per (experiment, histogram name), every log that has it as a series
    hists: Dict[str, Dict[str, List[Tuple[str, Histogram]]]] = {}
    for rec in records:
        for t in rec.log.tests:
            for h in t.records.hists:
                hists.setdefault(t.name, {}).setdefault(h.name, []).append((rec.name, h))
    body.append("<h2 id='hists'>Latency histograms</h2>")
    if not hists:
        body.append("<p>No <code># hist</code> lines in these logs.</p>")
    else:
        body.append("<p class='small'>log2 buckets as the kernel counts them; bucket labels are lower bounds. "
                    "With several logs the bars are shares of each log's samples.</p>")
    body.append("<div class='grid'>")
    for exp, by_name in hists.items():
        for name, series in by_name.items():
            png = f"hist-{safe_name(exp)}-{safe_name(name)}.png"
            plot_histogram(f"{exp}: {name}", series, os.path.join(out_dir, png))
            body.append(f"<img class='plot' src='{esc(png)}' alt='histogram {esc(exp)} {esc(name)}'>")
    body.append("</div>")

    for rec in records:
        body.append(f"<h2 id='log-{esc(safe_name(rec.name))}'>{esc(rec.name)} "
                    f"<span class='small'>{esc(rec.log_path)}</span></h2>")
        if rec.log.errors:
            body.append("<p class='errors'>" + "<br>".join(esc(e) for e in rec.log.errors) + "</p>")
        if rec.log.crashed:
            crash = next((t for t in rec.log.tests if t.records.crash), None)
            lines = crash.records.crash if crash else [l for l in rec.log.text.split("\n") if l.startswith("# crash:")]
            body.append("<p class='errors'>The run crashed" + (f" in {esc(rec.log.crash_in)}" if rec.log.crash_in
                                                                else "") + ":</p>")
            body.append("<pre>" + esc("\n".join(lines[:30])) + "</pre>")
        if rec.log.deviations:
            body.append(f"<p class='deviation'>{len(rec.log.deviations)} deviation(s) from the architecture "
                        "(<a href='#deviations'>the deviations matrix</a>; per experiment below).</p>")
        body += experiments_table(rec)

    page = ("<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>racebed report</title>"
            f"<style>{CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")
    index = os.path.join(out_dir, "index.html")
    with open(index, "w", encoding="utf-8") as f:
        f.write(page)
    return index
