"""Exporting parsed logs: results.json (docs/results-json.md) and JUnit XML
(one testsuite per log, one testcase per experiment and per subtest)."""

import dataclasses
import json
import os
import xml.etree.ElementTree as ET
from typing import Any, Dict, List, Optional, Sequence

from .ktap import KtapLog, KtapTest
from .records import Histogram, Pair, Records, number

SCHEMA = "racebed-results/1"
RESULT_WORDS = {"ok": "pass", "not-ok": "fail", "skip": "skip", "ok|not-ok": "pass-or-fail"}


@dataclasses.dataclass
class BootRecord:
    """One log to export: its name (matrix config or file), where it is, the
    parsed log, and optionally how it was produced."""

    name: str
    log_path: str
    log: KtapLog
    describe: str = ""
    wall_s: Optional[float] = None
    # the harness's expected result per experiment (ok, skip, not-ok: host/expect/ACCEL.exp);
    # empty from racebed-report, which reports the log as it is
    expected: Dict[str, str] = dataclasses.field(default_factory=dict)
    # per experiment, the harness's failed observation checks (`FAIL ... observation X=V: ...`)
    mismatches: Dict[str, List[str]] = dataclasses.field(default_factory=dict)


def platform_dict(log: KtapLog) -> Dict[str, Any]:
    """The fingerprint from `# platform ...`, typed; null where unknown."""
    p = log.platform

    def get_int(key: str) -> Optional[int]:
        v = number(p[key]) if key in p else None
        return v if isinstance(v, int) else None

    def get_str(key: str, unknown: Sequence[str] = ("unknown", "unreported", "")) -> Optional[str]:
        v = p.get(key)
        return None if v is None or v in unknown else v

    hypervisor = get_str("hypervisor")
    return {
        "vendor": get_str("vendor"),
        "family": get_int("family"),
        "model": get_int("model"),
        "stepping": get_int("stepping"),
        "microcode": get_str("microcode"),
        "hypervisor": None if hypervisor == "none" else hypervisor,
        "bare_metal": hypervisor == "none" if hypervisor is not None else None,
        "apic": get_str("apic"),
        "cpus": get_int("cpus"),
        "firmware": get_str("firmware"),
        "brand": (get_str("brand") or "").replace("_", " ") or None,
    }


def status_of(log: KtapLog) -> str:
    """complete, crashed or incomplete (truncated / garbled: see errors)."""
    if log.crashed:
        return "crashed"
    return "incomplete" if log.errors or not log.header_found else "complete"


def hist_dict(h: Histogram) -> Dict[str, Any]:
    """A histogram with the buckets that hold its median and 99th percentile ([low, high))."""
    return {"name": h.name, "unit": h.unit, "n": h.n, "buckets": h.buckets,
            "p50": list(h.quantile_bucket(0.5) or ()) or None, "p99": list(h.quantile_bucket(0.99) or ()) or None}


def pair_dict(p: Pair) -> Dict[str, Any]:
    return dict({"sender": p.sender, "victim": p.victim, "trials": p.trials, "hits": p.hits}, **p.fields)


def race_dict(r: Records) -> Optional[Dict[str, Any]]:
    """`# race`, with the engine's schedule and shape lines; null for an experiment without."""
    if r.race is None and not r.race_shapes and r.race_schedule is None:
        return None
    return dict(r.race or {}, schedule=r.race_schedule, shapes=r.race_shapes)


def subtest_dict(t: KtapTest) -> Dict[str, Any]:
    d = {"number": t.number, "name": t.name, "result": RESULT_WORDS[t.outcome], "directive": t.directive,
         "reason": t.reason, "diagnostics": t.own, "figures": t.records.figures}
    if t.subtests:
        d["subtests"] = [subtest_dict(s) for s in t.subtests]
    return d


def experiment_dict(t: KtapTest, expected: Optional[str] = None) -> Dict[str, Any]:
    r = t.records
    return {
        "number": t.number,
        "name": t.name,
        "result": RESULT_WORDS[t.outcome],
        "expected": RESULT_WORDS.get(expected) if expected else None,
        "expectation_failures": [],
        "directive": t.directive,
        "reason": t.reason or failure_reason(t),
        "duration_ms": r.duration_ms,
        "budget_ms": r.budget_ms,
        "figures": r.figures,
        "outcomes": r.outcomes,
        "observations": [dict(dataclasses.asdict(o), deviation=o.deviation) for o in r.observations],
        "controls": r.controls,
        "histograms": [hist_dict(h) for h in r.hists],
        "pairs": [pair_dict(p) for p in r.pairs],
        "race": race_dict(r),
        "host_requests": r.host_requests,
        "crash": r.crash,
        "problems": r.problems,
        "subtests": [subtest_dict(s) for s in t.subtests],
    }


def failure_reason(t: KtapTest) -> str:
    """The `# NAME: failed: reason` line of a failed test, else ""."""
    prefix = f"# {t.name}: failed: "
    for line in reversed(t.own):
        if line.startswith(prefix):
            return line[len(prefix):]
    return ""


def log_dict(rec: BootRecord) -> Dict[str, Any]:
    log = rec.log
    counts, leaves = log.counts(), log.leaf_counts()
    return {
        "name": rec.name,
        "log": rec.log_path,
        "config": rec.describe or None,
        "status": status_of(log),
        "crash_in": log.crash_in,
        "errors": log.errors,
        "warnings": log.warnings,
        "platform": platform_dict(log),
        "run_diagnostics": log.run_diagnostics,
        "plan": log.plan,
        "totals": {"pass": counts.passed, "fail": counts.failed, "skip": counts.skipped, "total": counts.total},
        "leaf_totals": {"pass": leaves.passed, "fail": leaves.failed, "skip": leaves.skipped,
                        "total": leaves.total},
        "deviations": log.deviations,
        "experiments": [dict(experiment_dict(t, rec.expected.get(t.name)),
                             expectation_failures=rec.mismatches.get(t.name, [])) for t in log.tests],
    }


def results_dict(records: Sequence[BootRecord]) -> Dict[str, Any]:
    return {"schema": SCHEMA, "runs": [log_dict(r) for r in records]}


def write_results_json(records: Sequence[BootRecord], path: str) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(results_dict(records), f, indent=1, sort_keys=False)
        f.write("\n")


def _seconds(ms: Optional[int]) -> str:
    return f"{(ms or 0) / 1000:.3f}"


def _testcase(suite: ET.Element, classname: str, t: KtapTest, time_ms: Optional[int],
              expected: Optional[str] = None, mismatches: Sequence[str] = ()) -> str:
    """Adds one testcase; returns its JUnit verdict: pass, failure or skipped. With an
    expectation (a negative control expected `not ok`), the verdict is the harness's; an
    observation that contradicts host/expect is a failure."""
    case = ET.SubElement(suite, "testcase", classname=classname, name=t.name, time=_seconds(time_ms))
    shown = {"ok": "ok", "not-ok": "not ok", "skip": "skip", "ok|not-ok": "ok or not ok"}
    if mismatches and t.outcome != "skip":
        failure = ET.SubElement(case, "failure", message=mismatches[0], type="observation")
        failure.text = "\n".join(list(mismatches) + t.diagnostics)
        return "failure"
    if expected and expected != "ok":
        if expected == t.outcome or (expected == "ok|not-ok" and t.outcome != "skip"):
            ET.SubElement(case, "system-out").text = (f"result {shown[t.outcome]}, as expected "
                                                      "(host/expect)\n" + "\n".join(t.diagnostics))
            if t.outcome == "skip":
                ET.SubElement(case, "skipped", message=t.reason or "skipped")
                return "skipped"
            return "pass"
        failure = ET.SubElement(case, "failure", message=f"expected {shown[expected]}, got {shown[t.outcome]}",
                                type="unexpected result")
        failure.text = "\n".join(t.diagnostics)
        return "failure"
    if t.outcome == "skip":
        ET.SubElement(case, "skipped", message=t.reason or "skipped")
    elif t.outcome == "not-ok":
        why = t.reason or failure_reason(t) or "not ok"
        kind = t.directive or "not ok"
        failure = ET.SubElement(case, "failure", message=why, type=kind)
        failure.text = "\n".join(t.diagnostics + [f"not ok {t.number} {t.name}"
                                                  + (f" # {t.directive} {t.reason}" if t.directive else "")])
        return "failure"
    return "skipped" if t.outcome == "skip" else "pass"


def junit_tree(records: Sequence[BootRecord]) -> ET.Element:
    root = ET.Element("testsuites", name="racebed")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    time_total = 0.0
    for rec in records:
        log = rec.log
        suite = ET.SubElement(root, "testsuite", name=rec.name)
        props = ET.SubElement(suite, "properties")
        for key, value in platform_dict(log).items():
            if value is not None:
                ET.SubElement(props, "property", name=f"platform.{key}", value=str(value))
        ET.SubElement(props, "property", name="status", value=status_of(log))
        tests = failures = skipped = errors = 0
        time_ms = 0
        for t in log.tests:
            ms = t.records.duration_ms
            time_ms += ms or 0
            verdicts = [_testcase(suite, f"racebed.{rec.name}", t, ms, rec.expected.get(t.name),
                                  rec.mismatches.get(t.name, ()))]
            for sub in t.subtests:
                verdicts.append(_testcase(suite, f"racebed.{rec.name}.{t.name}", sub, None))
            tests += len(verdicts)
            failures += verdicts.count("failure")
            skipped += verdicts.count("skipped")
        if log.errors or not log.header_found:
            case = ET.SubElement(suite, "testcase", classname=f"racebed.{rec.name}", name="ktap-log", time="0")
            error = ET.SubElement(case, "error", message=(log.errors or ["no KTAP output"])[0], type="incomplete log")
            error.text = "\n".join(log.errors)
            tests += 1
            errors += 1
        suite.set("tests", str(tests))
        suite.set("failures", str(failures))
        suite.set("errors", str(errors))
        suite.set("skipped", str(skipped))
        suite.set("time", _seconds(time_ms))
        for key, value in (("tests", tests), ("failures", failures), ("errors", errors), ("skipped", skipped)):
            totals[key] += value
        time_total += time_ms / 1000
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", f"{time_total:.3f}")
    return root


def write_junit(records: Sequence[BootRecord], path: str) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tree = ET.ElementTree(junit_tree(records))
    ET.indent(tree, space=" ")
    tree.write(path, encoding="utf-8", xml_declaration=True)


def records_from_logs(paths: List[str], names: Optional[List[str]] = None) -> List[BootRecord]:
    """Reads and parses serial logs (for tools/racebed-report); names default
    to the file names without .log."""
    from .ktap import parse_ktap
    from .runner import read_log
    out = []
    for i, path in enumerate(paths):
        name = names[i] if names and i < len(names) else os.path.basename(path).rsplit(".log", 1)[0]
        out.append(BootRecord(name, path, parse_ktap(read_log(path))))
    return out
