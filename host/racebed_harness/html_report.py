"""The static HTML report of tools/racebed-report: a summary table, each
log's experiments, log2 histograms and CPU-pair heat maps as PNG plots
(matplotlib, Agg backend), and the platform matrix (observations as rows,
one column per log, cells that differ between columns highlighted)."""

import html
import os
import re
from typing import Dict, List, Optional, Sequence, Tuple

from .export import BootRecord, failure_reason, platform_dict, status_of
from .records import Histogram, Observation, Pair

CSS = """
body { font-family: sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.25em; margin-top: 1.6em; border-bottom: 1px solid #ccc; }
h3 { font-size: 1.05em; }
table { border-collapse: collapse; margin: 0.5em 0 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #bbb; padding: 3px 7px; text-align: left; vertical-align: top; }
th { background: #eee; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
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
"""


def esc(value) -> str:
    return html.escape("" if value is None else str(value))


def safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def plot_histogram(name: str, series: Sequence[Tuple[str, Histogram]], path: str) -> None:
    """One bar group per log2 bucket, one colour per log."""
    plt = _plt()
    keys = sorted({k for _, h in series for k in h.buckets}, key=lambda k: -1 if k == "z" else int(k))
    labels = ["0" if k == "z" else f"2^{k}" for k in keys]
    fig, ax = plt.subplots(figsize=(7.5, 3.4), dpi=100)
    width = 0.8 / max(1, len(series))
    for i, (log_name, h) in enumerate(series):
        xs = [j + (i - (len(series) - 1) / 2) * width for j in range(len(keys))]
        ax.bar(xs, [h.buckets.get(k, 0) for k in keys], width=width, label=f"{log_name} (n={h.n})")
    ax.set_xticks(range(len(keys)))
    ax.set_xticklabels(labels, rotation=45 if len(keys) > 10 else 0, fontsize=8)
    unit = series[0][1].unit
    ax.set_xlabel(f"{unit}, log2 bucket [2^k, 2^(k+1))")
    counts = [c for _, h in series for c in h.buckets.values() if c]
    if counts and max(counts) > 50 * min(counts):
        ax.set_yscale("log")  # a long tail stays visible next to the mode
    ax.set_ylabel("samples")
    ax.set_title(name)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_pairs(title: str, pairs: Sequence[Pair], path: str) -> None:
    """Hits per (sender, victim): a heat map with the counts written in."""
    plt = _plt()
    cpus = sorted({p.sender for p in pairs} | {p.victim for p in pairs})
    index = {c: i for i, c in enumerate(cpus)}
    grid = [[float("nan")] * len(cpus) for _ in cpus]
    for p in pairs:
        grid[index[p.sender]][index[p.victim]] = p.hits
    size = max(3.2, 0.55 * len(cpus) + 1.8)
    fig, ax = plt.subplots(figsize=(size + 1.2, size), dpi=100)
    image = ax.imshow(grid, cmap="viridis", origin="upper")
    ax.set_xticks(range(len(cpus)))
    ax.set_xticklabels([str(c) for c in cpus])
    ax.set_yticks(range(len(cpus)))
    ax.set_yticklabels([str(c) for c in cpus])
    ax.set_xlabel("victim CPU")
    ax.set_ylabel("sender CPU")
    ax.set_title(title, fontsize=10)
    top = max((p.hits for p in pairs), default=0)
    for p in pairs:
        colour = "black" if top and p.hits > top * 0.6 else "white"
        ax.text(index[p.victim], index[p.sender], "0!" if p.hits == 0 else str(p.hits), ha="center",
                va="center", fontsize=8, color=colour)
    fig.colorbar(image, ax=ax, label="hits")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


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
    out = ["<table><tr><th>#</th><th>experiment</th><th>result</th><th>ms</th><th>cases</th><th>reason</th></tr>"]
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
        reason = t.reason or failure_reason(t)
        out.append(f"<tr><td class='num'>{t.number}</td><td>{esc(t.name)}</td><td class='{cls}'>{esc(shown)}</td>"
                   f"<td class='num'>{esc(r.duration_ms)}</td><td>{esc(cases)}</td><td>{esc(reason)}</td></tr>")
    out.append("</table>")
    return out


def platform_matrix(records: Sequence[BootRecord]) -> List[str]:
    """Observations as rows, one column per log: Never/Sometimes/Always with
    counts; a row whose words differ between the logs has those cells
    highlighted."""
    rows: Dict[str, Dict[int, Observation]] = {}
    arch: Dict[str, Tuple[Optional[str], Optional[str]]] = {}
    # a column per log that has observations at all (a bad command line or `list` has none)
    without = [r.name for r in records if not any(t.records.observations for t in r.log.tests)]
    records = [r for r in records if r.name not in without]
    for col, rec in enumerate(records):
        for t in rec.log.tests:
            for o in t.records.observations:
                key = f"{t.name}.{o.name}"
                rows.setdefault(key, {})[col] = o
                if o.arch and key not in arch:
                    arch[key] = (o.arch, None if o.ref in (None, "none") else o.ref)
    if not rows:
        return ["<p>No observations in these logs.</p>"]
    head = "".join(f"<th>{esc(r.name)}</th>" for r in records)
    out = [f"<table><tr><th>observation</th><th>architecture</th>{head}</tr>"]
    differing = 0
    for key in rows:
        cells = rows[key]
        # Unreached (0 trials) says nothing about the platform: shown, never compared
        present = [cells[c].word for c in sorted(cells) if cells[c].word != "Unreached"]
        # the odd ones out: cells whose word is not the row's most common one (all on a tie)
        tally = {w: present.count(w) for w in set(present)}
        top = max(tally.values())
        usual = {w for w, n in tally.items() if n == top}
        differs = len(tally) > 1
        differing += differs
        verdict, ref = arch.get(key, (None, None))
        tds = []
        for c in range(len(records)):
            o = cells.get(c)
            if o is None:
                tds.append("<td class='absent' title='not in this log'>&ndash;</td>")
                continue
            odd = differs and o.word != "Unreached" and (o.word not in usual or len(usual) > 1)
            counts = f" {o.hits}/{o.trials}" if o.hits is not None else ""
            dev = " <span class='deviation' title='contradicts the architecture'>deviation</span>" if o.deviation else ""
            tds.append(f"<td class='{esc(o.word)}{' differs' if odd else ''}'>{esc(o.word)}{esc(counts)}{dev}</td>")
        arch_text = f"{esc(verdict)} <span class='small'>{esc(ref)}</span>" if verdict else ""
        out.append(f"<tr{' class=differs' if differs else ''}><th>{esc(key)}</th><td>{arch_text}</td>"
                   f"{''.join(tds)}</tr>")
    out.append("</table>")
    out.insert(0, f"<p>{len(rows)} observations; {differing} differ between the logs that have them (the odd "
                  "cells outlined; &ndash;: not in that log; Unreached is not compared)."
                  + (f" Logs without observations: {esc(', '.join(without))}." if without else "") + "</p>")
    return out


def write_html(records: Sequence[BootRecord], out_dir: str) -> str:
    """Writes out_dir/index.html and its PNG plots; returns the index path."""
    os.makedirs(out_dir, exist_ok=True)
    body = ["<h1>racebed report</h1>",
            f"<p class='small'>{len(records)} log(s): {esc(', '.join(r.log_path for r in records))}</p>",
            "<h2>Summary</h2>"]
    body += summary_table(records)


    # histograms: one plot per (experiment, histogram name), every log that has it as a series
    hists: Dict[Tuple[str, str], List[Tuple[str, Histogram]]] = {}
    for rec in records:
        for t in rec.log.tests:
            for h in t.records.hists:
                hists.setdefault((t.name, h.name), []).append((rec.name, h))
    body.append("<h2>Latency histograms</h2>")
    if not hists:
        body.append("<p>No <code># hist</code> lines in these logs.</p>")
    for (exp, name), series in hists.items():
        png = f"hist-{safe_name(exp)}-{safe_name(name)}.png"
        plot_histogram(f"{exp}: {name}", series, os.path.join(out_dir, png))
        body.append(f"<img src='{esc(png)}' alt='histogram {esc(name)}'>")

    body.append("<h2>CPU pairs</h2>")
    any_pairs = False
    for rec in records:
        for t in rec.log.tests:
            if not t.records.pairs:
                continue
            any_pairs = True
            png = f"pairs-{safe_name(rec.name)}-{safe_name(t.name)}.png"
            plot_pairs(f"{rec.name}: {t.name} hits per (sender, victim)", t.records.pairs, os.path.join(out_dir, png))
            body.append(f"<img src='{esc(png)}' alt='pairs {esc(t.name)}'>")
    if not any_pairs:
        body.append("<p>No <code># pair</code> lines in these logs.</p>")

    body.append("<h2>Platform matrix</h2>")
    body += platform_matrix(records)

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
            body.append("<p class='deviation'>Deviations from the architecture: "
                        + esc(", ".join(rec.log.deviations)) + "</p>")
        body += experiments_table(rec)

    page = ("<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>racebed report</title>"
            f"<style>{CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")
    index = os.path.join(out_dir, "index.html")
    with open(index, "w", encoding="utf-8") as f:
        f.write(page)
    return index
