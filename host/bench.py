#!/usr/bin/env python3
"""make bench: boot the kernel with `bench` (10x budgets) at each SMP count, print one table
(experiment, mode, smp, trials/s, hits/s, gain, vs_peer: hits/s over the peer loop's of the
same boot) and write build/bench/bench.json and build/bench/bench.png (hits/s per mode and
SMP count, the time to the first hit per pair).

Boots QEMU's own Multiboot 1 loader (host/qemu.py --kernel build/racebed32.elf), so the
command line needs no ISO rebuild. The figures come from the lines docs/output-format.md
defines: `# trials=... trials_per_s=R hits_per_s=S`, `# race mode=aimed hits_per_s=X
blind_hits_per_s=Y gain=G ...`, `# NAME_ns=min/median/p99/max ...` and `# hist ...`;
sti_shadow_nmi's `# peer_loop ...` (the peer design's blind loop), `# self_aimed ...` (the
self-aimed loop) and the pairs' `first_hit_us=`. The text-poke targets of issue 23 (the sync
against the broadcast round trip of the same run, the batch-vs-single ratios) are printed per
boot and land in bench.json's `poke_targets`. Before the first boot and after the last, the
time of one fixed loop pinned to each host CPU (`host_cpu_loop_s`): unequal cores show there.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time
from typing import Any, Dict, List

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DEFAULT_TESTS = "ipi_*,sti_shadow_nmi,movss_shadow_*,nmi_storm,poke_call_flip,poke_batch"

RESULT = re.compile(r"^(not ok|ok) \d+ (\S+)")
KV = re.compile(r"(\w+)=(\S+)")
LATENCY = re.compile(r"^# (\w+)_ns=min/median/p99/max (\d+)/(\d+)/(\d+)/(\d+)")
SYNC_VS = re.compile(r"^# (\w*?)sync_vs_broadcast ")
# sti_shadow_nmi's loops beside the race: the peer design's, the padded one, the self-aimed one
LOOPS = ("peer_loop", "padded_loop", "self_aimed")
HIST = re.compile(r"^# hist (\S+) unit=(\S+) n=(\d+)((?: \S+:\d+)*)")


def number(v):
    try:
        return int(v)
    except ValueError:
        try:
            return float(v)
        except ValueError:
            return v


def parse(log):
    """Per experiment: result, throughput, race figures, latency medians, histograms."""
    exps: Dict[str, Dict[str, Any]] = {}
    cur: Dict[str, Any] = {}
    for line in log.splitlines():
        line = line.rstrip("\r")
        m = RESULT.match(line)
        if m:
            cur["result"] = m.group(1)
            exps[m.group(2)] = cur
            cur = {}
            continue
        if line.startswith("# trials=") and "trials_per_s=" in line:
            cur["rate"] = {k: number(v) for k, v in KV.findall(line)}
        elif line.startswith("# race mode="):
            cur["race"] = {k: number(v) for k, v in KV.findall(line)}
        elif line.split()[:1] == ["#"] and " ".join(line.split()[1:2]) in LOOPS:
            cur[line.split()[1]] = {k: number(v) for k, v in KV.findall(line)}
        elif line.startswith("# pair ") and "first_hit_us=" in line:
            v = number(dict(KV.findall(line))["first_hit_us"])
            cur.setdefault("first_hit_us", []).append(v if isinstance(v, int) else None)
        elif line.startswith("# pairs="):
            cur["pairs"] = {k: number(v) for k, v in KV.findall(line)}
        elif line.startswith("# sites=") and "ratio=" in line:
            cur.setdefault("figures", {}).update({k: number(v) for k, v in KV.findall(line)})
        elif line.startswith("# smc_store "):
            cur["smc_store"] = {k: number(v) for k, v in KV.findall(line)}
        elif line.startswith("# batch_curve "):
            cur.setdefault("curve", []).append({k: number(v) for k, v in KV.findall(line)})
        elif sync := SYNC_VS.match(line):
            name = sync.group(1) or "sync"
            cur.setdefault("sync_vs_broadcast", {})[name.rstrip("_")] = {
                k: number(v) for k, v in KV.findall(line)}
        m = LATENCY.match(line)
        if m:
            cur.setdefault("latency_ns", {})[m.group(1)] = {
                "min": int(m.group(2)), "median": int(m.group(3)),
                "p99": int(m.group(4)), "max": int(m.group(5))}
        m = HIST.match(line)
        if m:
            buckets = dict(b.split(":") for b in m.group(4).split())
            cur.setdefault("hist", {})[m.group(1)] = {
                "unit": m.group(2), "n": int(m.group(3)),
                "buckets": {k: int(v) for k, v in buckets.items()}}
    return exps


def vs_peer(hits_per_s, peer):
    """hits/s over the peer loop's in-shadow NMIs/s of the same boot, one decimal (None: no
    peer loop in this boot, or it never hit)."""
    base = (peer or {}).get("in_shadow_per_s")
    if not isinstance(base, (int, float)) or not base or not isinstance(hits_per_s, (int, float)):
        return None
    return round(hits_per_s / base, 1)


def rows(exps, smp):
    """Table rows: race experiments give an aimed and a blind row (and sti_shadow_nmi one per
    loop beside the race, each with its gain over the peer loop), the others one row."""
    out = []
    for name, e in exps.items():
        rate = e.get("rate", {})
        race = e.get("race")
        if race:
            peer = e.get("peer_loop")
            out.append({"experiment": name, "mode": "aimed", "smp": smp,
                        "trials_per_s": race.get("trials_per_s"),
                        "hits_per_s": race.get("hits_per_s"), "gain": race.get("gain"),
                        "vs_peer": vs_peer(race.get("hits_per_s"), peer)})
            out.append({"experiment": name, "mode": "blind", "smp": smp,
                        "trials_per_s": race.get("blind_trials_per_s"),
                        "hits_per_s": race.get("blind_hits_per_s"), "gain": None,
                        "vs_peer": vs_peer(race.get("blind_hits_per_s"), peer)})
            if "stream_hits_per_s" in race:
                out.append({"experiment": name, "mode": "stream", "smp": smp,
                            "trials_per_s": race.get("stream_trials_per_s"),
                            "hits_per_s": race.get("stream_hits_per_s"), "gain": None,
                            "vs_peer": vs_peer(race.get("stream_hits_per_s"), peer)})
            for loop in LOOPS:
                if e.get(loop):
                    hits = e[loop].get("in_shadow_per_s")
                    out.append({"experiment": name, "mode": loop, "smp": smp,
                                "trials_per_s": e[loop].get("nmis_per_s"),
                                "hits_per_s": hits, "gain": None,
                                "vs_peer": vs_peer(hits, peer)})
        elif rate:
            out.append({"experiment": name, "mode": "-", "smp": smp,
                        "trials_per_s": rate.get("trials_per_s"),
                        "hits_per_s": rate.get("hits_per_s"), "gain": None})
    return out


def bochs_boot(args, smp, tests):
    """The same boot on Bochs: an ISO with the command line (and exit=poweroff), host/bochs.py
    headless; the serial log is read back. Rates there are per simulated second."""
    out = os.path.join(ROOT, args.out)
    iso = os.path.join(out, "bochs-bench.iso")
    words = ["bench", "tests=%s" % tests, "exit=poweroff"] + args.args.split()
    mk = subprocess.run(["bash", os.path.join(ROOT, "tools", "mkiso.sh"), args.elf, iso] + words,
                        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if mk.returncode != 0:
        return "# bench: tools/mkiso.sh failed:\n%s\n" % mk.stdout
    serial = os.path.join(out, "bochs-smp%d.serial" % smp)
    cmd = [sys.executable, os.path.join(HERE, "bochs.py"), "--iso", iso, "--smp", str(smp),
           "--cpu", args.bochs_cpu, "--serial", serial,
           "--log", os.path.join(out, "bochs-smp%d.bochs.log" % smp),
           "--timeout", str(args.timeout)]
    p = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       errors="replace")
    try:
        with open(serial, errors="replace") as f:
            return f.read() + p.stdout
    except FileNotFoundError:
        return p.stdout


def boot(args, smp, tests):
    t0 = time.time()
    if args.platform == "bochs":
        return bochs_boot(args, smp, tests), time.time() - t0
    cmd = [sys.executable, os.path.join(HERE, "qemu.py"), "--kernel", args.kernel,
           "--append=bench tests=%s %s" % (tests, args.args), "--smp", str(smp),
           "--accel", args.accel, "--machine", args.machine]
    try:
        p = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=args.timeout, text=True, errors="replace")
        log = p.stdout
    except subprocess.TimeoutExpired as e:
        log = (e.stdout or b"").decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        log += "\n# bench: QEMU timed out after %d s\n" % args.timeout
    return log, time.time() - t0


def fmt(v):
    return "-" if v is None else str(v)


def first_hit_summary(times):
    """Median and max over the pairs that hit (us), and how many pairs never hit."""
    hit = sorted(t for t in times if t is not None)
    if not hit:
        return {"pairs": len(times), "no_hit": len(times)}
    return {"pairs": len(times), "no_hit": len(times) - len(hit),
            "median_us": hit[len(hit) // 2], "max_us": hit[-1]}


# issue 23's text-poke targets: (experiment, figure, where it is, bound, at most?)
POKE_TARGETS = (
    ("poke_call_flip", "sync_broadcast_ratio", ("sync_vs_broadcast", "sync", "broadcast_ratio"),
     1.8, True),
    ("poke_batch", "sync_broadcast_ratio", ("sync_vs_broadcast", "sites1", "broadcast_ratio"),
     1.8, True),
    ("poke_batch", "batch_ratio_64_sites", ("curve", 64, "ratio"), 20.0, False),
    ("poke_batch", "batch_ratio_256_sites", ("curve", 256, "ratio"), None, False),
)


def poke_figure(e, where):
    """One figure of an experiment's results: a sync_vs_broadcast key or a batch_curve point."""
    kind, which, key = where
    if kind == "curve":
        point = [p for p in e.get("curve", []) if p.get("sites") == which]
        return point[0].get(key) if point else None
    return e.get(kind, {}).get(which, {}).get(key)


def poke_targets(runs):
    """Per SMP count and target, the figure of every boot that ran the experiment, and how many
    of them meet the bound (None: a figure only reported)."""
    out = []
    for smp in sorted({run["smp"] for run in runs}):
        for exp, figure, where, bound, at_most in POKE_TARGETS:
            values = [poke_figure(run["experiments"][exp], where) for run in runs
                      if run["smp"] == smp and exp in run["experiments"]]
            if not values:
                continue
            met = sum(1 for v in values if isinstance(v, (int, float)) and bound is not None
                      and (v <= bound if at_most else v >= bound))
            out.append({"smp": smp, "experiment": exp, "figure": figure, "bound": bound,
                        "at_most": at_most, "values": values, "met": met})
    return out


def plot(runs, path):
    """bench.png: hits/s per race mode and SMP count (each race experiment, first boot of each
    SMP count), and the time to the first hit per ordered pair."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("bench: no matplotlib, no plot", file=sys.stderr)
        return False
    fig, (bars, cdf) = plt.subplots(1, 2, figsize=(13, 5))
    labels, modes = [], ("blind", "aimed", "stream") + LOOPS
    values: Dict[str, List[float]] = {m: [] for m in modes}
    for run in runs:
        for name, e in run["experiments"].items():
            race = e.get("race")
            if not race:
                continue
            labels.append("%s\n%s smp %d run %d" % (name, run.get("platform", ""), run["smp"],
                                                    run["run"]))
            values["aimed"].append(race.get("hits_per_s") or 0)
            values["blind"].append(race.get("blind_hits_per_s") or 0)
            values["stream"].append(race.get("stream_hits_per_s") or 0)
            for loop in LOOPS:
                values[loop].append(e.get(loop, {}).get("in_shadow_per_s") or 0)
    width = 0.13
    for k, m in enumerate(modes):
        bars.bar([i + (k - 2.5) * width for i in range(len(labels))], values[m], width, label=m)
    bars.set_xticks(range(len(labels)))
    bars.set_xticklabels(labels, fontsize=7, rotation=30, ha="right")
    bars.set_ylabel("hits/s (events in the window)")
    bars.set_yscale("symlog")
    bars.set_title("hits/s per mode")
    top = max((v for vals in values.values() for v in vals), default=1)
    bars.set_ylim(top=max(top, 1) * 50)  # room for the legend above the bars
    bars.legend(loc="upper center", ncol=len(modes), fontsize=7)
    for run in runs:
        for name, e in run["experiments"].items():
            times = sorted(t for t in e.get("first_hit_us", []) if t is not None)
            if times:
                n = len(e["first_hit_us"])
                cdf.step([t / 1000 for t in times], [(i + 1) / n for i in range(len(times))],
                         where="post", label="%s %s smp %d run %d (%d pairs)" % (
                             name, run.get("platform", ""), run["smp"], run["run"], n))
    cdf.set_xscale("log")
    cdf.set_xlabel("time to first hit per ordered pair (ms)")
    cdf.set_ylabel("fraction of pairs")
    cdf.axvline(5, color="grey", linestyle=":")
    cdf.set_title("time to first hit per ordered pair")
    if cdf.get_legend_handles_labels()[0]:
        cdf.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def host_cpu_speeds(loops: int = 5_000_000) -> Dict[int, float]:
    """Seconds one fixed loop takes pinned to each host CPU this process may use. Host cores
    need not be equal (on one 2-core machine here, one core ran it 2-3x slower than the other, and
    which one changed over time), and a loop on one vCPU runs at the speed of the core its
    thread lands on, where a loop on two vCPUs gets both."""
    if not hasattr(os, "sched_getaffinity"):
        return {}
    allowed = sorted(os.sched_getaffinity(0))
    speeds = {}
    try:
        for cpu in allowed:
            os.sched_setaffinity(0, {cpu})
            t0 = time.perf_counter()
            x = 0
            for i in range(loops):
                x += i
            speeds[cpu] = round(time.perf_counter() - t0, 3)
    finally:
        os.sched_setaffinity(0, set(allowed))
    return speeds


def show_speeds(when: str, speeds: Dict[int, float]) -> None:
    if not speeds:
        return
    slow = max(speeds.values()) / max(min(speeds.values()), 1e-9)
    print("bench: host CPUs %s, one fixed loop pinned to each: %s (slowest/fastest %.1fx)" % (
        when, " ".join("cpu%d=%.3fs" % kv for kv in sorted(speeds.items())), slow))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kernel", default="build/racebed32.elf")
    p.add_argument("--smp", default="2,8", help="comma-separated SMP counts (default 2,8)")
    p.add_argument("--tests", default=DEFAULT_TESTS)
    p.add_argument("--args", default="", help="more kernel command-line words")
    p.add_argument("--accel", default="tcg")
    p.add_argument("--platform", choices=("qemu", "bochs"), default="qemu",
                   help="qemu (--accel) or bochs (an ISO from --elf, host/bochs.py)")
    p.add_argument("--elf", default="build/racebed.elf", help="the ELF the Bochs ISO holds")
    p.add_argument("--bochs-cpu", default="corei7_skylake_x", help="Bochs CPU model")
    p.add_argument("--also", default="",
                   help="comma-separated earlier --out folders whose runs the plot shows too")
    p.add_argument("--machine", default="pc")
    p.add_argument("--repeat", type=int, default=1, help="boots per SMP count (default 1)")
    p.add_argument("--timeout", type=int, default=600)
    p.add_argument("--out", default="build/bench")
    args = p.parse_args()

    kvm_usable = os.access("/dev/kvm", os.R_OK | os.W_OK)
    if args.platform == "qemu" and args.accel == "kvm" and not kvm_usable:
        print("bench: --accel kvm needs a usable /dev/kvm, and this machine has none "
              "(ls -l /dev/kvm); nothing booted", file=sys.stderr)
        return 2
    os.makedirs(os.path.join(ROOT, args.out), exist_ok=True)
    platform = ("bochs %s" % args.bochs_cpu if args.platform == "bochs"
                else "qemu %s" % args.accel)
    runs, table = [], []
    cpus_before = host_cpu_speeds()
    show_speeds("before", cpus_before)
    for rep in range(args.repeat):
        for smp in (int(s) for s in args.smp.split(",")):
            log, secs = boot(args, smp, args.tests)
            logname = os.path.join(args.out, "smp%d-run%d.log" % (smp, rep))
            with open(os.path.join(ROOT, logname), "w") as f:
                f.write(log)
            exps = parse(log)
            r = rows(exps, smp)
            for row in r:
                row["run"] = rep
            table += r
            runs.append({"smp": smp, "run": rep, "seconds": round(secs, 1), "log": logname,
                         "platform": platform, "experiments": exps})
            if not exps:
                last = [ln for ln in log.splitlines() if ln.strip()][-1:] or ["(empty log)"]
                print("bench: no results from the smp=%d boot: %s (see %s)" % (
                    smp, last[0].strip(), logname), file=sys.stderr)

    cols = ("experiment", "mode", "smp", "run", "trials_per_s", "hits_per_s", "gain", "vs_peer")
    widths = [max(len(c), *(len(fmt(row.get(c))) for row in table)) if table else len(c)
              for c in cols]
    print("  ".join(c.ljust(w) for c, w in zip(cols, widths)))
    for row in table:
        print("  ".join(fmt(row.get(c)).ljust(w) for c, w in zip(cols, widths)))
    for run in runs:
        for name, e in run["experiments"].items():
            for point in e.get("curve", []):
                print("%s smp=%d run=%d batch_curve sites=%s single_per_s=%s batch_per_s=%s "
                      "ratio=%s" % (name, run["smp"], run["run"], point.get("sites"),
                                    point.get("single_per_s"), point.get("batch_per_s"),
                                    point.get("ratio")))
            if e.get("smc_store"):
                s = e["smc_store"]
                print("%s smp=%d run=%d smc_store run_code_median_ns=%s padding_median_ns=%s" % (
                    name, run["smp"], run["run"], s.get("run_code_median_ns"),
                    s.get("padding_median_ns")))
            if e.get("first_hit_us"):
                fh = first_hit_summary(e["first_hit_us"])
                print("%s smp=%d run=%d first_hit pairs=%s no_hit=%s median_us=%s max_us=%s" % (
                    name, run["smp"], run["run"], fh["pairs"], fh["no_hit"], fh.get("median_us"),
                    fh.get("max_us")))
            race, peer, selfa = e.get("race"), e.get("peer_loop"), e.get("self_aimed")
            if race and peer:
                print("%s smp=%d run=%d aimed_hits_per_s=%s peer_loop_in_shadow_per_s=%s "
                      "gain_vs_peer_loop=%s" % (name, run["smp"], run["run"],
                                                race.get("hits_per_s"),
                                                peer.get("in_shadow_per_s"),
                                                race.get("gain_vs_peer_loop")))
            if selfa:
                print("%s smp=%d run=%d self_aimed_in_shadow_per_s=%s shape=%s cpus=%s "
                      "gain_vs_peer_loop=%s" % (name, run["smp"], run["run"],
                                                selfa.get("in_shadow_per_s"), selfa.get("shape"),
                                                selfa.get("cpus"),
                                                selfa.get("gain_vs_peer_loop")))
            for which, v in e.get("sync_vs_broadcast", {}).items():
                print("%s smp=%d run=%d %s sync_median_ns=%s broadcast_median_ns=%s "
                      "broadcast_ratio=%s idle_sync_median_ns=%s ratio=%s" % (
                          name, run["smp"], run["run"], which, v.get("sync_median_ns"),
                          v.get("broadcast_median_ns"), v.get("broadcast_ratio"),
                          v.get("idle_sync_median_ns"), v.get("ratio")))
    targets = poke_targets(runs)
    for t in targets:
        bound = "reported, no bound" if t["bound"] is None else "%s %s: met in %d of %d boots" % (
            "<=" if t["at_most"] else ">=", t["bound"], t["met"], len(t["values"]))
        print("poke target %s smp=%d %s: %s (%s)" % (
            t["experiment"], t["smp"], t["figure"], " ".join(fmt(v) for v in t["values"]),
            bound))
    cpus_after = host_cpu_speeds()
    show_speeds("after", cpus_after)
    with open(os.path.join(ROOT, args.out, "bench.json"), "w") as f:
        json.dump({"tests": args.tests, "accel": args.accel, "platform": platform,
                   "host_cpu_loop_s": {"before": cpus_before, "after": cpus_after},
                   "table": table,
                   "poke_targets": targets, "runs": runs}, f, indent=1)
    print("bench: wrote %s" % os.path.join(args.out, "bench.json"))
    shown = list(runs)
    for other in (d for d in args.also.split(",") if d):
        path = os.path.join(ROOT, other, "bench.json")
        try:
            with open(path) as f:
                shown += json.load(f)["runs"]
        except (OSError, ValueError, KeyError) as e:
            print("bench: --also %s: no runs to plot from %s (%s)" % (other, path, e),
                  file=sys.stderr)
            return 2
    if plot(shown, os.path.join(ROOT, args.out, "bench.png")):
        print("bench: wrote %s" % os.path.join(args.out, "bench.png"))
    return 0 if table else 1


if __name__ == "__main__":
    sys.exit(main())
